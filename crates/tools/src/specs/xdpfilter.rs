use super::common::{COUNT, INTERVAL};
use super::net::{INTERFACE, protocol};
use super::object;
use crate::{Column, Effect, Flag, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "xdpfilter",
    summary: "Drop packets at XDP by source prefix or by protocol and port, counting drops per rule.",
    object: object!("xdpfilter"),
    variants: &[Variant::new("xdp", &["xdp_filter"])],
    flags: &[
        INTERFACE,
        Flag::named(
            Some('s'),
            "drop-src",
            "PREFIX,...",
            Parse::Text,
            "drop packets from these source prefixes (10.0.0.0/8, fd00::/8)",
            &[Effect::Runtime(Runtime::PrefixRules {
                v4: "drop_v4",
                v6: "drop_v6",
            })],
        ),
        Flag::named(
            Some('P'),
            "drop-port",
            "PROTO[:PORT],...",
            Parse::Text,
            "drop packets of a protocol, to a destination port (tcp:80, udp:53, icmp)",
            &[Effect::Runtime(Runtime::PortRules("drop_ports"))],
        ),
        Flag::switch(
            Some('n'),
            "dry-run",
            "count matching packets but let them pass",
            &[Effect::Param("dry_run")],
        ),
        INTERVAL,
        COUNT,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "hits",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("SOURCE", "key.addr", 39),
            Column::new("PREFIXLEN", "key.prefixlen", 9).right(),
            protocol("PROTO", "key.proto"),
            Column::new("PORT", "key.port", 5).right(),
            Column::new("PACKETS", "packets", 10).right(),
            Column::new("BYTES", "bytes", 12).right(),
        ],
        sort: &[(When::Always, "packets")],
    }],
    examples: "\
    xdpfilter -i eth0 -s 192.0.2.0/24          # drop a source prefix
    xdpfilter -i eth0 -P tcp:23,udp:161 1      # drop telnet and SNMP, print every second
    xdpfilter -i eth0 -s 2001:db8::/32 -n      # count, do not drop",
};
