// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bitesize: block I/O sizes as a histogram per process, from
 * block:block_rq_issue (as libbpf-tools: the issuing task's comm). */
#include "common.h"

#define MAX_SLOTS 20

const volatile char targ_comm[TASK_COMM_LEN] = {};
const volatile bool filter_dev = false;
const volatile u32 targ_dev = 0;

struct hist_key {
	char comm[TASK_COMM_LEN];
};

struct hist {
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

static __always_inline bool comm_allowed(const char *comm)
{
	int i;

	for (i = 0; i < TASK_COMM_LEN && targ_comm[i]; i++) {
		if (comm[i] != targ_comm[i])
			return false;
	}
	return true;
}

SEC("tracepoint/block/block_rq_issue")
int block_rq_issue(struct trace_event_raw_block_rq *ctx)
{
	struct hist_key key = {};
	struct hist *histp;

	if (filter_dev && ctx->dev != targ_dev)
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (!comm_allowed(key.comm))
		return 0;
	histp = lookup_or_init(&hists, &key, &zero);
	if (!histp)
		return 0;
	__sync_fetch_and_add(&histp->slots[hist_slot(ctx->bytes / 1024, MAX_SLOTS)], 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
