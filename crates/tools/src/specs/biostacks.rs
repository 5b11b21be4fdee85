use super::common::{DISK, FLAMEGRAPH, FOLDED, KSTACK, TRACE_DURATION};
use super::object;
use crate::{Column, Format, Output, StackOutput, ToolSpec, Variant, When};

/// Total I/O latency per initiating kernel stack, with the number of I/Os.
pub(crate) const STACKS: &[StackOutput] = &[StackOutput {
    when: When::Always,
    map: "stacks",
    stack_map: "stack_traces",
    kernel_stack: Some("key.kern_stack_id"),
    user_stack: None,
    pid: Some("key.pid"),
    comm: Some("key.comm"),
    weight: "us",
    unit: "us",
    count: Some("ios"),
    report: None,
    waker: None,
}];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "biostacks",
    summary: "Trace block I/O latency by initiating kernel stack.",
    object: object!("biostacks"),
    // block_io_start (6.5+) fires where libbpf-tools' blk_account_io_start
    // probe does, before the request's insert or issue; older kernels lack
    // it, and the insert (queued) or else the issue (dispatched directly)
    // is the first to see the request. The BPF side keeps the first.
    variants: &[
        Variant::new(
            "tp_btf",
            &[
                "block_io_start_btf",
                "block_rq_insert_btf",
                "block_rq_issue_btf",
                "block_rq_complete_btf",
            ],
        )
        .optional(&["block_io_start_btf"]),
        Variant::new(
            "raw_tp",
            &[
                "block_io_start",
                "block_rq_insert",
                "block_rq_issue",
                "block_rq_complete",
            ],
        )
        .optional(&["block_io_start"]),
    ],
    flags: &[DISK, FOLDED, FLAMEGRAPH, TRACE_DURATION],
    outputs: &[Output::Table {
        when: When::Always,
        map: "stacks",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("COMM", "key.comm", 16),
            Column::new("PID", "key.pid", 7),
            Column::new("DISK", "key.dev", 8).fmt(Format::Disk),
            KSTACK,
            Column::new("I/O", "ios", 6).right(),
            Column::new("TOTAL(us)", "us", 10).right(),
        ],
        sort: &[(When::Always, "us")],
    }],
    examples: "\
    biostacks              # trace block I/O with initiating stacks until Ctrl-C
    biostacks 5            # trace for 5 seconds only
    biostacks -d sdc       # trace sdc only
    biostacks -f           # folded output, for flame graphs",
};
