use super::object;
use super::tcp::{IP_VERSION, IPV4, IPV6, TCP_STATES};
use crate::{Column, Format, Output, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpdrop",
    summary: "Trace TCP packets dropped by the kernel, with the reason.",
    object: object!("tcpdrop"),
    // bcc's kprobe on tcp_drop() is gone since 5.17: kfree_skb_reason()'s
    // tracepoint carries the reason instead.
    variants: &[Variant::new("tracepoint", &["kfree_skb"])],
    // As bcc's tcpdrop; its kernel stack per drop is left out.
    flags: &[IPV4, IPV6],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "task", 16),
            IP_VERSION,
            Column::new("SADDR", "saddr", 16),
            Column::new("SPORT", "sport", 5),
            Column::new("DADDR", "daddr", 16),
            Column::new("DPORT", "dport", 5),
            Column::new("STATE", "state", 12).fmt(Format::Names(TCP_STATES)),
            Column::new("FLAGS", "tcpflags", 5).fmt(Format::Hex),
            // The running kernel's enum skb_drop_reason names.
            Column::new("REASON", "reason", 32),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    tcpdrop           # trace kernel TCP drops
    tcpdrop -4        # trace IPv4 family only
    tcpdrop -6        # trace IPv6 family only",
};
