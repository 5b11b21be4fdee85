// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* memleak: trace outstanding memory allocations: each allocation is kept
 * (by address, with size, time and stack) until it is freed, and summed
 * per stack. User allocations come from uprobes on libc's allocator
 * (malloc, calloc, realloc, free, mmap, munmap, posix_memalign,
 * aligned_alloc, valloc, memalign, pvalloc) of the process `targ_tgid`;
 * kernel allocations from the kmem tracepoints, as libbpf-tools. */
#include "stacks.h"

const volatile pid_t targ_tgid = 0;
const volatile size_t min_size = 0;
const volatile size_t max_size = -1;
const volatile u64 sample_rate = 1;
/* -t: an event for every allocation and free traced. */
const volatile bool trace_all = false;

enum memleak_call {
	ALLOC = 0,
	FREE = 1,
};

/* One allocator call (-t). */
struct event {
	bpfkit_pid_t pid;
	char comm[TASK_COMM_LEN];
	enum memleak_call call;
	u64 size;
	u64 address;
};

DEFINE_EVENTS_RINGBUF();

/* Sends what -t shows of one call. */
static __always_inline void trace_call(enum memleak_call call, u64 size, u64 address)
{
	struct event *e;

	if (!trace_all)
		return;
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->call = call;
	e->size = size;
	e->address = address;
	bpf_ringbuf_submit(e, 0);
}

struct alloc_info {
	u64 size;
	bpfkit_ktime_t timestamp_ns;
	s32 stack_id;
	bpfkit_pid_t tgid;
	/* The allocating task's, shown with the stack (a free may come from
	 * another task, so it is kept here for update_combined). */
	char comm[TASK_COMM_LEN];
};

/* Outstanding allocations of one stack of one process. */
struct combined_key {
	bpfkit_pid_t tgid;
	s32 stack_id;
	char comm[TASK_COMM_LEN];
};

struct combined_alloc_info {
	u64 total_size;
	u64 number_of_allocs;
};

DEFINE_STACK_TRACES(MAX_ENTRIES);

/* Requested size, by thread, between an allocator's entry and return. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, MAX_ENTRIES);
} sizes SEC(".maps");

/* Outstanding allocations by address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64);
	__type(value, struct alloc_info);
	__uint(max_entries, 1000000);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct combined_key);
	__type(value, struct combined_alloc_info);
	__uint(max_entries, MAX_ENTRIES);
} combined_allocs SEC(".maps");

/* posix_memalign's `memptr`, by thread, read back at return. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, MAX_ENTRIES);
} memptrs SEC(".maps");

static __always_inline bool traced(void)
{
	return !targ_tgid || (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

static __always_inline void update_combined(const struct alloc_info *alloc, s64 size, s64 n)
{
	static const struct combined_alloc_info zero;
	struct combined_key key = { .tgid = alloc->tgid, .stack_id = alloc->stack_id };
	struct combined_alloc_info *info;

	__builtin_memcpy(key.comm, alloc->comm, sizeof(key.comm));
	info = lookup_or_init(&combined_allocs, &key, &zero);
	if (!info)
		return;
	__sync_fetch_and_add(&info->total_size, size);
	__sync_fetch_and_add(&info->number_of_allocs, n);
}

/* Whether to record an allocation of `size` bytes: within -z/-Z, and
 * sampled (-s). */
static __always_inline bool wanted(u64 size)
{
	if (size < min_size || size > max_size)
		return false;
	return sample_rate <= 1 || bpf_ktime_get_ns() % sample_rate == 0;
}

static __always_inline int alloc_enter(size_t size)
{
	u32 tid = bpf_get_current_pid_tgid();
	u64 sz = size;

	if (!traced() || !wanted(size))
		return 0;
	bpf_map_update_elem(&sizes, &tid, &sz, BPF_ANY);
	return 0;
}

/* Records an allocation at `address` of `size` bytes with this stack. */
static __always_inline void record(void *ctx, u64 address, u64 size, s32 stack_id)
{
	struct alloc_info info = {};

	info.size = size;
	info.timestamp_ns = bpf_ktime_get_ns();
	info.stack_id = stack_id;
	info.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(info.comm, sizeof(info.comm));
	bpf_map_update_elem(&allocs, &address, &info, BPF_ANY);
	update_combined(&info, size, 1);
	trace_call(ALLOC, size, address);
}

static __always_inline int alloc_exit(void *ctx, u64 address)
{
	u32 tid = bpf_get_current_pid_tgid();
	u64 *size = bpf_map_lookup_elem(&sizes, &tid);
	u64 sz;

	if (!size)
		return 0;
	sz = *size;
	bpf_map_delete_elem(&sizes, &tid);
	if (address && address != (u64)-1 /* MAP_FAILED */)
		record(ctx, address, sz, USER_STACK(ctx));
	return 0;
}

