/* Shared by the runtime tests' BPF programs: no vmlinux.h needed. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The layout of every syscalls:sys_enter_* tracepoint record. */
struct syscall_enter {
	unsigned long long common;
	long id;
	unsigned long args[6];
};

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

char LICENSE[] SEC("license") = "GPL";
