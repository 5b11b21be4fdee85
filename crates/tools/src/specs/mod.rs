//! One file per tool; shared flags and columns here.

use crate::{Column, Effect, Flag, Parse, Runtime, ToolSpec, When};

mod bashreadline;
mod biolatency;
mod biopattern;
mod biosnoop;
mod execsnoop;
mod exitsnoop;
mod hardirqs;
mod killsnoop;
mod memleak;
mod mountsnoop;
mod net;
mod offcputime;
mod oomkill;
mod opensnoop;
mod profile;
mod runqlat;
mod runqlen;
mod runqslower;
mod signals;
mod sigsnoop;
mod softirqs;
mod statsnoop;
mod syscount;
mod tcp;
mod tcpconnect;
mod tcpconnlat;
mod tcpktstat;
mod tcplife;
mod tcpretrans;
mod tcprtt;
mod tcpstates;
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
    oomkill::SPEC,
    tcpconnect::SPEC,
    tcpconnlat::SPEC,
    tcplife::SPEC,
    tcpstates::SPEC,
    tcpretrans::SPEC,
    tcprtt::SPEC,
    profile::SPEC,
    offcputime::SPEC,
    memleak::SPEC,
    xdpfilter::SPEC,
    tcpktstat::SPEC,
];

/// The stack outputs of a tool (see [`crate::StackOutput`]).
pub(crate) fn stack_outputs(tool: &str) -> &'static [crate::StackOutput] {
    match tool {
        "profile" => profile::STACKS,
        "offcputime" => offcputime::STACKS,
        "memleak" => memleak::STACKS,
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

/// `[interval]`, the first positional argument of the summarizing tools.
pub(crate) const INTERVAL: Flag = Flag::positional(
    "interval",
    "interval",
    Parse::Int,
    "Print a summary every INTERVAL seconds (default: once, at the end)",
    &[Effect::Runtime(Runtime::Interval)],
);

/// `[count]`, after `[interval]` (named `times` because hardirqs has `--count`).
pub(crate) const COUNT: Flag = Flag::positional(
    "times",
    "count",
    Parse::Int,
    "Stop after COUNT summaries",
    &[Effect::Runtime(Runtime::Count)],
);

pub(crate) const CGROUP: Flag = Flag::named(
    Some('c'),
    "cgroup",
    "/sys/fs/cgroup/unified",
    Parse::Path,
    "Trace process in cgroup path",
    &[
        Effect::Enable("filter_cg"),
        Effect::Runtime(Runtime::CgroupMap("cgroup_map")),
    ],
);

pub(crate) const DISK: Flag = Flag::named(
    Some('d'),
    "disk",
    "DISK",
    Parse::Disk,
    "Trace this disk only",
    &[Effect::Param("targ_dev"), Effect::Enable("filter_dev")],
);

/// A `UID` column shown with `--print-uid`.
pub(crate) const UID: Column = Column::new("UID", "uid", 7).when(When::With("print-uid"));
