/* Counts libc getpid() calls of process `target_tgid`, and prints. */
#include "common.h"

const volatile __u32 target_tgid = 0;

__u64 getpid_calls = 0;

SEC("uprobe/libc:getpid")
int on_getpid(void *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	__sync_fetch_and_add(&getpid_calls, 1);
	bpf_printk("bpfkit-runtime-test getpid %u", target_tgid);
	return 0;
}
