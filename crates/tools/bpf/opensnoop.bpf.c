// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* opensnoop: trace open(), openat() and openat2(). Arguments are kept at
 * entry, the path is read and sent with the result at exit. With -F
 * (`full_path`) a relative path also comes as a full one: the directory it
 * is relative to (the dirfd's, else the working directory) walked up to the
 * root, across mounts, as libbpf-tools' opensnoop -F does for the working
 * directory. */
#include "files.h"

#define NAME_MAX 255
#define FULL_PATH_MAX 4096
/* Directory levels walked; deeper paths lose their top (as libbpf-tools). */
#define MAX_PATH_DEPTH 32
#define AT_FDCWD -100

const volatile pid_t targ_pid = 0;
const volatile pid_t targ_tid = 0;
const volatile uid_t targ_uid = INVALID_UID;
const volatile bool targ_failed = false;
const volatile bool full_path = false;
/* -c: the two user functions the open was called from. */
const volatile bool callers = false;

struct args_t {
	const char *fname;
	int dfd; /* openat's directory, AT_FDCWD for open() */
	int flags;
	unsigned int mode;
};

struct event {
	bpfkit_ktime_t ts;
	pid_t pid;
	uid_t uid;
	int fd;  /* the new descriptor, -1 on failure */
	int err; /* errno, 0 on success */
	int flags;
	unsigned int mode;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
	/* -c: return addresses into the caller of the libc wrapper and its
	 * caller (0 when not collected). */
	u64 callers[2];
	/* -F: fname from the root; only sent with -F (the record ends here). */
	char full[FULL_PATH_MAX];
};

/* Where a full path is put together (too big for the stack): the walk up
 * from the directory, then the text. */
struct path_buf {
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *root;
	struct vfsmount *root_mnt;
	u64 mnt_offset; /* of `mnt` in struct mount */
	u32 depth;
	u32 pos;
	long failed;
	/* The directory's components, leaf first. */
	const unsigned char *names[MAX_PATH_DEPTH];
	char text[FULL_PATH_MAX * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct path_buf);
} path_bufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct args_t);
} start SEC(".maps");

/* bpf_loop's context: the buffer (a map value, which bpf_loop cannot take). */
struct walk_ctx {
	struct path_buf *buf;
};

DEFINE_EVENTS_RINGBUF();

static __always_inline bool trace_allowed(u32 tgid, u32 tid)
{
	if (targ_pid && targ_pid != tgid)
		return false;
	if (targ_tid && targ_tid != tid)
		return false;
	if (targ_uid != INVALID_UID && targ_uid != (u32)bpf_get_current_uid_gid())
		return false;
	return true;
}

static __always_inline int enter(int dfd, const char *fname, int flags, unsigned int mode)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct args_t args = { .fname = fname, .dfd = dfd, .flags = flags, .mode = mode };

	if (trace_allowed(id >> 32, tid))
		bpf_map_update_elem(&start, &tid, &args, 0);
	return 0;
}

/* The directory a relative path in `ap` starts from: its dirfd's, else
 * the working directory. */
static __always_inline struct path directory_of(const struct args_t *ap)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *dir = NULL;
	struct path path;

	if (ap->dfd != AT_FDCWD)
		dir = fd_file(ap->dfd);
	if (dir)
		path = BPF_CORE_READ(dir, f_path);
	else
		path = BPF_CORE_READ(task, fs, pwd);
	return path;
}

/* One step up from b->dentry (bpf_loop callback): its name is kept, or
 * the walk crosses to the mount below; 1 ends the walk. */
static long walk_up(u32 index, struct walk_ctx *ctx)
{
	/* Locals: BPF_CORE_READ would relocate b's own members too. */
	struct path_buf *b = ctx->buf;
	struct dentry *dentry = b->dentry;
	struct mount *mnt = b->mnt;
	struct vfsmount *vfsmnt = (void *)mnt + b->mnt_offset;
	struct dentry *parent;

	if (dentry == b->root && vfsmnt == b->root_mnt)
		return 1;
	if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1; /* the root of everything */
		b->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		b->mnt = up;
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (parent == dentry || b->depth >= MAX_PATH_DEPTH)
		return 1;
	b->names[b->depth & (MAX_PATH_DEPTH - 1)] = BPF_CORE_READ(dentry, d_name.name);
	b->depth++;
	b->dentry = parent;
	return 0;
}

