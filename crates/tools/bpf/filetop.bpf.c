// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* filetop: reads and writes per file and thread. libbpf-tools hooks
 * vfs_read/vfs_write (fentry/kprobes); this kernel half is the
 * syscall-level approximation: read and write system calls, timed
 * nowhere, their bytes counted at sys_exit against the file their fd names. */
#include "files.h"

#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFSOCK 0140000
#define DNAME_LEN 32

const volatile pid_t target_pid = 0;
const volatile bool all_files = false;

enum file_type {
	FILE_REGULAR,
	FILE_SOCKET,
	FILE_OTHER,
};

struct file_id {
	u64 inode;
	u32 dev;
	u32 tid;
};

struct file_stat {
	u64 reads;
	u64 read_bytes;
	u64 writes;
	u64 write_bytes;
	u32 pid;
	u32 type; /* enum file_type */
	char filename[DNAME_LEN];
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct file_id);
	__type(value, struct file_stat);
} entries SEC(".maps");

/* The fd of each thread's read or write in flight. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, s64);
} fds SEC(".maps");

static const struct file_stat zero;

static __always_inline int io_enter(s64 fd)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;

	if (target_pid && target_pid != id >> 32)
		return 0;
	bpf_map_update_elem(&fds, &tid, &fd, 0);
	return 0;
}

static __always_inline int io_exit(s64 ret, bool write)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	s64 *fdp = bpf_map_lookup_elem(&fds, &tid);
	struct file_id key = {};
	struct file_stat *s;
	struct file *file;
	struct inode *inode;
	u32 mode, type;
	s64 fd;

	if (!fdp)
		return 0;
	fd = *fdp;
	bpf_map_delete_elem(&fds, &tid);
	if (ret <= 0)
		return 0;
	file = fd_file(fd);
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode) & S_IFMT;
	type = mode == S_IFREG ? FILE_REGULAR : mode == S_IFSOCK ? FILE_SOCKET : FILE_OTHER;
	if (!all_files && type != FILE_REGULAR)
		return 0;
	key.inode = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.tid = tid;
	s = lookup_or_init(&entries, &key, &zero);
	if (!s)
		return 0;
	if (!s->filename[0]) {
		const unsigned char *name = BPF_CORE_READ(file, f_path.dentry, d_name.name);

		bpf_probe_read_kernel_str(s->filename, sizeof(s->filename), name);
		bpf_get_current_comm(s->comm, sizeof(s->comm));
		s->pid = id >> 32;
		s->type = type;
	}
	if (write) {
		__sync_fetch_and_add(&s->writes, 1);
		__sync_fetch_and_add(&s->write_bytes, ret);
	} else {
		__sync_fetch_and_add(&s->reads, 1);
		__sync_fetch_and_add(&s->read_bytes, ret);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int read_enter(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_read")
int read_exit(struct trace_event_raw_sys_exit *ctx)
{
	return io_exit(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_enter_write")
int write_enter(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_write")
int write_exit(struct trace_event_raw_sys_exit *ctx)
{
	return io_exit(ctx->ret, true);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
