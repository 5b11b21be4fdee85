use super::common::PID_TARGET;
use super::object;
use crate::{Column, Format, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "syncsnoop",
    summary: "Trace sync-family system calls (sync, syncfs, fsync, fdatasync, sync_file_range, msync).",
    object: object!("syncsnoop"),
    variants: &[Variant::new(
        "tracepoint",
        &[
            "sync",
            "syncfs",
            "fsync",
            "fdatasync",
            "sync_file_range",
            "msync",
        ],
    )],
    flags: &[PID_TARGET],
    // bcc's columns; its TIME(s) is seconds since tracing started here too.
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("COMM", "comm", 16),
            Column::new("PID", "pid", 7),
            Column::new("CALL", "call", 16).fmt(Format::Syscall),
        ],
        defaults: &[Runtime::Timestamp],
    }],
    examples: "\
    syncsnoop           # trace sync-family calls
    syncsnoop -p 1216   # only trace PID 1216",
};
