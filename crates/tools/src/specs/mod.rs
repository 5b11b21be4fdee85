//! One file per tool; flags and outputs several tools share in `common`.

use crate::ToolSpec;

mod bashreadline;
mod bindsnoop;
mod biolatency;
mod biopattern;
mod biosnoop;
mod biostacks;
mod biotop;
mod bitesize;
mod cachestat;
mod capable;
mod common;
mod cpudist;
mod drsnoop;
mod execsnoop;
mod exitsnoop;
mod filelife;
mod filetop;
mod fs;
mod fsdist;
mod fsslower;
mod gethostlatency;
mod hardirqs;
mod killsnoop;
mod klockstat;
mod memleak;
mod mountsnoop;
mod net;
mod offcputime;
mod offwaketime;
mod oomkill;
mod opensnoop;
mod pidpersec;
mod profile;
mod readahead;
mod runqlat;
mod runqlen;
mod runqslower;
mod signals;
mod sigsnoop;
mod softirqs;
mod solisten;
mod statsnoop;
mod syncsnoop;
mod syscount;
mod tcp;
mod tcpaccept;
mod tcpconnect;
mod tcpconnlat;
mod tcpdrop;
mod tcpktstat;
mod tcplife;
mod tcpretrans;
mod tcprtt;
mod tcpstates;
mod tcpsynbl;
mod tcptop;
mod tcptracer;
mod threadsnoop;
mod vfsstat;
mod wakeuptime;
mod wqlat;
mod xdpfilter;

pub(crate) static ALL: &[ToolSpec] = &[
    execsnoop::SPEC,
    exitsnoop::SPEC,
    opensnoop::SPEC,
    statsnoop::SPEC,
    mountsnoop::SPEC,
    sigsnoop::SPEC,
    killsnoop::SPEC,
    bashreadline::SPEC,
    syscount::SPEC,
    runqlat::SPEC,
    runqlen::SPEC,
    runqslower::SPEC,
    hardirqs::SPEC,
    softirqs::SPEC,
    biolatency::SPEC,
    biopattern::SPEC,
    biosnoop::SPEC,
    biostacks::SPEC,
    oomkill::SPEC,
    tcpconnect::SPEC,
    tcpconnlat::SPEC,
    tcplife::SPEC,
    tcpstates::SPEC,
    tcpretrans::SPEC,
    tcprtt::SPEC,
    profile::SPEC,
    offcputime::SPEC,
    offwaketime::SPEC,
    memleak::SPEC,
    xdpfilter::SPEC,
    tcpktstat::SPEC,
    bindsnoop::SPEC,
    capable::SPEC,
    gethostlatency::SPEC,
    solisten::SPEC,
    tcpaccept::SPEC,
    tcpdrop::SPEC,
    tcpsynbl::SPEC,
    tcptop::SPEC,
    tcptracer::SPEC,
    // Storage, file systems and scheduler (issue 14), alphabetical.
    biotop::SPEC,
    bitesize::SPEC,
    fsdist::BTRFS,
    fsslower::BTRFS,
    cachestat::SPEC,
    cpudist::SPEC,
    drsnoop::SPEC,
    fsdist::EXT4,
    fsslower::EXT4,
    filelife::SPEC,
    filetop::SPEC,
    fsdist::SPEC,
    fsslower::SPEC,
    klockstat::SPEC,
    pidpersec::SPEC,
    readahead::SPEC,
    syncsnoop::SPEC,
    threadsnoop::SPEC,
    vfsstat::SPEC,
    wakeuptime::SPEC,
    wqlat::SPEC,
    fsdist::XFS,
    fsslower::XFS,
];

/// The summary lines of a tool (see [`crate::Summary`]).
pub(crate) fn summaries(tool: &str) -> &'static [crate::Summary] {
    match tool {
        "readahead" => readahead::SUMMARY,
        _ => &[],
    }
}

/// The stack outputs of a tool (see [`crate::StackOutput`]).
pub(crate) fn stack_outputs(tool: &str) -> &'static [crate::StackOutput] {
    match tool {
        "profile" => profile::STACKS,
        "offcputime" => offcputime::STACKS,
        "memleak" => memleak::STACKS,
        "wakeuptime" => wakeuptime::STACKS,
        "biostacks" => biostacks::STACKS,
        "offwaketime" => offwaketime::STACKS,
        _ => &[],
    }
}

/// The compiled kernel half of a tool.
macro_rules! object {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bpf/",
            $name,
            ".bpf.o"
        ))
    };
}
pub(crate) use object;

/// The programs of the tp_btf and raw_tp variants, which share handler
/// names: `NAME_btf` under tp_btf and `NAME` under raw_tp.
macro_rules! btf_and_raw_variants {
    ($($prog:literal),+ $(,)?) => {
        &[
            crate::Variant::new("tp_btf", &[$(concat!($prog, "_btf")),+]),
            crate::Variant::new("raw_tp", &[$($prog),+]),
        ]
    };
}
pub(crate) use btf_and_raw_variants;
