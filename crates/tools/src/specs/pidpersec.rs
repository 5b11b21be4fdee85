use super::common::{COUNT, TIMESTAMP_WALL, interval};
use super::object;
use crate::{Column, Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "pidpersec",
    summary: "Count new processes (via fork) per interval.",
    object: object!("pidpersec"),
    variants: &[Variant::new("tracepoint", &["sched_process_fork"])],
    flags: &[
        TIMESTAMP_WALL,
        interval("Print the count every INTERVAL seconds").default("1"),
        COUNT,
    ],
    // bpftrace's pidpersec.bt prints "PIDs/sec: N" every second; with
    // another interval the count is per interval, as the header says.
    outputs: &[Output::Table {
        when: When::Always,
        map: "stats",
        defaults: &[],
        unit: "usecs",
        columns: &[Column::new("PIDs/interval", "forks", 13).right()],
        sort: &[],
    }],
    examples: "\
    pidpersec          # new processes every second
    pidpersec -T 5     # every 5 seconds, with the time",
};
