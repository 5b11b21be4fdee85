use super::common::{PID_TARGET, TIMESTAMP_SINCE_START, time};
use super::object;
use super::tcp::{IPV4, IPV6, WIDE, addr, local_ports, remote_ports};
use crate::{Column, Format, Output, ToolSpec, Variant, When};

const LADDR: [Column; 2] = addr("LADDR", "saddr");
const RADDR: [Column; 2] = addr("RADDR", "daddr");

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcplife",
    summary: "Trace the lifespan of TCP sessions and summarize.",
    object: object!("tcplife"),
    variants: &[Variant::new("tracepoint", &["inet_sock_set_state"])],
    flags: &[
        PID_TARGET,
        IPV4,
        IPV6,
        local_ports("LOCALPORT"),
        remote_ports("REMOTEPORT"),
        time("Include time column on output (HH:MM:SS)"),
        TIMESTAMP_SINCE_START,
        WIDE,
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "comm", 16),
            LADDR[0],
            LADDR[1],
            Column::new("LPORT", "sport", 5).right(),
            RADDR[0],
            RADDR[1],
            Column::new("RPORT", "dport", 5).right(),
            // KB with two decimals, left-aligned, as libbpf-tools prints them.
            Column::new("TX_KB", "tx_b", 6).fmt(Format::Scaled(1024, 2)),
            Column::new("RX_KB", "rx_b", 6).fmt(Format::Scaled(1024, 2)),
            Column::new("MS", "span_us", 8).fmt(Format::Scaled(1000, 2)),
        ],
        defaults: &[],
    }],
    examples: "\
    tcplife -p 1215             # only trace PID 1215
    tcplife -p 1215 -4          # trace IPv4 only
    tcplife -L 80               # only trace local port 80
    tcplife -L 22,80            # only trace local ports 22 and 80
    tcplife -D 80,443           # only trace remote ports 80 and 443",
};
