use super::common::duration;
use super::object;
use crate::{Output, Scale, Summary, ToolSpec, Variant, When};

/// libbpf-tools' line above the histogram, from the object's counters.
pub(crate) const SUMMARY: &[Summary] = &[Summary {
    when: When::Always,
    text: "Readahead unused/total pages: {unused_pages}/{total_pages}",
}];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "readahead",
    summary: "Show fs automatic read-ahead usage (tracepoint approximation: \
              readahead and filemap tracepoints).",
    object: object!("readahead"),
    // libbpf-tools uses fentry/kprobes on do_page_cache_ra,
    // page_cache_ra_order, the page allocator and mark_page_accessed. Here
    // the readahead tracepoints mark the file range a thread reads ahead,
    // the filemap tracepoints the pages it adds and their first use by a
    // read or fault. The object also counts unused and total pages
    // (`unused_pages`, `total_pages` globals): SUMMARY prints them.
    variants: &[Variant::new(
        "tracepoint",
        &[
            "ra_unbounded",
            "ra_order",
            "add_to_page_cache",
            "filemap_get_pages",
            "filemap_fault",
        ],
    )],
    flags: &[duration("Duration to trace")],
    outputs: &[Output::Histogram {
        when: When::Always,
        map: "hists",
        slots: "slots",
        scale: Scale::Log2,
        unit: "msecs",
        keys: &[],
    }],
    examples: "\
    readahead              # summarize read-ahead page use until Ctrl-C
    readahead -d 10        # trace for 10 seconds only",
};
