// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* vfsstat: counts of file reads, writes, fsyncs, opens and creates per
 * interval. libbpf-tools counts calls of vfs_read, vfs_write, vfs_fsync,
 * vfs_open and vfs_create (fentry/kprobes); this kernel half is the
 * syscall-level approximation from syscall tracepoints, for kernels
 * without either: reads are read/readv/pread64, writes write/writev/
 * pwrite64, opens open/openat/openat2, creates creat and opens with
 * O_CREAT (which may open a file that exists). */
#include "common.h"

#define O_CREAT 0100

struct stats {
	u64 reads;
	u64 writes;
	u64 fsyncs;
	u64 opens;
	u64 creates;
};

/* One entry, key 0. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct stats);
} stats SEC(".maps");

static const struct stats zero;

static __always_inline struct stats *totals(void)
{
	u32 key = 0;

	return lookup_or_init(&stats, &key, &zero);
}

#define COUNTER(name, member)                                                  \
	SEC("tracepoint/syscalls/sys_enter_" #name)                            \
	int name(void *ctx)                                                    \
	{                                                                      \
		struct stats *s = totals();                                    \
		if (s)                                                         \
			__sync_fetch_and_add(&s->member, 1);                   \
		return 0;                                                      \
	}

COUNTER(read, reads)
COUNTER(readv, reads)
COUNTER(pread64, reads)
COUNTER(write, writes)
COUNTER(writev, writes)
COUNTER(pwrite64, writes)
COUNTER(fsync, fsyncs)
COUNTER(fdatasync, fsyncs)
COUNTER(creat, creates)

/* An open, and a create when O_CREAT is in `flags`. */
static __always_inline int opened(u64 flags)
{
	struct stats *s = totals();

	if (!s)
		return 0;
	__sync_fetch_and_add(&s->opens, 1);
	if (flags & O_CREAT)
		__sync_fetch_and_add(&s->creates, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open(struct trace_event_raw_sys_enter *ctx)
{
	return opened(ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat(struct trace_event_raw_sys_enter *ctx)
{
	return opened(ctx->args[2]);
}

/* openat2's flags are in the struct open_how its third argument points to. */
SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2(struct trace_event_raw_sys_enter *ctx)
{
	u64 flags = 0;

	bpf_probe_read_user(&flags, sizeof(flags), (void *)ctx->args[2]);
	return opened(flags);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
