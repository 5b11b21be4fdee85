/* Twins, as libbpf tools ship them: one handler for the same kernel event
 * under tp_btf, raw_tp and tp, of which user space attaches one. Each counts
 * the test's own syscalls. */
#include "common.h"

const volatile __u32 target_tgid = 0;

__u64 tp_btf_hits = 0;
__u64 raw_tp_hits = 0;
__u64 tp_hits = 0;

SEC("tp_btf/sys_enter")
int btf_sys_enter(unsigned long long *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&tp_btf_hits, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

SEC("tp/raw_syscalls/sys_enter")
int tp_sys_enter(void *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&tp_hits, 1);
	return 0;
}
