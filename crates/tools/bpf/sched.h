/* Scheduler helpers shared by runqlat, runqslower and offcputime. */
#ifndef BPFKIT_TOOLS_SCHED_H
#define BPFKIT_TOOLS_SCHED_H

#include "common.h"

#define TASK_RUNNING 0

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

#endif
