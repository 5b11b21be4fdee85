/* Scheduler helpers shared by runqlat and runqslower: when a task becomes
 * runnable its wakeup time is kept in `start`, keyed by thread id. */
#ifndef BPFKIT_TOOLS_SCHED_H
#define BPFKIT_TOOLS_SCHED_H

#include "common.h"

#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/* `state` was renamed `__state` in 5.14. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	struct task_struct___o *old = (void *)t;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ(old, state);
}

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

#endif
