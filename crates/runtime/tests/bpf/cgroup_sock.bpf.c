/* cgroup/connect4 sends TCP connects to 127.0.0.2:from_port to
 * 127.0.0.1:to_port; cgroup/sock_create counts UDP-Lite sockets (which
 * nothing else on a test machine makes). */
#include "common.h"
#include <bpf/bpf_endian.h>

#define IPPROTO_UDPLITE_ 136
#define LOOPBACK_2 0x7f000002 /* 127.0.0.2 */
#define LOOPBACK_1 0x7f000001

const volatile __u16 from_port = 0;
const volatile __u16 to_port = 0;

__u64 connects_rewritten = 0;
__u64 udplite_sockets = 0;

SEC("cgroup/connect4")
int on_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 == bpf_htonl(LOOPBACK_2) &&
	    ctx->user_port == bpf_htons(from_port)) {
		ctx->user_ip4 = bpf_htonl(LOOPBACK_1);
		ctx->user_port = bpf_htons(to_port);
		__sync_fetch_and_add(&connects_rewritten, 1);
	}
	return 1;
}

SEC("cgroup/sock_create")
int on_sock_create(struct bpf_sock *sk)
{
	if (sk->protocol == IPPROTO_UDPLITE_)
		__sync_fetch_and_add(&udplite_sockets, 1);
	return 1;
}
