// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* softirqs: time spent in each soft interrupt kind, as totals or, with -d,
 * as histograms. Same handlers under tp_btf and raw_tp. */
#include "common.h"

#define MAX_SLOTS 20
#define NR_SOFTIRQS 10

const volatile bool targ_dist = false;
const volatile bool targ_ns = false;

/* Key of `infos`: the softirq vector (0 hi, 1 timer, 2 net_tx, 3 net_rx,
 * 4 block, 5 irq_poll, 6 tasklet, 7 sched, 8 hrtimer, 9 rcu). */
struct info {
	u64 count; /* total time */
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SOFTIRQS);
	__type(key, u32);
	__type(value, struct info);
} infos SEC(".maps");

static __always_inline int handle_entry(unsigned int vec_nr)
{
	u64 ts = bpf_ktime_get_ns();
	u32 idx = 0;

	bpf_map_update_elem(&start, &idx, &ts, BPF_ANY);
	return 0;
}

static __always_inline int handle_exit(unsigned int vec_nr)
{
	struct info *info;
	u32 idx = 0;
	u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&start, &idx);
	if (!tsp || !*tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	*tsp = 0;
	if (!targ_ns)
		delta /= 1000U;
	info = bpf_map_lookup_elem(&infos, &vec_nr);
	if (!info)
		return 0;
	if (targ_dist)
		__sync_fetch_and_add(&info->slots[hist_slot(delta, MAX_SLOTS)], 1);
	else
		__sync_fetch_and_add(&info->count, delta);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf, unsigned int vec_nr)
{
	return handle_entry(vec_nr);
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec_nr)
{
	return handle_exit(vec_nr);
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry, unsigned int vec_nr)
{
	return handle_entry(vec_nr);
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit, unsigned int vec_nr)
{
	return handle_exit(vec_nr);
}

char LICENSE[] SEC("license") = "GPL";
