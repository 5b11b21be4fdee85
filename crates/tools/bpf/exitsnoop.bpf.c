// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* exitsnoop: trace process termination with exit status and age. */
#include "common.h"

const volatile pid_t target_pid = 0;
const volatile bool trace_failed_only = false;
const volatile bool trace_threads = false;
DEFINE_CGROUP_FILTER();

struct event {
	bpfkit_duration_ns_t age_ns; /* time since the task started */
	int pid;
	int tid;
	int ppid;
	int exit_code; /* as exit(3) got it, 0 when killed by a signal */
	bpfkit_signal_t sig; /* signal number that killed it, 0 for a normal exit */
	bool core_dumped;
	char comm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	int pid = id >> 32, tid = (u32)id;
	struct task_struct *task;
	struct event *e;
	int status;

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (target_pid && target_pid != pid)
		return 0;
	/* Without -T, only the whole process (its main thread) counts. */
	if (!trace_threads && pid != tid)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	status = BPF_CORE_READ(task, exit_code);
	if (trace_failed_only && status == 0)
		return 0;

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->age_ns = bpf_ktime_get_ns() - BPF_CORE_READ(task, start_time);
	e->pid = pid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->sig = status & 0x7f;
	e->core_dumped = status & 0x80;
	e->exit_code = (status >> 8) & 0xff;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
