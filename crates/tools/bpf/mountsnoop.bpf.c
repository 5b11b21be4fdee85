// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mountsnoop: trace mount() and umount() syscalls. Arguments are read at
 * entry and sent with the result at exit. */
#include "common.h"

#define FS_NAME_LEN 16
#define DATA_LEN 256
#define PATH_LEN 512

const volatile pid_t target_pid = 0;

/* Named so that the output shows MOUNT / UMOUNT from BTF. */
enum op {
	MOUNT,
	UMOUNT,
};

struct arg {
	u64 ts;
	u64 flags;
	const char *src;
	const char *dest;
	const char *fs;
	const char *data;
	enum op op;
};

struct event {
	bpfkit_duration_ns_t delta_ns; /* time spent in the syscall */
	u64 flags;
	u32 pid;
	u32 tid;
	unsigned int mnt_ns;
	int ret;
	enum op op;
	char comm[TASK_COMM_LEN];
	char fs[FS_NAME_LEN];
	char src[PATH_LEN];
	char dest[PATH_LEN];
	char data[DATA_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct arg);
} args SEC(".maps");

DEFINE_EVENTS_RINGBUF();

static __always_inline int probe_entry(const char *src, const char *dest, const char *fs,
				       u64 flags, const char *data, enum op op)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct arg arg = {};

	if (target_pid && target_pid != pid)
		return 0;
	arg.ts = bpf_ktime_get_ns();
	arg.flags = flags;
	arg.src = src;
	arg.dest = dest;
	arg.fs = fs;
	arg.data = data;
	arg.op = op;
	bpf_map_update_elem(&args, &tid, &arg, BPF_ANY);
	return 0;
}

static __always_inline int probe_exit(int ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct task_struct *task;
	struct arg *argp;
	struct event *e;

	argp = bpf_map_lookup_elem(&args, &tid);
	if (!argp)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto cleanup;
	task = (struct task_struct *)bpf_get_current_task();
	e->delta_ns = bpf_ktime_get_ns() - argp->ts;
	e->flags = argp->flags;
	e->pid = id >> 32;
	e->tid = tid;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->ret = ret;
	e->op = argp->op;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Unused strings stay empty: a failed read leaves a NUL. */
	e->fs[0] = e->src[0] = e->data[0] = '\0';
	if (argp->fs)
		bpf_probe_read_user_str(e->fs, sizeof(e->fs), argp->fs);
	if (argp->src)
		bpf_probe_read_user_str(e->src, sizeof(e->src), argp->src);
	if (argp->data)
		bpf_probe_read_user_str(e->data, sizeof(e->data), argp->data);
	bpf_probe_read_user_str(e->dest, sizeof(e->dest), argp->dest);
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&args, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((const char *)ctx->args[0], (const char *)ctx->args[1],
			   (const char *)ctx->args[2], ctx->args[3], (const char *)ctx->args[4],
			   MOUNT);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry(NULL, (const char *)ctx->args[0], NULL, ctx->args[1], NULL, UMOUNT);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int umount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
