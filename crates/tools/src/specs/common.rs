//! Flags and outputs several tools share, written once here.
//!
//! Tools word the same flag as their libbpf-tools originals do, and those
//! differ (`Process ID to trace`, `Trace this PID only`), so a flag whose
//! wording varies is a function of its help text and what it sets; a
//! constant is a flag that several tools give word for word.

use crate::{Column, Effect, Flag, Output, Parse, Runtime, Scale, StackOutput, When};

/// A wall clock `TIME` column (map outputs: a time line per interval).
pub(crate) const WALL_CLOCK: &[Effect] = &[Effect::Runtime(Runtime::WallTime)];

/// A `TIME(s)` column: seconds since tracing started.
pub(crate) const SINCE_START: &[Effect] = &[Effect::Runtime(Runtime::Timestamp)];

/// `--timestamp`, adding the time column `clock` (`WALL_CLOCK` or `SINCE_START`).
pub(crate) const fn timestamp(short: char, help: &'static str, clock: &'static [Effect]) -> Flag {
    Flag::switch(Some(short), "timestamp", help, clock)
}

/// `-T`, the summarizing tools' wall clock time line.
pub(crate) const TIMESTAMP_WALL: Flag = timestamp('T', "Include timestamp on output", WALL_CLOCK);

/// `-t`, the event tools' seconds since tracing started.
pub(crate) const TIMESTAMP_SINCE_START: Flag =
    timestamp('t', "Include timestamp on output", SINCE_START);

/// `-T --time`, a wall clock `TIME` column.
pub(crate) const fn time(help: &'static str) -> Flag {
    Flag::switch(Some('T'), "time", help, WALL_CLOCK)
}

/// `-p PID`, tracing one process.
pub(crate) const fn pid(help: &'static str, sets: &'static [Effect]) -> Flag {
    Flag::named(Some('p'), "pid", "PID", Parse::Int, help, sets)
}

/// `-p PID` setting `target_pid`.
pub(crate) const PID_TARGET: Flag = pid("Process ID to trace", &[Effect::Param("target_pid")]);

/// `-p PID` setting `targ_tgid`.
pub(crate) const PID_TGID: Flag = pid("Trace this PID only", &[Effect::Param("targ_tgid")]);

/// `-p PID` setting `filter_pid`.
pub(crate) const PID_FILTER: Flag = pid("Process PID to trace", &[Effect::Param("filter_pid")]);

/// `--tid TID`, tracing one thread.
pub(crate) const fn tid(short: char, help: &'static str, sets: &'static [Effect]) -> Flag {
    Flag::named(Some(short), "tid", "TID", Parse::Int, help, sets)
}

/// `-u UID`, tracing one user.
/// `-u`: user threads only (offcputime, offwaketime).
pub(crate) const USER_THREADS_ONLY: Flag = Flag::switch(
    Some('u'),
    "user-threads-only",
    "User threads only (no kernel threads)",
    &[Effect::Param("user_threads_only")],
);

/// `-k`: kernel threads only (offcputime, offwaketime).
pub(crate) const KERNEL_THREADS_ONLY: Flag = Flag::switch(
    Some('k'),
    "kernel-threads-only",
    "Kernel threads only (no user threads)",
    &[Effect::Param("kernel_threads_only")],
);

pub(crate) const fn uid(help: &'static str, sets: &'static [Effect]) -> Flag {
    Flag::named(Some('u'), "uid", "UID", Parse::Int, help, sets)
}

/// `-U --print-uid`, showing the [`UID`] column.
pub(crate) const fn print_uid(help: &'static str) -> Flag {
    Flag::switch(Some('U'), "print-uid", help, &[])
}

/// A `UID` column shown with `--print-uid`.
pub(crate) const UID: Column = Column::new("UID", "uid", 7).when(When::With("print-uid"));

/// `-x`, tracing failures only.
pub(crate) const fn failed(
    long: &'static str,
    help: &'static str,
    sets: &'static [Effect],
) -> Flag {
    Flag::switch(Some('x'), long, help, sets)
}

