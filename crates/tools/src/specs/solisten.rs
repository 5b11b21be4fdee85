use super::common::{PID_TARGET, TIMESTAMP_SINCE_START};
use super::object;
use crate::{Column, Format, Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "solisten",
    summary: "Trace IPv4 and IPv6 listen syscalls.",
    object: object!("solisten"),
    // libbpf-tools uses fexit/kprobes on inet_listen; the listen syscall
    // tracepoints reach the socket through the fd, on any kernel.
    variants: &[Variant::new(
        "tracepoint",
        &["listen_entry_tp", "listen_exit_tp"],
    )],
    flags: &[PID_TARGET, TIMESTAMP_SINCE_START],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "task", 16),
            Column::new("RET", "ret", 3),
            Column::new("BACKLOG", "backlog", 7),
            // TCPv4 (AF_INET = 2) or TCPv6 (AF_INET6 = 10).
            Column::new("PROTO", "af", 5).fmt(Format::Names(&[
                "?", "?", "TCPv4", "?", "?", "?", "?", "?", "?", "?", "TCPv6",
            ])),
            Column::new("PORT", "port", 5),
            Column::new("ADDR", "addr", 32),
        ],
        defaults: &[],
    }],
    examples: "\
    solisten           # trace listen syscalls
    solisten -t        # output with timestamp
    solisten -p 1216   # only trace PID 1216",
};
