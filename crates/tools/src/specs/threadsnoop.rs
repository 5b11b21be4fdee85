use super::common::PID_TARGET;
use super::object;
use crate::{Column, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "threadsnoop",
    summary: "Trace thread creation (task:task_newtask with CLONE_THREAD).",
    object: object!("threadsnoop"),
    variants: &[Variant::new("tracepoint", &["task_newtask"])],
    flags: &[PID_TARGET],
    // bpftrace's threadsnoop.bt (a pthread_create uprobe) also shows the
    // start function; the tracepoint has only the new thread's id.
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("TID", "tid", 7),
            Column::new("COMM", "comm", 16),
        ],
        defaults: &[Runtime::Timestamp],
    }],
    examples: "\
    threadsnoop           # trace new threads
    threadsnoop -p 1216   # only threads PID 1216 creates",
};
