use super::common::{
    CGROUP, COUNT, DISTRIBUTED, INTERVAL, NANOSECONDS, TIMESTAMP_WALL, log2_usecs,
};
use super::{btf_and_raw_variants, object};
use crate::{Column, Effect, Flag, Output, Parse, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "hardirqs",
    summary: "Summarize hard irq event time as histograms.",
    object: object!("hardirqs"),
    variants: btf_and_raw_variants!("irq_handler_entry", "irq_handler_exit"),
    flags: &[
        // Upstream's current meanings: -C per CPU, -s one CPU, -c cgroup.
        Flag::switch(
            Some('C'),
            "CPU",
            "Display separately by CPU",
            &[Effect::Param("per_cpu")],
        ),
        DISTRIBUTED,
        CGROUP,
        Flag::named(
            Some('s'),
            "cpu",
            "CPU",
            Parse::Int,
            "Only stat irq on selected cpu",
            &[Effect::Param("targ_cpu")],
        ),
        TIMESTAMP_WALL,
        NANOSECONDS,
        INTERVAL,
        COUNT,
    ],
    outputs: &[
        log2_usecs(
            When::With("distributed"),
            "infos",
            &[
                Column::new("cpu", "key.cpu", 0).when(When::With("CPU")),
                Column::new("hardirq", "key.name", 0),
            ],
        ),
        Output::Table {
            when: When::Always,
            map: "infos",
            defaults: &[],
            unit: "usecs",
            columns: &[
                Column::new("HARDIRQ", "key.name", 33),
                Column::new("TOTAL_count", "count", 11).right(),
                Column::new("TOTAL_{unit}", "total_time", 11).right(),
                Column::new("MAX_{unit}", "max_time", 9).right(),
                Column::new("CPU", "key.cpu", 3)
                    .right()
                    .when(When::With("CPU")),
            ],
            sort: &[(When::Always, "total_time")],
        },
    ],
    examples: "\
    hardirqs            # sum hard irq event time
    hardirqs -d         # show hard irq event time as histograms
    hardirqs 1 10       # print 1 second summaries, 10 times
    hardirqs -c CG      # Trace process under cgroupsPath CG
    hardirqs --cpu 1    # only stat irq on cpu 1
    hardirqs -C         # show separately by CPU
    hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps",
};
