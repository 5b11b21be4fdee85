// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pidpersec: new processes (forks) per interval, as bpftrace's
 * pidpersec.bt, from sched:sched_process_fork. */
#include "common.h"

struct stats {
	u64 forks;
};

/* One entry, key 0. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct stats);
} stats SEC(".maps");

static const struct stats zero;

SEC("tracepoint/sched/sched_process_fork")
int sched_process_fork(void *ctx)
{
	u32 key = 0;
	struct stats *s = lookup_or_init(&stats, &key, &zero);

	if (s)
		__sync_fetch_and_add(&s->forks, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
