/* File system operations, shared by fsslower and fsdist, timed in one of
 * two ways (the tool's variants pick which programs load):
 *
 * - as libbpf-tools does, on the file system's own read_iter, write_iter,
 *   open and fsync functions (FS_FUNCTIONS: fentry/fexit and
 *   kprobe/kretprobe programs per file system);
 * - where neither fentry nor kprobes work, at the syscall level: read,
 *   write, openat, fsync and fdatasync from their sys_enter to their
 *   sys_exit tracepoint, kept when the file lives on the traced file
 *   system (`target_fs`, the name in /proc/filesystems; empty: every file
 *   system on a block device). An approximation: it also counts the time a
 *   syscall spends outside the file system (copying, locks), and it sees
 *   only these syscalls (not pread, readv, mmap, io_uring).
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
	s64 fd; /* -1 for openat (the fd is its return value) and functions */
	struct file *file; /* functions: the file they work on */
	u64 pos; /* functions: where a read or write starts */
	u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct fs_start);
} fs_starts SEC(".maps");

/* `offset`: where a read or write started. */
static __always_inline void fs_op_done(u32 op, u64 delta_ns, struct file *file, s64 ret, u64 offset,
				       u32 pid);

static __always_inline int fs_start_op(u32 op, s64 fd, struct file *file, u64 pos)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct fs_start start = {};

	if (target_pid && target_pid != pid)
		return 0;
	start.ts = bpf_ktime_get_ns();
	start.fd = fd;
	start.file = file;
	start.pos = pos;
	start.op = op;
	bpf_map_update_elem(&fs_starts, &tid, &start, 0);
	return 0;
}

static __always_inline int fs_enter(u32 op, s64 fd)
{
	return fs_start_op(op, fd, NULL, 0);
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
	/* f_pos has moved past what was read or written. */
	fs_op_done(op, delta_ns, file, ret, BPF_CORE_READ(file, f_pos) - (ret > 0 ? ret : 0), pid);
	return 0;
}

/* The file system's function `op` started on `file` (at `pos`). */
static __always_inline int fs_func_enter(u32 op, struct file *file, u64 pos)
{
	if (!file)
		return 0;
	return fs_start_op(op, -1, file, pos);
}

/* The function returned `ret`: bytes read or written, or 0 or an error. */
static __always_inline int fs_func_exit(s64 ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct fs_start *start = bpf_map_lookup_elem(&fs_starts, &tid);
	struct file *file;
	u64 delta_ns, pos;
	u32 op;

	if (!start)
		return 0;
	delta_ns = bpf_ktime_get_ns() - start->ts;
	op = start->op;
	file = start->file;
	pos = start->pos;
	bpf_map_delete_elem(&fs_starts, &tid);
	if (op >= FS_MAX_OP)
		return 0;
	fs_op_done(op, delta_ns, file, ret, pos, pid);
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

/* Entry and exit programs `fs_ENTRY_FS_OP` and `fs_EXIT_FS_OP` on one
 * function, for both kinds of probe. FILE and POS are expressions of the
 * first arguments, ARGS their declarations (up to the last one used). */
#define FS_FUNCTION(fs, opname, op, func, args, file, pos)                   \
	SEC("fentry/" #func)                                                  \
	int BPF_PROG(fs_fentry_##fs##_##opname, args)                         \
	{                                                                     \
		return fs_func_enter(op, file, pos);                          \
	}                                                                     \
	SEC("fexit/" #func)                                                   \
	int BPF_PROG(fs_fexit_##fs##_##opname, args)                          \
	{                                                                     \
		return fs_func_exit(FS_FEXIT_RET(op));                        \
	}                                                                     \
	SEC("kprobe/" #func)                                                  \
	int BPF_KPROBE(fs_kprobe_##fs##_##opname, args)                       \
	{                                                                     \
		return fs_func_enter(op, file, pos);                          \
	}                                                                     \
	SEC("kretprobe/" #func)                                               \
	int BPF_KRETPROBE(fs_kretprobe_##fs##_##opname, long ret)             \
	{                                                                     \
		return fs_func_exit(ret);                                     \
	}

/* fexit's return value comes after the function's arguments: the third
 * for read_iter, write_iter (iocb, iter) and open (inode, file), the fifth
 * for fsync (file, start, end, datasync). */
#define FS_FEXIT_RET(op) ((long)ctx[(op) == FS_FSYNC ? 4 : 2])

#define FS_ARGS_IOCB struct kiocb *iocb
#define FS_ARGS_OPEN struct inode *inode, struct file *file
#define FS_ARGS_FSYNC struct file *file

/* libbpf-tools' functions of a file system. */
#define FS_FUNCTIONS(fs, read_fn, write_fn, open_fn, fsync_fn)                                    \
	FS_FUNCTION(fs, read, FS_READ, read_fn, FS_ARGS_IOCB, BPF_CORE_READ(iocb, ki_filp),      \
		    BPF_CORE_READ(iocb, ki_pos))                                                 \
	FS_FUNCTION(fs, write, FS_WRITE, write_fn, FS_ARGS_IOCB, BPF_CORE_READ(iocb, ki_filp),   \
		    BPF_CORE_READ(iocb, ki_pos))                                                 \
	FS_FUNCTION(fs, open, FS_OPEN, open_fn, FS_ARGS_OPEN, file, 0)                           \
	FS_FUNCTION(fs, fsync, FS_FSYNC, fsync_fn, FS_ARGS_FSYNC, file, 0)

FS_FUNCTIONS(btrfs, btrfs_file_read_iter, btrfs_file_write_iter, btrfs_file_open, btrfs_sync_file)
FS_FUNCTIONS(ext4, ext4_file_read_iter, ext4_file_write_iter, ext4_file_open, ext4_sync_file)
FS_FUNCTIONS(f2fs, f2fs_file_read_iter, f2fs_file_write_iter, f2fs_file_open, f2fs_sync_file)
FS_FUNCTIONS(nfs, nfs_file_read, nfs_file_write, nfs_file_open, nfs_file_fsync)
FS_FUNCTIONS(xfs, xfs_file_read_iter, xfs_file_write_iter, xfs_file_open, xfs_file_fsync)

#endif
