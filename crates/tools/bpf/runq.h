/* Run queue waits, shared by runqlat and runqslower: when a task becomes
 * runnable its wakeup time is kept in `start`, keyed by thread id, and
 * taken when the task is switched in. */
#ifndef BPFKIT_TOOLS_RUNQ_H
#define BPFKIT_TOOLS_RUNQ_H

#include "sched.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

static __always_inline void remember_wakeup(u32 tid)
{
	u64 ts = bpf_ktime_get_ns();

	if (tid) /* the idle task never waits */
		bpf_map_update_elem(&start, &tid, &ts, 0);
}

/* Nanoseconds `tid` waited on the run queue, or -1 when its wakeup was not
 * seen; forgets the wakeup either way. */
static __always_inline s64 take_wait_ns(u32 tid)
{
	u64 *tsp = bpf_map_lookup_elem(&start, &tid);
	s64 delta;

	if (!tsp)
		return -1;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	return delta;
}

/* A task switched out while still runnable (preempted) goes straight back
 * on the run queue: its wait starts now, if the tool traces it. */
static __always_inline void remember_if_preempted(struct task_struct *prev, bool traced)
{
	if (traced && task_state(prev) == TASK_RUNNING)
		remember_wakeup(BPF_CORE_READ(prev, pid));
}

/* The sched_wakeup, sched_wakeup_new and sched_switch programs calling the
 * tool's on_wakeup(p) and on_switch(prev, next): `NAME_btf` under tp_btf,
 * `NAME` under raw_tp for older kernels. */
#define DEFINE_RUNQ_PROGRAMS_OF(kind, suffix)                                  \
	SEC(#kind "/sched_wakeup")                                             \
	int BPF_PROG(sched_wakeup##suffix, struct task_struct *p)              \
	{                                                                      \
		return on_wakeup(p);                                           \
	}                                                                      \
	SEC(#kind "/sched_wakeup_new")                                         \
	int BPF_PROG(sched_wakeup_new##suffix, struct task_struct *p)          \
	{                                                                      \
		return on_wakeup(p);                                           \
	}                                                                      \
	SEC(#kind "/sched_switch")                                             \
	int BPF_PROG(sched_switch##suffix, bool preempt,                       \
		     struct task_struct *prev, struct task_struct *next)       \
	{                                                                      \
		return on_switch(prev, next);                                  \
	}

#define DEFINE_RUNQ_PROGRAMS()                                                 \
	DEFINE_RUNQ_PROGRAMS_OF(tp_btf, _btf)                                  \
	DEFINE_RUNQ_PROGRAMS_OF(raw_tp, )

#endif
