use super::common::{COUNT, DISK, INTERVAL, TIMESTAMP_WALL};
use super::object;
use crate::{Column, Format, Output, ToolSpec, Variant, When};

const BOTH: &[&str] = &["random", "sequential"];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "biopattern",
    summary: "Show block device I/O pattern.",
    object: object!("biopattern"),
    variants: &[Variant::new("tracepoint", &["handle__block_rq_complete"])],
    flags: &[DISK, TIMESTAMP_WALL, INTERVAL, COUNT],
    outputs: &[Output::Table {
        when: When::Always,
        map: "counters",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("DISK", "key", 7).fmt(Format::Disk),
            Column::new("%RND", "random", 5)
                .right()
                .fmt(Format::PercentOf(BOTH)),
            Column::new("%SEQ", "sequential", 5)
                .right()
                .fmt(Format::PercentOf(BOTH)),
            Column::new("COUNT", "random", 8)
                .right()
                .fmt(Format::SumOf(BOTH)),
            Column::new("KBYTES", "bytes", 10)
                .right()
                .fmt(Format::Scaled(1024, 0)),
        ],
        sort: &[],
    }],
    examples: "\
    biopattern              # show block I/O pattern
    biopattern 1 10         # print 1 second summaries, 10 times
    biopattern -T 1         # 1s summaries with timestamps
    biopattern -d sdc       # trace sdc only",
};
