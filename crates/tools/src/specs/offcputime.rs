use super::common::{
    FLAMEGRAPH, FOLDED, KERNEL_THREADS_ONLY, KSTACK, MAX_BLOCK_TIME, MIN_BLOCK_TIME, PID_TGID,
    TRACE_DURATION, USER_THREADS_ONLY, USTACK, kernel_stacks_only, stack_counts, tid,
    user_stacks_only,
};
use super::object;
use crate::{Column, Effect, Flag, Output, Parse, StackOutput, ToolSpec, When};

pub(crate) const STACKS: &[StackOutput] = &[StackOutput {
    pid: Some("key.tgid"),
    ..stack_counts("info", "delta", "us")
}];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "offcputime",
    summary: "Summarize off-CPU time by stack trace.",
    object: object!("offcputime"),
    variants: super::btf_and_raw_variants!("sched_switch"),
    flags: &[
        PID_TGID,
        tid('t', "Trace this TID only", &[Effect::Param("targ_pid")]),
        USER_THREADS_ONLY,
        KERNEL_THREADS_ONLY,
        user_stacks_only("Show stacks from user space only (no kernel space stacks)"),
        kernel_stacks_only("Show stacks from kernel space only (no user space stacks)"),
        MIN_BLOCK_TIME,
        MAX_BLOCK_TIME,
        Flag::named(
            None,
            "state",
            "STATE",
            Parse::Int,
            "filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE)",
            &[Effect::Param("state")],
        ),
        FOLDED,
        FLAMEGRAPH,
        TRACE_DURATION,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "info",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("PID", "key.tgid", 7),
            Column::new("TID", "key.pid", 7),
            Column::new("COMM", "key.name", 16),
            KSTACK,
            USTACK,
            Column::new("OFFCPU(us)", "delta", 12).right(),
        ],
        sort: &[(When::Always, "delta")],
    }],
    examples: "\
    offcputime             # trace off-CPU stack time until Ctrl-C
    offcputime 5           # trace for 5 seconds only
    offcputime -m 1000     # trace only events that last more than 1000 usec
    offcputime -M 10000    # trace only events that last less than 10000 usec
    offcputime -p 185      # only trace threads for PID 185
    offcputime -t 188      # only trace thread 188
    offcputime -u          # only trace user threads (no kernel)
    offcputime -k          # only trace kernel threads (no user)
    offcputime -U          # only show user space stacks (no kernel)
    offcputime -K          # only show kernel space stacks (no user)
    offcputime -f          # folded output, for flame graphs",
};
