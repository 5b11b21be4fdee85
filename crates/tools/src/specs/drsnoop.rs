use super::common::{duration, pid, tid};
use super::object;
use crate::{Column, Effect, Format, Output, Runtime, ToolSpec, Variant, When};

// libbpf-tools' -e (free memory, read from a kernel global) is left out.
pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "drsnoop",
    summary: "Trace direct reclaim latency (global, and memory cgroups' at their limit).",
    object: object!("drsnoop"),
    variants: &[Variant::new(
        "tracepoint",
        &[
            "direct_reclaim_begin",
            "direct_reclaim_end",
            "memcg_reclaim_begin",
            "memcg_reclaim_end",
        ],
    )],
    flags: &[
        pid("Process PID to trace", &[Effect::Param("targ_tgid")]),
        tid('t', "Thread TID to trace", &[Effect::Param("targ_pid")]),
        duration("Total duration of trace in seconds"),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("COMM", "comm", 16),
            Column::new("TID", "tid", 6),
            Column::new("LAT(ms)", "delta_ns", 8)
                .right()
                .fmt(Format::Scaled(1_000_000, 3)),
            Column::new("PAGES", "nr_reclaimed", 5).right(),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    drsnoop         # trace all direct reclaim events
    drsnoop -p 123  # trace pid 123
    drsnoop -t 123  # trace tid 123 (use for threads only)
    drsnoop -d 10   # trace for 10 seconds only",
};
