use super::object;
use crate::{Column, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "oomkill",
    summary: "Trace OOM kills.",
    object: object!("oomkill"),
    // libbpf-tools uses a kprobe on oom_kill_process(); the oom:mark_victim
    // tracepoint fires at the same point and is a stable interface, so it
    // comes first.
    variants: &[
        Variant::new("tracepoint", &["mark_victim"]),
        Variant::new("kprobe", &["oom_kill_process"]),
    ],
    flags: &[],
    // libbpf-tools prints a sentence (`Triggered by PID ... OOM kill of PID
    // ...`) with the load average; here the same facts are columns.
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("FPID", "fpid", 7),
            Column::new("FCOMM", "fcomm", 16),
            Column::new("TPID", "tpid", 7),
            Column::new("TCOMM", "tcomm", 16),
            Column::new("PAGES", "pages", 10).right(),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    oomkill               # trace OOM kills",
};
