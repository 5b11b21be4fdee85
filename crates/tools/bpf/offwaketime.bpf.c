// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* offwaketime: off-CPU time by the blocked task's stacks and the stacks of
 * the task that woke it, as bcc's offwaketime. At sched_switch the task
 * going off CPU records its stacks and the time; at sched_wakeup the waker
 * (the current task) records its own stacks for the target; when the
 * target is switched back in, the time away is added to the key of both.
 * tp_btf first, raw_tp for older kernels (same handlers). */
#include "stacks.h"
#include "sched.h"

#define PF_KTHREAD 0x00200000

const volatile bool kernel_threads_only = false;
const volatile bool user_threads_only = false;
const volatile bool user_stacks_only = false;
const volatile bool kernel_stacks_only = false;
const volatile u64 max_block_ns = -1;
const volatile u64 min_block_ns = 1000; /* -m: 1 us */
const volatile pid_t targ_tgid = 0;
const volatile pid_t targ_pid = 0;

/* One side: the blocked task (target) or the one that woke it (waker). */
struct side {
	bpfkit_pid_t pid;
	bpfkit_pid_t tgid;
	s32 kern_stack_id;
	s32 user_stack_id;
	char comm[TASK_COMM_LEN];
};

/* Flat (the output names fields by name, one level deep): t_ the
 * target, w_ the waker. */
struct key_t {
	bpfkit_pid_t t_pid;
	bpfkit_pid_t t_tgid;
	s32 t_k_stack_id;
	s32 t_u_stack_id;
	char target[TASK_COMM_LEN];
	bpfkit_pid_t w_pid;
	bpfkit_pid_t w_tgid;
	s32 w_k_stack_id;
	s32 w_u_stack_id;
	char waker[TASK_COMM_LEN];
};

struct val_t {
	bpfkit_duration_us_t delta;
};

struct blocked {
	u64 start_ts;
	struct side target;
};

DEFINE_STACK_TRACES(MAX_ENTRIES);

/* Tasks off CPU now: when they left and their stacks, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, struct blocked);
	__uint(max_entries, MAX_ENTRIES);
} start SEC(".maps");

/* Who woke each blocked task, by the target's thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, struct side);
	__uint(max_entries, MAX_ENTRIES);
} wokeby SEC(".maps");

/* Off-CPU time per (target, waker) key, in microseconds. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key_t);
	__type(value, struct val_t);
	__uint(max_entries, MAX_ENTRIES);
} counts SEC(".maps");

static __always_inline bool allow_record(struct task_struct *t)
{
	u32 tgid = BPF_CORE_READ(t, tgid), pid = BPF_CORE_READ(t, pid);

	if (!pid)
		return false; /* idle */
	if (targ_tgid && targ_tgid != tgid)
		return false;
	if (targ_pid && targ_pid != pid)
		return false;
	if (user_threads_only && (BPF_CORE_READ(t, flags) & PF_KTHREAD))
		return false;
	if (kernel_threads_only && !(BPF_CORE_READ(t, flags) & PF_KTHREAD))
		return false;
	return true;
}

/* The current task's identity and stacks, as -U/-K ask. */
static __always_inline void fill_current(void *ctx, struct task_struct *t, struct side *s)
{
	s->pid = BPF_CORE_READ(t, pid);
	s->tgid = BPF_CORE_READ(t, tgid);
	if (BPF_CORE_READ(t, flags) & PF_KTHREAD)
		s->user_stack_id = -1;
	else
		s->user_stack_id = kernel_stacks_only ? -1 : USER_STACK(ctx);
	s->kern_stack_id = user_stacks_only ? -1 : KERNEL_STACK(ctx);
	bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), t->comm);
}

static __always_inline int on_switch(void *ctx, struct task_struct *prev,
				     struct task_struct *next)
{
	static const struct val_t zero;
	struct blocked *b, blocked = {};
	struct key_t key = {};
	struct side *waker;
	struct val_t *valp;
	u32 pid;
	s64 delta;

	if (allow_record(prev)) {
		fill_current(ctx, prev, &blocked.target);
		blocked.start_ts = bpf_ktime_get_ns();
		pid = blocked.target.pid;
		bpf_map_update_elem(&start, &pid, &blocked, 0);
		bpf_map_delete_elem(&wokeby, &pid);
	}

	pid = BPF_CORE_READ(next, pid);
	b = bpf_map_lookup_elem(&start, &pid);
	if (!b)
		return 0;
	delta = (s64)(bpf_ktime_get_ns() - b->start_ts);
	if (delta < 0 || delta < min_block_ns || delta > max_block_ns)
		goto cleanup;
	key.t_pid = b->target.pid;
	key.t_tgid = b->target.tgid;
	key.t_k_stack_id = b->target.kern_stack_id;
	key.t_u_stack_id = b->target.user_stack_id;
	__builtin_memcpy(key.target, b->target.comm, sizeof(key.target));
	waker = bpf_map_lookup_elem(&wokeby, &pid);
	if (waker) {
		key.w_pid = waker->pid;
		key.w_tgid = waker->tgid;
		key.w_k_stack_id = waker->kern_stack_id;
		key.w_u_stack_id = waker->user_stack_id;
		__builtin_memcpy(key.waker, waker->comm, sizeof(key.waker));
	} else {
		key.w_k_stack_id = key.w_u_stack_id = -1;
	}
	valp = lookup_or_init(&counts, &key, &zero);
	if (valp)
		__sync_fetch_and_add(&valp->delta, delta / 1000U);
cleanup:
	bpf_map_delete_elem(&start, &pid);
	bpf_map_delete_elem(&wokeby, &pid);
	return 0;
}

static __always_inline int on_wakeup(void *ctx, struct task_struct *p)
{
	u32 pid = BPF_CORE_READ(p, pid);
	struct side waker = {};

	/* Only tasks we saw go off CPU (and the filters let through). */
	if (!bpf_map_lookup_elem(&start, &pid))
		return 0;
	fill_current(ctx, (struct task_struct *)bpf_get_current_task(), &waker);
	bpf_map_update_elem(&wokeby, &pid, &waker, 0);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(ctx, prev, next);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	return on_wakeup(ctx, p);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(ctx, prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return on_wakeup(ctx, p);
}

char LICENSE[] SEC("license") = "GPL";
