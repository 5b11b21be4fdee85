// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mountsnoop: trace mount() and umount() syscalls, and the new mount API
 * (fsopen, fsconfig, fsmount, move_mount, mount_setattr, open_tree) that
 * util-linux 2.39+ and systemd use. Arguments are kept at entry and read
 * and sent with the result at exit. One event layout serves every call:
 * which members a call fills is said where it is traced. */
#include "common.h"

#define FS_NAME_LEN 16
#define DATA_LEN 256
#define PATH_LEN 512

const volatile pid_t target_pid = 0;

/* Named so that the output shows MOUNT / UMOUNT ... from BTF. */
enum op {
	MOUNT,
	UMOUNT,
	FSOPEN,
	FSCONFIG,
	FSMOUNT,
	MOVE_MOUNT,
	MOUNT_SETATTR,
	OPEN_TREE,
};

/* fsconfig commands whose value is a string (include/uapi/linux/mount.h). */
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_SET_PATH 3
#define FSCONFIG_SET_PATH_EMPTY 4

struct arg {
	u64 ts;
	u64 flags;
	u64 flags2;
	const char *src;
	const char *dest;
	const char *fs;
	const char *data;
	int fd;
	int fd2;
	int cmd;
	int aux;
	enum op op;
};

/* mount: src, dest, fs, flags, data. umount: dest, flags.
 * fsopen: fs, flags. fsconfig: fd, cmd, src (key), data (value), aux.
 * fsmount: fd, flags, flags2 (attr_flags).
 * move_mount: fd, src (from path), fd2, dest (to path), flags.
 * mount_setattr: fd, src (path), flags, flags2 (attr_set).
 * open_tree: fd, src (path), flags. */
struct event {
	bpfkit_duration_ns_t delta_ns; /* time spent in the syscall */
	u64 flags;
	u64 flags2;
	u32 pid;
	u32 tid;
	unsigned int mnt_ns;
	int ret;
	int fd;
	int fd2;
	int cmd;
	int aux;
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

/* Keeps the call's arguments for its exit; false when filtered out. */
static __always_inline int probe_entry(struct arg *arg)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;

	if (target_pid && target_pid != pid)
		return 0;
	arg->ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&args, &tid, arg, BPF_ANY);
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
	e->flags2 = argp->flags2;
	e->fd = argp->fd;
	e->fd2 = argp->fd2;
	e->cmd = argp->cmd;
	e->aux = argp->aux;
	e->pid = id >> 32;
	e->tid = tid;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->ret = ret;
	e->op = argp->op;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Unused strings stay empty: a failed read leaves a NUL. */
	e->fs[0] = e->src[0] = e->dest[0] = e->data[0] = '\0';
	if (argp->fs)
		bpf_probe_read_user_str(e->fs, sizeof(e->fs), argp->fs);
	if (argp->src)
		bpf_probe_read_user_str(e->src, sizeof(e->src), argp->src);
	if (argp->data)
		bpf_probe_read_user_str(e->data, sizeof(e->data), argp->data);
	if (argp->dest)
		bpf_probe_read_user_str(e->dest, sizeof(e->dest), argp->dest);
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&args, &tid);
	return 0;
}

#define ARG(n, type) ((type)ctx->args[n])

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct arg arg = {
		.op = MOUNT,
		.src = ARG(0, const char *),
		.dest = ARG(1, const char *),
		.fs = ARG(2, const char *),
		.flags = ARG(3, u64),
		.data = ARG(4, const char *),
	};

	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct arg arg = { .op = UMOUNT, .dest = ARG(0, const char *), .flags = ARG(1, u64) };

	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_fsopen")
int fsopen_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct arg arg = { .op = FSOPEN, .fs = ARG(0, const char *), .flags = ARG(1, u64) };

	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_fsconfig")
int fsconfig_entry(struct trace_event_raw_sys_enter *ctx)
{
	int cmd = ARG(1, int);
	struct arg arg = {
		.op = FSCONFIG,
		.fd = ARG(0, int),
		.cmd = cmd,
		.src = ARG(2, const char *),
		.aux = ARG(4, int),
	};

	/* Other commands' values are binary, an fd, or nothing. */
	if (cmd == FSCONFIG_SET_STRING || cmd == FSCONFIG_SET_PATH ||
	    cmd == FSCONFIG_SET_PATH_EMPTY)
		arg.data = ARG(3, const char *);
	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_fsmount")
int fsmount_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct arg arg = {
		.op = FSMOUNT,
		.fd = ARG(0, int),
		.flags = ARG(1, u64),
		.flags2 = ARG(2, u64),
	};

	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_move_mount")
int move_mount_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct arg arg = {
		.op = MOVE_MOUNT,
		.fd = ARG(0, int),
		.src = ARG(1, const char *),
		.fd2 = ARG(2, int),
		.dest = ARG(3, const char *),
		.flags = ARG(4, u64),
	};

	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_mount_setattr")
int mount_setattr_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct mount_attr *uattr = ARG(3, struct mount_attr *);
	struct arg arg = {
		.op = MOUNT_SETATTR,
		.fd = ARG(0, int),
		.src = ARG(1, const char *),
		.flags = ARG(2, u64),
	};

	bpf_probe_read_user(&arg.flags2, sizeof(arg.flags2), &uattr->attr_set);
	return probe_entry(&arg);
}

SEC("tracepoint/syscalls/sys_enter_open_tree")
int open_tree_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct arg arg = {
		.op = OPEN_TREE,
		.fd = ARG(0, int),
		.src = ARG(1, const char *),
		.flags = ARG(2, u64),
	};

	return probe_entry(&arg);
}

/* Every call's exit. */
#define DEFINE_EXIT(call)                                                      \
	SEC("tracepoint/syscalls/sys_exit_" #call)                            \
	int call##_exit(struct trace_event_raw_sys_exit *ctx)                  \
	{                                                                      \
		return probe_exit(ctx->ret);                                   \
	}

DEFINE_EXIT(mount)
DEFINE_EXIT(umount)
DEFINE_EXIT(fsopen)
DEFINE_EXIT(fsconfig)
DEFINE_EXIT(fsmount)
DEFINE_EXIT(move_mount)
DEFINE_EXIT(mount_setattr)
DEFINE_EXIT(open_tree)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
