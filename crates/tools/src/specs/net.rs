//! Flags and columns shared by the packet tools.

use crate::{Column, Effect, Flag, Format, Parse, Runtime};

/// `-i IFACE`: where the XDP / tc programs go.
pub(crate) const INTERFACE: Flag = Flag::named(
    Some('i'),
    "interface",
    "IFACE",
    Parse::Text,
    "network interface to attach to",
    &[Effect::Runtime(Runtime::Interface)],
);

/// IP protocol numbers by name (the ones worth a name).
pub(crate) const fn protocol(header: &'static str, field: &'static str) -> Column {
    Column::new(header, field, 6).fmt(Format::Names(&PROTOCOLS))
}

const PROTOCOLS: [&str; 59] = {
    let mut names = ["?"; 59];
    names[0] = "ip";
    names[1] = "icmp";
    names[2] = "igmp";
    names[6] = "tcp";
    names[17] = "udp";
    names[41] = "ipv6";
    names[47] = "gre";
    names[50] = "esp";
    names[58] = "icmpv6";
    names
};
