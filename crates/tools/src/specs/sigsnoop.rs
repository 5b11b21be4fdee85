use super::object;
use super::signals::{FAILED, NAME, PID, SIGNAL, SIGSNOOP_COLUMNS};
use crate::{Flag, Output, Runtime, ToolSpec, Variant, When};

/// signals::KILL_PROGRAMS, and signal_generate for the target's comm (TCOMM).
const KILL_WITH_TARGET: &[&str] = &[
    "kill_entry_tp",
    "kill_exit_tp",
    "tkill_entry_tp",
    "tkill_exit_tp",
    "tgkill_entry_tp",
    "tgkill_exit_tp",
    "kill_target_tp",
];

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "sigsnoop",
    summary: "Trace standard and real-time signals.",
    object: object!("sigsnoop"),
    variants: &[
        Variant::new("tracepoint", &["sig_trace"]),
        Variant::new("kill", KILL_WITH_TARGET).only_with("kill"),
    ],
    flags: &[
        FAILED,
        Flag::switch(
            Some('k'),
            "kill",
            "Trace signals issued by kill syscall only.",
            &[],
        ),
        NAME,
        PID,
        SIGNAL,
    ],
    // TCOMM is the target's comm (`?` for a kill that reached no task).
    // RESULT is the signal_generate result (0 delivered, 1 ignored, 2 already
    // pending, 3 overflow, 4 info lost), or with -k the syscall's -errno.
    outputs: &[Output::Events {
        when: When::Always,
        columns: SIGSNOOP_COLUMNS,
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    sigsnoop             # trace signals system-wide
    sigsnoop -k          # trace signals issued by kill syscall only
    sigsnoop -x          # trace failed signals only
    sigsnoop -p 1216     # only trace PID 1216
    sigsnoop -s 9        # only trace signal 9",
};
