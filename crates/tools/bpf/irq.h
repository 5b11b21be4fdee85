/* Shared by hardirqs and softirqs: the time the handler running on this CPU
 * started, and per-handler totals or (-d) histograms in `struct info`. */
#ifndef BPFKIT_TOOLS_IRQ_H
#define BPFKIT_TOOLS_IRQ_H

#include "common.h"

#define MAX_SLOTS 20

const volatile bool targ_dist = false;
const volatile bool targ_ns = false;

/* `count` is the total time (hardirqs -C: the number of interrupts). */
struct info {
	u64 count;
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

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
	if (targ_dist)
		__sync_fetch_and_add(&info->slots[hist_slot(delta, MAX_SLOTS)], 1);
	else
		__sync_fetch_and_add(&info->count, delta);
}

#endif
