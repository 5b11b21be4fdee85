// SPDX-License-Identifier: GPL-2.0
// Profile-like sampler for M5: a perf_event program (software CPU clock, the
// frequency set by `bpfkit run --sample-freq`) counting samples per CPU.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} samples SEC(".maps");

SEC("perf_event")
int do_sample(void *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 one = 1, *count = bpf_map_lookup_elem(&samples, &cpu);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&samples, &cpu, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
