// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpaccept: trace passive TCP connections (accept()), as bcc's tcpaccept.
 * bcc's kretprobe on inet_csk_accept sees the accepted socket in the
 * accepting task. Without kprobes, the accept/accept4 syscall exits give
 * the new fd in that same task, and the socket is read through its file.
 * The inet_sock_set_state tracepoint would not do: the handshake completes
 * in softirq context, not in the task that accepts. */
#include "tcp.h"

const volatile pid_t filter_pid = 0;
DEFINE_PORT_LIST(filter_ports); /* -P: local ports */
DEFINE_FAMILY_FILTER();

struct event {
	ENDPOINT_FIELDS;
	bpfkit_pid_t pid;
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* Reports the accepted connection `sk` of the current task. */
static __always_inline void report(struct sock *sk)
{
	struct event e = {};

	if (filter_pid && (bpf_get_current_pid_tgid() >> 32) != filter_pid)
		return;
	SOCK_ENDPOINTS(&e, sk);
	if ((e.af != AF_INET && e.af != AF_INET6) || FAMILY_FILTERED_OUT(e.af) ||
	    PORT_FILTERED_OUT(filter_ports, e.sport))
		return;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e.task, sizeof(e.task));
	output_event(&e, sizeof(e));
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(inet_csk_accept_ret, struct sock *sk)
{
	if (sk && BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
		report(sk);
	return 0;
}

/* The accepted fd: only stream sockets of the inet families are TCP here
 * (SOCK_STREAM in AF_INET/AF_INET6; report() checks the family). */
static __always_inline int accept_exit(long ret)
{
	struct socket *sock;
	struct sock *sk;

	if (ret < 0)
		return 0;
	sock = fd_socket(ret);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (sk && BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
		report(sk);
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

char LICENSE[] SEC("license") = "GPL";
