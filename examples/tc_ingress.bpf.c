// SPDX-License-Identifier: GPL-2.0
// tc_ingress: a tc classifier on an interface's ingress that counts
// packets and bytes, and logs IPv4 packets to the trace pipe like the
// tutorial lesson; every packet is let through.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800

struct stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct stats);
} ingress_stats SEC(".maps");

SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct stats *s;
	u32 zero = 0;

	s = bpf_map_lookup_elem(&ingress_stats, &zero);
	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, ctx->len);
	}
	if (ctx->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = (struct iphdr *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_OK;
	bpf_printk("Got IP packet: tot_len: %d, ttl: %d", bpf_ntohs(ip->tot_len), ip->ttl);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
