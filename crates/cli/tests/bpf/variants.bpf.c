/* Hook variants of a test tool (crates/cli/src/tool/hooks.rs tests): the
 * first two cannot run on any kernel, the last one can. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 hits = 0;

/* A tracepoint no kernel has: passed over by the hook check. */
SEC("tp/syscalls/sys_enter_bpfkit_missing")
int missing_target(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

/* A kernel type no kernel has: its CO-RE relocation is poisoned and the
 * verifier rejects the program, so loading passes the variant over. */
struct bpfkit_missing_type {
	int missing_field;
} __attribute__((preserve_access_index));

SEC("tp/syscalls/sys_enter_getppid")
int missing_type(struct bpfkit_missing_type *ctx)
{
	if (ctx->missing_field)
		__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int good(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
