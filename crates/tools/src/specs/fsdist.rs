//! fsdist, and ext4dist, xfsdist and btrfsdist: libbpf-tools' aliases for
//! `fsdist -t FS`, each its own object with the file system compiled in
//! (`bpf/ext4dist.bpf.c` includes `fsdist.bpf.c`).

use super::common::{COUNT, INTERVAL, TIMESTAMP_WALL, log2_usecs};
use super::fs::{FS_TYPE, OPS, PID, TYPED_VARIANTS, fixed_fs_variants};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Runtime, ToolSpec, When};

const MILLISECONDS: Flag = Flag::switch(
    Some('m'),
    "milliseconds",
    "Millisecond histogram",
    &[
        Effect::Param("targ_ms"),
        Effect::Runtime(Runtime::Unit("msecs")),
    ],
);

const OUTPUTS: &[Output] = &[log2_usecs(
    When::Always,
    "hists",
    &[Column::new("operation", "key", 0).fmt(Format::Names(OPS))],
)];

macro_rules! dist_summary {
    ($what:literal) => {
        concat!(
            "Summarize ",
            $what,
            " operations latency (read, write, open, fsync; \
             a syscall-level approximation without fentry/kprobes)."
        )
    };
}

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "fsdist",
    summary: dist_summary!("file system"),
    object: object!("fsdist"),
    variants: TYPED_VARIANTS,
    flags: &[FS_TYPE, TIMESTAMP_WALL, MILLISECONDS, PID, INTERVAL, COUNT],
    outputs: OUTPUTS,
    examples: "\
    fsdist -t ext4             # show operation latency as a histogram
    fsdist -t nfs -p 1216      # trace nfs operations with PID 1216 only
    fsdist -t xfs 1 10         # print 1 second summaries, 10 times
    fsdist -t btrfs -m 5       # 5s summaries, milliseconds
    fsdist                     # every file system on a block device",
};

/// `NAMEdist`: fsdist with the file system fixed.
macro_rules! alias {
    ($name:literal, $fs:literal) => {
        ToolSpec {
            name: $name,
            summary: dist_summary!($fs),
            object: object!($name),
            variants: fixed_fs_variants!($fs),
            flags: &[TIMESTAMP_WALL, MILLISECONDS, PID, INTERVAL, COUNT],
            outputs: OUTPUTS,
            examples: concat!(
                "    ",
                $name,
                "             # show operation latency as a histogram\n",
                "    ",
                $name,
                " -p 1216     # trace PID 1216 only\n",
                "    ",
                $name,
                " 1 10        # print 1 second summaries, 10 times\n",
                "    ",
                $name,
                " -m 5        # 5s summaries, milliseconds",
            ),
        }
    };
}

pub(crate) const BTRFS: ToolSpec = alias!("btrfsdist", "btrfs");
pub(crate) const EXT4: ToolSpec = alias!("ext4dist", "ext4");
pub(crate) const XFS: ToolSpec = alias!("xfsdist", "xfs");
