use super::common::{
    FLAMEGRAPH, FOLDED, KSTACK, TRACE_DURATION, USTACK, kernel_stacks_only, pid, sample_frequency,
    stack_counts, tid, user_stacks_only,
};
use super::object;
use crate::{Column, Effect, Flag, Output, Parse, StackOutput, ToolSpec, Variant, When};

pub(crate) const STACKS: &[StackOutput] = &[stack_counts("counts", "samples", "samples")];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "profile",
    summary: "Profile CPU usage by sampling stack traces at a timed interval.",
    object: object!("profile"),
    variants: &[Variant::new("perf_event", &["do_perf_event"])],
    flags: &[
        pid(
            "profile processes with one or more comma-separated PIDs only",
            &[Effect::ParamList("targ_pids")],
        ),
        tid(
            'L',
            "profile threads with one or more comma-separated TIDs only",
            &[Effect::ParamList("targ_tids")],
        ),
        user_stacks_only("show stacks from user space only (no kernel space stacks)"),
        kernel_stacks_only("show stacks from kernel space only (no user space stacks)"),
        sample_frequency('F', "sample frequency, Hertz").default("49"),
        Flag::switch(
            Some('I'),
            "include-idle",
            "include CPU idle stacks",
            &[Effect::Param("include_idle")],
        ),
        FOLDED,
        Flag::named(
            Some('C'),
            "cpu",
            "CPU",
            Parse::Int,
            "cpu number to run profile on",
            &[Effect::Param("targ_cpu")],
        ),
        FLAMEGRAPH,
        TRACE_DURATION,
    ],
    // Raw counts per key: what is shown where stacks cannot be symbolized.
    outputs: &[Output::Table {
        when: When::Always,
        map: "counts",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("PID", "key.pid", 7),
            Column::new("COMM", "key.name", 16),
            KSTACK,
            USTACK,
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
    profile -p 185,175,165 # only profile processes with PID 185, 175 and 165
    profile -L 185      # only profile thread with TID 185
    profile -L 185,175,165 # only profile threads with TID 185, 175 and 165
    profile -C 0        # only profile CPU 0
    profile -U          # only show user space stacks (no kernel)
    profile -K          # only show kernel space stacks (no user)
    profile --flamegraph cpu.svg 10  # 10 seconds into an SVG flame graph",
};
