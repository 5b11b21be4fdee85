/* One ring buffer (or perf buffer) record per getpgid() of process
 * `target_tgid`: the throughput benchmark and the parameter test. */
#include "common.h"

struct event {
	__u32 tgid;
	__u32 pad;
	__u64 seq;
};

const volatile __u32 target_tgid = 0;
const volatile __u8 use_perf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
	__type(value, struct event);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__type(value, struct event);
} perf_events SEC(".maps");

__u64 seq = 0;
__u64 dropped = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	__u64 n = __sync_fetch_and_add(&seq, 1);
	if (use_perf) {
		struct event e = { .tgid = target_tgid, .seq = n };
		if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e)))
			__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->tgid = target_tgid;
	e->seq = n;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
