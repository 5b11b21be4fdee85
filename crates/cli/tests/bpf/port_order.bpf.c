/* Ports in both byte orders, as libbpf programs send them: tcplife and
 * tcpstates convert to host order in BPF and keep `__u16 sport`; a
 * `__be16` member holds the kernel's network-order value. Every field holds
 * PORT, so each must print as PORT. */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PORT 47001

const volatile __u32 target_tgid = 0;

struct event {
	__u32 pid;
	__u16 sport;
	__u16 dport;
	__be16 remote_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct event e = {};

	e.pid = bpf_get_current_pid_tgid() >> 32;
	if (e.pid != target_tgid)
		return 0;
	e.sport = PORT;
	e.dport = PORT;
	e.remote_port = bpf_htons(PORT);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
