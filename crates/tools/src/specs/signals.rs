//! What sigsnoop and killsnoop share: their kernel halves share
//! `bpf/signal_syscalls.h`, hence the same parameters and event.

use super::common::{failed, pid};
use crate::{Column, Effect, Flag, Format, Parse, When};

pub(crate) const KILL_PROGRAMS: &[&str] = &[
    "kill_entry_tp",
    "kill_exit_tp",
    "tkill_entry_tp",
    "tkill_exit_tp",
    "tgkill_entry_tp",
    "tgkill_exit_tp",
];

pub(crate) const FAILED: Flag = failed(
    "failed",
    "Trace failed signals only.",
    &[Effect::Param("failed_only")],
);
pub(crate) const PID: Flag = pid("Process ID to trace", &[Effect::Param("filtered_pid")]);
pub(crate) const SIGNAL: Flag = Flag::named(
    Some('s'),
    "signal",
    "SIGNAL",
    Parse::Signal,
    "Signal to trace.",
    &[Effect::Param("target_signal")],
);
pub(crate) const NAME: Flag = Flag::switch(
    Some('n'),
    "name",
    "Output signal name instead of signal number.",
    &[],
);

const SENDER: [Column; 2] = [
    Column::new("PID", "pid", 7),
    Column::new("COMM", "comm", 16),
];
const SIG: [Column; 2] = [
    Column::new("SIG", "sig", 9).when(When::Without("name")),
    Column::new("SIG", "sig", 9)
        .fmt(Format::Signal)
        .when(When::With("name")),
];
const TPID: Column = Column::new("TPID", "tpid", 8);
const RESULT: Column = Column::new("RESULT", "ret", 6);

/// killsnoop's columns, as bcc's.
pub(crate) const COLUMNS: &[Column] = &[SENDER[0], SENDER[1], SIG[0], SIG[1], TPID, RESULT];

/// sigsnoop's: the target's comm too, as libbpf-tools' sigsnoop has it now.
pub(crate) const SIGSNOOP_COLUMNS: &[Column] = &[
    SENDER[0],
    SENDER[1],
    SIG[0],
    SIG[1],
    TPID,
    Column::new("TCOMM", "tcomm", 16),
    RESULT,
];
