/* Shared by the packet tools (xdpfilter, tcpktstat): Ethernet + IPv4/IPv6 +
 * TCP/UDP header parsing with the bounds checks the verifier wants. */
#ifndef BPFKIT_TOOLS_PACKET_H
#define BPFKIT_TOOLS_PACKET_H

#include "common.h"
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* What a packet is, addresses in network byte order, ports in host order. */
struct packet {
	u8 saddr[16];
	u8 daddr[16];
	u16 af;
	u8 proto;
	u16 sport;
	u16 dport;
	u32 len;
};

/* Ports of TCP and UDP (both start with source and destination port). */
static __always_inline void parse_ports(struct packet *p, void *l4, void *end)
{
	struct udphdr *udp = l4;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return;
	if ((void *)(udp + 1) > end)
		return;
	p->sport = bpf_ntohs(udp->source);
	p->dport = bpf_ntohs(udp->dest);
}

/* Fills `p` from the frame at [data, end); false for frames that are not
 * IPv4 or IPv6 (or are truncated). */
static __always_inline bool parse_packet(struct packet *p, void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct ipv6hdr *ip6;

	__builtin_memset(p, 0, sizeof(*p));
	p->len = end - data;
	if ((void *)(eth + 1) > end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return false;
		p->af = AF_INET;
		p->proto = ip->protocol;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		parse_ports(p, (void *)ip + ip->ihl * 4, end);
		return true;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return false;
		p->af = AF_INET6;
		p->proto = ip6->nexthdr; /* extension headers are not followed */
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		parse_ports(p, ip6 + 1, end);
		return true;
	}
	return false;
}

/* Per-rule / per-key counters. */
struct traffic {
	u64 packets;
	u64 bytes;
};

static __always_inline void count_traffic(void *map, const void *key, u32 len)
{
	static const struct traffic zero;
	struct traffic *t = lookup_or_init(map, key, &zero);

	if (!t)
		return;
	__sync_fetch_and_add(&t->packets, 1);
	__sync_fetch_and_add(&t->bytes, len);
}

#endif
