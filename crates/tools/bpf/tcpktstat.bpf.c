// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpktstat: count packets and bytes per direction, protocol and remote
 * address (the source of incoming, the destination of outgoing packets)
 * with tc programs on ingress and egress; never changes a packet. */
#include "packet.h"

#define TC_ACT_UNSPEC (-1)

/* -P: per protocol only (no addresses). */
const volatile bool by_proto_only = false;

struct flow_key {
	bpfkit_ip_addr_t raddr;
	bpfkit_family_t af;
	u8 proto;
	u8 dir; /* 0 ingress, 1 egress */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct traffic);
	__uint(max_entries, MAX_ENTRIES);
} stats SEC(".maps");

static __always_inline int count(struct __sk_buff *skb, u8 dir)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct flow_key key = { .dir = dir };
	struct packet p;

	if (!parse_packet(&p, data, end))
		return TC_ACT_UNSPEC;
	key.af = p.af;
	key.proto = p.proto;
	if (!by_proto_only)
		__builtin_memcpy(key.raddr, dir ? p.daddr : p.saddr, 16);
	/* skb->len, not the linear part: the whole packet's bytes */
	count_traffic(&stats, &key, skb->len);
	return TC_ACT_UNSPEC;
}

SEC("tcx/ingress")
int tcpktstat_ingress(struct __sk_buff *skb)
{
	return count(skb, 0);
}

SEC("tcx/egress")
int tcpktstat_egress(struct __sk_buff *skb)
{
	return count(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";
