use super::object;
use super::signals::{COLUMNS, FAILED, KILL_PROGRAMS, NAME, PID, SIGNAL};
use crate::{Output, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "killsnoop",
    summary: "Trace signals issued by the kill() syscall.",
    object: object!("killsnoop"),
    variants: &[Variant::new("tracepoint", KILL_PROGRAMS)],
    flags: &[FAILED, NAME, PID, SIGNAL],
    outputs: &[Output::Events {
        when: When::Always,
        columns: COLUMNS,
        defaults: &[],
    }],
    examples: "\
    killsnoop             # trace all kill() signals
    killsnoop -x          # only show failed kills
    killsnoop -p 181      # only trace PID 181
    killsnoop -s 9        # only trace signal 9",
};
