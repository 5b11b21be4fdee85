/* The index pattern of libbpf-tools' cpufreq: an array indexed by a value
 * clamped with inline asm, then a slot computed from what it holds. With
 * -mcpu=v3 clang keeps the index in a 32-bit subregister and the verifier
 * loses its bound; clang's default cpu keeps it 64-bit and passes. One
 * count per getpgid() of process `target_tgid`. */
#include "common.h"

#define MAX_CPU_NR 128
#define MAX_SLOTS 26

const volatile __u32 target_tgid = 0;
__u32 freqs_mhz[MAX_CPU_NR] = {};
__u64 slots[MAX_SLOTS] = {};

#define clamp_umax(VAR, UMAX)					\
	asm volatile("if %0 <= %[max] goto +1\n"		\
		     "%0 = %[max]\n"				\
		     : "+r"(VAR)				\
		     : [max] "i"(UMAX))

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	__u64 slot, cpu = bpf_get_smp_processor_id();
	__u32 freq;

	if (current_tgid() != target_tgid)
		return 0;
	if (cpu >= MAX_CPU_NR)
		return 0;
	clamp_umax(cpu, MAX_CPU_NR - 1);
	freqs_mhz[cpu] += 200;
	freq = freqs_mhz[cpu];
	slot = freq / 200;
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&slots[slot], 1);
	return 0;
}
