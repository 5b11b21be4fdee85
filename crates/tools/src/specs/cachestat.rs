use super::common::{COUNT, INTERVAL, TIMESTAMP_WALL};
use super::object;
use crate::{Column, Format, Output, ToolSpec, Variant, When};

// BUFFERS_MB and CACHED_MB (libbpf-tools reads them from /proc/meminfo)
// are left out: the generic runtime shows only what the kernel half counts.
pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "cachestat",
    summary: "Count cache kernel function calls (tracepoint approximation: \
              page cache lookups, additions and dirtied folios).",
    object: object!("cachestat"),
    variants: &[Variant::new(
        "tracepoint",
        &[
            "filemap_get_pages",
            "filemap_map_pages",
            "filemap_fault",
            "filemap_add_to_page_cache",
            "writeback_dirty_folio",
        ],
    )],
    flags: &[TIMESTAMP_WALL, INTERVAL, COUNT],
    outputs: &[Output::Table {
        when: When::Always,
        map: "stats",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("HITS", "hits", 8).right(),
            Column::new("MISSES", "misses", 8).right(),
            Column::new("DIRTIES", "dirties", 8).right(),
            Column::new("HITRATIO(%)", "hits", 11)
                .right()
                .fmt(Format::PercentOf(&["hits", "misses"])),
        ],
        sort: &[],
    }],
    examples: "\
    cachestat          # shows hits and misses to the file system page cache
    cachestat -T       # include timestamps
    cachestat 1 10     # print 1 second summaries, 10 times",
};
