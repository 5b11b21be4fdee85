use super::common::{FLAMEGRAPH, FOLDED, count, interval, pid};
use super::object;
use crate::{
    Column, Effect, Flag, Format, Output, Parse, Runtime, StackOutput, StackReport, ToolSpec,
    Variant, When,
};

/// libbpf-tools memleak's report.
const REPORT: Option<StackReport> = Some(StackReport {
    title: "Top {n} stacks with outstanding allocations:",
    entry: "{weight} bytes in {count} allocations from stack",
    process: "\t-  {comm} ({pid})",
});

/// Outstanding bytes per stack: user stacks with `-p`, kernel stacks without.
/// With `-o` from the allocations themselves (`allocs`, which have ages),
/// otherwise from the kernel half's sums per stack (`combined_allocs`).
pub(crate) const STACKS: &[StackOutput] = &[
    older_allocs(When::WithAll(&["older", "pid"]), None, Some("stack_id")),
    older_allocs(When::With("older"), Some("stack_id"), None),
    StackOutput {
        when: When::With("pid"),
        map: "combined_allocs",
        stack_map: "stack_traces",
        kernel_stack: None,
        user_stack: Some("key.stack_id"),
        pid: Some("key.tgid"),
        comm: Some("key.comm"),
        weight: "total_size",
        unit: "bytes",
        count: Some("number_of_allocs"),
        report: REPORT,
        waker: None,
    },
    StackOutput {
        when: When::Always,
        map: "combined_allocs",
        stack_map: "stack_traces",
        kernel_stack: Some("key.stack_id"),
        user_stack: None,
        pid: Some("key.tgid"),
        comm: Some("key.comm"),
        weight: "total_size",
        unit: "bytes",
        count: Some("number_of_allocs"),
        report: REPORT,
        waker: None,
    },
];

/// Each outstanding allocation (one `allocs` entry) on its stack; `-o`
/// leaves out the young ones.
const fn older_allocs(
    when: When,
    kernel_stack: Option<&'static str>,
    user_stack: Option<&'static str>,
) -> StackOutput {
    StackOutput {
        when,
        map: "allocs",
        stack_map: "stack_traces",
        kernel_stack,
        user_stack,
        pid: Some("tgid"),
        comm: Some("comm"),
        weight: "size",
        unit: "bytes",
        count: Some(StackOutput::ENTRIES),
        report: REPORT,
        waker: None,
    }
}

