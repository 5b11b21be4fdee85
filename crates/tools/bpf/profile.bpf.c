// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profile: sample stack traces at a timed interval (a perf_event program
 * on the software CPU clock, at --frequency Hz on every CPU), counting
 * samples per (process, kernel stack, user stack), as libbpf-tools. */
#include "stacks.h"

/* -p and -L take comma-separated lists, as libbpf-tools (an empty list:
 * every process / thread). */
#define MAX_PIDS 16
const volatile pid_t targ_pids[MAX_PIDS] = {};
const volatile u32 targ_pids_len = 0;
const volatile pid_t targ_tids[MAX_PIDS] = {};
const volatile u32 targ_tids_len = 0;
/* -C: only samples taken on this CPU (-1: every CPU). The perf events are
 * still opened on every CPU; the others' samples are dropped here. */
const volatile int targ_cpu = -1;
const volatile bool user_stacks_only = false;
const volatile bool kernel_stacks_only = false;
const volatile bool include_idle = false;

struct key_t {
	bpfkit_pid_t pid;
	s32 kern_stack_id;
	s32 user_stack_id;
	char name[TASK_COMM_LEN];
};

struct sample_count {
	u64 samples;
};

DEFINE_STACK_TRACES(MAX_ENTRIES);

/* Samples per key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key_t);
	__type(value, struct sample_count);
	__uint(max_entries, MAX_ENTRIES);
} counts SEC(".maps");

static __always_inline bool listed(const volatile pid_t *ids, u32 len, u32 id)
{
	for (u32 i = 0; i < MAX_PIDS; i++) {
		if (i >= len)
			break;
		if ((u32)ids[i] == id)
			return true;
	}
	return false;
}

SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	static const struct sample_count zero;
	struct key_t key = {};
	struct sample_count *valp;

	if (!include_idle && tid == 0)
		return 0;
	if (targ_cpu >= 0 && (u32)targ_cpu != bpf_get_smp_processor_id())
		return 0;
	if (targ_pids_len && !listed(targ_pids, targ_pids_len, pid))
		return 0;
	if (targ_tids_len && !listed(targ_tids, targ_tids_len, tid))
		return 0;
	key.pid = pid;
	bpf_get_current_comm(&key.name, sizeof(key.name));
	key.kern_stack_id = user_stacks_only ? -1 : KERNEL_STACK(ctx);
	key.user_stack_id = kernel_stacks_only ? -1 : USER_STACK(ctx);
	valp = lookup_or_init(&counts, &key, &zero);
	if (valp)
		__sync_fetch_and_add(&valp->samples, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