/* Appends `/` and the component `index` from the root (bpf_loop
 * callback); 1 ends the loop. */
static long write_component(u32 index, struct walk_ctx *ctx)
{
	struct path_buf *b = ctx->buf;
	u32 pos = b->pos & (FULL_PATH_MAX - 1);
	long n;

	if (index >= b->depth)
		return 1;
	b->text[pos] = '/';
	n = bpf_probe_read_kernel_str(&b->text[pos + 1], NAME_MAX + 1,
				      b->names[(b->depth - 1 - index) & (MAX_PATH_DEPTH - 1)]);
	if (n <= 1 || pos + n >= FULL_PATH_MAX - NAME_MAX - 2) {
		b->failed = 1; /* unreadable, or too long: the path as given */
		return 1;
	}
	b->pos = pos + n; /* the slash and the name, not the NUL */
	return 0;
}

/* Writes `dir`'s path from the root, then `/` and the user's relative
 * `fname`, into b->text; false when it could not. Components are found
 * leaf first, so they are kept and written in reverse. */
static __always_inline bool write_full_path(struct path_buf *b, struct path dir,
					    const char *fname)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct walk_ctx ctx = { .buf = b };
	u32 pos;

	b->mnt_offset = bpf_core_field_offset(struct mount, mnt);
	b->mnt = (void *)dir.mnt - b->mnt_offset;
	b->dentry = dir.dentry;
	b->root = BPF_CORE_READ(task, fs, root.dentry);
	b->root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	b->depth = 0;
	b->pos = 0;
	b->failed = 0;
	/* Mount crossings take steps too. */
	bpf_loop(MAX_PATH_DEPTH * 2, walk_up, &ctx, 0);
	bpf_loop(MAX_PATH_DEPTH, write_component, &ctx, 0);
	if (b->failed)
		return false;
	pos = b->pos & (FULL_PATH_MAX - 1);
	b->text[pos] = '/';
	return bpf_probe_read_user_str(&b->text[pos + 1], NAME_MAX + 1, fname) > 0;
}

/* Copies the full path of `ap`'s file into `e->full`. */
static __always_inline void fill_full_path(struct event *e, const struct args_t *ap)
{
	u32 zero = 0;
	struct path_buf *buf = bpf_map_lookup_elem(&path_bufs, &zero);

	if (!buf)
		return;
	if (e->fname[0] == '/' || !write_full_path(buf, directory_of(ap), ap->fname)) {
		bpf_probe_read_kernel_str(e->full, sizeof(e->fname), e->fname);
		return;
	}
	bpf_probe_read_kernel_str(e->full, sizeof(e->full), buf->text);
}

/* The callers -c shows: the user stack past the syscall wrapper. */
static __always_inline void fill_callers(void *ctx, struct event *e)
{
	u64 stack[3] = {};

	bpf_get_stack(ctx, stack, sizeof(stack), BPF_F_USER_STACK);
	e->callers[0] = stack[1];
	e->callers[1] = stack[2];
}

static __always_inline int exit(void *ctx, long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct args_t *ap;
	struct event *e;

	ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	if (targ_failed && ret >= 0)
		goto cleanup;
	/* Without -F the record ends before `full`. */
	if (full_path)
		e = reserve_event(sizeof(*e));
	else
		e = reserve_event(offsetof(struct event, full));
	if (!e)
		goto cleanup;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->uid = bpf_get_current_uid_gid();
	e->fd = ret >= 0 ? ret : -1;
	e->err = ret >= 0 ? 0 : -ret;
	e->flags = ap->flags;
	e->mode = ap->mode;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), ap->fname);
	e->callers[0] = 0;
	e->callers[1] = 0;
	if (callers)
		fill_callers(ctx, e);
	if (full_path)
		fill_full_path(e, ap);
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return enter(AT_FDCWD, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], (const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tracepoint__syscalls__sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return enter(ctx->args[0], (const char *)ctx->args[1], how.flags, how.mode);
}

SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tracepoint__syscalls__sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return exit(ctx, ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
