use super::common::{COUNT, INTERVAL, TIMESTAMP_WALL, sample_frequency};
use super::object;
use crate::{Column, Effect, Flag, Output, Scale, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "runqlen",
    summary: "Summarize scheduler run queue length as a histogram.",
    object: object!("runqlen"),
    variants: &[Variant::new("perf_event", &["do_sample"])],
    // libbpf-tools' -O (run queue occupancy) is not offered: it is a
    // summary of the histogram, not a different kernel half.
    flags: &[
        Flag::switch(
            Some('C'),
            "cpus",
            "Print output for each CPU separately",
            &[Effect::Param("targ_per_cpu")],
        ),
        Flag::switch(
            Some('H'),
            "host",
            "Report the host's run queue length (from inside a container)",
            &[Effect::Param("targ_host")],
        ),
        sample_frequency('f', "Sample with a certain frequency").default("99"),
        TIMESTAMP_WALL,
        INTERVAL,
        COUNT,
    ],
    outputs: &[Output::Histogram {
        when: When::Always,
        map: "hists",
        slots: "slots",
        scale: Scale::Linear,
        unit: "runqlen",
        keys: &[Column::new("cpu", "key", 0).when(When::With("cpus"))],
    }],
    examples: "\
    runqlen         # summarize run queue length as a histogram
    runqlen 1 10    # print 1 second summaries, 10 times
    runqlen -T 1    # 1s summaries and timestamps
    runqlen -C      # show each CPU separately
    runqlen -f 199  # sample at 199HZ",
};
