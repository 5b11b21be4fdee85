// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runqlen: sample the length of each CPU's run queue (perf_event on the CPU
 * clock, opened on every CPU by the runtime) into a linear histogram. */
#include "common.h"

#define MAX_CPU_NR 128
#define MAX_SLOTS 32

const volatile bool targ_per_cpu = false;
const volatile bool targ_host = false;

/* Key of `hists`: the CPU with -C, else 0. slots[n] counts samples that saw
 * n tasks waiting (the running one excluded). */
struct hist {
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPU_NR);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* cfs_rq.nr_running was renamed nr_queued in 6.14. */
struct cfs_rq___old {
	unsigned int nr_running;
} __attribute__((preserve_access_index));

static __always_inline u64 cfs_rq_len(struct cfs_rq *cfs_rq)
{
	struct cfs_rq___old *old = (void *)cfs_rq;

	if (bpf_core_field_exists(cfs_rq->nr_queued))
		return BPF_CORE_READ(cfs_rq, nr_queued);
	return BPF_CORE_READ(old, nr_running);
}

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 cpu = targ_per_cpu ? bpf_get_smp_processor_id() : 0;
	struct hist *hist;
	u64 slot;

	/* The task's own cfs_rq is per cgroup; its rq's is the CPU's. */
	if (targ_host)
		slot = BPF_CORE_READ(task, se.cfs_rq, rq, nr_running);
	else
		slot = cfs_rq_len(BPF_CORE_READ(task, se.cfs_rq));
	if (slot > 0)
		slot--;
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	hist = bpf_map_lookup_elem(&hists, &cpu);
	if (!hist)
		return 0;
	__sync_fetch_and_add(&hist->slots[slot], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
