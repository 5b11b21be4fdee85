// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcplife: trace the lifespan of TCP sessions, with bytes sent and
 * received, from sock:inet_sock_set_state (as libbpf-tools). The byte
 * counts are read from the closing socket's tcp_sock (CO-RE). */
#include "tcp.h"

const volatile pid_t target_pid = 0;
DEFINE_PORT_LIST(target_sports); /* -L: local ports */
DEFINE_PORT_LIST(target_dports); /* -D: remote ports */
DEFINE_FAMILY_FILTER();

struct ident {
	u32 pid;
	char comm[TASK_COMM_LEN];
};

struct event {
	ENDPOINT_FIELDS;
	bpfkit_duration_us_t span_us;
	u64 rx_b;
	u64 tx_b;
	bpfkit_pid_t pid;
	char comm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* When each socket was born (first state change before FIN_WAIT1). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, const void *);
	__type(value, u64);
} birth SEC(".maps");

/* Who opened or closed the socket: the task in process context at
 * SYN_SENT (connect) or LAST_ACK (close after the peer's FIN). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, const void *);
	__type(value, struct ident);
} idents SEC(".maps");

static __always_inline bool port_filtered_out(u16 sport, u16 dport)
{
	return PORT_FILTERED_OUT(target_sports, sport) ||
	       PORT_FILTERED_OUT(target_dports, dport);
}

static __always_inline void remember(const void *sk, int newstate)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u64 ts = bpf_ktime_get_ns();
	struct ident ident = {};

	if (newstate < TCP_FIN_WAIT1)
		bpf_map_update_elem(&birth, &sk, &ts, BPF_ANY);
	if (newstate == TCP_SYN_SENT || newstate == TCP_LAST_ACK) {
		ident.pid = pid_tgid >> 32;
		if (target_pid && ident.pid != target_pid)
			return;
		bpf_get_current_comm(ident.comm, sizeof(ident.comm));
		bpf_map_update_elem(&idents, &sk, &ident, BPF_ANY);
	}
}

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ident *ident;
	struct event *e;
	u64 *start, now;
	u32 pid;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (FAMILY_FILTERED_OUT(ctx->family) || port_filtered_out(ctx->sport, ctx->dport))
		return 0;
	if (ctx->newstate != TCP_CLOSE) {
		remember(sk, ctx->newstate);
		return 0;
	}
	start = bpf_map_lookup_elem(&birth, &sk);
	if (!start)
		return 0; /* born before tracing started */
	now = bpf_ktime_get_ns();
	ident = bpf_map_lookup_elem(&idents, &sk);
	pid = ident ? ident->pid : bpf_get_current_pid_tgid() >> 32;
	if (target_pid && pid != target_pid)
		goto cleanup;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto cleanup;
	TP_ENDPOINTS(e, ctx);
	e->span_us = (now - *start) / 1000;
	e->rx_b = BPF_CORE_READ(tp, bytes_received);
	e->tx_b = BPF_CORE_READ(tp, bytes_acked);
	e->pid = pid;
	if (ident)
		__builtin_memcpy(e->comm, ident->comm, sizeof(e->comm));
	else
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&birth, &sk);
	bpf_map_delete_elem(&idents, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
