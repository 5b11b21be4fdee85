/* uprobe.multi and uretprobe.multi on the test binary's own functions
 * (bpfkit_multi_*, given with --attach): calls counted by attach cookie, and
 * the last return value. */
#include "common.h"
#include <linux/ptrace.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 target_tgid = 0;

__u64 cookie1_calls = 0;
__u64 cookie2_calls = 0;
__u64 other_cookie_calls = 0;
__u64 returns = 0;
__u64 last_return = 0;

SEC("uprobe.multi")
int on_entry(struct pt_regs *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	switch (bpf_get_attach_cookie(ctx)) {
	case 1:
		__sync_fetch_and_add(&cookie1_calls, 1);
		break;
	case 2:
		__sync_fetch_and_add(&cookie2_calls, 1);
		break;
	default:
		__sync_fetch_and_add(&other_cookie_calls, 1);
	}
	return 0;
}

SEC("uretprobe.multi")
int on_return(struct pt_regs *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	__sync_fetch_and_add(&returns, 1);
	last_return = PT_REGS_RC(ctx);
	return 0;
}
