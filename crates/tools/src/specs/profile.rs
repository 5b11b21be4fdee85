use super::object;
use crate::{Column, Effect, Flag, Output, Parse, Runtime, StackOutput, ToolSpec, Variant, When};

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

pub(crate) const STACKS: &[StackOutput] = &[StackOutput {
    when: When::Always,
    map: "counts",
    stack_map: "stack_traces",
    kernel_stack: Some("key.kern_stack_id"),
    user_stack: Some("key.user_stack_id"),
    pid: Some("key.pid"),
    comm: Some("key.name"),
    weight: "samples",
    unit: "samples",
    count: None,
}];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "profile",
    summary: "Profile CPU usage by sampling stack traces at a timed interval.",
    object: object!("profile"),
    variants: &[Variant::new("perf_event", &["do_perf_event"])],
    flags: &[
        Flag::named(
            Some('p'),
            "pid",
            "PID",
            Parse::Int,
            "profile process with this PID only",
            &[Effect::Param("targ_pid")],
        ),
        Flag::named(
            Some('L'),
            "tid",
            "TID",
            Parse::Int,
            "profile thread with this TID only",
            &[Effect::Param("targ_tid")],
        ),
        Flag::switch(
            Some('U'),
            "user-stacks-only",
            "show stacks from user space only (no kernel space stacks)",
            &[Effect::Param("user_stacks_only")],
        ),
        Flag::switch(
            Some('K'),
            "kernel-stacks-only",
            "show stacks from kernel space only (no user space stacks)",
            &[Effect::Param("kernel_stacks_only")],
        ),
        Flag::named(
            Some('F'),
            "frequency",
            "FREQUENCY",
            Parse::Int,
            "sample frequency, Hertz",
            &[Effect::Runtime(Runtime::SampleFrequency)],
        )
        .default("49"),
        Flag::switch(
            Some('I'),
            "include-idle",
            "include CPU idle stacks",
            &[Effect::Param("include_idle")],
        ),
        FOLDED,
        FLAMEGRAPH,
        Flag::positional(
            "duration",
            "duration",
            Parse::Int,
            "duration of trace, in seconds",
            &[Effect::Runtime(Runtime::Duration)],
        ),
    ],
    // Raw counts per key: what is shown where stacks cannot be symbolized.
    outputs: &[Output::Table {
        when: When::Always,
        map: "counts",
        unit: "usecs",
        columns: &[
            Column::new("PID", "key.pid", 7),
            Column::new("COMM", "key.name", 16),
            Column::new("KSTACK", "key.kern_stack_id", 7).right(),
            Column::new("USTACK", "key.user_stack_id", 7).right(),
            Column::new("SAMPLES", "samples", 8).right(),
        ],
        sort: &[(When::Always, "samples")],
    }],
    examples: "\
    profile             # profile stack traces at 49 Hertz until Ctrl-C
    profile -F 99       # profile stack traces at 99 Hertz
    profile 5           # profile at 49 Hertz for 5 seconds only
    profile -f          # output in folded format for flame graphs
    profile -p 185      # only profile process with PID 185
    profile -L 185      # only profile thread with TID 185
    profile -U          # only show user space stacks (no kernel)
    profile -K          # only show kernel space stacks (no user)
    profile --flamegraph cpu.svg 10  # 10 seconds into an SVG flame graph",
};
