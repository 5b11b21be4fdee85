// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runqlat: histogram of run queue latency, from wakeup (or preemption) to
 * running. Same handlers under tp_btf and, for older kernels, raw_tp. */
#include "runq.h"

#define MAX_SLOTS 26

const volatile bool targ_per_process = false;
const volatile bool targ_per_thread = false;
const volatile bool targ_per_pidns = false;
const volatile bool targ_ms = false;
const volatile pid_t targ_tgid = 0;
DEFINE_CGROUP_FILTER();

/* Key of `hists`: pid, tid or pid namespace inode, or -1 for one histogram. */
struct hist {
	u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

static __always_inline bool traced(struct task_struct *t)
{
	return !targ_tgid || targ_tgid == BPF_CORE_READ(t, tgid);
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	if (CGROUP_FILTERED_OUT())
		return 0;
	if (traced(p))
		remember_wakeup(BPF_CORE_READ(p, pid));
	return 0;
}

static __always_inline u32 hist_key(struct task_struct *next)
{
	if (targ_per_process)
		return BPF_CORE_READ(next, tgid);
	if (targ_per_thread)
		return BPF_CORE_READ(next, pid);
	if (targ_per_pidns)
		return BPF_CORE_READ(next, nsproxy, pid_ns_for_children, ns.inum);
	return -1;
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	struct hist *histp;
	s64 delta;
	u32 key;

	if (CGROUP_FILTERED_OUT())
		return 0;
	remember_if_preempted(prev, traced(prev));

	delta = take_wait_ns(BPF_CORE_READ(next, pid));
	if (delta < 0)
		return 0;
	key = hist_key(next);
	histp = lookup_or_init(&hists, &key, &zero);
	if (!histp)
		return 0;
	if (!histp->comm[0])
		bpf_probe_read_kernel_str(histp->comm, sizeof(histp->comm), next->comm);
	delta /= targ_ms ? 1000000U : 1000U;
	__sync_fetch_and_add(&histp->slots[hist_slot(delta, MAX_SLOTS)], 1);
	return 0;
}

DEFINE_RUNQ_PROGRAMS()

char LICENSE[] SEC("license") = "GPL";
