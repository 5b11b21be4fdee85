// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpconnect: trace active TCP connection attempts (connect()).
 * A connect() moves the socket from CLOSE to SYN_SENT in the connecting
 * task's context, which sock:inet_sock_set_state shows on every kernel
 * since 4.16 with addresses and ports; libbpf-tools' kprobes on
 * tcp_v4_connect/tcp_v6_connect are the fallback for older kernels. */
#include "tcp.h"

const volatile pid_t filter_pid = 0;
const volatile uid_t filter_uid = INVALID_UID;
DEFINE_PORT_LIST(filter_ports); /* -P: destination ports */
const volatile bool do_count = false;
DEFINE_FAMILY_FILTER();

struct event {
	ENDPOINT_FIELDS;
	bpfkit_pid_t pid;
	bpfkit_uid_t uid;
	char task[TASK_COMM_LEN];
};

/* -c: connections per (source, destination, destination port). */
struct count_key {
	ENDPOINT_FIELDS;
};

struct count_val {
	u64 connects;
};

DEFINE_EVENTS_RINGBUF();

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct count_key);
	__type(value, struct count_val);
} counts SEC(".maps");

/* kprobe variant: the socket between tcp_v*_connect's entry and return. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct sock *);
} sockets SEC(".maps");

static __always_inline bool task_filtered_out(void)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 uid = bpf_get_current_uid_gid();

	if (filter_pid && (pid_tgid >> 32) != filter_pid)
		return true;
	if (filter_uid != INVALID_UID && uid != filter_uid)
		return true;
	return false;
}

static __always_inline void count(struct event *e)
{
	struct count_key key = {};
	static const struct count_val zero;
	struct count_val *n;

	__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	key.af = e->af;
	key.dport = e->dport; /* like libbpf-tools: not per source port */
	n = lookup_or_init(&counts, &key, &zero);
	if (n)
		__sync_fetch_and_add(&n->connects, 1);
}

/* Reports (or counts) `e`, filled with the endpoints. */
static __always_inline void report(struct event *e)
{
	struct event *out;

	if (FAMILY_FILTERED_OUT(e->af) || PORT_FILTERED_OUT(filter_ports, e->dport))
		return;
	if (do_count) {
		count(e);
		return;
	}
	out = reserve_event(sizeof(*out));
	if (!out)
		return;
	*out = *e;
	out->pid = bpf_get_current_pid_tgid() >> 32;
	out->uid = bpf_get_current_uid_gid();
	bpf_get_current_comm(out->task, sizeof(out->task));
	bpf_ringbuf_submit(out, 0);
}

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct event e = {};

	if (ctx->protocol != IPPROTO_TCP || ctx->newstate != TCP_SYN_SENT ||
	    ctx->oldstate != TCP_CLOSE)
		return 0;
	if (task_filtered_out())
		return 0;
	TP_ENDPOINTS(&e, ctx);
	report(&e);
	return 0;
}

static __always_inline int enter_connect(struct sock *sk)
{
	u32 tid = bpf_get_current_pid_tgid();

	if (task_filtered_out())
		return 0;
	bpf_map_update_elem(&sockets, &tid, &sk, BPF_ANY);
	return 0;
}

static __always_inline int exit_connect(int ret)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct sock **skp = bpf_map_lookup_elem(&sockets, &tid);
	struct event e = {};

	if (!skp)
		return 0;
	if (ret == 0) {
		SOCK_ENDPOINTS(&e, *skp);
		report(&e);
	}
	bpf_map_delete_elem(&sockets, &tid);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(tcp_v4_connect, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(tcp_v4_connect_ret, int ret)
{
	return exit_connect(ret);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(tcp_v6_connect, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(tcp_v6_connect_ret, int ret)
{
	return exit_connect(ret);
}

char LICENSE[] SEC("license") = "GPL";
