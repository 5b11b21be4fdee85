use super::common::{PID_FILTER, TIMESTAMP_SINCE_START, count_flows, print_uid, uid};
use super::object;
use super::tcp::{IP_VERSION, IPV4, IPV6, flow_counts};
use crate::{Column, Effect, Flag, Output, Parse, ToolSpec, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpconnect",
    summary: "Count/Trace active tcp connections.",
    object: object!("tcpconnect"),
    // The tracepoint sees every connect() with its addresses; the kprobes
    // on tcp_v*_connect are what libbpf-tools uses, for kernels before 4.16.
    variants: &[
        crate::Variant::new("tracepoint", &["inet_sock_set_state"]),
        crate::Variant::new(
            "kprobe",
            &[
                "tcp_v4_connect",
                "tcp_v4_connect_ret",
                "tcp_v6_connect",
                "tcp_v6_connect_ret",
            ],
        ),
    ],
    flags: &[
        TIMESTAMP_SINCE_START,
        count_flows("Count connects per src ip and dst ip/port"),
        print_uid("Include UID on output"),
        Flag::switch(Some('s'), "source-port", "Show the source port", &[]),
        PID_FILTER,
        uid("Process UID to trace", &[Effect::Param("filter_uid")]),
        Flag::named(
            Some('P'),
            "port",
            "PORTS",
            Parse::Int,
            "Comma-separated list of destination ports to trace",
            &[Effect::ParamList("filter_ports")],
        ),
        IPV4,
        IPV6,
    ],
    outputs: &[
        flow_counts(
            &[
                Column::new("LADDR", "key.saddr", 25),
                Column::new("RADDR", "key.daddr", 25),
                Column::new("RPORT", "key.dport", 5).right(),
                Column::new("CONNECTS", "connects", 8).right(),
            ],
            &[(When::Always, "connects")],
        ),
        Output::Events {
            when: When::Always,
            columns: &[
                Column::new("UID", "uid", 6).when(When::With("print-uid")),
                Column::new("PID", "pid", 6),
                Column::new("COMM", "task", 16),
                IP_VERSION,
                Column::new("SADDR", "saddr", 16),
                Column::new("SPORT", "sport", 5).when(When::With("source-port")),
                Column::new("DADDR", "daddr", 16),
                Column::new("DPORT", "dport", 5),
            ],
            defaults: &[],
        },
    ],
    examples: "\
    tcpconnect             # trace all TCP connect()s
    tcpconnect -t          # include timestamps
    tcpconnect -p 181      # only trace PID 181
    tcpconnect -P 80       # only trace port 80
    tcpconnect -P 80,81    # only trace port 80 and 81
    tcpconnect -U          # include UID
    tcpconnect -u 1000     # only trace UID 1000
    tcpconnect -c          # count connects per src, dest, port
    tcpconnect -4          # trace IPv4 only",
};
