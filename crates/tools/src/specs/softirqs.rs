use super::common::{COUNT, DISTRIBUTED, INTERVAL, NANOSECONDS, TIMESTAMP_WALL, log2_usecs};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Format, Output, Parse, ToolSpec, When};

/// Softirq vectors in kernel order (`enum { HI_SOFTIRQ, ... }`).
const VECTORS: Format = Format::Names(&[
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
]);

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "softirqs",
    summary: "Summarize soft irq event time as histograms.",
    object: object!("softirqs"),
    variants: btf_and_raw_variants!("softirq_entry", "softirq_exit"),
    // Upstream's current meanings: -C shows counts, -c one CPU.
    flags: &[
        DISTRIBUTED,
        TIMESTAMP_WALL,
        NANOSECONDS,
        Flag::switch(Some('C'), "count", "Show event counts with timing", &[]),
        Flag::named(
            Some('c'),
            "cpu",
            "CPU",
            Parse::Int,
            "Trace this cpu only",
            &[Effect::Param("targ_cpu")],
        ),
        INTERVAL,
        COUNT,
    ],
    // `infos` is an array with every vector; rows and histograms that are
    // all zero are not shown.
    outputs: &[
        log2_usecs(
            When::With("distributed"),
            "infos",
            &[Column::new("softirq", "key", 0).fmt(VECTORS)],
        ),
        Output::Table {
            when: When::Always,
            map: "infos",
            defaults: &[],
            unit: "usecs",
            columns: &[
                Column::new("SOFTIRQ", "key", 16).fmt(VECTORS),
                Column::new("TOTAL_{unit}", "total_time", 11).right(),
                Column::new("TOTAL_count", "count", 11)
                    .right()
                    .when(When::With("count")),
            ],
            sort: &[(When::Always, "total_time")],
        },
    ],
    examples: "\
    softirqs            # sum soft irq event time
    softirqs -d         # show soft irq event time as histograms
    softirqs 1 10       # print 1 second summaries, 10 times
    softirqs -NT 1      # 1s summaries, nanoseconds, and timestamps
    softirqs -c 1       # show soft irq event time on cpu 1
    softirqs -C         # show event counts with timing",
};
