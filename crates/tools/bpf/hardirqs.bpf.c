// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hardirqs: time (or count) spent in each hard interrupt handler, as totals
 * or, with -d, as histograms. Same handlers under tp_btf and raw_tp. */
#include "irq.h"

const volatile bool do_count = false;
DEFINE_CGROUP_FILTER();

struct irq_key {
	char name[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct irq_key);
	__type(value, struct info);
} infos SEC(".maps");

static const struct info zero;

/* The handler's name, the key of `infos`. */
static __always_inline void read_irq_key(struct irq_key *key, struct irqaction *action)
{
	bpf_probe_read_kernel_str(key->name, sizeof(key->name), BPF_CORE_READ(action, name));
}

static __always_inline int handle_entry(int irq, struct irqaction *action)
{
	struct irq_key key = {};
	struct info *info;

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (do_count) {
		read_irq_key(&key, action);
		info = lookup_or_init(&infos, &key, &zero);
		if (info)
			__sync_fetch_and_add(&info->count, 1);
		return 0;
	}
	handler_started();
	return 0;
}

static __always_inline int handle_exit(int irq, struct irqaction *action)
{
	struct irq_key key = {};
	struct info *info;
	u64 delta;

	if (do_count || CGROUP_FILTERED_OUT())
		return 0;
	if (!handler_finished(&delta))
		return 0;
	read_irq_key(&key, action);
	info = lookup_or_init(&infos, &key, &zero);
	if (info)
		account(info, delta);
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
