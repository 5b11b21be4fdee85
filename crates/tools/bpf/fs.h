/* File system operations at the syscall level, shared by fsslower and
 * fsdist: read, write, openat, fsync and fdatasync are timed from their
 * sys_enter to their sys_exit tracepoint, and kept when the file they
 * worked on lives on the traced file system (`target_fs`, the name in
 * /proc/filesystems; empty: every file system on a block device).
 *
 * This is an approximation of libbpf-tools' fentry/kprobe design on the
 * file system's own functions (ext4_file_read_iter, ...), for kernels
 * without kprobes or fentry: it also counts the time a syscall spends
 * outside the file system (copying, locks), and it sees only these
 * syscalls (not pread, readv, mmap, io_uring).
 *
 * The including tool defines fs_op_done(), called for each finished
 * operation on a traced file. */
#ifndef BPFKIT_TOOLS_FS_H
#define BPFKIT_TOOLS_FS_H

#include "files.h"

enum fs_op {
	FS_READ,
	FS_WRITE,
	FS_OPEN,
	FS_FSYNC,
	FS_MAX_OP,
};

#define FS_NAME_LEN 16

/* Set by -t; the alias tools (ext4slower, ...) compile in their own, which
 * no flag changes. */
#ifdef FS_FIXED
static const char target_fs[FS_NAME_LEN] = FS_FIXED;
#else
const volatile char target_fs[FS_NAME_LEN] = "";
#endif
const volatile pid_t target_pid = 0;

/* An operation in flight, keyed by thread id. */
struct fs_start {
	u64 ts;
	s64 fd; /* -1 for openat: the fd is its return value */
	u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct fs_start);
} fs_starts SEC(".maps");

static __always_inline void fs_op_done(u32 op, u64 delta_ns, struct file *file, s64 ret, u32 pid);

static __always_inline int fs_enter(u32 op, s64 fd)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct fs_start start = {};

	if (target_pid && target_pid != pid)
		return 0;
	start.ts = bpf_ktime_get_ns();
	start.fd = fd;
	start.op = op;
	bpf_map_update_elem(&fs_starts, &tid, &start, 0);
	return 0;
}

/* Whether `file` is on the traced file system. */
static __always_inline bool traced_fs(struct file *file)
{
	struct super_block *sb = BPF_CORE_READ(file, f_inode, i_sb);
	char name[FS_NAME_LEN] = {};
	const char *type_name;
	int i;

	if (!sb)
		return false;
	if (!target_fs[0])
		return BPF_CORE_READ(sb, s_bdev) != NULL;
	type_name = BPF_CORE_READ(sb, s_type, name);
	if (bpf_probe_read_kernel_str(name, sizeof(name), type_name) < 0)
		return false;
	for (i = 0; i < FS_NAME_LEN; i++) {
		if (name[i] != target_fs[i])
			return false;
		if (!name[i])
			break;
	}
	return true;
}

static __always_inline int fs_exit(s64 ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct fs_start *start = bpf_map_lookup_elem(&fs_starts, &tid);
	struct file *file;
	u64 delta_ns;
	s64 fd;
	u32 op;

	if (!start)
		return 0;
	delta_ns = bpf_ktime_get_ns() - start->ts;
	op = start->op;
	fd = op == FS_OPEN ? ret : start->fd;
	bpf_map_delete_elem(&fs_starts, &tid);
	if (fd < 0 || op >= FS_MAX_OP)
		return 0;
	file = fd_file(fd);
	if (!file || !traced_fs(file))
		return 0;
	fs_op_done(op, delta_ns, file, ret, pid);
	return 0;
}

#define FS_SYSCALL(name, op, fd_arg)                                            \
	SEC("tracepoint/syscalls/sys_enter_" #name)                            \
	int fs_enter_##name(struct trace_event_raw_sys_enter *ctx)             \
	{                                                                      \
		return fs_enter(op, fd_arg);                                   \
	}                                                                      \
	SEC("tracepoint/syscalls/sys_exit_" #name)                             \
	int fs_exit_##name(struct trace_event_raw_sys_exit *ctx)               \
	{                                                                      \
		return fs_exit(ctx->ret);                                      \
	}

FS_SYSCALL(read, FS_READ, (int)ctx->args[0])
FS_SYSCALL(write, FS_WRITE, (int)ctx->args[0])
FS_SYSCALL(openat, FS_OPEN, -1)
FS_SYSCALL(fsync, FS_FSYNC, (int)ctx->args[0])
FS_SYSCALL(fdatasync, FS_FSYNC, (int)ctx->args[0])

#endif
