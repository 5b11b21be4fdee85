// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hardirqs: count, total and longest time of each hard interrupt handler
 * (-C: per CPU), or with -d histograms of its times. Same handlers under
 * tp_btf and raw_tp. */
#include "irq.h"

const volatile bool per_cpu = false;
DEFINE_CGROUP_FILTER();

struct irq_key {
	char name[32];
	u32 cpu; /* with -C, else 0 */
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
	if (per_cpu)
		key->cpu = bpf_get_smp_processor_id();
}

static __always_inline int handle_entry(int irq, struct irqaction *action)
{
	if (!is_target_cpu() || CGROUP_FILTERED_OUT())
		return 0;
	handler_started();
	return 0;
}

static __always_inline int handle_exit(int irq, struct irqaction *action)
{
	struct irq_key key = {};
	struct info *info;
	u64 delta;

	if (!is_target_cpu() || CGROUP_FILTERED_OUT())
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
