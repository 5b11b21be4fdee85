use super::common::count_flows;
use super::object;
use super::tcp::{IP_VERSION, IPV4, IPV6, TCP_STATES, flow_counts};
use crate::{Column, Flag, Format, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpretrans",
    summary: "Trace TCP retransmits.",
    object: object!("tcpretrans"),
    // -l also traces tcp_send_loss_probe(), which has no tracepoint: it
    // needs fentry or a kprobe next to the retransmit tracepoint, and fails
    // (naming what the kernel lacks) where neither exists.
    variants: &[
        Variant::new("tracepoint", &["tcp_retransmit_skb"]),
        Variant::new(
            "fentry",
            &["tcp_retransmit_skb", "fentry_tcp_send_loss_probe"],
        )
        .only_with("lossprobe"),
        Variant::new("kprobe", &["tcp_retransmit_skb", "tcp_send_loss_probe"])
            .only_with("lossprobe"),
    ],
    flags: &[
        count_flows("Count occurred retransmits per flow"),
        // bcc's option; libbpf-tools' tcpretrans has none.
        Flag::switch(
            Some('l'),
            "lossprobe",
            "Include tail loss probe attempts",
            &[],
        ),
        IPV4,
        IPV6,
    ],
    outputs: &[
        flow_counts(
            &[
                Column::new("LADDR", "key.saddr", 25),
                Column::new("LPORT", "key.sport", 5).right(),
                Column::new("RADDR", "key.daddr", 25),
                Column::new("RPORT", "key.dport", 5).right(),
                Column::new("RETRANSMITS", "retransmits", 11).right(),
            ],
            &[(When::Always, "retransmits")],
        ),
        Output::Events {
            when: When::Always,
            columns: &[
                Column::new("PID", "pid", 7),
                IP_VERSION,
                Column::new("LADDR", "saddr", 20),
                Column::new("LPORT", "sport", 5),
                Column::new("T>", "type", 2).fmt(Format::Names(&["?", "R>", "L>"])),
                Column::new("RADDR", "daddr", 20),
                Column::new("RPORT", "dport", 5),
                Column::new("STATE", "state", 12).fmt(Format::Names(TCP_STATES)),
            ],
            defaults: &[Runtime::WallTime],
        },
    ],
    examples: "\
    tcpretrans             # trace TCP retransmits
    tcpretrans -c          # count retransmits per flow
    tcpretrans -l          # include tail loss probe attempts
    tcpretrans -4          # trace IPv4 family only",
};
