// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpretrans: trace TCP retransmits, from tcp:tcp_retransmit_skb (as
 * libbpf-tools). Retransmits mostly happen in timer (softirq) context, so
 * the PID column is whoever was running, as in the original.
 *
 * -l (bcc's --lossprobe) adds tail loss probe attempts: calls of
 * tcp_send_loss_probe(), which has no tracepoint, so that needs a kprobe
 * or fentry program next to the tracepoint. */
#include "tcp.h"

const volatile bool do_count = false;
DEFINE_FAMILY_FILTER();

/* What was sent again: shown as R> or L> in the T> column, as bcc does. */
enum retransmit_type {
	RETRANSMIT = 1,
	TLP = 2,
};

struct event {
	ENDPOINT_FIELDS;
	bpfkit_pid_t pid;
	s32 state;
	u32 type; /* enum retransmit_type: an integer, for the T> column's names */
};

struct count_key {
	ENDPOINT_FIELDS;
};

struct count_val {
	u64 retransmits;
};

DEFINE_EVENTS_RINGBUF();

/* -c: retransmits (and with -l loss probes) per connection. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct count_key);
	__type(value, struct count_val);
} counts SEC(".maps");

/* Counts or reports `e`, whose endpoints, state and type are filled in. */
static __always_inline void report(struct event *e)
{
	static const struct count_val zero;
	struct count_key key = {};
	struct count_val *n;
	struct event *out;

	if (FAMILY_FILTERED_OUT(e->af))
		return;
	if (do_count) {
		__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
		__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
		key.af = e->af;
		key.sport = e->sport;
		key.dport = e->dport;
		n = lookup_or_init(&counts, &key, &zero);
		if (n)
			__sync_fetch_and_add(&n->retransmits, 1);
		return;
	}
	out = reserve_event(sizeof(*out));
	if (!out)
		return;
	*out = *e;
	out->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_ringbuf_submit(out, 0);
}

SEC("tp/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct event e = {};

	TP_ENDPOINTS(&e, ctx);
	e.state = ctx->state;
	e.type = RETRANSMIT;
	report(&e);
	return 0;
}

static __always_inline int on_loss_probe(struct sock *sk)
{
	struct event e = {};

	SOCK_ENDPOINTS(&e, sk);
	e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e.type = TLP;
	report(&e);
	return 0;
}

SEC("fentry/tcp_send_loss_probe")
int BPF_PROG(fentry_tcp_send_loss_probe, struct sock *sk)
{
	return on_loss_probe(sk);
}

SEC("kprobe/tcp_send_loss_probe")
int BPF_KPROBE(tcp_send_loss_probe, struct sock *sk)
{
	return on_loss_probe(sk);
}

char LICENSE[] SEC("license") = "GPL";
