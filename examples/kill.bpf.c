// SPDX-License-Identifier: GPL-2.0
// Who sends kill(2)? Counts signals sent, per target pid, in a hash map
// that user space prints at exit.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_ENTRIES 10240

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, pid_t);   /* pid the signal was sent to */
	__type(value, __u64); /* how many signals */
} killed SEC(".maps");

SEC("tp/syscalls/sys_enter_kill")
int tracepoint__syscalls__sys_enter_kill(struct trace_event_raw_sys_enter *ctx)
{
	pid_t tpid = (pid_t)ctx->args[0];
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&killed, &tpid);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	bpf_map_update_elem(&killed, &tpid, &one, BPF_NOEXIST);
	return 0;
}
