//! What fsslower and fsdist (and their per-file-system aliases) share: the
//! syscall-level hooks of `bpf/fs.h` and the `-t`/`-p` flags.

use super::common::PID_TARGET;
use crate::{Effect, Flag, Parse, Variant};

/// The syscall tracepoints of `fs.h`, timed from enter to exit. There is no
/// fentry/kprobe variant on the file systems' own functions yet: this one
/// is an approximation, and the tools' summaries say so.
pub(crate) const SYSCALL_VARIANTS: &[Variant] = &[Variant::new(
    "tracepoint",
    &[
        "fs_enter_read",
        "fs_exit_read",
        "fs_enter_write",
        "fs_exit_write",
        "fs_enter_openat",
        "fs_exit_openat",
        "fs_enter_fsync",
        "fs_exit_fsync",
        "fs_enter_fdatasync",
        "fs_exit_fdatasync",
    ],
)];

/// `-t FS`, the file system to trace, by its name in /proc/filesystems.
/// Without it, every file system on a block device (libbpf-tools requires
/// it).
pub(crate) const FS_TYPE: Flag = Flag::named(
    Some('t'),
    "type",
    "Filesystem",
    Parse::Text,
    "Which filesystem to trace (btrfs, ext4, nfs, xfs, ...; default: those on a block device)",
    &[Effect::Param("target_fs")],
);

pub(crate) const PID: Flag = PID_TARGET;

/// Operation names, indexed by `enum fs_op`.
pub(crate) const OPS: &[&str] = &["read", "write", "open", "fsync"];

/// One-letter operation names (fsslower's `T` column), by `enum fs_op`.
pub(crate) const OP_LETTERS: &[&str] = &["R", "W", "O", "F"];
