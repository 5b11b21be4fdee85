/* A 32-bit comparison: clang compiles it to a JMP32 instruction for
 * -mcpu=v3 and to 64-bit jumps for its default cpu (generic = v1), which
 * build_cpu.rs tells apart. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 watched_cpu = 0;
__u64 hits = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(void *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();

	if (cpu > watched_cpu)
		hits++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
