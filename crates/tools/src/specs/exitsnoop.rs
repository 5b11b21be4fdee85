use super::common::{CGROUP, PID_TARGET, WALL_CLOCK, failed, timestamp};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "exitsnoop",
    summary: "Trace process termination.",
    object: object!("exitsnoop"),
    variants: &[Variant::new("tracepoint", &["sched_process_exit"])],
    flags: &[
        timestamp('t', "Include timestamp on output", WALL_CLOCK),
        failed(
            "failed",
            "Trace error exits only.",
            &[Effect::Param("trace_failed_only")],
        ),
        PID_TARGET,
        Flag::switch(
            Some('T'),
            "threaded",
            "Trace by thread.",
            &[Effect::Param("trace_threads")],
        ),
        CGROUP,
    ],
    // One EXIT_CODE text as libbpf-tools prints it ("code 1", "signal 9
    // (Killed)"); JSON keeps the code, the signal and the core dump apart.
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PCOMM", "comm", 16),
            Column::new("PID", "pid", 7),
            Column::new("PPID", "ppid", 7),
            Column::new("TID", "tid", 7),
            Column::new("AGE(s)", "age_ns", 7)
                .right()
                .fmt(Format::Scaled(1_000_000_000, 2)),
            Column::new("EXIT_CODE", "exit_code", 0).fmt(Format::ExitStatus {
                signal: "sig",
                core: "core_dumped",
            }),
        ],
        defaults: &[],
    }],
    examples: "\
    exitsnoop             # trace process exit events
    exitsnoop -t          # include timestamps
    exitsnoop -x          # trace error exits only
    exitsnoop -p 1216     # only trace PID 1216
    exitsnoop -T          # trace by thread
    exitsnoop -c CG       # Trace process under cgroupsPath CG",
};
