use super::common::PID_TGID;
use super::object;
use crate::{Column, Format, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "filelife",
    summary: "Trace the lifespan of short-lived files (tracepoint approximation of \
              vfs_create/vfs_unlink: files matched by name).",
    object: object!("filelife"),
    // libbpf-tools uses kprobes/fentry on vfs_create, vfs_open and
    // vfs_unlink. Tracepoint approximation (this kernel may lack kprobes):
    // files created by open/openat/openat2/creat (FMODE_CREATED), matched
    // at a successful unlink/unlinkat by their last path component, so the
    // FILE column is that name, not the inode.
    variants: &[Variant::new(
        "tracepoint",
        &[
            "open_enter",
            "openat_enter",
            "openat2_enter",
            "creat_enter",
            "open_exit",
            "openat_exit",
            "openat2_exit",
            "creat_exit",
            "unlink_enter",
            "unlinkat_enter",
            "unlink_exit",
            "unlinkat_exit",
        ],
    )
    .optional(&[
        "open_enter",
        "open_exit",
        "openat2_enter",
        "openat2_exit",
        "creat_enter",
        "creat_exit",
        "unlink_enter",
        "unlink_exit",
    ])],
    flags: &[PID_TGID],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "tgid", 6),
            Column::new("COMM", "task", 16),
            Column::new("AGE(s)", "age_ns", 7).fmt(Format::Scaled(1_000_000_000, 2)),
            Column::new("FILE", "file", 0),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    filelife         # trace all events
    filelife -p 123  # trace pid 123",
};
