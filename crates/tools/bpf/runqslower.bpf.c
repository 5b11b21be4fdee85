// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runqslower: report tasks that waited on the run queue longer than min_us.
 * Same handlers under tp_btf and, for older kernels, raw_tp. */
#include "runq.h"

const volatile u64 min_us = 10000;
const volatile pid_t targ_pid = 0;
const volatile pid_t targ_tgid = 0;

struct event {
	bpfkit_duration_us_t delta_us;
	pid_t pid;
	pid_t prev_pid;
	char task[TASK_COMM_LEN];
	char prev_task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

static __always_inline bool traced(struct task_struct *t)
{
	if (targ_tgid && targ_tgid != BPF_CORE_READ(t, tgid))
		return false;
	if (targ_pid && targ_pid != BPF_CORE_READ(t, pid))
		return false;
	return true;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	if (traced(p))
		remember_wakeup(BPF_CORE_READ(p, pid));
	return 0;
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	struct event *e;
	s64 delta;
	u64 delta_us;

	remember_if_preempted(prev, traced(prev));

	delta = take_wait_ns(BPF_CORE_READ(next, pid));
	if (delta < 0)
		return 0;
	delta_us = delta / 1000U;
	if (min_us && delta_us <= min_us) /* 0: report every wait */
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->delta_us = delta_us;
	e->pid = BPF_CORE_READ(next, pid);
	e->prev_pid = BPF_CORE_READ(prev, pid);
	bpf_probe_read_kernel_str(e->task, sizeof(e->task), next->comm);
	bpf_probe_read_kernel_str(e->prev_task, sizeof(e->prev_task), prev->comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

DEFINE_RUNQ_PROGRAMS()

char LICENSE[] SEC("license") = "GPL";
