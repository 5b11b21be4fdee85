use super::common::{
    FLAMEGRAPH, FOLDED, KERNEL_THREADS_ONLY, MAX_BLOCK_TIME, MIN_BLOCK_TIME, PID_TGID,
    TRACE_DURATION, USER_THREADS_ONLY, kernel_stacks_only, tid, user_stacks_only,
};
use super::object;
use crate::{Column, Effect, Output, StackOutput, ToolSpec, WakerStack, When};

/// Off-CPU time per blocked task's stacks and its waker's stacks.
pub(crate) const STACKS: &[StackOutput] = &[StackOutput {
    when: When::Always,
    map: "counts",
    stack_map: "stack_traces",
    kernel_stack: Some("key.t_k_stack_id"),
    user_stack: Some("key.t_u_stack_id"),
    pid: Some("key.t_tgid"),
    comm: Some("key.target"),
    weight: "delta",
    unit: "us",
    count: None,
    report: None,
    waker: Some(WakerStack {
        kernel_stack: Some("key.w_k_stack_id"),
        user_stack: Some("key.w_u_stack_id"),
        pid: Some("key.w_tgid"),
        comm: Some("key.waker"),
    }),
}];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "offwaketime",
    summary: "Summarize blocked time by kernel stack trace + waker stack.",
    object: object!("offwaketime"),
    variants: super::btf_and_raw_variants!("sched_switch", "sched_wakeup"),
    flags: &[
        PID_TGID,
        tid('t', "Trace this TID only", &[Effect::Param("targ_pid")]),
        USER_THREADS_ONLY,
        KERNEL_THREADS_ONLY,
        user_stacks_only("show stacks from user space only (no kernel space stacks)"),
        kernel_stacks_only("show stacks from kernel space only (no user space stacks)"),
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
            Column::new("TPID", "key.t_pid", 7),
            Column::new("TKSTACK", "key.t_k_stack_id", 7).right(),
            Column::new("TUSTACK", "key.t_u_stack_id", 7).right(),
            Column::new("WAKER", "key.waker", 16),
            Column::new("WPID", "key.w_pid", 7),
            Column::new("WKSTACK", "key.w_k_stack_id", 7).right(),
            Column::new("WUSTACK", "key.w_u_stack_id", 7).right(),
            Column::new("BLOCKED(us)", "delta", 12).right(),
        ],
        sort: &[(When::Always, "delta")],
    }],
    examples: "\
    offwaketime             # trace off-CPU + waker stack time until Ctrl-C
    offwaketime 5           # trace for 5 seconds only
    offwaketime -f 5        # 5 seconds, and output in folded format
    offwaketime -m 1000     # trace only events that last more than 1000 usec
    offwaketime -M 9000     # trace only events that last less than 9000 usec
    offwaketime -p 185      # only trace threads for PID 185
    offwaketime -t 188      # only trace thread 188
    offwaketime -u          # only trace user threads (no kernel)
    offwaketime -k          # only trace kernel threads (no user)
    offwaketime -U          # only show user space stacks (no kernel)
    offwaketime -K          # only show kernel space stacks (no user)",
};
