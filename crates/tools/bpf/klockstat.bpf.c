// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* klockstat: kernel lock contention, per lock: how often tasks waited for
 * it and for how long, from lock:contention_begin/contention_end.
 *
 * libbpf-tools puts kprobes/fentry on mutex_lock and friends and also
 * measures hold times, per calling function. The contention tracepoints
 * cover every sleeping and spinning lock type but only the waits, and name
 * the lock by its address, so this is an approximation of it for kernels
 * without kprobes or fentry. */
#include "common.h"

/* include/trace/events/lock.h */
#define LCB_F_SPIN (1U << 0)
#define LCB_F_READ (1U << 1)
#define LCB_F_WRITE (1U << 2)
#define LCB_F_RT (1U << 3)
#define LCB_F_PERCPU (1U << 4)
#define LCB_F_MUTEX (1U << 5)

/* The lock types shown (TYPE column, by index). */
enum lock_kind {
	LOCK_OTHER,
	LOCK_SPIN,
	LOCK_MUTEX,
	LOCK_RWSEM_READ,
	LOCK_RWSEM_WRITE,
	LOCK_RWLOCK_READ,
	LOCK_RWLOCK_WRITE,
	LOCK_RT_MUTEX,
};

const volatile pid_t targ_tgid = 0;
const volatile pid_t targ_pid = 0;

struct wait_key {
	u64 lock;
	u32 tid;
};

struct waiting {
	u64 ts;
	u32 kind;
};

/* Waits in progress: a task can wait for a lock inside another's slow path. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct wait_key);
	__type(value, struct waiting);
} waits SEC(".maps");

struct lock_key {
	bpfkit_hex_t lock;
	u32 kind;
};

struct lock_stat {
	u64 count;
	u64 total_ns;
	u64 max_ns;
	char comm[TASK_COMM_LEN]; /* the last task that waited */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct lock_key);
	__type(value, struct lock_stat);
} stats SEC(".maps");

static const struct lock_stat zero;

static __always_inline u32 lock_kind(u32 flags)
{
	bool read = flags & LCB_F_READ, write = flags & LCB_F_WRITE;

	if (flags & LCB_F_MUTEX)
		return LOCK_MUTEX;
	if (flags & LCB_F_RT)
		return LOCK_RT_MUTEX;
	if (flags & LCB_F_SPIN)
		return read ? LOCK_RWLOCK_READ : write ? LOCK_RWLOCK_WRITE : LOCK_SPIN;
	if (read)
		return LOCK_RWSEM_READ;
	if (write)
		return LOCK_RWSEM_WRITE;
	return LOCK_OTHER;
}

SEC("tracepoint/lock/contention_begin")
int contention_begin(struct trace_event_raw_contention_begin *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct wait_key key = { .lock = (u64)ctx->lock_addr, .tid = (u32)id };
	struct waiting w = {};

	if (targ_tgid && targ_tgid != id >> 32)
		return 0;
	if (targ_pid && targ_pid != (u32)id)
		return 0;
	w.ts = bpf_ktime_get_ns();
	w.kind = lock_kind(ctx->flags);
	bpf_map_update_elem(&waits, &key, &w, 0);
	return 0;
}

SEC("tracepoint/lock/contention_end")
int contention_end(struct trace_event_raw_contention_end *ctx)
{
	struct wait_key key = { .lock = (u64)ctx->lock_addr, .tid = (u32)bpf_get_current_pid_tgid() };
	struct waiting *w = bpf_map_lookup_elem(&waits, &key);
	struct lock_key lkey = {};
	struct lock_stat *s;
	u64 delta;

	if (!w)
		return 0;
	delta = bpf_ktime_get_ns() - w->ts;
	lkey.lock = key.lock;
	lkey.kind = w->kind;
	bpf_map_delete_elem(&waits, &key);
	s = lookup_or_init(&stats, &lkey, &zero);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, delta);
	if (delta > s->max_ns)
		s->max_ns = delta; /* racy, as libbpf-tools' max */
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
