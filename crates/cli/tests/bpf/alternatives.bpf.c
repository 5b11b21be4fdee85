/* Alternatives for kernels of different ages, as libbpf-tools ship them
 * (a function renamed, a tracepoint added): `bpfkit run --skip-missing`
 * leaves out the program whose target this kernel lacks and attaches the
 * other (skip_missing.rs). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 target_tgid = 0;
__u64 hits = 0;

/* A tracepoint no kernel has. */
SEC("tp/syscalls/sys_enter_bpfkit_missing")
int on_missing(void *ctx)
{
	__sync_fetch_and_add(&hits, 100);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(void *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 == target_tgid)
		__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
