// SPDX-License-Identifier: GPL-2.0
// A 10k-entry hash map with BTF for the inspection benchmark (M7): each
// getpgid(MAGIC) call of the workload generator inserts one entry, so the
// harness fills the map with `workload getpgid 10000` while `bpfkit run`
// holds the object, then dumps it with `bpfkit map dump` and `bpftool map
// dump`. Key and value are structs so both dumpers format through BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAGIC 0x7ffffff0
#define ENTRIES 10000

struct bench_key {
	__u32 seq;
	__u32 pid;
};

struct bench_value {
	__u64 count;
	__u64 first_ns;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENTRIES);
	__type(key, struct bench_key);
	__type(value, struct bench_value);
} bench_hash SEC(".maps");

__u32 seq = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int fill(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] != MAGIC)
		return 0;
	struct bench_key key = {
		/* the generator calls from one thread: a plain increment is enough */
		.seq = seq++,
		.pid = bpf_get_current_pid_tgid() >> 32,
	};
	struct bench_value value = { .count = 1, .first_ns = bpf_ktime_get_ns() };
	bpf_get_current_comm(value.comm, sizeof(value.comm));
	bpf_map_update_elem(&bench_hash, &key, &value, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
