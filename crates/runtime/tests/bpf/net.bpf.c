/* Packet counters for XDP and tc. */
#include "common.h"

__u64 xdp_packets = 0;
__u64 tc_packets = 0;

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&xdp_packets, 1);
	return XDP_PASS;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_packets, 1);
	return 0; /* TC_ACT_OK */
}
