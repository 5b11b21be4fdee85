// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* wakeuptime: time tasks were blocked, summed by the kernel stack of the
 * task that woke them (the waker) and both tasks' names. At sched_switch
 * a task going to sleep records the time; at sched_wakeup the time since
 * then is added to the waker's key. tp_btf first, raw_tp for older
 * kernels, as offcputime. */
#include "stacks.h"
#include "sched.h"

#define TASK_RUNNING 0

const volatile pid_t targ_pid = 0;
const volatile u64 max_block_ns = -1;
const volatile u64 min_block_ns = 1000; /* -m: 1 us */

struct key_t {
	char waker[TASK_COMM_LEN];
	char target[TASK_COMM_LEN];
	s32 w_k_stack_id;
};

struct val_t {
	bpfkit_duration_us_t delta;
};

DEFINE_STACK_TRACES(MAX_ENTRIES);

/* When each sleeping task went to sleep, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/* Blocked time per key, in microseconds. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct key_t);
	__type(value, struct val_t);
} counts SEC(".maps");

static const struct val_t zero;

static __always_inline int on_switch(struct task_struct *prev)
{
	u32 tid = BPF_CORE_READ(prev, pid);
	u64 ts;

	if (targ_pid && targ_pid != BPF_CORE_READ(prev, tgid))
		return 0;
	/* Preempted tasks are runnable, not blocked. */
	if (!tid || task_state(prev) == TASK_RUNNING)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, 0);
	return 0;
}

static __always_inline int on_wakeup(void *ctx, struct task_struct *p)
{
	u32 tid = BPF_CORE_READ(p, pid);
	u64 *tsp = bpf_map_lookup_elem(&start, &tid), delta;
	struct val_t *val;
	struct key_t key = {};

	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	if (delta < min_block_ns || delta > max_block_ns)
		return 0;
	bpf_probe_read_kernel_str(key.target, sizeof(key.target), p->comm);
	bpf_get_current_comm(key.waker, sizeof(key.waker));
	key.w_k_stack_id = KERNEL_STACK(ctx);
	val = lookup_or_init(&counts, &key, &zero);
	if (val)
		__sync_fetch_and_add(&val->delta, delta / 1000);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	return on_wakeup(ctx, p);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return on_wakeup(ctx, p);
}

char LICENSE[] SEC("license") = "GPL";
