use super::common::{CGROUP, PID_FILTER, duration, failed, interval_option};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "syscount",
    summary: "syscount: summarize syscall counts and latencies",
    object: object!("syscount"),
    variants: &[Variant::new("tracepoint", &["sys_enter", "sys_exit"])],
    flags: &[
        PID_FILTER,
        interval_option("Print summary at this interval (seconds), 0 for infinite wait (default)"),
        duration("Total tracing duration (seconds)"),
        Flag::named(
            Some('T'),
            "top",
            "TOP",
            Parse::Int,
            "Print only the top syscalls",
            &[Effect::Runtime(Runtime::Top)],
        )
        .default("10"),
        failed(
            "failures",
            "Trace only failed syscalls",
            &[Effect::Param("filter_failed")],
        ),
        Flag::switch(
            Some('L'),
            "latency",
            "Collect syscall latency",
            &[Effect::Param("measure_latency")],
        ),
        Flag::switch(
            Some('m'),
            "milliseconds",
            "Display latency in milliseconds (default: microseconds)",
            &[Effect::Runtime(Runtime::Unit("msecs"))],
        ),
        Flag::switch(
            Some('P'),
            "process",
            "Count by process and not by syscall",
            &[Effect::Param("count_by_process")],
        ),
        Flag::named(
            Some('e'),
            "errno",
            "ERRNO",
            Parse::Errno,
            "Trace only syscalls that return this error (numeric or EPERM, etc.)",
            &[Effect::Param("filter_errno")],
        ),
        Flag::switch(
            Some('l'),
            "list",
            "Print list of recognized syscalls and exit",
            &[Effect::Runtime(Runtime::ListSyscalls)],
        ),
        CGROUP,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "data",
        // libbpf-tools prints `[HH:MM:SS]` before every interval's table.
        defaults: &[Runtime::BracketedTimeLine],
        unit: "usecs",
        columns: &[
            Column::new("SYSCALL", "key", 22)
                .fmt(Format::Syscall)
                .when(When::Without("process")),
            Column::new("PID", "key", 7).when(When::With("process")),
            Column::new("COMM", "comm", 16).when(When::With("process")),
            Column::new("COUNT", "count", 8).right(),
            Column::new("TIME ({unit})", "total_ns", 16)
                .right()
                .fmt(Format::Nanos(3))
                .when(When::With("latency")),
        ],
        sort: &[(When::With("latency"), "total_ns"), (When::Always, "count")],
    }],
    examples: "\
    syscount                 # print top 10 syscalls by count every second
    syscount -p $(pidof dd)  # look only at a particular process
    syscount -L              # measure and sort output by latency
    syscount -P              # group statistics by pid, not by syscall
    syscount -x -i 5         # count only failed syscalls
    syscount -e ENOENT -i 5  # count only syscalls failed with a given errno
    syscount -c CG           # Trace process under cgroupsPath CG",
};
