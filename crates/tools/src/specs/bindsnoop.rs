use super::common::{CGROUP, PID_TARGET, TIMESTAMP_SINCE_START, failed};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, ToolSpec, Variant, When};

/// PROTO by IPPROTO_* number: TCP (6), UDP (17), otherwise UNKN.
const PROTOCOLS: Format = Format::Names(&[
    "UNKN", "UNKN", "UNKN", "UNKN", "UNKN", "UNKN", "TCP", "UNKN", "UNKN", "UNKN", "UNKN", "UNKN",
    "UNKN", "UNKN", "UNKN", "UNKN", "UNKN", "UDP",
]);

/// OPTS as libbpf-tools shows them: one letter per option set, `.` for
/// each not set (F freebind, T transparent, N bind_address_no_port, R
/// reuseaddr, r reuseport; the kernel half's OPT_* bits).
const OPTIONS: Format = Format::Names(&[
    ".....", "F....", ".T...", "FT...", "..N..", "F.N..", ".TN..", "FTN..", "...R.", "F..R.",
    ".T.R.", "FT.R.", "..NR.", "F.NR.", ".TNR.", "FTNR.", "....r", "F...r", ".T..r", "FT..r",
    "..N.r", "F.N.r", ".TN.r", "FTN.r", "...Rr", "F..Rr", ".T.Rr", "FT.Rr", "..NRr", "F.NRr",
    ".TNRr", "FTNRr",
]);

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "bindsnoop",
    summary: "Trace bind syscalls.",
    object: object!("bindsnoop"),
    // libbpf-tools' kprobes on inet_bind/inet6_bind see the socket; the
    // bind syscall tracepoints reach it through the fd, on any kernel.
    variants: &[Variant::new(
        "tracepoint",
        &["bind_entry_tp", "bind_exit_tp"],
    )],
    flags: &[
        CGROUP,
        PID_TARGET,
        Flag::named(
            Some('P'),
            "ports",
            "PORTS",
            Parse::Int,
            "Comma-separated list of ports to trace.",
            &[Effect::ParamList("target_ports")],
        ),
        TIMESTAMP_SINCE_START,
        failed(
            "failed",
            "Include errors on output.",
            &[Effect::Param("include_errors")],
        ),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "task", 16),
            Column::new("RET", "ret", 3),
            Column::new("PROTO", "proto", 5).fmt(PROTOCOLS),
            Column::new("OPTS", "opts", 5).fmt(OPTIONS),
            Column::new("IF", "bound_dev_if", 4),
            Column::new("PORT", "port", 5),
            Column::new("ADDR", "addr", 48),
        ],
        defaults: &[],
    }],
    examples: "\
    bindsnoop             # trace all bind syscall
    bindsnoop -t          # include timestamps
    bindsnoop -x          # include errors on output
    bindsnoop -p 1216     # only trace PID 1216
    bindsnoop -c CG       # Trace process under cgroupsPath CG
    bindsnoop -P 80,81    # only trace port 80 and 81",
};
