/* Ports whose byte order only the data flow tells, as libbpf-tools'
 * tcpconnect and tcpconnlat send them: `dport` is copied from the kernel's
 * `__be16 skc_dport` (network order) and `sport` from `__u16 skc_num` (host
 * order), both into plain __u16 members with no swap in BPF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2

/* The listening port of the test's connection, in host order. */
const volatile __u16 target_port = 0;

struct event {
	__u32 pid;
	__u16 sport;
	__u16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tp/sock/inet_sock_set_state")
int on_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct event e = {};

	/* The connecting side, once its local port is bound. */
	if (ctx->oldstate != TCP_SYN_SENT || ctx->newstate != TCP_ESTABLISHED)
		return 0;
	e.dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (e.dport != bpf_htons(target_port))
		return 0;
	e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
