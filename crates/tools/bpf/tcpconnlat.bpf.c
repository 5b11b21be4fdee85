// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpconnlat: trace TCP active connection latency, from connect() (the
 * CLOSE -> SYN_SENT transition) to the handshake's end (SYN_SENT ->
 * ESTABLISHED), both from sock:inet_sock_set_state; the socket address
 * joins the two. libbpf-tools uses fentry/kprobes on tcp_v*_connect and
 * tcp_rcv_state_process instead. */
#include "tcp.h"

const volatile u64 targ_min_us = 0;
const volatile pid_t targ_tgid = 0;

struct piddata {
	char comm[TASK_COMM_LEN];
	u64 ts;
	u32 tgid;
};

struct event {
	ENDPOINT_FIELDS;
	bpfkit_duration_us_t delta_us;
	bpfkit_pid_t tgid;
	char comm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* Connections in SYN_SENT, by socket. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, const void *);
	__type(value, struct piddata);
} start SEC(".maps");

static __always_inline void on_connect(const void *sk)
{
	struct piddata piddata = {};
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (targ_tgid && targ_tgid != tgid)
		return;
	bpf_get_current_comm(&piddata.comm, sizeof(piddata.comm));
	piddata.ts = bpf_ktime_get_ns();
	piddata.tgid = tgid;
	bpf_map_update_elem(&start, &sk, &piddata, 0);
}

/* Reports the connection of `sk` if it was seen starting; `ep` gives the
 * endpoints. */
static __always_inline struct event *finish(const void *sk)
{
	struct piddata *piddatap = bpf_map_lookup_elem(&start, &sk);
	struct event *e = 0;
	s64 delta;

	if (!piddatap)
		return 0;
	delta = (s64)(bpf_ktime_get_ns() - piddatap->ts);
	if (delta < 0 || delta / 1000U < targ_min_us)
		goto cleanup;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto cleanup;
	__builtin_memcpy(&e->comm, piddatap->comm, sizeof(e->comm));
	e->delta_us = delta / 1000U;
	e->tgid = piddatap->tgid;
cleanup:
	bpf_map_delete_elem(&start, &sk);
	return e;
}

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	struct event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		on_connect(sk);
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;
	if (ctx->newstate != TCP_ESTABLISHED) { /* refused, timed out */
		bpf_map_delete_elem(&start, &sk);
		return 0;
	}
	e = finish(sk);
	if (!e)
		return 0;
	TP_ENDPOINTS(e, ctx);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int on_state_process(struct sock *sk)
{
	struct event *e;

	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT)
		return 0;
	e = finish(sk);
	if (!e)
		return 0;
	SOCK_ENDPOINTS(e, sk);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* libbpf-tools' hooks under one kind of probe: fentry (BPF_PROG, programs
 * `fentry_NAME`) or kprobe (BPF_KPROBE, programs `NAME`). */
#define DEFINE_HOOKS(kind, PROG, prefix)                                       \
	SEC(#kind "/tcp_v4_connect")                                           \
	int PROG(prefix##tcp_v4_connect, struct sock *sk)                      \
	{                                                                      \
		on_connect(sk);                                                \
		return 0;                                                      \
	}                                                                      \
	SEC(#kind "/tcp_v6_connect")                                           \
	int PROG(prefix##tcp_v6_connect, struct sock *sk)                      \
	{                                                                      \
		on_connect(sk);                                                \
		return 0;                                                      \
	}                                                                      \
	SEC(#kind "/tcp_rcv_state_process")                                    \
	int PROG(prefix##tcp_rcv_state_process, struct sock *sk)               \
	{                                                                      \
		return on_state_process(sk);                                   \
	}

DEFINE_HOOKS(fentry, BPF_PROG, fentry_)
DEFINE_HOOKS(kprobe, BPF_KPROBE, )

char LICENSE[] SEC("license") = "GPL";
