// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* threadsnoop: new threads. bpftrace's threadsnoop.bt puts a uprobe on
 * libc's pthread_create (and shows the start function); task:task_newtask
 * sees every new thread whatever created it (clone3, a static binary,
 * another libc), by the creating process. */
#include "common.h"

#define CLONE_THREAD 0x00010000

const volatile pid_t target_pid = 0;

struct event {
	u32 pid; /* the process that created the thread */
	u32 tid; /* the new thread */
	char comm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

SEC("tracepoint/task/task_newtask")
int task_newtask(struct trace_event_raw_task_newtask *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;

	if (!(ctx->clone_flags & CLONE_THREAD))
		return 0;
	if (target_pid && target_pid != pid)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->pid = pid;
	e->tid = ctx->pid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
