//! What fsslower and fsdist (and their per-file-system aliases) share: the
//! hooks of `bpf/fs.h` (the file systems' own functions, or the syscalls)
//! and the `-t`/`-p` flags.

use super::common::PID_TARGET;
use crate::{Effect, Flag, Parse, Variant};

/// The syscall tracepoints of `fs.h`, timed from enter to exit: the
/// fallback for kernels without fentry and kprobes, or file systems whose
/// functions the tools do not know. An approximation (it also times what
/// the syscall does outside the file system), and its label says so (`-v`:
/// "using the syscall-approx variant").
pub(crate) const SYSCALL_VARIANT: Variant = Variant::new(
    "syscall-approx",
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
);

/// The programs `FS_FUNCTIONS(FS, ...)` in `fs.h` defines on a file
/// system's own read, write, open and fsync functions, for one kind of
/// probe: `fs_variant!("ext4", "fentry", "fexit")`.
macro_rules! fs_variant {
    ($fs:literal, $entry:literal, $exit:literal) => {
        $crate::Variant::new(
            $entry,
            &[
                concat!("fs_", $entry, "_", $fs, "_read"),
                concat!("fs_", $exit, "_", $fs, "_read"),
                concat!("fs_", $entry, "_", $fs, "_write"),
                concat!("fs_", $exit, "_", $fs, "_write"),
                concat!("fs_", $entry, "_", $fs, "_open"),
                concat!("fs_", $exit, "_", $fs, "_open"),
                concat!("fs_", $entry, "_", $fs, "_fsync"),
                concat!("fs_", $exit, "_", $fs, "_fsync"),
            ],
        )
    };
}

/// A file system's variants, best first: fentry/fexit, kprobe/kretprobe,
/// then the syscall approximation (the alias tools, whose file system is
/// compiled in).
macro_rules! fixed_fs_variants {
    ($fs:literal) => {
        &[
            $crate::specs::fs::fs_variant!($fs, "fentry", "fexit"),
            $crate::specs::fs::fs_variant!($fs, "kprobe", "kretprobe"),
            $crate::specs::fs::SYSCALL_VARIANT,
        ]
    };
}

/// `-t FS` picks the function variants of FS; without it, or for a file
/// system not listed here, the syscall approximation runs. The file
/// systems and functions are libbpf-tools'.
pub(crate) const TYPED_VARIANTS: &[Variant] = &[
    fs_variant!("btrfs", "fentry", "fexit").only_for("type", "btrfs"),
    fs_variant!("btrfs", "kprobe", "kretprobe").only_for("type", "btrfs"),
    fs_variant!("ext4", "fentry", "fexit").only_for("type", "ext4"),
    fs_variant!("ext4", "kprobe", "kretprobe").only_for("type", "ext4"),
    fs_variant!("f2fs", "fentry", "fexit").only_for("type", "f2fs"),
    fs_variant!("f2fs", "kprobe", "kretprobe").only_for("type", "f2fs"),
    fs_variant!("nfs", "fentry", "fexit").only_for("type", "nfs"),
    fs_variant!("nfs", "kprobe", "kretprobe").only_for("type", "nfs"),
    fs_variant!("xfs", "fentry", "fexit").only_for("type", "xfs"),
    fs_variant!("xfs", "kprobe", "kretprobe").only_for("type", "xfs"),
    SYSCALL_VARIANT,
];

pub(crate) use {fixed_fs_variants, fs_variant};

/// `-t FS`, the file system to trace, by its name in /proc/filesystems.
/// Without it, every file system on a block device (libbpf-tools requires
/// it).
pub(crate) const FS_TYPE: Flag = Flag::named(
    Some('t'),
    "type",
    "Filesystem",
    Parse::FileSystem,
    "Which filesystem to trace (btrfs, ext4, nfs, xfs, ...; default: those on a block device)",
    &[Effect::Param("target_fs")],
);

pub(crate) const PID: Flag = PID_TARGET;

/// Operation names, indexed by `enum fs_op`.
pub(crate) const OPS: &[&str] = &["read", "write", "open", "fsync"];

/// One-letter operation names (fsslower's `T` column), by `enum fs_op`.
pub(crate) const OP_LETTERS: &[&str] = &["R", "W", "O", "F"];
