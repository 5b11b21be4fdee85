// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* filelife: how long files lived, from creation to unlink.
 *
 * libbpf-tools hooks vfs_create/vfs_open and vfs_unlink with kprobes or
 * fentry. This is a tracepoint approximation: a file counts as born when an
 * open/openat/openat2/creat created it (FMODE_CREATED on the new file), and
 * as dead when unlink/unlinkat of a path with the same last component
 * succeeds. Files are matched by that name (NAME_LEN bytes), not by inode:
 * two live files of the same name in different directories are one entry,
 * and a rename between birth and unlink loses the file. */
#include "common.h"
#include "files.h"

#define FMODE_CREATED 0x100000
#define O_CREAT 0100
#define PATH_LEN 256
#define NAME_LEN 64

const volatile pid_t targ_tgid = 0;

struct name_key {
	char name[NAME_LEN];
};

struct event {
	bpfkit_duration_ns_t age_ns;
	bpfkit_pid_t tgid;
	char task[TASK_COMM_LEN];
	char file[NAME_LEN];
};

/* The path argument of a create-capable open or an unlink, by thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, const char *);
} paths SEC(".maps");

/* Birth time by file name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct name_key);
	__type(value, u64);
} births SEC(".maps");

/* Room to read a whole path in (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[PATH_LEN]);
} scratch SEC(".maps");

DEFINE_EVENTS_RINGBUF();

static __always_inline int remember_path(const char *path)
{
	u32 tid = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&paths, &tid, &path, BPF_ANY);
	return 0;
}

/* The saved path of this thread's call, forgotten as it is taken. */
static __always_inline const char *take_path(void)
{
	u32 tid = bpf_get_current_pid_tgid();
	const char **pathp = bpf_map_lookup_elem(&paths, &tid);
	const char *path;

	if (!pathp)
		return NULL;
	path = *pathp;
	bpf_map_delete_elem(&paths, &tid);
	return path;
}

struct scan {
	const char *buf;
	u32 len;
	u32 start; /* just after the last '/' seen */
};

static long scan_char(u32 i, struct scan *scan)
{
	if (i >= scan->len || i >= PATH_LEN)
		return 1;
	if (scan->buf[i] == '/')
		scan->start = i + 1;
	return 0;
}

/* The last component of the user-space path (after its last '/'). */
static __always_inline bool base_name(const char *path, struct name_key *key)
{
	u32 zero = 0;
	char *buf = bpf_map_lookup_elem(&scratch, &zero);
	struct scan scan = {};
	long len;

	if (!buf)
		return false;
	len = bpf_probe_read_user_str(buf, PATH_LEN, path);
	if (len <= 1)
		return false;
	scan.buf = buf;
	scan.len = len - 1; /* without the NUL */
	bpf_loop(PATH_LEN, scan_char, &scan, 0);
	bpf_probe_read_kernel_str(key->name, sizeof(key->name), buf + (scan.start & (PATH_LEN - 1)));
	return key->name[0] != '\0';
}

static __always_inline bool traced(void)
{
	return !targ_tgid || targ_tgid == (pid_t)(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline int open_entered(const char *path, long flags)
{
	/* Only O_CREAT opens may create a named file. */
	if (!(flags & O_CREAT) || !traced())
		return 0;
	return remember_path(path);
}

static __always_inline int open_exited(long fd)
{
	const char *path = take_path();
	struct name_key key = {};
	struct file *file;
	u64 now;

	if (!path || fd < 0)
		return 0;
	file = fd_file(fd);
	if (!file || !(BPF_CORE_READ(file, f_mode) & FMODE_CREATED))
		return 0;
	if (!base_name(path, &key))
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&births, &key, &now, BPF_ANY);
	return 0;
}

static __always_inline int unlink_exited(long ret)
{
	const char *path = take_path();
	struct name_key key = {};
	struct event *e;
	u64 *birth;

	if (!path || ret != 0 || !base_name(path, &key))
		return 0;
	birth = bpf_map_lookup_elem(&births, &key);
	if (!birth)
		return 0;
	e = reserve_event(sizeof(*e));
	if (e) {
		e->age_ns = bpf_ktime_get_ns() - *birth;
		e->tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e->task, sizeof(e->task));
		__builtin_memcpy(e->file, key.name, sizeof(e->file));
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&births, &key);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return open_entered((const char *)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return open_entered((const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return open_entered((const char *)ctx->args[1], how.flags);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int creat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return open_entered((const char *)ctx->args[0], O_CREAT);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exited(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exited(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exited(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exited(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int unlink_enter(struct trace_event_raw_sys_enter *ctx)
{
	return traced() ? remember_path((const char *)ctx->args[0]) : 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlinkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return traced() ? remember_path((const char *)ctx->args[1]) : 0;
}

SEC("tracepoint/syscalls/sys_exit_unlink")
int unlink_exit(struct trace_event_raw_sys_exit *ctx)
{
	return unlink_exited(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int unlinkat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return unlink_exited(ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
