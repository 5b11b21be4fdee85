use super::common::{FLAMEGRAPH, FOLDED, MAX_BLOCK_TIME, MIN_BLOCK_TIME, TRACE_DURATION, pid};
use super::object;
use crate::{Column, Effect, Output, StackOutput, ToolSpec, When};

/// Blocked time per waker stack; folded lines start with the target (the
/// task that was woken), as libbpf-tools' `-f`.
pub(crate) const STACKS: &[StackOutput] = &[StackOutput {
    when: When::Always,
    map: "counts",
    stack_map: "stack_traces",
    kernel_stack: Some("key.w_k_stack_id"),
    user_stack: None,
    pid: None,
    comm: Some("key.target"),
    weight: "delta",
    unit: "us",
    count: None,
    report: None,
    waker: None,
}];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "wakeuptime",
    summary: "Summarize sleep to wakeup time by waker kernel stack.",
    object: object!("wakeuptime"),
    variants: super::btf_and_raw_variants!("sched_switch", "sched_wakeup"),
    flags: &[
        pid("trace this PID only", &[Effect::Param("targ_pid")]),
        MIN_BLOCK_TIME,
        MAX_BLOCK_TIME,
        FOLDED,
        FLAMEGRAPH,
        TRACE_DURATION,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "counts",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("TARGET", "key.target", 16),
            Column::new("WAKER", "key.waker", 16),
            Column::new("KSTACK", "key.w_k_stack_id", 7).right(),
            Column::new("BLOCKED(us)", "delta", 12).right(),
        ],
        sort: &[(When::Always, "delta")],
    }],
    examples: "\
    wakeuptime             # trace blocked time with waker stacks
    wakeuptime 5           # trace for 5 seconds only
    wakeuptime -p 185      # trace for PID 185 only
    wakeuptime -f 5        # 5 seconds, folded output for flame graphs",
};