/// `-c --count`: count per flow instead of printing events.
pub(crate) const fn count_flows(help: &'static str) -> Flag {
    Flag::switch(Some('c'), "count", help, &[Effect::Param("do_count")])
}

/// `-n NAME`, showing only processes whose name contains NAME.
pub(crate) const fn name(help: &'static str) -> Flag {
    Flag::named(
        Some('n'),
        "name",
        "NAME",
        Parse::Text,
        help,
        &[Effect::Runtime(Runtime::Contains("comm"))],
    )
}

/// `-d DURATION`, stopping after DURATION seconds.
pub(crate) const fn duration(help: &'static str) -> Flag {
    Flag::named(
        Some('d'),
        "duration",
        "DURATION",
        Parse::Int,
        help,
        &[Effect::Runtime(Runtime::Duration)],
    )
}

/// `[duration]`, stopping after that many seconds.
pub(crate) const fn duration_positional(help: &'static str) -> Flag {
    Flag::positional(
        "duration",
        "duration",
        Parse::Int,
        help,
        &[Effect::Runtime(Runtime::Duration)],
    )
}

/// `[duration]` of the stack tools.
pub(crate) const TRACE_DURATION: Flag = duration_positional("duration of trace, in seconds");

/// `-i INTERVAL`, printing a summary every INTERVAL seconds.
pub(crate) const fn interval_option(help: &'static str) -> Flag {
    Flag::named(
        Some('i'),
        "interval",
        "INTERVAL",
        Parse::Int,
        help,
        &[Effect::Runtime(Runtime::Interval)],
    )
}

/// `[interval]`, the first positional argument of the summarizing tools.
pub(crate) const fn interval(help: &'static str) -> Flag {
    Flag::positional(
        "interval",
        "interval",
        Parse::Int,
        help,
        &[Effect::Runtime(Runtime::Interval)],
    )
}

pub(crate) const INTERVAL: Flag =
    interval("Print a summary every INTERVAL seconds (default: once, at the end)");

/// `[count]`, after `[interval]` (named `times` because hardirqs has `--count`).
pub(crate) const fn count(help: &'static str) -> Flag {
    Flag::positional(
        "times",
        "count",
        Parse::Int,
        help,
        &[Effect::Runtime(Runtime::Count)],
    )
}

pub(crate) const COUNT: Flag = count("Stop after COUNT summaries");

/// `[min_us]`, tracing only latencies above it.
pub(crate) const fn min_us(help: &'static str, sets: &'static [Effect]) -> Flag {
    Flag::positional("min_us", "min_us", Parse::Int, help, sets)
}

pub(crate) const CGROUP: Flag = Flag::named(
    Some('c'),
    "cgroup",
    "/sys/fs/cgroup/unified",
    Parse::Path,
    "Trace process in cgroup path",
    &[
        Effect::Enable("filter_cg"),
        Effect::Runtime(Runtime::CgroupMap("cgroup_map")),
    ],
);

pub(crate) const DISK: Flag = Flag::named(
    Some('d'),
    "disk",
    "DISK",
    Parse::Disk,
    "Trace this disk only",
    &[Effect::Param("targ_dev"), Effect::Enable("filter_dev")],
);

/// `-Q`, block I/O times from when the request was queued.
pub(crate) const QUEUED: Flag = Flag::switch(
    Some('Q'),
    "queued",
    "Include OS queued time in I/O time",
    &[Effect::Param("targ_queued")],
);

/// `-m`, histograms in milliseconds (`targ_ms`).
pub(crate) const fn milliseconds(long: &'static str, help: &'static str) -> Flag {
    Flag::switch(
        Some('m'),
        long,
        help,
        &[
            Effect::Param("targ_ms"),
            Effect::Runtime(Runtime::Unit("msecs")),
        ],
    )
}

pub(crate) const MILLISECONDS: Flag = milliseconds("milliseconds", "Millisecond histogram");

