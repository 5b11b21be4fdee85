/* Ring buffer drops counted per CPU (no atomic contention) in an array
 * map `events_drops` of bpfkit_drops_t: named after its ring and marked.
 * `dropped_total` is an unrelated global that must not be taken for it. */
#include "ringdrop.h"

typedef __u64 bpfkit_drops_t;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, bpfkit_drops_t);
} events_drops SEC(".maps");

__u64 dropped_total = 0;

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&events_drops, &zero);

	if (n)
		*n += 1;
	__sync_fetch_and_add(&dropped_total, 1);
}
