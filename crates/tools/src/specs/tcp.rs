//! Flags and columns shared by the TCP tools.

use crate::{Column, Effect, Flag, Format, Output, Parse, When};

/// TCP states by number (include/net/tcp_states.h).
pub(crate) const TCP_STATES: &[&str] = &[
    "UNKNOWN",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

/// The `IP` column: 4 or 6 by address family (AF_INET = 2, AF_INET6 = 10).
pub(crate) const IP_VERSION: Column = Column::new("IP", "af", 2).fmt(Format::Names(&[
    "?", "?", "4", "?", "?", "?", "?", "?", "?", "?", "6",
]));

pub(crate) const IPV4: Flag = Flag::switch(
    Some('4'),
    "ipv4",
    "Trace IPv4 family only",
    &[Effect::Param("only_ipv4")],
);

pub(crate) const IPV6: Flag = Flag::switch(
    Some('6'),
    "ipv6",
    "Trace IPv6 family only",
    &[Effect::Param("only_ipv6")],
);

/// `-w`: wide columns, for IPv6 addresses.
pub(crate) const WIDE: Flag = Flag::switch(
    Some('w'),
    "wide",
    "Wide column output (fits IPv6 addresses)",
    &[],
);

/// An address column: 16 wide, 39 with `--wide`.
pub(crate) const fn addr(header: &'static str, field: &'static str) -> [Column; 2] {
    [
        Column::new(header, field, 16).when(When::Without("wide")),
        Column::new(header, field, 39).when(When::With("wide")),
    ]
}

/// `-L PORTS` of tcplife and tcpstates (their metavars differ):
/// comma-separated local ports, at most the kernel half's `MAX_PORTS`.
pub(crate) const fn local_ports(metavar: &'static str) -> Flag {
    Flag::named(
        Some('L'),
        "localport",
        metavar,
        Parse::Int,
        "Comma-separated list of local ports to trace.",
        &[Effect::ParamList("target_sports")],
    )
}

/// `-D PORTS`: comma-separated remote ports.
pub(crate) const fn remote_ports(metavar: &'static str) -> Flag {
    Flag::named(
        Some('D'),
        "remoteport",
        metavar,
        Parse::Int,
        "Comma-separated list of remote ports to trace.",
        &[Effect::ParamList("target_dports")],
    )
}

/// The `-c` summary (see [`super::common::count_flows`]): the kernel
/// half's `counts` map, one row per flow.
pub(crate) const fn flow_counts(
    columns: &'static [Column],
    sort: &'static [(When, &'static str)],
) -> Output {
    Output::Table {
        when: When::With("count"),
        map: "counts",
        defaults: &[],
        unit: "usecs",
        columns,
        sort,
    }
}
