use super::common::{PID_FILTER, TIMESTAMP_SINCE_START, UID, print_uid, uid};
use super::object;
use super::tcp::IP_VERSION;
use crate::{Column, Effect, Format, Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "tcptracer",
    summary: "Trace TCP connections",
    object: object!("tcptracer"),
    // libbpf-tools' connect/close kprobes are replaced by the state changes
    // connect() and close() cause, in the task that causes them; accepts
    // come from inet_csk_accept's return or the accept syscalls (see the
    // kernel half).
    variants: &[
        Variant::new("kprobe", &["inet_csk_accept_ret", "inet_sock_set_state"]),
        Variant::new(
            "tracepoint",
            &["accept_exit_tp", "accept4_exit_tp", "inet_sock_set_state"],
        ),
    ],
    flags: &[
        PID_FILTER,
        TIMESTAMP_SINCE_START,
        uid("Process UID to trace", &[Effect::Param("filter_uid")]),
        print_uid("Include UID on output"),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            UID,
            // C connect (established), A accept, X close.
            Column::new("T", "type", 1).fmt(Format::Names(&["C", "A", "X"])),
            Column::new("PID", "pid", 6),
            Column::new("COMM", "task", 16),
            IP_VERSION,
            Column::new("SADDR", "saddr", 16),
            Column::new("DADDR", "daddr", 16),
            Column::new("SPORT", "sport", 5),
            Column::new("DPORT", "dport", 5),
        ],
        defaults: &[],
    }],
    examples: "\
    tcptracer             # trace all TCP connections
    tcptracer -t          # include timestamps
    tcptracer -p 181      # only trace PID 181
    tcptracer -U          # include UID
    tcptracer -u 1000     # only trace UID 1000",
};
