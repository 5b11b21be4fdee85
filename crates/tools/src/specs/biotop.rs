use super::common::{COUNT, PID_TARGET, interval};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "biotop",
    summary: "Block device I/O top, by issuing process.",
    object: object!("biotop"),
    variants: btf_and_raw_variants!("block_rq_issue", "block_rq_complete"),
    flags: &[
        // bpfkit prints each interval below the last one; it never clears.
        Flag::switch(Some('C'), "noclear", "Don't clear the screen", &[]),
        Flag::named(
            Some('r'),
            "rows",
            "ROWS",
            Parse::Int,
            "Maximum rows to print",
            &[Effect::Runtime(Runtime::Top)],
        )
        .default("20"),
        PID_TARGET,
        interval("Print every INTERVAL seconds").default("1"),
        COUNT,
    ],
    // libbpf-tools' MAJ MIN columns are the disk's name here, and the
    // average latency is in whole microseconds (AVGus) instead of AVGms.
    outputs: &[Output::Table {
        when: When::Always,
        map: "counts",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("PID", "key.pid", 7),
            Column::new("COMM", "key.comm", 16),
            Column::new("D", "key.rwflag", 1).fmt(Format::Names(&["R", "W"])),
            Column::new("DISK", "key.dev", 8).fmt(Format::Disk),
            Column::new("I/O", "io", 5).right(),
            Column::new("Kbytes", "bytes", 8)
                .right()
                .fmt(Format::Scaled(1024, 0)),
            Column::new("AVGus", "us", 8)
                .right()
                .fmt(Format::DividedBy("io")),
        ],
        sort: &[(When::Always, "bytes")],
    }],
    examples: "\
    biotop            # block device I/O top, 1 second refresh
    biotop -p 181     # only PID 181
    biotop 5 10       # 5 second summaries, 10 times",
};
