// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* statsnoop: trace the stat() family of syscalls. */
#include "common.h"

#define MAX_PATH 256

const volatile pid_t target_pid = 0;
const volatile bool trace_failed_only = false;

struct event {
	bpfkit_ktime_t ts_ns;
	u32 pid;
	int ret; /* 0 on success, -1 on failure */
	int err; /* errno, 0 on success */
	char comm[TASK_COMM_LEN];
	char pathname[MAX_PATH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, const char *);
} values SEC(".maps");

DEFINE_EVENTS_RINGBUF();

static __always_inline int probe_entry(const char *pathname)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;

	if (target_pid && target_pid != pid)
		return 0;
	bpf_map_update_elem(&values, &tid, &pathname, BPF_ANY);
	return 0;
}

static __always_inline int probe_return(long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	const char **pathname;
	struct event *e;

	pathname = bpf_map_lookup_elem(&values, &tid);
	if (!pathname)
		return 0;
	if (trace_failed_only && ret >= 0)
		goto cleanup;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto cleanup;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->ret = ret >= 0 ? ret : -1;
	e->err = ret >= 0 ? 0 : -ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->pathname, sizeof(e->pathname), *pathname);
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

/* One entry/exit pair per syscall; ARG is the index of the path argument. */
#define STAT_SYSCALL(NAME, ARG)                                                       \
	SEC("tracepoint/syscalls/sys_enter_" #NAME)                                    \
	int handle_##NAME##_entry(struct trace_event_raw_sys_enter *ctx)               \
	{                                                                              \
		return probe_entry((const char *)ctx->args[ARG]);                      \
	}                                                                              \
	SEC("tracepoint/syscalls/sys_exit_" #NAME)                                     \
	int handle_##NAME##_return(struct trace_event_raw_sys_exit *ctx)               \
	{                                                                              \
		return probe_return(ctx->ret);                                         \
	}

STAT_SYSCALL(statfs, 0)
STAT_SYSCALL(newstat, 0)
STAT_SYSCALL(newlstat, 0)
STAT_SYSCALL(newfstatat, 1)
STAT_SYSCALL(statx, 1)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
