/* A typed __ksym variable: a per-CPU variable of the kernel BTF (the
 * kernel counts in it the BPF programs running on this CPU, this one
 * included). The loader gives the ld_imm64 its kernel BTF id
 * (BPF_PSEUDO_BTF_ID); the kernel then needs its address in kallsyms,
 * which only CONFIG_KALLSYMS_ALL kernels list. */
#include "common.h"

extern const int bpf_prog_active __ksym;

const volatile __u32 target_tgid = 0;

struct event {
	__s32 prog_active;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__type(value, struct event);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	struct event e = {
		.prog_active = *(const int *)bpf_this_cpu_ptr(&bpf_prog_active),
	};
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return 0;
}
