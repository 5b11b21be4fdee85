// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* offcputime: summarize off-CPU time by stack: at sched_switch the task
 * going off CPU records its stacks and the time, and when it comes back
 * the time away is added to its (pid, stacks) key. tp_btf first, raw_tp
 * for older kernels (same handlers), as libbpf-tools. */
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
const volatile long state = -1;

struct key_t {
	bpfkit_pid_t pid;
	bpfkit_pid_t tgid;
	s32 user_stack_id;
	s32 kern_stack_id;
	char name[TASK_COMM_LEN];
};

struct val_t {
	bpfkit_duration_us_t delta;
};

struct internal_key {
	u64 start_ts;
	struct key_t key;
};

DEFINE_STACK_TRACES(MAX_ENTRIES);

/* Tasks off CPU now: when they left and their key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, struct internal_key);
	__uint(max_entries, MAX_ENTRIES);
} start SEC(".maps");

/* Off-CPU time per key, in microseconds. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key_t);
	__type(value, struct val_t);
	__uint(max_entries, MAX_ENTRIES);
} info SEC(".maps");

static __always_inline bool allow_record(struct task_struct *t)
{
	u32 tgid = BPF_CORE_READ(t, tgid), pid = BPF_CORE_READ(t, pid);

	if (targ_tgid && targ_tgid != tgid)
		return false;
	if (targ_pid && targ_pid != pid)
		return false;
	if (user_threads_only && (BPF_CORE_READ(t, flags) & PF_KTHREAD))
		return false;
	if (kernel_threads_only && !(BPF_CORE_READ(t, flags) & PF_KTHREAD))
		return false;
	if (state != -1 && task_state(t) != state)
		return false;
	return true;
}

static __always_inline int handle_sched_switch(void *ctx, struct task_struct *prev,
					       struct task_struct *next)
{
	static const struct val_t zero;
	struct internal_key *i_keyp, i_key = {};
	struct val_t *valp;
	s64 delta;
	u32 pid;

	if (allow_record(prev)) {
		pid = BPF_CORE_READ(prev, pid);
		/* Idle tasks all have pid 0, one per CPU. */
		if (!pid)
			pid = bpf_get_smp_processor_id();
		i_key.key.pid = pid;
		i_key.key.tgid = BPF_CORE_READ(prev, tgid);
		i_key.start_ts = bpf_ktime_get_ns();
		if (BPF_CORE_READ(prev, flags) & PF_KTHREAD)
			i_key.key.user_stack_id = -1;
		else
			i_key.key.user_stack_id = kernel_stacks_only ? -1 : USER_STACK(ctx);
		i_key.key.kern_stack_id = user_stacks_only ? -1 : KERNEL_STACK(ctx);
		bpf_probe_read_kernel_str(i_key.key.name, sizeof(i_key.key.name), prev->comm);
		bpf_map_update_elem(&start, &pid, &i_key, 0);
	}

	pid = BPF_CORE_READ(next, pid);
	i_keyp = bpf_map_lookup_elem(&start, &pid);
	if (!i_keyp)
		return 0;
	delta = (s64)(bpf_ktime_get_ns() - i_keyp->start_ts);
	if (delta < 0)
		goto cleanup;
	if (delta < min_block_ns || delta > max_block_ns)
		goto cleanup;
	valp = lookup_or_init(&info, &i_keyp->key, &zero);
	if (valp)
		__sync_fetch_and_add(&valp->delta, delta / 1000U);
cleanup:
	bpf_map_delete_elem(&start, &pid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_sched_switch(ctx, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_sched_switch(ctx, prev, next);
}

char LICENSE[] SEC("license") = "GPL";
