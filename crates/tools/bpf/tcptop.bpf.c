// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcptop: TCP bytes sent and received per process and connection, per
 * interval, as libbpf-tools' tcptop (kprobes on tcp_sendmsg and
 * tcp_cleanup_rbuf). Without kprobes: sock:sock_send_length and
 * sock:sock_recv_length (6.3+), which sock_sendmsg()/sock_recvmsg() fire
 * in the calling task with the bytes moved. */
#include "tcp.h"

const volatile pid_t target_pid = 0;
DEFINE_FAMILY_FILTER();
DEFINE_CGROUP_FILTER();

struct traffic_key {
	ENDPOINT_FIELDS;
	bpfkit_pid_t pid;
};

struct traffic {
	u64 sent;
	u64 received;
	u64 total; /* sent + received: the default sort */
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct traffic_key);
	__type(value, struct traffic);
} ip_map SEC(".maps");

static const struct traffic zero;

static __always_inline void count_bytes(struct sock *sk, u64 sent, u64 received)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct traffic_key key = {};
	struct traffic *t;

	if (target_pid && pid != target_pid)
		return;
	if (CGROUP_FILTERED_OUT())
		return;
	SOCK_ENDPOINTS(&key, sk);
	if ((key.af != AF_INET && key.af != AF_INET6) || FAMILY_FILTERED_OUT(key.af))
		return;
	key.pid = pid;
	t = lookup_or_init(&ip_map, &key, &zero);
	if (!t)
		return;
	bpf_get_current_comm(t->comm, sizeof(t->comm));
	__sync_fetch_and_add(&t->sent, sent);
	__sync_fetch_and_add(&t->received, received);
	__sync_fetch_and_add(&t->total, sent + received);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(tcp_sendmsg, struct sock *sk, struct msghdr *msg, size_t size)
{
	count_bytes(sk, size, 0);
	return 0;
}

SEC("kprobe/tcp_cleanup_rbuf")
int BPF_KPROBE(tcp_cleanup_rbuf, struct sock *sk, int copied)
{
	if (copied > 0)
		count_bytes(sk, 0, copied);
	return 0;
}

SEC("tp/sock/sock_send_length")
int sock_send_length(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->protocol == IPPROTO_TCP && ctx->ret > 0)
		count_bytes(ctx->sk, ctx->ret, 0);
	return 0;
}

SEC("tp/sock/sock_recv_length")
int sock_recv_length(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->protocol == IPPROTO_TCP && ctx->ret > 0)
		count_bytes(ctx->sk, 0, ctx->ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
