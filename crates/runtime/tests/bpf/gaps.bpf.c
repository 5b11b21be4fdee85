/* Hooks this test kernel lacks (no kprobes, no trampolines) or bpfkit does
 * not attach yet: each must fail alone with one error naming what is
 * missing. On kernels with kprobes, kprobe.multi counts unlinks. */
#include "common.h"

__u64 unlinks = 0;

SEC("kprobe.multi/do_unlinkat")
int on_unlink_multi(void *ctx)
{
	__sync_fetch_and_add(&unlinks, 1);
	return 0;
}

SEC("struct_ops/bpfkit_cong_avoid")
int cong_avoid(void *ctx)
{
	return 0;
}

SEC("fsession/do_unlinkat")
int unlink_session(void *ctx)
{
	return 0;
}
