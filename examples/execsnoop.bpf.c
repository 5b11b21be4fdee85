// SPDX-License-Identifier: GPL-2.0
// execsnoop: new programs being run, with their parent and the result of
// execve(2); events go out through a perf event array.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16

struct event {
	int pid;
	int ppid;
	int uid;
	int retval;
	bool is_exit;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct event event = {};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	event.pid = bpf_get_current_pid_tgid() >> 32;
	event.ppid = BPF_CORE_READ(task, real_parent, tgid);
	event.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(&event.comm, sizeof(event.comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	struct event event = {};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	event.pid = bpf_get_current_pid_tgid() >> 32;
	event.ppid = BPF_CORE_READ(task, real_parent, tgid);
	event.uid = (__u32)bpf_get_current_uid_gid();
	event.retval = ctx->ret;
	event.is_exit = true;
	bpf_get_current_comm(&event.comm, sizeof(event.comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
