/* Shared by hardirqs and softirqs: the time the handler running on this CPU
 * started, and per-handler totals or (-d) histograms in `struct info`. */
#ifndef BPFKIT_TOOLS_IRQ_H
#define BPFKIT_TOOLS_IRQ_H

#include "common.h"

#define MAX_SLOTS 20

const volatile bool targ_dist = false;
const volatile bool targ_ns = false;
/* Only handlers running on this CPU (-1: every CPU). */
const volatile int targ_cpu = -1;

/* Handlers run, their total and longest time (-N: ns, else us), and with
 * -d the histogram of their times. */
struct info {
	u64 count;
	u64 total_time;
	u64 max_time;
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

static __always_inline bool is_target_cpu(void)
{
	return targ_cpu < 0 || (u32)targ_cpu == bpf_get_smp_processor_id();
}

static __always_inline void handler_started(void)
{
	u64 ts = bpf_ktime_get_ns();
	u32 idx = 0;

	bpf_map_update_elem(&start, &idx, &ts, BPF_ANY);
}

/* Sets `delta` to the time since handler_started() on this CPU, in the unit
 * asked for (-N: ns, else us); false when the start was not seen. */
static __always_inline bool handler_finished(u64 *delta)
{
	u32 idx = 0;
	u64 *tsp = bpf_map_lookup_elem(&start, &idx);

	if (!tsp || !*tsp)
		return false;
	*delta = bpf_ktime_get_ns() - *tsp;
	*tsp = 0;
	if (!targ_ns)
		*delta /= 1000U;
	return true;
}

static __always_inline void account(struct info *info, u64 delta)
{
	__sync_fetch_and_add(&info->count, 1);
	if (targ_dist) {
		__sync_fetch_and_add(&info->slots[hist_slot(delta, MAX_SLOTS)], 1);
		return;
	}
	__sync_fetch_and_add(&info->total_time, delta);
	/* A racing larger max may be lost to another CPU's handler of the
	 * same name; upstream accepts the same. */
	if (delta > info->max_time)
		info->max_time = delta;
}

#endif
