// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cachestat: page cache hits, misses and dirtied pages.
 *
 * libbpf-tools counts calls of add_to_page_cache_lru, mark_page_accessed,
 * account_page_dirtied and mark_buffer_dirty with fentry or kprobes. This
 * kernel half is an approximation from tracepoints, for kernels without
 * either: pages looked up by reads (filemap:mm_filemap_get_pages) and by
 * page faults (mm_filemap_map_pages, mm_filemap_fault) are accesses, pages
 * added to the cache (mm_filemap_add_to_page_cache) are misses, folios
 * dirtied (writeback:writeback_dirty_folio) are dirties, and hits are
 * accesses minus misses. Readahead adds pages before they are accessed, so
 * over a short interval hits can come out below zero, as in bcc. */
#include "common.h"

struct stats {
	s64 hits;
	s64 misses;
	s64 dirties;
};

/* One entry, key 0. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct stats);
} stats SEC(".maps");

static const struct stats zero;

static __always_inline struct stats *totals(void)
{
	u32 key = 0;

	return lookup_or_init(&stats, &key, &zero);
}

static __always_inline int accessed(s64 pages)
{
	struct stats *s = totals();

	if (s)
		__sync_fetch_and_add(&s->hits, pages);
	return 0;
}

SEC("tracepoint/filemap/mm_filemap_get_pages")
int filemap_get_pages(struct trace_event_raw_mm_filemap_op_page_cache_range *ctx)
{
	return accessed(ctx->last_index - ctx->index + 1);
}

SEC("tracepoint/filemap/mm_filemap_map_pages")
int filemap_map_pages(struct trace_event_raw_mm_filemap_op_page_cache_range *ctx)
{
	return accessed(ctx->last_index - ctx->index + 1);
}

SEC("tracepoint/filemap/mm_filemap_fault")
int filemap_fault(void *ctx)
{
	return accessed(1);
}

SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int filemap_add_to_page_cache(struct trace_event_raw_mm_filemap_op_page_cache *ctx)
{
	s64 pages = 1LL << (ctx->order & 31);
	struct stats *s = totals();

	if (!s)
		return 0;
	/* Every miss was also counted as an access. */
	__sync_fetch_and_add(&s->misses, pages);
	__sync_fetch_and_add(&s->hits, -pages);
	return 0;
}

SEC("tracepoint/writeback/writeback_dirty_folio")
int writeback_dirty_folio(void *ctx)
{
	struct stats *s = totals();

	if (s)
		__sync_fetch_and_add(&s->dirties, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
