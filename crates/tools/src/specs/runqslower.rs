use super::common::{min_us, pid, tid};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Output, Runtime, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "runqslower",
    summary: "Trace high run queue latency.",
    object: object!("runqslower"),
    variants: btf_and_raw_variants!("sched_wakeup", "sched_wakeup_new", "sched_switch"),
    flags: &[
        pid("Process PID to trace", &[Effect::Param("targ_tgid")]),
        tid('t', "Thread TID to trace", &[Effect::Param("targ_pid")]),
        Flag::switch(
            Some('P'),
            "previous",
            "also show previous task name and TID",
            &[],
        ),
        min_us(
            "Trace latency higher than this (us)",
            &[Effect::Param("min_us")],
        )
        .default("10000"),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("COMM", "task", 16),
            Column::new("TID", "pid", 6),
            Column::new("LAT(us)", "delta_us", 14).right(),
            Column::new("PREV COMM", "prev_task", 16).when(When::With("previous")),
            Column::new("PREV TID", "prev_pid", 10).when(When::With("previous")),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    runqslower         # trace latency higher than 10000 us (default)
    runqslower 1000    # trace latency higher than 1000 us
    runqslower -p 123  # trace pid 123
    runqslower -t 123  # trace tid 123 (use for threads only)
    runqslower -P      # also show previous task name and TID",
};
