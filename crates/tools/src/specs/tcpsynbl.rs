use super::common::{COUNT, INTERVAL, TIMESTAMP_WALL};
use super::object;
use super::tcp::{IPV4, IPV6};
use crate::{Column, Output, Scale, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpsynbl",
    summary: "Summarize TCP SYN backlog as a histogram.",
    object: object!("tcpsynbl"),
    // libbpf-tools' kprobes read the listener; the tracepoint reads the new
    // socket, which is a copy of it (see the kernel half).
    variants: &[
        Variant::new("kprobe", &["tcp_v4_syn_recv", "tcp_v6_syn_recv"]),
        Variant::new("tracepoint", &["inet_sock_set_state"]),
    ],
    flags: &[TIMESTAMP_WALL, IPV4, IPV6, INTERVAL, COUNT],
    outputs: &[Output::Histogram {
        when: When::Always,
        map: "hists",
        slots: "slots",
        scale: Scale::Log2,
        unit: "backlog",
        keys: &[Column::new("backlog_max", "key", 0)],
    }],
    examples: "\
    tcpsynbl              # summarize TCP SYN backlog as a histogram
    tcpsynbl 1 10         # print 1 second summaries, 10 times
    tcpsynbl -T 1         # 1s summaries with timestamps
    tcpsynbl -4           # trace IPv4 family only
    tcpsynbl -6           # trace IPv6 family only",
};
