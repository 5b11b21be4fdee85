/* execve events through a ring buffer and a perf buffer. */
#include "common.h"

struct event {
	__u32 pid;
	__u32 ppid_unused;
	char comm[16];
	char filename[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct event);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__type(value, struct event);
} pb SEC(".maps");

__u64 execs = 0;

static __always_inline void fill(struct event *e, struct syscall_enter *ctx)
{
	e->pid = current_tgid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[0]);
}

SEC("tp/syscalls/sys_enter_execve")
int exec_ring(struct syscall_enter *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	fill(e, ctx);
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&execs, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int exec_perf(struct syscall_enter *ctx)
{
	struct event e = {};
	fill(&e, ctx);
	bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
