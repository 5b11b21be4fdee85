/* An exec tracer with libbpf-tools' cgroup filter (`-c CG`): a
 * `const volatile bool filter_cg` and a one-slot cgroup array
 * `cgroup_map` that user space fills with the cgroup to trace. */
#include "common.h"

const volatile _Bool filter_cg = 0;

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} cgroup_map SEC(".maps");

struct exec_event {
	__u32 pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__type(value, struct exec_event);
} execs SEC(".maps");

SEC("tp/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct exec_event *e;

	if (filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))
		return 0;
	e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = current_tgid();
	bpf_ringbuf_submit(e, 0);
	return 0;
}
