use super::common::{PID_TGID, TIMESTAMP_SINCE_START, min_us};
use super::object;
use super::tcp::{IP_VERSION, addr};
use crate::{Column, Effect, Flag, Format, Output, ToolSpec, Variant, When};

const SADDR: [Column; 2] = addr("SADDR", "saddr");
const DADDR: [Column; 2] = addr("DADDR", "daddr");

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpconnlat",
    summary: "Trace TCP connects and show connection latency.",
    object: object!("tcpconnlat"),
    // libbpf-tools' fentry and kprobe designs first; the tracepoint pairs
    // the CLOSE -> SYN_SENT and SYN_SENT -> ESTABLISHED state changes.
    variants: &[
        Variant::new(
            "fentry",
            &[
                "fentry_tcp_v4_connect",
                "fentry_tcp_v6_connect",
                "fentry_tcp_rcv_state_process",
            ],
        ),
        Variant::new(
            "kprobe",
            &["tcp_v4_connect", "tcp_v6_connect", "tcp_rcv_state_process"],
        ),
        Variant::new("tracepoint", &["inet_sock_set_state"]),
    ],
    flags: &[
        TIMESTAMP_SINCE_START,
        PID_TGID,
        Flag::switch(Some('L'), "lport", "Include LPORT on output", &[]),
        super::tcp::WIDE,
        min_us(
            "Minimum latency to trace, in microseconds",
            &[Effect::Param("targ_min_us")],
        )
        .default("0"),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "tgid", 6),
            Column::new("COMM", "comm", 12),
            IP_VERSION,
            SADDR[0],
            SADDR[1],
            Column::new("LPORT", "sport", 6).when(When::With("lport")),
            DADDR[0],
            DADDR[1],
            Column::new("DPORT", "dport", 5),
            Column::new("LAT(ms)", "delta_us", 7)
                .right()
                .fmt(Format::Scaled(1000, 2)),
        ],
        defaults: &[],
    }],
    examples: "\
    tcpconnlat              # trace all TCP connects
    tcpconnlat 1            # trace connection latency slower than 1 us
    tcpconnlat 1000         # trace connection latency slower than 1 ms
    tcpconnlat -t           # include a timestamp column
    tcpconnlat -p 185       # trace PID 185 only
    tcpconnlat -L           # include LPORT while printing outputs",
};
