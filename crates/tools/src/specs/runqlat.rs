use super::common::{CGROUP, COUNT, INTERVAL, MILLISECONDS, PID_TGID, TIMESTAMP_WALL, log2_usecs};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "runqlat",
    summary: "Summarize run queue (scheduler) latency as a histogram.",
    object: object!("runqlat"),
    variants: btf_and_raw_variants!("sched_wakeup", "sched_wakeup_new", "sched_switch"),
    flags: &[
        TIMESTAMP_WALL,
        MILLISECONDS,
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
        PID_TGID,
        CGROUP,
        INTERVAL,
        COUNT,
    ],
    outputs: &[log2_usecs(
        When::Always,
        "hists",
        &[
            Column::new("pid", "key", 0).when(When::With("pids")),
            Column::new("tid", "key", 0).when(When::With("tids")),
            Column::new("pidns", "key", 0).when(When::With("pidnss")),
            Column::new("", "comm", 0).when(When::WithAny(&["pids", "tids", "pidnss"])),
        ],
    )],
    examples: "\
    runqlat         # summarize run queue latency as a histogram
    runqlat 1 10    # print 1 second summaries, 10 times
    runqlat -mT 1   # 1s summaries, milliseconds, and timestamps
    runqlat -P      # show each PID separately
    runqlat -p 185  # trace PID 185 only
    runqlat -c CG   # Trace process under cgroupsPath CG",
};
