use super::common::{duration, interval_option, pid, tid};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

/// Lock types, by the kernel half's `enum lock_kind`.
const KINDS: &[&str] = &[
    "other",
    "spinlock",
    "mutex",
    "rwsem-read",
    "rwsem-write",
    "rwlock-read",
    "rwlock-write",
    "rt-mutex",
];

// libbpf-tools shows wait and hold times per calling function (kprobes or
// fentry on mutex_lock...); the lock contention tracepoints give waits
// only, per lock address and type, for every lock type.
pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "klockstat",
    summary: "Summarize kernel lock contention: waits per lock (lock:contention_* \
              tracepoints; no hold times).",
    object: object!("klockstat"),
    variants: &[Variant::new(
        "tracepoint",
        &["contention_begin", "contention_end"],
    )],
    flags: &[
        pid("Filter by process ID", &[Effect::Param("targ_tgid")]),
        tid('t', "Filter by thread ID", &[Effect::Param("targ_pid")]),
        Flag::named(
            Some('n'),
            "locks",
            "NR_LOCKS",
            Parse::Int,
            "Number of locks to print",
            &[Effect::Runtime(Runtime::Top)],
        ),
        duration("Duration to trace"),
        interval_option("Print interval"),
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "stats",
        defaults: &[],
        unit: "nsecs",
        columns: &[
            Column::new("LOCK", "key.lock", 18).fmt(Format::Hex),
            Column::new("TYPE", "key.kind", 12).fmt(Format::Names(KINDS)),
            Column::new("COMM", "comm", 16),
            Column::new("COUNT", "count", 8).right(),
            Column::new("AVG WAIT(ns)", "total_ns", 13)
                .right()
                .fmt(Format::DividedBy("count")),
            Column::new("MAX WAIT(ns)", "max_ns", 13)
                .right()
                .fmt(Format::Nanos(0)),
            Column::new("TOTAL WAIT(ns)", "total_ns", 15)
                .right()
                .fmt(Format::Nanos(0)),
        ],
        sort: &[(When::Always, "total_ns")],
    }],
    examples: "\
    klockstat                     # trace system wide until ctrl-c
    klockstat -d 5                # trace for 5 seconds
    klockstat -i 5                # print stats every 5 seconds
    klockstat -p 181              # trace process 181 only
    klockstat -t 181              # trace thread 181 only
    klockstat -n 3                # display top 3 locks",
};