const USER_PROGRAMS: &[&str] = &[
    "malloc_enter",
    "malloc_exit",
    "free_enter_user",
    "calloc_enter",
    "calloc_exit",
    "realloc_enter",
    "realloc_exit",
    "mmap_enter",
    "mmap_exit",
    "munmap_enter",
    "posix_memalign_enter",
    "posix_memalign_exit",
    "aligned_alloc_enter",
    "aligned_alloc_exit",
    "valloc_enter",
    "valloc_exit",
    "memalign_enter",
    "memalign_exit",
    "pvalloc_enter",
    "pvalloc_exit",
];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "memleak",
    summary: "Trace outstanding memory allocations that weren't freed.",
    object: object!("memleak"),
    // With -p (or -c), libc's allocator in that process (uprobes; valloc,
    // memalign and pvalloc are gone from some libcs, and allocators named
    // with -S, such as jemalloc's, have no mmap of their own); without, the
    // kernel's.
    variants: &[
        Variant::new("uprobe", USER_PROGRAMS)
            .only_with("pid")
            .optional(&[
                "mmap_enter",
                "mmap_exit",
                "munmap_enter",
                "valloc_enter",
                "valloc_exit",
                "memalign_enter",
                "memalign_exit",
                "pvalloc_enter",
                "pvalloc_exit",
            ]),
        Variant::new(
            "tracepoint",
            &[
                "memleak__kmalloc",
                "memleak__kfree",
                "memleak__kmem_cache_alloc",
                "memleak__kmem_cache_free",
            ],
        ),
    ],
    flags: &[
        pid(
            "process ID to trace; if not specified, trace kernel allocs",
            &[Effect::Param("targ_tgid")],
        ),
        Flag::named(
            Some('O'),
            "obj",
            "OBJ",
            Parse::Path,
            "attach to allocator functions in the specified object",
            &[Effect::Runtime(Runtime::UprobeBinary)],
        ),
        Flag::named(
            Some('c'),
            "command",
            "COMMAND",
            Parse::Text,
            "execute and trace the specified command",
            &[Effect::Runtime(Runtime::Command { pid_flag: "pid" })],
        ),
        Flag::switch(
            Some('t'),
            "trace",
            "print trace messages for each alloc/free call",
            &[Effect::Param("trace_all")],
        ),
        Flag::named(
            Some('S'),
            "symbols-prefix",
            "SYMBOLS_PREFIX",
            Parse::Text,
            "memory allocator symbols prefix",
            &[Effect::Runtime(Runtime::UprobeSymbolPrefix)],
        ),
        Flag::named(
            Some('T'),
            "top",
            "TOP_STACKS",
            Parse::Int,
            "display only this many top allocating stacks (by size)",
            &[Effect::Runtime(Runtime::Top)],
        )
        .default("10"),
        Flag::named(
            Some('s'),
            "sample-rate",
            "SAMPLE-RATE",
            Parse::Int,
            "sample every N-th allocation to decrease the overhead",
            &[Effect::Param("sample_rate")],
        )
        .default("1"),
        Flag::named(
            Some('z'),
            "min-size",
            "MIN-SIZE",
            Parse::Int,
            "capture only allocations larger than or equal to this size",
            &[Effect::Param("min_size")],
        ),
        Flag::named(
            Some('Z'),
            "max-size",
            "MAX-SIZE",
            Parse::Int,
            "capture only allocations smaller than or equal to this size",
            &[Effect::Param("max_size")],
        ),
        Flag::named(
            Some('o'),
            "older",
            "AGE",
            Parse::Int,
            "prune allocations younger than this age in milliseconds",
            &[Effect::Runtime(Runtime::OlderThan("timestamp_ns"))],
        ),
        Flag::switch(
            Some('a'),
            "show-allocs",
            "show allocation addresses and sizes as well as call stacks",
            &[],
        ),
        FOLDED,
        FLAMEGRAPH,
        interval("interval in seconds to print outstanding allocations"),
        count("number of times to print the report before exiting"),
    ],
    outputs: &[
        // Every call as it happens; the stacks still come at each interval.
        Output::Events {
            when: When::With("trace"),
            columns: &[
                Column::new("PID", "pid", 7),
                Column::new("COMM", "comm", 16),
                Column::new("CALL", "call", 5).fmt(Format::Names(&["alloc", "free"])),
                Column::new("SIZE", "size", 10).right(),
                Column::new("ADDRESS", "address", 18).fmt(Format::Hex),
            ],
            defaults: &[],
        },
        Output::Table {
            when: When::With("show-allocs"),
            map: "allocs",
            defaults: &[],
            unit: "usecs",
            columns: &[
                Column::new("ADDR", "key", 18).fmt(Format::Hex),
                Column::new("SIZE", "size", 10).right(),
                Column::new("PID", "tgid", 7),
                Column::new("STACK", "stack_id", 7).right(),
                Column::new("TIME", "timestamp_ns", 16),
            ],
            sort: &[(When::Always, "size")],
        },
        Output::Table {
            when: When::Always,
            map: "combined_allocs",
            defaults: &[],
            unit: "usecs",
            columns: &[
                Column::new("PID", "key.tgid", 7),
                Column::new("STACK", "key.stack_id", 7).right(),
                Column::new("BYTES", "total_size", 12).right(),
                Column::new("ALLOCS", "number_of_allocs", 8).right(),
            ],
            sort: &[(When::Always, "total_size")],
        },
    ],
    examples: "\
    memleak -p $(pidof allocs)       # trace allocations of allocs, print every 5s
    memleak -p $(pidof allocs) -a    # also show each outstanding allocation
    memleak -p $(pidof allocs) -t    # also show each allocation and free
    memleak -c './allocs --fast'     # run allocs, report when it ends
    memleak -S je_ -O /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 -p 1234
    memleak -T 3 -p 1234             # only the 3 stacks with the most bytes
    memleak 5                        # trace kernel allocations, print every 5s
    memleak -z 1024 -p 1234 10 3     # allocations of 1 KiB or more, 3 reports
    memleak -o 60000 -p 1234         # only allocations outstanding for a minute",
};
