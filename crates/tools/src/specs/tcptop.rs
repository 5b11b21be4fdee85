use super::common::{CGROUP, COUNT, PID_TARGET, interval};
use super::object;
use super::tcp::{IPV4, IPV6};
use crate::{Column, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcptop",
    summary: "Trace sending and received operation over IP.",
    object: object!("tcptop"),
    // libbpf-tools' kprobes, or the socket layer's send/receive length
    // tracepoints (6.3+).
    variants: &[
        Variant::new("kprobe", &["tcp_sendmsg", "tcp_cleanup_rbuf"]),
        Variant::new("tracepoint", &["sock_send_length", "sock_recv_length"]),
    ],
    // libbpf-tools' -C (no screen clearing: bpfkit never clears), -S (its
    // loadavg line) and -s SORT (sent or received first) are left out: rows
    // are sorted by all bytes, as its default.
    flags: &[
        IPV4,
        IPV6,
        CGROUP,
        PID_TARGET,
        Flag::named(
            Some('r'),
            "rows",
            "ROWS",
            Parse::Int,
            "Maximum rows to print",
            &[crate::Effect::Runtime(Runtime::Top)],
        )
        .default("20"),
        interval("output interval, in seconds").default("1"),
        COUNT,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "ip_map",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("PID", "key.pid", 7),
            Column::new("COMM", "comm", 16),
            Column::new("LADDR", "key.saddr", 16),
            Column::new("LPORT", "key.sport", 5),
            Column::new("RADDR", "key.daddr", 16),
            Column::new("RPORT", "key.dport", 5),
            Column::new("RX_KB", "received", 7)
                .right()
                .fmt(Format::Scaled(1024, 0)),
            Column::new("TX_KB", "sent", 7)
                .right()
                .fmt(Format::Scaled(1024, 0)),
        ],
        sort: &[(When::Always, "total")],
    }],
    examples: "\
    tcptop            # TCP top, refresh every 1s
    tcptop -p 1216    # only trace PID 1216
    tcptop -c path    # only trace the given cgroup path
    tcptop 5 10       # 5s summaries, 10 times",
};
