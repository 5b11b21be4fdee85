// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcptracer: trace TCP connects (C, once established), accepts (A) and
 * closes (X), as libbpf-tools' tcptracer, which uses kprobes on
 * tcp_v4/v6_connect, tcp_set_state, tcp_close and inet_csk_accept.
 * Without kprobes:
 *   C  sock:inet_sock_set_state CLOSE -> SYN_SENT runs in the connecting
 *      task (its pid, comm, uid are kept), SYN_SENT -> ESTABLISHED reports;
 *   A  the accept/accept4 syscall exits, with the new fd's socket;
 *   X  ESTABLISHED -> FIN_WAIT1 and CLOSE_WAIT -> LAST_ACK, the states
 *      close() (or shutdown(SHUT_WR)) moves a connection to, in the closing
 *      task; an abortive close (ESTABLISHED -> CLOSE) is not told apart from
 *      a reset received, and is left out. */
#include "tcp.h"

#define EVENT_CONNECT 0
#define EVENT_ACCEPT 1
#define EVENT_CLOSE 2

const volatile pid_t filter_pid = 0;
const volatile uid_t filter_uid = INVALID_UID;

struct event {
	ENDPOINT_FIELDS;
	bpfkit_pid_t pid;
	bpfkit_uid_t uid;
	u8 type; /* EVENT_* */
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* Connecting sockets: who connected, until the connection is established. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, const void *);
	__type(value, struct event);
} connecting SEC(".maps");

/* The current task's pid, uid and comm into `e`; false when filtered out. */
static __always_inline bool fill_task(struct event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = bpf_get_current_uid_gid();
	if (filter_pid && e->pid != filter_pid)
		return false;
	if (filter_uid != INVALID_UID && e->uid != filter_uid)
		return false;
	bpf_get_current_comm(e->task, sizeof(e->task));
	return true;
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(inet_csk_accept_ret, struct sock *sk)
{
	struct event e = {.type = EVENT_ACCEPT};

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP || !fill_task(&e))
		return 0;
	SOCK_ENDPOINTS(&e, sk);
	output_event(&e, sizeof(e));
	return 0;
}

static __always_inline int accept_exit(long ret)
{
	struct event e = {.type = EVENT_ACCEPT};
	struct socket *sock;
	struct sock *sk;

	if (ret < 0 || !fill_task(&e))
		return 0;
	sock = fd_socket(ret);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	SOCK_ENDPOINTS(&e, sk);
	if (e.af == AF_INET || e.af == AF_INET6)
		output_event(&e, sizeof(e));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int accept_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int accept4_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	int from = ctx->oldstate, to = ctx->newstate;
	struct event e = {}, *started;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (from == TCP_CLOSE && to == TCP_SYN_SENT) {
		e.type = EVENT_CONNECT;
		if (fill_task(&e))
			bpf_map_update_elem(&connecting, &sk, &e, BPF_ANY);
		return 0;
	}
	if (from == TCP_SYN_SENT) {
		started = bpf_map_lookup_elem(&connecting, &sk);
		if (!started)
			return 0;
		e = *started;
		bpf_map_delete_elem(&connecting, &sk);
		if (to != TCP_ESTABLISHED)
			return 0;
	} else if ((from == TCP_ESTABLISHED && to == TCP_FIN_WAIT1) ||
		   (from == TCP_CLOSE_WAIT && to == TCP_LAST_ACK)) {
		e.type = EVENT_CLOSE;
		if (!fill_task(&e))
			return 0;
	} else {
		return 0;
	}
	TP_ENDPOINTS(&e, ctx);
	output_event(&e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
