// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* drsnoop: reclaim a task does itself before its allocation can go on, with
 * its latency and the pages it freed: global direct reclaim
 * (vmscan:mm_vmscan_direct_reclaim_begin/end, as libbpf-tools) and a
 * memory cgroup's reclaim at its limit (mm_vmscan_memcg_reclaim_begin/end,
 * the same wait for a task in a limited cgroup). */
#include "common.h"

const volatile pid_t targ_pid = 0;
const volatile pid_t targ_tgid = 0;

struct event {
	bpfkit_duration_ns_t delta_ns;
	u64 nr_reclaimed;
	u32 pid;
	u32 tid;
	char comm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

static __always_inline int reclaim_begin(void)
{
	u64 id = bpf_get_current_pid_tgid(), ts;
	u32 tid = id;

	if (targ_tgid && targ_tgid != id >> 32)
		return 0;
	if (targ_pid && targ_pid != tid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, 0);
	return 0;
}

static __always_inline int reclaim_end(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	u64 *tsp = bpf_map_lookup_elem(&start, &tid);
	struct event *e;

	if (!tsp)
		return 0;
	e = reserve_event(sizeof(*e));
	if (e) {
		e->delta_ns = bpf_ktime_get_ns() - *tsp;
		e->nr_reclaimed = ctx->nr_reclaimed;
		e->pid = id >> 32;
		e->tid = tid;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin")
int direct_reclaim_begin(void *ctx)
{
	return reclaim_begin();
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_end")
int direct_reclaim_end(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	return reclaim_end(ctx);
}

SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin")
int memcg_reclaim_begin(void *ctx)
{
	return reclaim_begin();
}

SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_end")
int memcg_reclaim_end(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	return reclaim_end(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
