// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* readahead: pages brought in by readahead, how many were never used, and
 * how long the used ones waited in the page cache before their first use.
 *
 * libbpf-tools hooks do_page_cache_ra/page_cache_ra_order and the page
 * allocator with fentry or kprobes. This is a tracepoint approximation: a
 * readahead tracepoint (readahead:page_cache_ra_unbounded,
 * page_cache_ra_order) marks the thread as reading ahead an index range of
 * a file; the pages that thread then adds to the page cache for that file
 * and range (filemap:mm_filemap_add_to_page_cache) are readahead pages,
 * keyed by (device, inode, index). Their first lookup by a read
 * (mm_filemap_get_pages) or a fault (mm_filemap_fault) is their use. */
#include "common.h"

#define MAX_SLOTS 20
/* Pages of one read() range looked at: more than a 4 MiB read is left out. */
#define MAX_RANGE 1024

struct page_key {
	u64 ino;
	u64 index;
	u32 dev;
	u32 pad;
};

/* The readahead a thread is doing: file and index range. */
struct ra {
	u64 ino;
	u64 first;
	u64 end; /* exclusive */
	u32 dev;
	u32 pad;
};

struct hist {
	u32 slots[MAX_SLOTS];
};

/* Readahead pages not used (yet) and in all; printed at exit. */
u64 unused_pages = 0;
u64 total_pages = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct ra);
} in_readahead SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES * 4);
	__type(key, struct page_key);
	__type(value, u64);
} births SEC(".maps");

/* Age at first use (ms), one histogram. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

static __always_inline int readahead_started(u64 ino, u32 dev, u64 index, u64 count)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct ra ra = { .ino = ino, .dev = dev, .first = index, .end = index + count };

	bpf_map_update_elem(&in_readahead, &tid, &ra, BPF_ANY);
	return 0;
}

SEC("tracepoint/readahead/page_cache_ra_unbounded")
int ra_unbounded(struct trace_event_raw_page_cache_ra_unbounded *ctx)
{
	return readahead_started(ctx->i_ino, ctx->s_dev, ctx->index, ctx->nr_to_read);
}

SEC("tracepoint/readahead/page_cache_ra_order")
int ra_order(struct trace_event_raw_page_cache_ra_order *ctx)
{
	return readahead_started(ctx->i_ino, ctx->s_dev, ctx->index, ctx->size);
}

SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int add_to_page_cache(struct trace_event_raw_mm_filemap_op_page_cache *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct ra *ra = bpf_map_lookup_elem(&in_readahead, &tid);
	struct page_key key = {};
	u64 now;

	if (!ra)
		return 0;
	if (ra->ino != ctx->i_ino || ra->dev != ctx->s_dev || ctx->index < ra->first ||
	    ctx->index >= ra->end) {
		/* Another file or range: that readahead is over. */
		bpf_map_delete_elem(&in_readahead, &tid);
		return 0;
	}
	key.ino = ctx->i_ino;
	key.dev = ctx->s_dev;
	key.index = ctx->index;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&births, &key, &now, BPF_NOEXIST) == 0) {
		__sync_fetch_and_add(&total_pages, 1);
		__sync_fetch_and_add(&unused_pages, 1);
	}
	return 0;
}

/* A readahead page's first use: its age goes into the histogram. */
static __always_inline void used(struct page_key *key)
{
	u64 *birth = bpf_map_lookup_elem(&births, key);
	u32 zero = 0;
	struct hist *hist;

	if (!birth)
		return;
	hist = bpf_map_lookup_elem(&hists, &zero);
	if (hist)
		__sync_fetch_and_add(
			&hist->slots[hist_slot((bpf_ktime_get_ns() - *birth) / 1000000, MAX_SLOTS)], 1);
	__sync_fetch_and_add(&unused_pages, -1);
	bpf_map_delete_elem(&births, key);
}

struct page_range {
	struct page_key key;
	u64 last;
};

static long use_index(u32 i, struct page_range *range)
{
	if (range->key.index > range->last)
		return 1;
	used(&range->key);
	range->key.index++;
	return 0;
}

static __always_inline void readahead_done(void)
{
	u32 tid = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&in_readahead, &tid);
}

SEC("tracepoint/filemap/mm_filemap_get_pages")
int filemap_get_pages(struct trace_event_raw_mm_filemap_op_page_cache_range *ctx)
{
	struct page_range range = {};

	readahead_done();
	range.key.ino = ctx->i_ino;
	range.key.dev = ctx->s_dev;
	range.key.index = ctx->index;
	range.last = ctx->last_index;
	bpf_loop(MAX_RANGE, use_index, &range, 0);
	return 0;
}

SEC("tracepoint/filemap/mm_filemap_fault")
int filemap_fault(struct trace_event_raw_mm_filemap_fault *ctx)
{
	struct page_key key = {};

	readahead_done();
	key.ino = ctx->i_ino;
	key.dev = ctx->s_dev;
	key.index = ctx->index;
	used(&key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
