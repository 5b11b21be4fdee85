// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* wqlat: how long work items wait in a kernel workqueue, from being
 * queued (workqueue:workqueue_queue_work) to starting to run
 * (workqueue_execute_start), as a histogram; per workqueue with -W. */
#include "common.h"

#define MAX_SLOTS 27
#define WQ_NAME_LEN 24

const volatile bool targ_ms = false;
const volatile bool targ_ns = false;
const volatile bool targ_per_wq = false;

struct queued {
	u64 ts;
	char wq[WQ_NAME_LEN];
};

/* Queued work items, by their struct work_struct address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, struct queued);
} start SEC(".maps");

struct hist_key {
	char wq[WQ_NAME_LEN];
};

struct hist {
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

SEC("tracepoint/workqueue/workqueue_queue_work")
int workqueue_queue_work(struct trace_event_raw_workqueue_queue_work *ctx)
{
	u64 work = (u64)ctx->work;
	struct queued q = {};
	u32 loc = ctx->__data_loc_workqueue;

	q.ts = bpf_ktime_get_ns();
	if (targ_per_wq)
		bpf_probe_read_kernel_str(q.wq, sizeof(q.wq), (void *)ctx + (loc & 0xffff));
	bpf_map_update_elem(&start, &work, &q, 0);
	return 0;
}

SEC("tracepoint/workqueue/workqueue_execute_start")
int workqueue_execute_start(struct trace_event_raw_workqueue_execute_start *ctx)
{
	u64 work = (u64)ctx->work, delta;
	struct queued *q = bpf_map_lookup_elem(&start, &work);
	struct hist_key key = {};
	struct hist *histp;

	if (!q)
		return 0;
	delta = bpf_ktime_get_ns() - q->ts;
	__builtin_memcpy(key.wq, q->wq, sizeof(key.wq));
	bpf_map_delete_elem(&start, &work);
	if (!targ_ns)
		delta /= targ_ms ? 1000000U : 1000U;
	histp = lookup_or_init(&hists, &key, &zero);
	if (!histp)
		return 0;
	__sync_fetch_and_add(&histp->slots[hist_slot(delta, MAX_SLOTS)], 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
