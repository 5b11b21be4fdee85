use super::common::{PID_TARGET, TIMESTAMP_SINCE_START, failed};
use super::object;
use crate::{Column, Effect, Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "statsnoop",
    summary: "Trace stat syscalls.",
    object: object!("statsnoop"),
    // Which stat syscalls exist depends on the architecture.
    variants: &[Variant::new(
        "tracepoint",
        &[
            "handle_statfs_entry",
            "handle_statfs_return",
            "handle_newstat_entry",
            "handle_newstat_return",
            "handle_newlstat_entry",
            "handle_newlstat_return",
            "handle_newfstatat_entry",
            "handle_newfstatat_return",
            "handle_statx_entry",
            "handle_statx_return",
        ],
    )
    .optional(&[
        "handle_newstat_entry",
        "handle_newstat_return",
        "handle_newlstat_entry",
        "handle_newlstat_return",
        "handle_newfstatat_entry",
        "handle_newfstatat_return",
    ])],
    flags: &[
        TIMESTAMP_SINCE_START,
        failed(
            "failed",
            "Only show failed stats",
            &[Effect::Param("trace_failed_only")],
        ),
        PID_TARGET,
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "comm", 20),
            Column::new("RET", "ret", 4),
            Column::new("ERR", "err", 4),
            Column::new("PATH", "pathname", 0),
        ],
        defaults: &[],
    }],
    examples: "\
    statsnoop             # trace all stat syscalls
    statsnoop -t          # include timestamps
    statsnoop -x          # only show failed stats
    statsnoop -p 1216     # only trace PID 1216",
};
