use super::object;
use crate::{Column, Format, Output, Runtime, ToolSpec, Variant, When};

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
    // libbpf-tools' sentence with the load average, no header; JSON keeps
    // the members.
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[Column::new("", "fpid", 0).fmt(Format::Sentence(
            "Triggered by PID {fpid} (\"{fcomm}\"), OOM kill of PID {tpid} (\"{tcomm}\"), \
             {pages} pages, loadavg: {/proc/loadavg}",
        ))],
        defaults: &[Runtime::WallTime, Runtime::NoHeader],
    }],
    examples: "\
    oomkill               # trace OOM kills",
};
