// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* biopattern: count random and sequential block I/O per disk. */
#include "block.h"

const volatile bool filter_dev = false;
const volatile u32 targ_dev = 0;

/* Key of `counters`: the disk (kernel dev_t). */
struct counter {
	u64 last_sector;
	u64 bytes;
	u32 sequential;
	u32 random;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, struct counter);
} counters SEC(".maps");

/* The record was named block_rq_complete before 5.x's rename. */
struct trace_event_raw_block_rq_completion___x {
	dev_t dev;
	sector_t sector;
	unsigned int nr_sector;
} __attribute__((preserve_access_index));

struct trace_event_raw_block_rq_complete___x {
	dev_t dev;
	sector_t sector;
	unsigned int nr_sector;
} __attribute__((preserve_access_index));

static const struct counter zero;

SEC("tracepoint/block/block_rq_complete")
int handle__block_rq_complete(void *args)
{
	struct counter *counterp;
	sector_t sector;
	u32 nr_sector, dev;

	if (bpf_core_type_exists(struct trace_event_raw_block_rq_completion___x)) {
		struct trace_event_raw_block_rq_completion___x *ctx = args;

		sector = BPF_CORE_READ(ctx, sector);
		nr_sector = BPF_CORE_READ(ctx, nr_sector);
		dev = BPF_CORE_READ(ctx, dev);
	} else {
		struct trace_event_raw_block_rq_complete___x *ctx = args;

		sector = BPF_CORE_READ(ctx, sector);
		nr_sector = BPF_CORE_READ(ctx, nr_sector);
		dev = BPF_CORE_READ(ctx, dev);
	}
	if (filter_dev && targ_dev != dev)
		return 0;
	counterp = lookup_or_init(&counters, &dev, &zero);
	if (!counterp)
		return 0;
	if (counterp->last_sector) {
		if (counterp->last_sector == sector)
			__sync_fetch_and_add(&counterp->sequential, 1);
		else
			__sync_fetch_and_add(&counterp->random, 1);
		__sync_fetch_and_add(&counterp->bytes, (u64)nr_sector * 512);
	}
	counterp->last_sector = sector + nr_sector;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
