// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* solisten: trace listen() of IPv4 and IPv6 TCP sockets, as libbpf-tools'
 * solisten. libbpf-tools uses fexit/kprobes on inet_listen; without them
 * the listen syscall's entry keeps the fd and backlog, and its exit reads
 * the socket's family, port and address through the fd. */
#include "tcp.h"

const volatile pid_t target_pid = 0;

struct event {
	bpfkit_ip_addr_t addr;
	bpfkit_family_t af;
	bpfkit_port_host_t port;
	s32 backlog;
	s32 ret; /* 0 or -errno */
	bpfkit_pid_t pid;
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* The listen() in flight per thread. */
struct listen_args {
	long fd;
	s32 backlog;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct listen_args);
} listens SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_listen")
int listen_entry_tp(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct listen_args args = {
		.fd = ctx->args[0],
		.backlog = ctx->args[1],
	};

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	bpf_map_update_elem(&listens, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int listen_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct listen_args *args = bpf_map_lookup_elem(&listens, &tid);
	struct socket *sock = NULL;
	struct sock *sk = NULL;
	struct event e = {};

	if (!args)
		return 0;
	e.ret = ctx->ret;
	if (FD_WAS_SOCKET(e.ret))
		sock = fd_socket(args->fd);
	if (sock && BPF_CORE_READ(sock, type) == SOCK_STREAM)
		sk = BPF_CORE_READ(sock, sk);
	/* Like inet_listen: IPv4 and IPv6 TCP sockets only. */
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		goto out;
	e.af = BPF_CORE_READ(sk, __sk_common.skc_family);
	e.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (e.af == AF_INET)
		BPF_CORE_READ_INTO((u32 *)e.addr, sk, __sk_common.skc_rcv_saddr);
	else if (e.af == AF_INET6)
		BPF_CORE_READ_INTO(&e.addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	else
		goto out;
	e.backlog = args->backlog;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e.task, sizeof(e.task));
	output_event(&e, sizeof(e));
out:
	bpf_map_delete_elem(&listens, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
