// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fsdist: latency histograms of file system operations, one per operation
 * (fs.h: on the file system's functions, or at the syscall level).
 * ext4dist, xfsdist and btrfsdist are this program with their file system
 * compiled in. */
#include "fs.h"

#define MAX_SLOTS 32

const volatile bool targ_ms = false;

struct hist {
	u32 slots[MAX_SLOTS];
};

/* Key: the operation (enum fs_op). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FS_MAX_OP);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

static const struct hist zero;

static __always_inline void fs_op_done(u32 op, u64 delta_ns, struct file *file, s64 ret, u64 offset,
				       u32 pid)
{
	u64 delta = delta_ns / (targ_ms ? 1000000 : 1000);
	struct hist *histp = lookup_or_init(&hists, &op, &zero);

	if (!histp)
		return;
	__sync_fetch_and_add(&histp->slots[hist_slot(delta, MAX_SLOTS)], 1);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
