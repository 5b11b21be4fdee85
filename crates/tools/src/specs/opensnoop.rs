use super::{UID, object};
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "opensnoop",
    summary: "Trace open family syscalls",
    object: object!("opensnoop"),
    // open() is missing on arm64 and riscv, openat2() before 5.6.
    variants: &[Variant::new(
        "tracepoint",
        &[
            "tracepoint__syscalls__sys_enter_open",
            "tracepoint__syscalls__sys_enter_openat",
            "tracepoint__syscalls__sys_enter_openat2",
            "tracepoint__syscalls__sys_exit_open",
            "tracepoint__syscalls__sys_exit_openat",
            "tracepoint__syscalls__sys_exit_openat2",
        ],
    )
    .optional(&[
        "tracepoint__syscalls__sys_enter_open",
        "tracepoint__syscalls__sys_exit_open",
        "tracepoint__syscalls__sys_enter_openat2",
        "tracepoint__syscalls__sys_exit_openat2",
    ])],
    flags: &[
        Flag::switch(
            Some('T'),
            "timestamp",
            "Print timestamp",
            &[Effect::Runtime(Runtime::WallTime)],
        ),
        Flag::switch(Some('U'), "print-uid", "Print UID", &[]),
        Flag::switch(
            Some('x'),
            "failed",
            "Failed opens only",
            &[Effect::Param("targ_failed")],
        ),
        Flag::named(
            Some('p'),
            "pid",
            "PID",
            Parse::Int,
            "Process ID to trace",
            &[Effect::Param("targ_pid")],
        ),
        Flag::named(
            Some('t'),
            "tid",
            "TID",
            Parse::Int,
            "Thread ID to trace",
            &[Effect::Param("targ_tid")],
        ),
        Flag::named(
            Some('u'),
            "uid",
            "UID",
            Parse::Int,
            "User ID to trace",
            &[Effect::Param("targ_uid")],
        ),
        Flag::named(
            Some('d'),
            "duration",
            "DURATION",
            Parse::Int,
            "Duration to trace",
            &[Effect::Runtime(Runtime::Duration)],
        ),
        Flag::named(
            Some('n'),
            "name",
            "NAME",
            Parse::Text,
            "Trace process names containing this",
            &[Effect::Runtime(Runtime::Contains("comm"))],
        ),
        Flag::switch(Some('e'), "extended-fields", "Print extended fields", &[]),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            UID,
            Column::new("PID", "pid", 6),
            Column::new("COMM", "comm", 16),
            Column::new("FD", "fd", 3).right(),
            Column::new("ERR", "err", 3).right(),
            Column::new("FLAGS", "flags", 8)
                .fmt(Format::Octal)
                .when(When::With("extended-fields")),
            Column::new("MODE", "mode", 5)
                .fmt(Format::Octal)
                .when(When::With("extended-fields")),
            Column::new("PATH", "fname", 0),
        ],
        defaults: &[],
    }],
    examples: "\
    opensnoop           # trace all open() syscalls
    opensnoop -T        # include timestamps
    opensnoop -U        # include UID
    opensnoop -x        # only show failed opens
    opensnoop -p 181    # only trace PID 181
    opensnoop -t 123    # only trace TID 123
    opensnoop -u 1000   # only trace UID 1000
    opensnoop -d 10     # trace for 10 seconds only
    opensnoop -n main   # only print process names containing \"main\"
    opensnoop -e        # show extended fields",
};
