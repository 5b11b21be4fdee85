// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hardirqs: time (or count) spent in each hard interrupt handler, as totals
 * or, with -d, as histograms. Same handlers under tp_btf and raw_tp. */
#include "common.h"

#define MAX_SLOTS 20

const volatile bool targ_dist = false;
const volatile bool targ_ns = false;
const volatile bool do_count = false;
DEFINE_CGROUP_FILTER();

struct irq_key {
	char name[32];
};

/* `count` is the number of interrupts with -C, else the total time. */
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct irq_key);
	__type(value, struct info);
} infos SEC(".maps");

static const struct info zero;

static __always_inline int handle_entry(int irq, struct irqaction *action)
{
	struct irq_key key = {};
	struct info *info;
	u32 idx = 0;
	u64 ts;

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (do_count) {
		bpf_probe_read_kernel_str(key.name, sizeof(key.name), BPF_CORE_READ(action, name));
		info = lookup_or_init(&infos, &key, &zero);
		if (info)
			__sync_fetch_and_add(&info->count, 1);
		return 0;
	}
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &idx, &ts, BPF_ANY);
	return 0;
}

static __always_inline int handle_exit(int irq, struct irqaction *action)
{
	struct irq_key key = {};
	struct info *info;
	u32 idx = 0;
	u64 *tsp, delta;

	if (do_count || CGROUP_FILTERED_OUT())
		return 0;
	tsp = bpf_map_lookup_elem(&start, &idx);
	if (!tsp || !*tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	*tsp = 0;
	if (!targ_ns)
		delta /= 1000U;
	bpf_probe_read_kernel_str(key.name, sizeof(key.name), BPF_CORE_READ(action, name));
	info = lookup_or_init(&infos, &key, &zero);
	if (!info)
		return 0;
	if (targ_dist)
		__sync_fetch_and_add(&info->slots[hist_slot(delta, MAX_SLOTS)], 1);
	else
		__sync_fetch_and_add(&info->count, delta);
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_handler_entry_btf, int irq, struct irqaction *action)
{
	return handle_entry(irq, action);
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(irq_handler_exit_btf, int irq, struct irqaction *action)
{
	return handle_exit(irq, action);
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(irq_handler_entry, int irq, struct irqaction *action)
{
	return handle_entry(irq, action);
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(irq_handler_exit, int irq, struct irqaction *action)
{
	return handle_exit(irq, action);
}

char LICENSE[] SEC("license") = "GPL";
