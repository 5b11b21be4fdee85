// SPDX-License-Identifier: GPL-2.0
// hardirqs: hardware interrupt handlers, how often each ran and how long
// it took (total and as a log2 histogram in microseconds).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAX_ENTRIES 256
#define MAX_SLOTS 20
#define IRQ_NAME_LEN 32

struct irq_key {
	char name[IRQ_NAME_LEN];
};

struct info {
	__u64 count;
	__u64 total_ns;
	__u32 slots[MAX_SLOTS];
};

/* What irq_handler_entry saw, until irq_handler_exit on the same CPU. */
struct start_info {
	__u64 ts;
	struct irq_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct start_info);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct irq_key);
	__type(value, struct info);
} infos SEC(".maps");

static __always_inline u32 log2_slot(u64 v)
{
	u32 slot = 0;

	/* Bounded loop: at most MAX_SLOTS - 1 halvings. */
	for (int i = 0; i < MAX_SLOTS - 1 && v > 1; i++) {
		v >>= 1;
		slot++;
	}
	return slot;
}

SEC("tp/irq/irq_handler_entry")
int handle_entry(struct trace_event_raw_irq_handler_entry *ctx)
{
	u32 zero = 0;
	struct start_info *s = bpf_map_lookup_elem(&start, &zero);
	unsigned name_off = ctx->__data_loc_name & 0xFFFF;

	if (!s)
		return 0;
	s->ts = bpf_ktime_get_ns();
	bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name), (void *)ctx + name_off);
	return 0;
}

SEC("tp/irq/irq_handler_exit")
int handle_exit(struct trace_event_raw_irq_handler_exit *ctx)
{
	static const struct info empty = {};
	u32 zero = 0;
	struct start_info *s = bpf_map_lookup_elem(&start, &zero);
	struct info *info;
	u64 delta;

	if (!s || !s->ts)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	info = bpf_map_lookup_elem(&infos, &s->key);
	if (!info) {
		bpf_map_update_elem(&infos, &s->key, &empty, BPF_NOEXIST);
		info = bpf_map_lookup_elem(&infos, &s->key);
		if (!info)
			return 0;
	}
	__sync_fetch_and_add(&info->count, 1);
	__sync_fetch_and_add(&info->total_ns, delta);
	__sync_fetch_and_add(&info->slots[log2_slot(delta / 1000U)], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
