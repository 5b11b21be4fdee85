// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bindsnoop: trace bind() of IPv4 and IPv6 sockets, as libbpf-tools'
 * bindsnoop. libbpf-tools puts kprobes on inet_bind/inet6_bind; without
 * kprobes the bind syscall's entry keeps the fd and the user's address,
 * and its exit reads the socket through the fd: protocol, options, device
 * and the port actually bound (a request for port 0 gets one assigned). */
#include "tcp.h"

const volatile pid_t target_pid = 0;
const volatile bool include_errors = false; /* -x */
DEFINE_PORT_LIST(target_ports);           /* -P */
DEFINE_CGROUP_FILTER();

/* OPTS bits, as libbpf-tools shows them: F T N R r. */
#define OPT_FREEBIND 1
#define OPT_TRANSPARENT 2
#define OPT_BIND_ADDRESS_NO_PORT 4
#define OPT_REUSEADDR 8
#define OPT_REUSEPORT 16

struct event {
	bpfkit_ip_addr_t addr;
	bpfkit_family_t af;
	bpfkit_port_host_t port;
	u16 proto; /* IPPROTO_* of the socket */
	u8 opts;   /* OPT_* */
	u32 bound_dev_if;
	s32 ret;   /* 0 or -errno */
	bpfkit_pid_t pid;
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* The bind() in flight per thread: its fd and the user's sockaddr. */
struct bind_args {
	long fd;
	const void *uaddr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct bind_args);
} binds SEC(".maps");

/* inet_sock before 6.6 kept these options as bitfields. */
struct inet_sock___pre66 {
	__u8 freebind : 1;
	__u8 transparent : 1;
	__u8 bind_address_no_port : 1;
} __attribute__((preserve_access_index));

/* inet_flags bit numbers (an anonymous enum since 6.6, so no CO-RE name). */
#define INET_FLAG_FREEBIND 11
#define INET_FLAG_TRANSPARENT 15
#define INET_FLAG_BIND_ADDRESS_NO_PORT 18

static __always_inline u8 socket_options(struct sock *sk)
{
	struct inet_sock *inet = (void *)sk;
	struct inet_sock___pre66 *old = (void *)sk;
	u8 opts = 0;

	if (bpf_core_field_exists(inet->inet_flags)) {
		unsigned long flags = BPF_CORE_READ(inet, inet_flags);

		if (flags & (1UL << INET_FLAG_FREEBIND))
			opts |= OPT_FREEBIND;
		if (flags & (1UL << INET_FLAG_TRANSPARENT))
			opts |= OPT_TRANSPARENT;
		if (flags & (1UL << INET_FLAG_BIND_ADDRESS_NO_PORT))
			opts |= OPT_BIND_ADDRESS_NO_PORT;
	} else {
		if (BPF_CORE_READ_BITFIELD_PROBED(old, freebind))
			opts |= OPT_FREEBIND;
		if (BPF_CORE_READ_BITFIELD_PROBED(old, transparent))
			opts |= OPT_TRANSPARENT;
		if (BPF_CORE_READ_BITFIELD_PROBED(old, bind_address_no_port))
			opts |= OPT_BIND_ADDRESS_NO_PORT;
	}
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse))
		opts |= OPT_REUSEADDR;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuseport))
		opts |= OPT_REUSEPORT;
	return opts;
}

/* Family, port and address the user asked for (struct sockaddr_in or
 * sockaddr_in6: the port at offset 2, the address at 4 or 8). */
static __always_inline bool requested_address(struct event *e, const void *uaddr)
{
	__be16 port = 0;

	if (bpf_probe_read_user(&e->af, sizeof(e->af), uaddr))
		return false;
	bpf_probe_read_user(&port, sizeof(port), uaddr + 2);
	e->port = __builtin_bswap16(port);
	if (e->af == AF_INET)
		bpf_probe_read_user(e->addr, 4, uaddr + 4);
	else if (e->af == AF_INET6)
		bpf_probe_read_user(e->addr, 16, uaddr + 8);
	else
		return false;
	return true;
}

SEC("tracepoint/syscalls/sys_enter_bind")
int bind_entry_tp(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct bind_args args = {
		.fd = ctx->args[0],
		.uaddr = (const void *)ctx->args[1],
	};

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	if (CGROUP_FILTERED_OUT())
		return 0;
	bpf_map_update_elem(&binds, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int bind_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct bind_args *args = bpf_map_lookup_elem(&binds, &tid);
	struct socket *sock;
	struct sock *sk;
	struct event e = {};

	if (!args)
		return 0;
	e.ret = ctx->ret;
	if ((e.ret && !include_errors) || !requested_address(&e, args->uaddr))
		goto out;
	sock = FD_WAS_SOCKET(e.ret) ? fd_socket(args->fd) : NULL;
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (sk) {
		e.proto = BPF_CORE_READ(sk, sk_protocol);
		e.opts = socket_options(sk);
		e.bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
		if (!e.ret)
			e.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	}
	if (PORT_FILTERED_OUT(target_ports, e.port))
		goto out;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e.task, sizeof(e.task));
	output_event(&e, sizeof(e));
out:
	bpf_map_delete_elem(&binds, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
