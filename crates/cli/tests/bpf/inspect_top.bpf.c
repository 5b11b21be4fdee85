/* A program for `bpfkit top` (crates/cli/tests/inspect.rs) that runs only
 * when the test makes it run: sched_getattr(2) is a syscall nothing else
 * on these machines calls. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_sched_getattr")
int top_target(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
