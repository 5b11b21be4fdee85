// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpretrans: trace TCP retransmits, from tcp:tcp_retransmit_skb (as
 * libbpf-tools). Retransmits mostly happen in timer (softirq) context, so
 * the PID column is whoever was running, as in the original. */
#include "tcp.h"

const volatile bool do_count = false;
DEFINE_FAMILY_FILTER();

struct event {
	ENDPOINT_FIELDS;
	bpfkit_pid_t pid;
	s32 state;
};

struct count_key {
	ENDPOINT_FIELDS;
};

struct count_val {
	u64 retransmits;
};

DEFINE_EVENTS_RINGBUF();

/* -c: retransmits per connection. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct count_key);
	__type(value, struct count_val);
} counts SEC(".maps");

SEC("tp/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	static const struct count_val zero;
	struct count_key key = {};
	struct event *e;
	struct count_val *n;

	if (FAMILY_FILTERED_OUT(ctx->family))
		return 0;
	if (do_count) {
		TP_ENDPOINTS(&key, ctx);
		n = lookup_or_init(&counts, &key, &zero);
		if (n)
			__sync_fetch_and_add(&n->retransmits, 1);
		return 0;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	TP_ENDPOINTS(e, ctx);
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->state = ctx->state;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
