use super::common::{TIMESTAMP_SINCE_START, pid, time};
use super::object;
use super::tcp::{IP_VERSION, IPV4, IPV6};
use crate::{Column, Effect, Flag, Output, Parse, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpaccept",
    summary: "Trace TCP accepts",
    object: object!("tcpaccept"),
    // bcc's kretprobe on inet_csk_accept; without kprobes the accept
    // syscalls' exits, in the same (accepting) task, with the new fd's socket.
    variants: &[
        // The accept syscalls first: a kretprobe misses the accept a
        // listener was already blocked in when it attached (kernel matrix,
        // case tcpaccept_kretprobe), the syscall exit sees it.
        Variant::new("tracepoint", &["accept_exit_tp", "accept4_exit_tp"]),
        Variant::new("kprobe", &["inet_csk_accept_ret"]),
    ],
    // As bcc's tcpaccept (libbpf-tools has none).
    flags: &[
        time("include time column on output (HH:MM:SS)"),
        TIMESTAMP_SINCE_START,
        pid("trace this PID only", &[Effect::Param("filter_pid")]),
        Flag::named(
            Some('P'),
            "port",
            "PORTS",
            Parse::Int,
            "comma-separated list of local ports to trace",
            &[Effect::ParamList("filter_ports")],
        ),
        IPV4,
        IPV6,
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "task", 16),
            IP_VERSION,
            Column::new("RADDR", "daddr", 16),
            Column::new("RPORT", "dport", 5),
            Column::new("LADDR", "saddr", 16),
            Column::new("LPORT", "sport", 5),
        ],
        defaults: &[],
    }],
    examples: "\
    tcpaccept             # trace all TCP accept()s
    tcpaccept -t          # include timestamps
    tcpaccept -P 80,81    # only trace port 80 and 81
    tcpaccept -p 181      # only trace PID 181
    tcpaccept -4          # trace IPv4 family only
    tcpaccept -6          # trace IPv6 family only",
};
