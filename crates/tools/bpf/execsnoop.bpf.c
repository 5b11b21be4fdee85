// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* execsnoop: trace exec() syscalls. The argument list is read at entry (the
 * old image is gone at exit) and sent with the return value at exit. */
#include "common.h"

#define ARGSIZE 128
#define TOTAL_MAX_ARGS 60
#define FULL_MAX_ARGS_ARR (TOTAL_MAX_ARGS * ARGSIZE)
#define LAST_ARG (FULL_MAX_ARGS_ARR - ARGSIZE)

const volatile bool include_failed = false;
const volatile uid_t targ_uid = INVALID_UID;
const volatile int max_args = 20;
DEFINE_CGROUP_FILTER();

/* `args` holds `args_count` NUL-terminated strings in `args_size` bytes;
 * args_count == max_args + 1 means the list was cut short. */
struct event {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	int retval;
	int args_count;
	unsigned int args_size;
	char comm[TASK_COMM_LEN];
	char args[FULL_MAX_ARGS_ARR];
};

static const struct event empty_event = {};

/* Execs in flight, between entry and exit. Not preallocated: 10240 7.7 KB
 * entries would cost 79 MB of kernel memory and a third of start-up time
 * to clear, for the few execs that are ever in flight at once. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, pid_t);
	__type(value, struct event);
} execs SEC(".maps");

DEFINE_EVENTS_RINGBUF();

static __always_inline bool valid_uid(uid_t uid)
{
	return uid != INVALID_UID;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	pid_t tgid = id >> 32, tid = (pid_t)id;
	uid_t uid = (u32)bpf_get_current_uid_gid();
	const char **args = (const char **)(ctx->args[1]);
	struct task_struct *task;
	struct event *event;
	const char *argp;
	int ret, i;

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (valid_uid(targ_uid) && targ_uid != uid)
		return 0;
	if (bpf_map_update_elem(&execs, &tid, &empty_event, BPF_NOEXIST))
		return 0;
	event = bpf_map_lookup_elem(&execs, &tid);
	if (!event)
		return 0;

	event->pid = tgid;
	event->uid = uid;
	task = (struct task_struct *)bpf_get_current_task();
	event->ppid = BPF_CORE_READ(task, real_parent, tgid);
	event->args_count = 0;
	event->args_size = 0;

	ret = bpf_probe_read_user_str(event->args, ARGSIZE, (const char *)ctx->args[0]);
	if (ret < 0)
		return 0;
	if (ret <= ARGSIZE)
		event->args_size += ret;
	else
		event->args[0] = '\0'; /* an over-long filename: send nothing rather than garbage */
	event->args_count++;

	for (i = 1; i < TOTAL_MAX_ARGS && i < max_args; i++) {
		if (bpf_probe_read_user(&argp, sizeof(argp), &args[i]) || !argp)
			return 0;
		if (event->args_size > LAST_ARG)
			return 0;
		ret = bpf_probe_read_user_str(&event->args[event->args_size], ARGSIZE, argp);
		if (ret < 0)
			return 0;
		event->args_count++;
		event->args_size += ret;
	}
	/* One more non-NULL pointer means there were more arguments than shown. */
	if (bpf_probe_read_user(&argp, sizeof(argp), &args[max_args]) || !argp)
		return 0;
	event->args_count++;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	pid_t tid = (pid_t)bpf_get_current_pid_tgid();
	struct event *event;
	unsigned int size;
	int ret;

	if (CGROUP_FILTERED_OUT())
		return 0;
	event = bpf_map_lookup_elem(&execs, &tid);
	if (!event)
		return 0;
	ret = ctx->ret;
	if (include_failed || ret >= 0) {
		event->retval = ret;
		bpf_get_current_comm(&event->comm, sizeof(event->comm));
		/* Only the argument bytes read: records of ~200 bytes rather
		 * than 7.7 KB keep the ring from overflowing in exec storms. */
		size = event->args_size;
		if (size > FULL_MAX_ARGS_ARR)
			size = FULL_MAX_ARGS_ARR;
		output_event(event, offsetof(struct event, args) + size);
	}
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
