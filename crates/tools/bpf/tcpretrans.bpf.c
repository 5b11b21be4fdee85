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
	enum retransmit_type type;
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

/* Before tcp_retransmit_skb became an event of its own (with `err`), it was
 * one of the tcp_event_sk_skb class (6.1, 6.12), whose record is that
 * class's struct: the same fields under another name (there is no
 * trace_event_raw_tcp_retransmit_skb on those kernels). A CO-RE
 * flavor of it (the ___ suffix is dropped when matching) reads them there. */
struct trace_event_raw_tcp_event_sk_skb___sk_skb_class {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

/* Fills `e` from either record type. Every read goes through
 * bpf_probe_read_kernel (BPF_CORE_READ): clang merges the two flavors' reads
 * into one at a computed offset, which the verifier takes as a helper's
 * argument but rejects as a direct context load. */
#define RETRANSMIT_RECORD(e, tp)                                               \
	do {                                                                   \
		(e)->af = BPF_CORE_READ(tp, family);                           \
		(e)->sport = BPF_CORE_READ(tp, sport);                         \
		(e)->dport = BPF_CORE_READ(tp, dport);                         \
		(e)->state = BPF_CORE_READ(tp, state);                         \
		if ((e)->af == AF_INET) {                                      \
			bpf_probe_read_kernel((e)->saddr, 4, (tp)->saddr);     \
			bpf_probe_read_kernel((e)->daddr, 4, (tp)->daddr);     \
		} else {                                                       \
			bpf_probe_read_kernel((e)->saddr, 16, (tp)->saddr_v6); \
			bpf_probe_read_kernel((e)->daddr, 16, (tp)->daddr_v6); \
		}                                                              \
	} while (0)

SEC("tp/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb(void *ctx)
{
	struct event e = {};

	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *tp = ctx;

		RETRANSMIT_RECORD(&e, tp);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___sk_skb_class *tp = ctx;

		RETRANSMIT_RECORD(&e, tp);
	}
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
