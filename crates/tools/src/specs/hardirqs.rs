use super::{CGROUP, COUNT, INTERVAL, btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Output, Runtime, Scale, ToolSpec, When};

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
        Flag::switch(
            Some('d'),
            "distributed",
            "Show distributions as histograms",
            &[Effect::Param("targ_dist")],
        ),
        Flag::switch(
            Some('N'),
            "nanoseconds",
            "Output in nanoseconds",
            &[
                Effect::Param("targ_ns"),
                Effect::Runtime(Runtime::Unit("nsecs")),
            ],
        ),
        Flag::switch(
            Some('T'),
            "timestamp",
            "Include timestamp on output",
            &[Effect::Runtime(Runtime::WallTime)],
        ),
        CGROUP,
        INTERVAL,
        COUNT,
    ],
    outputs: &[
        Output::Histogram {
            when: When::With("distributed"),
            map: "infos",
            slots: "slots",
            scale: Scale::Log2,
            unit: "usecs",
            keys: &[Column::new("hardirq", "key.name", 0)],
        },
        Output::Table {
            when: When::Always,
            map: "infos",
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
