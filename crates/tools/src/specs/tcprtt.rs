use super::common::{WALL_CLOCK, duration, interval_option, log2_usecs, milliseconds, timestamp};
use super::object;
use crate::{Column, Effect, Flag, Format, Parse, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcprtt",
    summary: "Summarize TCP RTT as a histogram.",
    object: object!("tcprtt"),
    variants: &[
        Variant::new("fentry", &["fentry_tcp_rcv_established"]),
        Variant::new("kprobe", &["tcp_rcv_established"]),
        Variant::new("tracepoint", &["tcp_probe"]),
    ],
    flags: &[
        interval_option("summary interval, seconds"),
        duration("total duration of trace, seconds"),
        timestamp('T', "include timestamp on output", WALL_CLOCK),
        milliseconds("millisecond", "millisecond histogram"),
        Flag::named(
            Some('p'),
            "lport",
            "LPORT",
            Parse::Int,
            "filter for local port",
            &[Effect::Param("targ_sport")],
        ),
        Flag::named(
            Some('P'),
            "rport",
            "RPORT",
            Parse::Int,
            "filter for remote port",
            &[Effect::Param("targ_dport")],
        ),
        Flag::named(
            Some('a'),
            "laddr",
            "LADDR",
            Parse::Ipv4,
            "filter for local address (IPv4)",
            &[Effect::Param("targ_saddr")],
        ),
        Flag::named(
            Some('A'),
            "raddr",
            "RADDR",
            Parse::Ipv4,
            "filter for remote address (IPv4)",
            &[Effect::Param("targ_daddr")],
        ),
        Flag::switch(
            Some('b'),
            "byladdr",
            "show sockets histogram by local address",
            &[Effect::Param("targ_laddr_hist")],
        ),
        Flag::switch(
            Some('B'),
            "byraddr",
            "show sockets histogram by remote address",
            &[Effect::Param("targ_raddr_hist")],
        ),
        Flag::switch(
            Some('e'),
            "extension",
            "show extension summary (average)",
            &[Effect::Param("targ_show_ext")],
        ),
    ],
    outputs: &[log2_usecs(
        When::Always,
        "hists",
        &[
            Column::new("Local Address", "key.laddr", 0).when(When::With("byladdr")),
            Column::new("Remote Address", "key.raddr", 0).when(When::With("byraddr")),
            // libbpf-tools prints `[AVG N]` after each key: the mean RTT in
            // the histogram's unit, from the kernel's sum and count.
            Column::new("AVG", "latency", 0)
                .fmt(Format::DividedBy("cnt"))
                .when(When::With("extension")),
        ],
    )],
    examples: "\
    tcprtt            # summarize TCP RTT
    tcprtt -i 1 -d 10 # print 1 second summaries, 10 times
    tcprtt -m -T      # summarize in millisecond, and timestamps
    tcprtt -p 80      # filter for local port
    tcprtt -P 80      # filter for remote port
    tcprtt -a 1.1.1.1 # filter for local address
    tcprtt -A 1.1.1.1 # filter for remote address
    tcprtt -b         # show sockets histogram by local address
    tcprtt -B         # show sockets histogram by remote address
    tcprtt -e         # show extension summary(average)",
};