static __always_inline int free_enter(u64 address)
{
	struct alloc_info *info = bpf_map_lookup_elem(&allocs, &address);

	if (!info)
		return 0;
	update_combined(info, -(s64)info->size, -1);
	trace_call(FREE, info->size, address);
	bpf_map_delete_elem(&allocs, &address);
	return 0;
}

/* The return probe `NAME_exit` of libc's allocator NAME, which returns the
 * address. */
#define DEFINE_ALLOC_EXIT(name)                                                \
	SEC("uretprobe/libc.so.6:" #name)                                      \
	int BPF_KRETPROBE(name##_exit, void *ret)                              \
	{                                                                      \
		return alloc_exit(ctx, (u64)ret);                              \
	}

/* The entry probe `NAME_enter` of libc's allocator NAME taking `params`, of
 * which `size` is the size, and its return probe. */
#define DEFINE_ALLOCATOR(name, size, params...)                                \
	SEC("uprobe/libc.so.6:" #name)                                         \
	int BPF_KPROBE(name##_enter, params)                                   \
	{                                                                      \
		return alloc_enter(size);                                      \
	}                                                                      \
	DEFINE_ALLOC_EXIT(name)

DEFINE_ALLOCATOR(malloc, size, size_t size)

SEC("uprobe/libc.so.6:free")
int BPF_KPROBE(free_enter_user, void *address)
{
	return traced() ? free_enter((u64)address) : 0;
}

DEFINE_ALLOCATOR(calloc, nmemb * size, size_t nmemb, size_t size)

SEC("uprobe/libc.so.6:realloc")
int BPF_KPROBE(realloc_enter, void *ptr, size_t size)
{
	if (!traced())
		return 0;
	free_enter((u64)ptr);
	return alloc_enter(size);
}

DEFINE_ALLOC_EXIT(realloc)

DEFINE_ALLOCATOR(mmap, size, void *address, size_t size)

SEC("uprobe/libc.so.6:munmap")
int BPF_KPROBE(munmap_enter, void *address)
{
	return traced() ? free_enter((u64)address) : 0;
}

SEC("uprobe/libc.so.6:posix_memalign")
int BPF_KPROBE(posix_memalign_enter, void **memptr, size_t alignment, size_t size)
{
	u32 tid = bpf_get_current_pid_tgid();
	u64 memptr64 = (u64)memptr;

	if (!traced())
		return 0;
	bpf_map_update_elem(&memptrs, &tid, &memptr64, BPF_ANY);
	return alloc_enter(size);
}

SEC("uretprobe/libc.so.6:posix_memalign")
int BPF_KRETPROBE(posix_memalign_exit, int ret)
{
	u32 tid = bpf_get_current_pid_tgid();
	u64 *memptr64 = bpf_map_lookup_elem(&memptrs, &tid);
	void *addr = 0;

	if (!memptr64)
		return 0;
	if (ret == 0)
		bpf_probe_read_user(&addr, sizeof(addr), (void *)*memptr64);
	bpf_map_delete_elem(&memptrs, &tid);
	return alloc_exit(ctx, (u64)addr);
}

DEFINE_ALLOCATOR(aligned_alloc, size, size_t alignment, size_t size)

DEFINE_ALLOCATOR(valloc, size, size_t size)

DEFINE_ALLOCATOR(memalign, size, size_t alignment, size_t size)

DEFINE_ALLOCATOR(pvalloc, size, size_t size)

/* Kernel allocations: one tracepoint gives address and size together. */
static __always_inline int kernel_alloc(void *ctx, const void *ptr, size_t bytes_alloc)
{
	if (!ptr || !traced() || !wanted(bytes_alloc))
		return 0;
	record(ctx, (u64)ptr, bytes_alloc, KERNEL_STACK(ctx));
	return 0;
}

SEC("tp/kmem/kmalloc")
int memleak__kmalloc(struct trace_event_raw_kmalloc *ctx)
{
	return kernel_alloc(ctx, ctx->ptr, ctx->bytes_alloc);
}

SEC("tp/kmem/kfree")
int memleak__kfree(struct trace_event_raw_kfree *ctx)
{
	return free_enter((u64)ctx->ptr);
}

SEC("tp/kmem/kmem_cache_alloc")
int memleak__kmem_cache_alloc(struct trace_event_raw_kmem_cache_alloc *ctx)
{
	return kernel_alloc(ctx, ctx->ptr, ctx->bytes_alloc);
}

SEC("tp/kmem/kmem_cache_free")
int memleak__kmem_cache_free(struct trace_event_raw_kmem_cache_free *ctx)
{
	return free_enter((u64)ctx->ptr);
}

char LICENSE[] SEC("license") = "GPL";
