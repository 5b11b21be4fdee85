use super::common::{COUNT, INTERVAL};
use super::net::{INTERFACE, protocol};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcpktstat",
    summary: "Count packets and bytes per direction, protocol and remote address (tc).",
    object: object!("tcpktstat"),
    variants: &[Variant::new(
        "tc",
        &["tcpktstat_ingress", "tcpktstat_egress"],
    )],
    flags: &[
        INTERFACE,
        Flag::switch(
            Some('P'),
            "by-proto",
            "count per protocol only, not per remote address",
            &[Effect::Param("by_proto_only")],
        ),
        INTERVAL,
        COUNT,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "stats",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("DIR", "key.dir", 3).fmt(Format::Names(&["in", "out"])),
            protocol("PROTO", "key.proto"),
            Column::new("REMOTE", "key.raddr", 39).when(When::Without("by-proto")),
            Column::new("PACKETS", "packets", 10).right(),
            Column::new("BYTES", "bytes", 12).right(),
        ],
        sort: &[(When::Always, "bytes")],
    }],
    examples: "\
    tcpktstat -i eth0        # per remote address, until Ctrl-C
    tcpktstat -i eth0 -P 1   # per protocol, every second",
};
