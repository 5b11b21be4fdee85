use super::common::{
    CGROUP, COUNT, DISK, INTERVAL, MILLISECONDS, QUEUED, TIMESTAMP_WALL, log2_usecs,
};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Format, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "biolatency",
    summary: "Summarize block device I/O latency as a histogram.",
    object: object!("biolatency"),
    variants: btf_and_raw_variants!("block_rq_insert", "block_rq_issue", "block_rq_complete"),
    flags: &[
        TIMESTAMP_WALL,
        MILLISECONDS,
        QUEUED,
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
    outputs: &[log2_usecs(
        When::Always,
        "hists",
        &[
            Column::new("disk", "key.dev", 0)
                .fmt(Format::Disk)
                .when(When::With("disks")),
            Column::new("flags", "key.rwbs", 0).when(When::With("flag")),
        ],
    )],
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
