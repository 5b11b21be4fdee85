use super::common::{COUNT, INTERVAL, MILLISECONDS, NANOSECONDS, TIMESTAMP_WALL, log2_usecs};
use super::object;
use crate::{Column, Effect, Flag, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "wqlat",
    summary: "Summarize kernel workqueue latency (queued to running) as a histogram.",
    object: object!("wqlat"),
    variants: &[Variant::new(
        "tracepoint",
        &["workqueue_queue_work", "workqueue_execute_start"],
    )],
    flags: &[
        TIMESTAMP_WALL,
        NANOSECONDS,
        MILLISECONDS,
        Flag::switch(
            Some('W'),
            "workqueues",
            "Print a histogram per workqueue",
            &[Effect::Param("targ_per_wq")],
        ),
        INTERVAL,
        COUNT,
    ],
    outputs: &[log2_usecs(
        When::Always,
        "hists",
        &[Column::new("wqname", "key.wq", 0).when(When::With("workqueues"))],
    )],
    examples: "\
    wqlat            # summarize workqueue latency as a histogram
    wqlat 1 10       # print 1 second summaries, 10 times
    wqlat -mT 1      # 1s summaries, milliseconds, and timestamps
    wqlat -W         # a histogram per workqueue",
};
