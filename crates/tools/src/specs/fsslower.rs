//! fsslower, and ext4slower, xfsslower and btrfsslower: libbpf-tools'
//! aliases for `fsslower -t FS`, each its own object with the file system
//! compiled in (`bpf/ext4slower.bpf.c` includes `fsslower.bpf.c`).

use super::common::duration;
use super::fs::{FS_TYPE, OP_LETTERS, PID, TYPED_VARIANTS, fixed_fs_variants};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, When};

const MIN: Flag = Flag::named(
    Some('m'),
    "min",
    "MIN",
    Parse::Int,
    "Min latency to trace, in ms",
    &[Effect::Param("min_lat_ms")],
)
.default("10");

const DURATION: Flag = duration("Total duration of trace in seconds");

const OUTPUTS: &[Output] = &[Output::Events {
    when: When::Always,
    columns: &[
        Column::new("COMM", "comm", 16),
        Column::new("PID", "pid", 7),
        Column::new("T", "op", 1).fmt(Format::Names(OP_LETTERS)),
        Column::new("BYTES", "size", 7),
        Column::new("OFF_KB", "offset", 8).fmt(Format::Scaled(1024, 0)),
        Column::new("LAT(ms)", "delta_ns", 7)
            .right()
            .fmt(Format::Scaled(1_000_000, 2)),
        Column::new("FILENAME", "file", 32),
    ],
    defaults: &[Runtime::WallTime],
}];

/// The note every summary carries: what this variant measures.
macro_rules! slower_summary {
    ($what:literal) => {
        concat!(
            "Trace ",
            $what,
            " operations slower than a threshold (read, write, open, fsync; \
             a syscall-level approximation without fentry/kprobes)."
        )
    };
}

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "fsslower",
    summary: slower_summary!("file system"),
    object: object!("fsslower"),
    variants: TYPED_VARIANTS,
    flags: &[FS_TYPE, PID, MIN, DURATION],
    outputs: OUTPUTS,
    examples: "\
    fsslower -t ext4             # trace ext4 operations slower than 10 ms
    fsslower -t nfs -p 1216      # trace nfs operations with PID 1216 only
    fsslower -t xfs -d 1         # trace xfs operations for 1s
    fsslower -t btrfs -m 100     # trace operations slower than 100 ms
    fsslower                     # every file system on a block device",
};

/// `NAMEslower`: fsslower with the file system fixed.
macro_rules! alias {
    ($name:literal, $fs:literal) => {
        ToolSpec {
            name: $name,
            summary: slower_summary!($fs),
            object: object!($name),
            variants: fixed_fs_variants!($fs),
            flags: &[PID, MIN, DURATION],
            outputs: OUTPUTS,
            examples: concat!(
                "    ",
                $name,
                "             # trace operations slower than 10 ms\n",
                "    ",
                $name,
                " -p 1216     # trace operations with PID 1216 only\n",
                "    ",
                $name,
                " -m 100      # trace operations slower than 100 ms\n",
                "    ",
                $name,
                " -m 0        # trace every operation",
            ),
        }
    };
}

pub(crate) const BTRFS: ToolSpec = alias!("btrfsslower", "btrfs");
pub(crate) const EXT4: ToolSpec = alias!("ext4slower", "ext4");
pub(crate) const XFS: ToolSpec = alias!("xfsslower", "xfs");
