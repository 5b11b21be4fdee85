use super::common::TIMESTAMP_WALL;
use super::object;
use super::tcp::{IPV4, IPV6, TCP_STATES, WIDE, addr, local_ports, remote_ports};
use crate::{Column, Format, Output, ToolSpec, Variant, When};

const LADDR: [Column; 2] = addr("LADDR", "saddr");
const RADDR: [Column; 2] = addr("RADDR", "daddr");

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpstates",
    summary: "Trace TCP session state changes and durations.",
    object: object!("tcpstates"),
    variants: &[Variant::new("tracepoint", &["inet_sock_set_state"])],
    flags: &[
        IPV4,
        IPV6,
        TIMESTAMP_WALL,
        WIDE,
        local_ports("LPORT"),
        remote_ports("DPORT"),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("SKADDR", "skaddr", 18).fmt(Format::Hex),
            Column::new("PID", "pid", 7),
            Column::new("COMM", "task", 16),
            LADDR[0],
            LADDR[1],
            Column::new("LPORT", "sport", 5),
            RADDR[0],
            RADDR[1],
            Column::new("RPORT", "dport", 5),
            // `OLDSTATE -> NEWSTATE`: the arrow on every row too, as
            // libbpf-tools prints it (a name for every state number).
            Column::new("OLDSTATE", "oldstate", 11).fmt(Format::Names(TCP_STATES)),
            Column::new("->", "newstate", 2).fmt(Format::Names(&["->"; TCP_STATES.len()])),
            Column::new("NEWSTATE", "newstate", 11).fmt(Format::Names(TCP_STATES)),
            Column::new("MS", "delta_us", 8).fmt(Format::Scaled(1000, 3)),
        ],
        defaults: &[],
    }],
    examples: "\
    tcpstates                 # trace all TCP state changes
    tcpstates -T              # include timestamps
    tcpstates -L 80           # only trace local port 80
    tcpstates -D 80           # only trace remote port 80
    tcpstates -D 80,443       # only trace remote ports 80 and 443
    tcpstates -4              # trace IPv4 only",
};
