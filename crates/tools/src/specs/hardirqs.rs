use super::common::{
    CGROUP, COUNT, DISTRIBUTED, INTERVAL, NANOSECONDS, TIMESTAMP_WALL, log2_usecs,
};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Output, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "hardirqs",
    summary: "Summarize hard irq event time as histograms.",
    object: object!("hardirqs"),
    variants: btf_and_raw_variants!("irq_handler_entry", "irq_handler_exit"),
    flags: &[
        Flag::switch(
            Some('C'),
            "count",
            "Show event counts instead of timing",
            &[Effect::Param("do_count")],
        ),
        DISTRIBUTED,
        NANOSECONDS,
        TIMESTAMP_WALL,
        CGROUP,
        INTERVAL,
        COUNT,
    ],
    outputs: &[
        log2_usecs(
            When::With("distributed"),
            "infos",
            &[Column::new("hardirq", "key.name", 0)],
        ),
        Output::Table {
            when: When::Always,
            map: "infos",
            defaults: &[],
            unit: "usecs",
            columns: &[
                Column::new("HARDIRQ", "key.name", 16),
                Column::new("COUNT", "count", 11)
                    .right()
                    .when(When::With("count")),
                Column::new("TOTAL_{unit}", "count", 11)
                    .right()
                    .when(When::Without("count")),
            ],
            sort: &[(When::Always, "count")],
        },
    ],
    examples: "\
    hardirqs            # sum hard irq event time
    hardirqs -d         # show hard irq event time as histograms
    hardirqs 1 10       # print 1 second summaries, 10 times
    hardirqs -c CG      # Trace process under cgroupsPath CG
    hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps",
};
