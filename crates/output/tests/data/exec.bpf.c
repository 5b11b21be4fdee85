// One ring buffer event per exec, for the end-to-end output test.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bpfkit.h"

struct exec_event {
	__u32 pid;
	__u32 uid;
	bpfkit_ktime_t ts;
	int ret;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

BPFKIT_EVENT(events, struct exec_event);

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ts = bpf_ktime_get_ns();
	e->ret = -2;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
