use super::{CGROUP, COUNT, INTERVAL, btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Output, Parse, Runtime, Scale, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "runqlat",
    summary: "Summarize run queue (scheduler) latency as a histogram.",
    object: object!("runqlat"),
    variants: btf_and_raw_variants!("sched_wakeup", "sched_wakeup_new", "sched_switch"),
    flags: &[
        Flag::switch(
            Some('T'),
            "timestamp",
            "Include timestamp on output",
            &[Effect::Runtime(Runtime::WallTime)],
        ),
        Flag::switch(
            Some('m'),
            "milliseconds",
            "Millisecond histogram",
            &[
                Effect::Param("targ_ms"),
                Effect::Runtime(Runtime::Unit("msecs")),
            ],
        ),
        Flag::switch(
            Some('P'),
            "pids",
            "Print a histogram per process ID",
            &[Effect::Param("targ_per_process")],
        ),
        Flag::switch(
            Some('L'),
            "tids",
            "Print a histogram per thread ID",
            &[Effect::Param("targ_per_thread")],
        ),
        Flag::switch(
            None,
            "pidnss",
            "Print a histogram per PID namespace",
            &[Effect::Param("targ_per_pidns")],
        ),
        Flag::named(
            Some('p'),
            "pid",
            "PID",
            Parse::Int,
            "Trace this PID only",
            &[Effect::Param("targ_tgid")],
        ),
        CGROUP,
        INTERVAL,
        COUNT,
    ],
    outputs: &[Output::Histogram {
        when: When::Always,
        map: "hists",
        slots: "slots",
        scale: Scale::Log2,
        unit: "usecs",
        keys: &[
            Column::new("pid", "key", 0).when(When::With("pids")),
            Column::new("tid", "key", 0).when(When::With("tids")),
            Column::new("pidns", "key", 0).when(When::With("pidnss")),
            Column::new("", "comm", 0).when(When::WithAny(&["pids", "tids", "pidnss"])),
        ],
    }],
    examples: "\
    runqlat         # summarize run queue latency as a histogram
    runqlat 1 10    # print 1 second summaries, 10 times
    runqlat -mT 1   # 1s summaries, milliseconds, and timestamps
    runqlat -P      # show each PID separately
    runqlat -p 185  # trace PID 185 only
    runqlat -c CG   # Trace process under cgroupsPath CG",
};
