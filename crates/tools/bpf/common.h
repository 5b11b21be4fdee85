/* Shared helpers for bpfkit's built-in tools (kernel halves).
 * Every tool sends events through a ring buffer named `events` carrying
 * `struct event`, and keeps histograms as `struct hist` values, so that the
 * generic runtime can find and decode them from BTF alone. */
#ifndef BPFKIT_TOOLS_COMMON_H
#define BPFKIT_TOOLS_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
/* BPFKIT_EVENT() and the formatting typedefs (bpfkit_duration_ns_t, ...):
 * they only name types in BTF, the code is the same. */
#include "../../../include/bpfkit.h"

#define TASK_COMM_LEN 16
#define MAX_ENTRIES 10240
#define RINGBUF_SIZE (256 * 1024)
#define INVALID_UID ((uid_t)-1)

/* The ring buffer every event-printing tool writes `struct event` to. */
/* The `events` ring buffer, and `events_dropped`: the records it had no room
 * for, which bpfkit reports as lost events (include/bpfkit.h). Programs send
 * through reserve_event()/output_event(), which keep that count. */
#define DEFINE_EVENTS_RINGBUF()                                                \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                            \
		__uint(max_entries, RINGBUF_SIZE);                             \
	} events SEC(".maps");                                                 \
	BPFKIT_EVENT(events, struct event);                                    \
	bpfkit_drops_t events_dropped = 0;                                     \
                                                                               \
	static __always_inline void *reserve_event(__u64 size)                \
	{                                                                      \
		void *e = bpf_ringbuf_reserve(&events, size, 0);               \
		if (!e)                                                        \
			__sync_fetch_and_add(&events_dropped, 1);              \
		return e;                                                      \
	}                                                                      \
                                                                               \
	static __always_inline void output_event(void *data, __u64 size)      \
	{                                                                      \
		if (bpf_ringbuf_output(&events, data, size, 0))                \
			__sync_fetch_and_add(&events_dropped, 1);              \
	}

/* Cgroup filter as in libbpf-tools: user space puts the cgroup's fd at index 0
 * of `cgroup_map` and sets `filter_cg`. */
#define DEFINE_CGROUP_FILTER()                                                 \
	const volatile bool filter_cg = false;                                 \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);                       \
		__type(key, u32);                                              \
		__type(value, u32);                                            \
		__uint(max_entries, 1);                                        \
	} cgroup_map SEC(".maps")

#define CGROUP_FILTERED_OUT()                                                  \
	(filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))

/* Returns the value at `key`, inserting `init` first when there is none. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU won the race */)
		return 0;
	return bpf_map_lookup_elem(map, key);
}

/* floor(log2(v)), the slot of a power-of-two histogram. */
static __always_inline u64 log2_u32(u32 v)
{
	u32 shift, r;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline u64 log2l(u64 v)
{
	u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

/* Slot of `v` in a log2 histogram of `max_slots` slots (the last one catches
 * everything above). */
static __always_inline u32 hist_slot(u64 v, u32 max_slots)
{
	u64 slot = log2l(v);

	return slot >= max_slots ? max_slots - 1 : slot;
}

#endif
