// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test helper (XDP): drops the first TCP SYN to port DROP_PORT over IPv4
 * that reaches the interface, and passes everything else. The client's
 * TCP sends the SYN again after its initial retransmission timeout (1 s),
 * so that connection's handshake takes at least that long: a known slow
 * connect for tcpconnlat, without sch_netem. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define DROP_PORT 47110

/* How many SYNs to DROP_PORT were seen; only the first is dropped. */
__u64 syns_seen = 0;

SEC("xdp")
int drop_first_syn(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(DROP_PORT) ||
	    !tcp->syn || tcp->ack)
		return XDP_PASS;
	return __sync_fetch_and_add(&syns_seen, 1) == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
