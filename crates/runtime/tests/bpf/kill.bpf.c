/* Counts kill() calls of process `target_tgid` per signal. */
#include "common.h"

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} kills SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} kill_calls SEC(".maps");

__u64 total_kills = 0;

SEC("tp/syscalls/sys_enter_kill")
int count_kill(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	__u32 sig = ctx->args[1];
	__u64 one = 1, *count = bpf_map_lookup_elem(&kills, &sig);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&kills, &sig, &one, BPF_NOEXIST);
	__u32 zero = 0;
	__u64 *calls = bpf_map_lookup_elem(&kill_calls, &zero);
	if (calls)
		*calls += 1;
	__sync_fetch_and_add(&total_kills, 1);
	return 0;
}
