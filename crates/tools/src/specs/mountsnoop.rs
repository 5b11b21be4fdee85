use super::common::{PID_TARGET, WALL_CLOCK, timestamp};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "mountsnoop",
    summary: "Trace mount and umount syscalls.",
    object: object!("mountsnoop"),
    variants: &[Variant::new(
        "tracepoint",
        &["mount_entry", "mount_exit", "umount_entry", "umount_exit"],
    )],
    flags: &[
        Flag::switch(
            Some('d'),
            "detailed",
            "Output result in detail mode",
            &[Effect::Runtime(Runtime::Detailed)],
        ),
        PID_TARGET,
        timestamp('t', "Include timestamp on output", WALL_CLOCK),
    ],
    // libbpf-tools prints the call as C (`mount("/dev/x", "/mnt", ...) = 0`);
    // here its parts are columns.
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("COMM", "comm", 16),
            Column::new("PID", "pid", 7),
            Column::new("TID", "tid", 7),
            Column::new("MNT_NS", "mnt_ns", 11),
            Column::new("CALL", "op", 6),
            Column::new("RET", "ret", 4).right().fmt(Format::Errno),
            // Time spent in the call, shown in detail mode as libbpf-tools do.
            Column::new("LAT(us)", "delta_ns", 0)
                .fmt(Format::Scaled(1000, 0))
                .when(When::With("detailed")),
            Column::new("FLAGS", "flags", 10).fmt(Format::Hex),
            Column::new("FS", "fs", 8),
            Column::new("SOURCE", "src", 16),
            Column::new("TARGET", "dest", 16),
            Column::new("DATA", "data", 0),
        ],
        defaults: &[],
    }],
    examples: "\
    mountsnoop         # trace mount and umount syscalls
    mountsnoop -d      # detailed output (one line per column value)
    mountsnoop -p 1216 # only trace PID 1216",
};