/// `-N`, times in nanoseconds (`targ_ns`).
pub(crate) const NANOSECONDS: Flag = Flag::switch(
    Some('N'),
    "nanoseconds",
    "Output in nanoseconds",
    &[
        Effect::Param("targ_ns"),
        Effect::Runtime(Runtime::Unit("nsecs")),
    ],
);

/// `-d`, histograms instead of totals (`targ_dist`).
pub(crate) const DISTRIBUTED: Flag = Flag::switch(
    Some('d'),
    "distributed",
    "Show distributions as histograms",
    &[Effect::Param("targ_dist")],
);

/// The perf_event sampling frequency, in Hz.
pub(crate) const fn sample_frequency(short: char, help: &'static str) -> Flag {
    Flag::named(
        Some(short),
        "frequency",
        "FREQUENCY",
        Parse::Int,
        help,
        &[Effect::Runtime(Runtime::SampleFrequency)],
    )
}

/// `-U`, only user stacks (`user_stacks_only`).
pub(crate) const fn user_stacks_only(help: &'static str) -> Flag {
    Flag::switch(
        Some('U'),
        "user-stacks-only",
        help,
        &[Effect::Param("user_stacks_only")],
    )
}

/// `-K`, only kernel stacks (`kernel_stacks_only`).
pub(crate) const fn kernel_stacks_only(help: &'static str) -> Flag {
    Flag::switch(
        Some('K'),
        "kernel-stacks-only",
        help,
        &[Effect::Param("kernel_stacks_only")],
    )
}

/// Flags of the stack tools: `-f` folded output, `--flamegraph FILE`.
pub(crate) const FOLDED: Flag = Flag::switch(
    Some('f'),
    "folded",
    "output folded format, one line per stack (for flame graphs)",
    &[Effect::Runtime(Runtime::Folded)],
);

pub(crate) const FLAMEGRAPH: Flag = Flag::named(
    None,
    "flamegraph",
    "FILE",
    Parse::Path,
    "also write an SVG flame graph to FILE",
    &[Effect::Runtime(Runtime::FlameGraph)],
);

/// Raw stack id columns, for where stacks cannot be symbolized.
pub(crate) const KSTACK: Column = Column::new("KSTACK", "key.kern_stack_id", 7).right();
pub(crate) const USTACK: Column = Column::new("USTACK", "key.user_stack_id", 7).right();

/// Counts per `{pid, name, kern_stack_id, user_stack_id}` key of `map`,
/// with both stacks in `stack_traces`.
pub(crate) const fn stack_counts(
    map: &'static str,
    weight: &'static str,
    unit: &'static str,
) -> StackOutput {
    StackOutput {
        when: When::Always,
        map,
        stack_map: "stack_traces",
        kernel_stack: Some("key.kern_stack_id"),
        user_stack: Some("key.user_stack_id"),
        pid: Some("key.pid"),
        comm: Some("key.name"),
        weight,
        unit,
        count: None,
        report: None,
        waker: None,
    }
}

/// A log2 histogram in microseconds per key of `map`, buckets in `slots`.
pub(crate) const fn log2_usecs(when: When, map: &'static str, keys: &'static [Column]) -> Output {
    Output::Histogram {
        when,
        map,
        slots: "slots",
        scale: Scale::Log2,
        unit: "usecs",
        keys,
    }
}

/// `-m`: offcputime's and wakeuptime's lower bound on a block (microseconds).
pub(crate) const MIN_BLOCK_TIME: Flag = Flag::named(
    Some('m'),
    "min-block-time",
    "MIN-BLOCK-TIME",
    Parse::Int,
    "the amount of time in microseconds over which we store traces",
    &[Effect::ParamScaled("min_block_ns", 1000)],
)
.default("1");

/// `-M`: their upper bound on a block (microseconds).
pub(crate) const MAX_BLOCK_TIME: Flag = Flag::named(
    Some('M'),
    "max-block-time",
    "MAX-BLOCK-TIME",
    Parse::Int,
    "the amount of time in microseconds under which we store traces",
    &[Effect::ParamScaled("max_block_ns", 1000)],
);
