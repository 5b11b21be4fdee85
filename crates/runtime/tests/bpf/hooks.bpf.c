/* The other hook kinds: raw_tp, tp_btf, perf_event and a socket filter.
 * raw_tp and tp_btf on different events: on the same one they are twins,
 * and only tp_btf would be attached. */
#include "common.h"

const volatile __u32 target_tgid = 0;

__u64 raw_tp_hits = 0;
__u64 tp_btf_hits = 0;
__u64 perf_samples = 0;
__u64 socket_packets = 0;

SEC("raw_tp/sys_exit")
int on_raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int on_btf_sys_enter(unsigned long long *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&tp_btf_hits, 1);
	return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	__sync_fetch_and_add(&perf_samples, 1);
	return 0;
}

SEC("socket")
int on_packet(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&socket_packets, 1);
	return 0;
}
