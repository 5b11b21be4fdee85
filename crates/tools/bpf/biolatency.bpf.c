// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* biolatency: histogram of block I/O latency, from issue (or, with -Q, from
 * insertion into the OS queue) to completion. Same handlers under tp_btf and
 * raw_tp. */
#include "block.h"

#define MAX_SLOTS 27

const volatile bool targ_per_disk = false;
const volatile bool targ_per_flag = false;
const volatile bool targ_queued = false;
const volatile bool targ_ms = false;
const volatile bool filter_dev = false;
const volatile u32 targ_dev = 0;
DEFINE_CGROUP_FILTER();

/* Fields stay zero unless -D / -F asks for them. */
struct hist_key {
	u32 dev;
	char rwbs[RWBS_LEN];
};

struct hist {
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct request *);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

static __always_inline int trace_rq_start(struct request *rq, bool issue)
{
	u64 ts;

	if (CGROUP_FILTERED_OUT())
		return 0;
	/* Insertion starts the clock only with -Q; then issue keeps the earlier
	 * time when the request went through an I/O scheduler. */
	if (!issue && !targ_queued)
		return 0;
	if (issue && targ_queued && BPF_CORE_READ(rq, q, elevator))
		return 0;
	if (filter_dev && targ_dev != request_dev(rq))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &rq, &ts, 0);
	return 0;
}

static __always_inline int trace_rq_complete(struct request *rq)
{
	struct hist_key hkey = {};
	struct hist *histp;
	u64 *tsp, delta;

	if (CGROUP_FILTERED_OUT())
		return 0;
	tsp = bpf_map_lookup_elem(&start, &rq);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &rq);
	if ((s64)delta < 0)
		return 0;
	if (targ_per_disk)
		hkey.dev = request_dev(rq);
	if (targ_per_flag)
		fill_rwbs(hkey.rwbs, BPF_CORE_READ(rq, cmd_flags));
	histp = lookup_or_init(&hists, &hkey, &zero);
	if (!histp)
		return 0;
	delta /= targ_ms ? 1000000U : 1000U;
	__sync_fetch_and_add(&histp->slots[hist_slot(delta, MAX_SLOTS)], 1);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert_btf, struct request *rq)
{
	return trace_rq_start(rq, false);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf, struct request *rq)
{
	return trace_rq_start(rq, true);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	return trace_rq_complete(rq);
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	return trace_rq_start(rq, false);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	return trace_rq_start(rq, true);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return trace_rq_complete(rq);
}

char LICENSE[] SEC("license") = "GPL";
