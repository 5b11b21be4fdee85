// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* softirqs: time spent in each soft interrupt kind, as totals or, with -d,
 * as histograms. Same handlers under tp_btf and raw_tp. */
#include "irq.h"

#define NR_SOFTIRQS 10

/* Key of `infos`: the softirq vector (0 hi, 1 timer, 2 net_tx, 3 net_rx,
 * 4 block, 5 irq_poll, 6 tasklet, 7 sched, 8 hrtimer, 9 rcu). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SOFTIRQS);
	__type(key, u32);
	__type(value, struct info);
} infos SEC(".maps");

static __always_inline int handle_entry(unsigned int vec_nr)
{
	if (!is_target_cpu())
		return 0;
	handler_started();
	return 0;
}

static __always_inline int handle_exit(unsigned int vec_nr)
{
	struct info *info;
	u64 delta;

	if (!is_target_cpu() || !handler_finished(&delta))
		return 0;
	info = bpf_map_lookup_elem(&infos, &vec_nr);
	if (info)
		account(info, delta);
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
