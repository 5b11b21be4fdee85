// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cpudist: how long tasks run on a CPU each time they are switched in
 * (or, with -O, how long they are off it), as a histogram, from
 * sched_switch. */
#include "common.h"

#define MAX_SLOTS 36

const volatile bool targ_per_process = false;
const volatile bool targ_per_thread = false;
const volatile bool targ_offcpu = false;
const volatile bool targ_ms = false;
const volatile pid_t targ_tgid = 0;
DEFINE_CGROUP_FILTER();

struct hist {
	u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

/* When each thread was last switched in (on-CPU) or out (-O). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

static __always_inline bool traced(struct task_struct *t)
{
	return BPF_CORE_READ(t, pid) && /* not the idle task */
	       (!targ_tgid || targ_tgid == BPF_CORE_READ(t, tgid));
}

static __always_inline void store_start(struct task_struct *t, u64 now)
{
	u32 tid = BPF_CORE_READ(t, pid);

	if (traced(t))
		bpf_map_update_elem(&start, &tid, &now, 0);
}

/* Ends the period `t` started at its last stored switch. */
static __always_inline void update_hist(struct task_struct *t, u64 now)
{
	u32 tid = BPF_CORE_READ(t, pid), key;
	struct hist *histp;
	u64 *tsp, delta;

	if (!traced(t))
		return;
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp || now < *tsp)
		return;
	delta = (now - *tsp) / (targ_ms ? 1000000U : 1000U);
	bpf_map_delete_elem(&start, &tid);
	key = targ_per_process ? BPF_CORE_READ(t, tgid) : targ_per_thread ? tid : -1;
	histp = lookup_or_init(&hists, &key, &zero);
	if (!histp)
		return;
	if (!histp->comm[0])
		bpf_probe_read_kernel_str(histp->comm, sizeof(histp->comm), t->comm);
	__sync_fetch_and_add(&histp->slots[hist_slot(delta, MAX_SLOTS)], 1);
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	u64 now = bpf_ktime_get_ns();

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (targ_offcpu) {
		store_start(prev, now);
		update_hist(next, now);
	} else {
		update_hist(prev, now);
		store_start(next, now);
	}
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next);
}

char LICENSE[] SEC("license") = "GPL";
