use super::{CGROUP, COUNT, DISK, INTERVAL, btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Format, Output, Runtime, Scale, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "biolatency",
    summary: "Summarize block device I/O latency as a histogram.",
    object: object!("biolatency"),
    variants: btf_and_raw_variants!("block_rq_insert", "block_rq_issue", "block_rq_complete"),
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
            Some('Q'),
            "queued",
            "Include OS queued time in I/O time",
            &[Effect::Param("targ_queued")],
        ),
        // libbpf-tools names both -d and -D "--disk".
        Flag::switch(
            Some('D'),
            "disks",
            "Print a histogram per disk device",
            &[Effect::Param("targ_per_disk")],
        ),
        Flag::switch(
            Some('F'),
            "flag",
            "Print a histogram per set of I/O flags",
            &[Effect::Param("targ_per_flag")],
        ),
        DISK,
        CGROUP,
        INTERVAL,
        COUNT,
    ],
    // -F labels histograms with the kernel's rwbs text (`WS`) instead of
    // libbpf-tools' words (`Sync-Write`).
    outputs: &[Output::Histogram {
        when: When::Always,
        map: "hists",
        slots: "slots",
        scale: Scale::Log2,
        unit: "usecs",
        keys: &[
            Column::new("disk", "key.dev", 0)
                .fmt(Format::Disk)
                .when(When::With("disks")),
            Column::new("flags", "key.rwbs", 0).when(When::With("flag")),
        ],
    }],
    examples: "\
    biolatency              # summarize block I/O latency as a histogram
    biolatency 1 10         # print 1 second summaries, 10 times
    biolatency -mT 1        # 1s summaries, milliseconds, and timestamps
    biolatency -Q           # include OS queued time in I/O time
    biolatency -D           # show each disk device separately
    biolatency -F           # show I/O flags separately
    biolatency -d sdc       # Trace sdc only
    biolatency -c CG        # Trace process under cgroupsPath CG",
};
