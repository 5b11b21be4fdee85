// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* syncsnoop: trace sync-family system calls (sync, syncfs, fsync,
 * fdatasync, sync_file_range, msync), as bcc's syncsnoop. */
#include "common.h"

const volatile pid_t target_pid = 0;

struct event {
	bpfkit_syscall_t call;
	u32 pid;
	char comm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* The start of every sys_enter record: only the syscall number, an int.
 * sys_enter_sync has no arguments after it, and the kernel refuses
 * (EACCES) to attach a program that reads past a tracepoint's record, so
 * trace_event_raw_sys_enter's 8-byte `id` cannot be used. */
struct sys_enter_nr {
	u64 common;
	int nr;
};

static __always_inline int sync_called(struct sys_enter_nr *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;

	if (target_pid && target_pid != pid)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->call = ctx->nr;
	e->pid = pid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#define SYNC_SYSCALL(name)                                                     \
	SEC("tracepoint/syscalls/sys_enter_" #name)                            \
	int name(struct sys_enter_nr *ctx)                        \
	{                                                                      \
		return sync_called(ctx);                                       \
	}

SYNC_SYSCALL(sync)
SYNC_SYSCALL(syncfs)
SYNC_SYSCALL(fsync)
SYNC_SYSCALL(fdatasync)
SYNC_SYSCALL(sync_file_range)
SYNC_SYSCALL(msync)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
