// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpsynbl: histogram of a listener's accept backlog (sk_ack_backlog) at
 * each completed handshake, one histogram per backlog limit
 * (sk_max_ack_backlog), as libbpf-tools' tcpsynbl. libbpf-tools reads the
 * listener in kprobes on tcp_v4/v6_syn_recv_sock. Without kprobes: the new
 * socket those functions create is a copy of the listener (sk_clone_lock)
 * and enters SYN_RECV from LISTEN in sock:inet_sock_set_state before
 * anything changes its copies of both backlog fields. */
#include "tcp.h"

#define MAX_SLOTS 32

DEFINE_FAMILY_FILTER();

struct hist {
	u32 slots[MAX_SLOTS];
};

/* Key: the listener's backlog limit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

static __always_inline void count_backlog(struct sock *sk)
{
	u64 max_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	u64 backlog = BPF_CORE_READ(sk, sk_ack_backlog);
	struct hist *histp = lookup_or_init(&hists, &max_backlog, &zero);

	if (histp)
		__sync_fetch_and_add(&histp->slots[hist_slot(backlog, MAX_SLOTS)], 1);
}

SEC("kprobe/tcp_v4_syn_recv_sock")
int BPF_KPROBE(tcp_v4_syn_recv, struct sock *sk)
{
	if (!only_ipv6)
		count_backlog(sk);
	return 0;
}

SEC("kprobe/tcp_v6_syn_recv_sock")
int BPF_KPROBE(tcp_v6_syn_recv, struct sock *sk)
{
	if (!only_ipv4)
		count_backlog(sk);
	return 0;
}

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_LISTEN ||
	    ctx->newstate != TCP_SYN_RECV || FAMILY_FILTERED_OUT(ctx->family))
		return 0;
	/* The new socket, still holding the listener's backlog fields. */
	count_backlog((struct sock *)ctx->skaddr);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
