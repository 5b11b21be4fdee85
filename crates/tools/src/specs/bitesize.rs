use super::common::{COUNT, DISK, INTERVAL, TIMESTAMP_WALL};
use super::object;
use crate::{Column, Effect, Flag, Output, Parse, Scale, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "bitesize",
    summary: "Summarize block device I/O size as a histogram per process.",
    object: object!("bitesize"),
    variants: &[Variant::new("tracepoint", &["block_rq_issue"])],
    flags: &[
        Flag::named(
            Some('c'),
            "comm",
            "COMM",
            Parse::Text,
            "Trace this comm only",
            &[Effect::Param("targ_comm")],
        ),
        DISK,
        TIMESTAMP_WALL,
        INTERVAL,
        COUNT,
    ],
    outputs: &[Output::Histogram {
        when: When::Always,
        map: "hists",
        slots: "slots",
        scale: Scale::Log2,
        unit: "Kbytes",
        keys: &[Column::new("Process Name", "key.comm", 0)],
    }],
    examples: "\
    bitesize              # trace block I/O size as a histogram per process
    bitesize 1 10         # print 1 second summaries, 10 times
    bitesize -T 1         # 1s summaries with timestamps
    bitesize -c fio       # trace fio only
    bitesize -d sdc       # trace sdc only",
};
