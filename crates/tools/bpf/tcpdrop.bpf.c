// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpdrop: trace TCP packets the kernel drops, with the reason. bcc's
 * tcpdrop put a kprobe on tcp_drop(), which kernels since 5.17 replaced by
 * kfree_skb_reason() and its skb:kfree_skb tracepoint (as bpftrace's
 * tcpdrop.bt). Addresses, ports and flags come from the packet's own
 * headers (a packet dropped for NO_SOCKET has no socket); STATE from the
 * socket when there is one. The reason is the kernel's enum skb_drop_reason,
 * named by bpfkit from the running kernel's BTF. */
#include "tcp.h"

DEFINE_FAMILY_FILTER();

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define NO_HEADER 0xffff /* skb->transport_header not set yet */

struct event {
	ENDPOINT_FIELDS; /* s: the packet's source, d: its destination */
	bpfkit_pid_t pid;
	s32 state; /* of the socket, 0 without one */
	u8 tcpflags;
	enum skb_drop_reason reason;
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* IPv4 or IPv6 + TCP headers of `skb` into `e`; false for anything else. */
static __always_inline bool packet_endpoints(struct event *e, struct sk_buff *skb, u16 protocol)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	u16 network = BPF_CORE_READ(skb, network_header);
	u16 transport = BPF_CORE_READ(skb, transport_header);
	unsigned char *ip = head + network;
	u8 proto = 0, ihl = 0;
	__be16 ports[2];

	if (protocol == ETH_P_IP) {
		bpf_probe_read_kernel(&ihl, 1, ip);
		bpf_probe_read_kernel(&proto, 1, ip + 9);
		bpf_probe_read_kernel(e->saddr, 4, ip + 12);
		bpf_probe_read_kernel(e->daddr, 4, ip + 16);
		e->af = AF_INET;
		if (transport == NO_HEADER)
			transport = network + (ihl & 0xf) * 4;
	} else if (protocol == ETH_P_IPV6) {
		/* The TCP header right after: no extension headers followed. */
		bpf_probe_read_kernel(&proto, 1, ip + 6);
		bpf_probe_read_kernel(e->saddr, 16, ip + 8);
		bpf_probe_read_kernel(e->daddr, 16, ip + 24);
		e->af = AF_INET6;
		if (transport == NO_HEADER)
			transport = network + 40;
	} else {
		return false;
	}
	if (proto != IPPROTO_TCP)
		return false;
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + transport))
		return false;
	e->sport = __builtin_bswap16(ports[0]);
	e->dport = __builtin_bswap16(ports[1]);
	bpf_probe_read_kernel(&e->tcpflags, 1, head + transport + 13);
	return true;
}

SEC("tp/skb/kfree_skb")
int kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;
	struct sock *sk;
	struct event e = {};

	/* As bpftrace's tcpdrop.bt: real drops, not SKB_CONSUMED or the
	 * catch-all NOT_SPECIFIED. */
	if (ctx->reason <= bpf_core_enum_value(enum skb_drop_reason,
					       SKB_DROP_REASON_NOT_SPECIFIED))
		return 0;
	if (!packet_endpoints(&e, skb, ctx->protocol)) /* host order */
		return 0;
	if (FAMILY_FILTERED_OUT(e.af))
		return 0;
	sk = BPF_CORE_READ(skb, sk);
	if (sk)
		e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e.reason = ctx->reason;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e.task, sizeof(e.task));
	output_event(&e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
