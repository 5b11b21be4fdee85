// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpstates: trace every TCP state change, with the time spent in the
 * previous state, from sock:inet_sock_set_state (as libbpf-tools). */
#include "tcp.h"

DEFINE_PORT_LIST(target_sports); /* -L: local ports */
DEFINE_PORT_LIST(target_dports); /* -D: remote ports */
DEFINE_FAMILY_FILTER();

struct event {
	ENDPOINT_FIELDS;
	bpfkit_hex_t skaddr;
	bpfkit_duration_us_t delta_us;
	bpfkit_pid_t pid;
	s32 oldstate;
	s32 newstate;
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* When each socket entered its current state. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, const void *);
	__type(value, u64);
} timestamps SEC(".maps");

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	u64 *tsp, now = bpf_ktime_get_ns();
	struct event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (FAMILY_FILTERED_OUT(ctx->family))
		return 0;
	if (PORT_FILTERED_OUT(target_sports, ctx->sport) ||
	    PORT_FILTERED_OUT(target_dports, ctx->dport))
		return 0;
	tsp = bpf_map_lookup_elem(&timestamps, &sk);
	e = reserve_event(sizeof(*e));
	if (e) {
		TP_ENDPOINTS(e, ctx);
		e->skaddr = (u64)sk;
		e->delta_us = tsp ? (now - *tsp) / 1000 : 0;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->oldstate = ctx->oldstate;
		e->newstate = ctx->newstate;
		bpf_get_current_comm(e->task, sizeof(e->task));
		bpf_ringbuf_submit(e, 0);
	}
	if (ctx->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&timestamps, &sk);
	else
		bpf_map_update_elem(&timestamps, &sk, &now, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
