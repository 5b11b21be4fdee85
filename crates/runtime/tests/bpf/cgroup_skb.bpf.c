/* cgroup_skb: counts the packets of one length that sockets in the cgroup
 * send and receive (the test's UDP datagrams: a length nobody else uses). */
#include "common.h"

const volatile __u32 target_len = 0;

__u64 egress_packets = 0;
__u64 ingress_packets = 0;

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	if (skb->len == target_len)
		__sync_fetch_and_add(&egress_packets, 1);
	return 1; /* let it pass */
}

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
	if (skb->len == target_len)
		__sync_fetch_and_add(&ingress_packets, 1);
	return 1;
}
