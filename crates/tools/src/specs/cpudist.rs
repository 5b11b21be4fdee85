use super::common::{CGROUP, COUNT, INTERVAL, MILLISECONDS, PID_TGID, TIMESTAMP_WALL, log2_usecs};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "cpudist",
    summary: "Summarize on-CPU time per task as a histogram.",
    object: object!("cpudist"),
    variants: btf_and_raw_variants!("sched_switch"),
    flags: &[
        TIMESTAMP_WALL,
        MILLISECONDS,
        Flag::switch(
            Some('O'),
            "offcpu",
            "Measure off-CPU time",
            &[Effect::Param("targ_offcpu")],
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
            Column::new("", "comm", 0).when(When::WithAny(&["pids", "tids"])),
        ],
    )],
    examples: "\
    cpudist              # summarize on-CPU time as a histogram
    cpudist -O           # summarize off-CPU time as a histogram
    cpudist 1 10         # print 1 second summaries, 10 times
    cpudist -mT 1        # 1s summaries, milliseconds, and timestamps
    cpudist -P           # show each PID separately
    cpudist -p 185       # trace PID 185 only
    cpudist -c CG        # Trace process under cgroupsPath CG",
};
