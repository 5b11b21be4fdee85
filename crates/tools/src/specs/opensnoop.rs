use super::common::{UID, WALL_CLOCK, duration, failed, name, pid, print_uid, tid, timestamp, uid};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, ToolSpec, Variant, When};

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
        timestamp('T', "Print timestamp", WALL_CLOCK),
        print_uid("Print UID"),
        failed(
            "failed",
            "Failed opens only",
            &[Effect::Param("targ_failed")],
        ),
        pid("Process ID to trace", &[Effect::Param("targ_pid")]),
        tid('t', "Thread ID to trace", &[Effect::Param("targ_tid")]),
        uid("User ID to trace", &[Effect::Param("targ_uid")]),
        duration("Duration to trace"),
        name("Trace process names containing this"),
        Flag::switch(Some('e'), "extended-fields", "Print extended fields", &[]),
        Flag::switch(
            Some('c'),
            "callers",
            "Show calling functions",
            &[Effect::Param("callers")],
        ),
        Flag::switch(
            Some('F'),
            "full-path",
            "Show full path",
            &[Effect::Param("full_path")],
        ),
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
            Column::new("PATH", "fname", 0).when(When::Without("full-path")),
            Column::new("PATH", "full", 0).when(When::With("full-path")),
            // The two callers under the row, as libbpf-tools' PATH/CALLER.
            Column::new("", "callers", 0)
                .fmt(Format::Stack {
                    pid: Some("pid"),
                    missing: "",
                })
                .when(When::With("callers")),
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
    opensnoop -e        # show extended fields
    opensnoop -c        # show calling functions
    opensnoop -F        # show full path",
};
