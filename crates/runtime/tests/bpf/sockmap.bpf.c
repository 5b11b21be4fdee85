/* sockops puts both ends of TCP connections to or from `target_port` into
 * a sockmap; sk_msg counts what they send, an sk_skb verdict program what
 * they receive (and passes it on). Built with -DSTREAM, the sk_skb side
 * is a stream_parser/stream_verdict pair instead of sk_skb/verdict. */
#include "common.h"
#include <bpf/bpf_endian.h>

const volatile __u16 target_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} sockets SEC(".maps");

__u64 active_established = 0;
__u64 passive_established = 0;
__u64 msgs = 0;
__u64 msg_bytes = 0;
__u64 skbs = 0;
__u64 skb_bytes = 0;

SEC("sockops")
int on_sockops(struct bpf_sock_ops *ops)
{
	/* local_port is host order, remote_port network order in the top half. */
	__u32 local = ops->local_port;
	__u32 remote = bpf_ntohl(ops->remote_port);
	__u32 key;

	if (local != target_port && remote != target_port)
		return 1;
	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		key = 0;
		__sync_fetch_and_add(&active_established, 1);
		bpf_sock_map_update(ops, &sockets, &key, BPF_ANY);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		key = 1;
		__sync_fetch_and_add(&passive_established, 1);
		bpf_sock_map_update(ops, &sockets, &key, BPF_ANY);
		break;
	}
	return 1;
}

SEC("sk_msg")
int on_msg(struct sk_msg_md *msg)
{
	__sync_fetch_and_add(&msgs, 1);
	__sync_fetch_and_add(&msg_bytes, msg->size);
	return SK_PASS;
}

#ifdef STREAM
SEC("sk_skb/stream_parser")
int on_parse(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
#else
SEC("sk_skb/verdict")
#endif
int on_skb(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&skbs, 1);
	__sync_fetch_and_add(&skb_bytes, skb->len);
	return SK_PASS;
}
