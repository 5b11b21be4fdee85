use super::common::{COUNT, TIMESTAMP_WALL, interval};
use super::object;
use crate::{Column, Output, ToolSpec, Variant, When};

// libbpf-tools prints rates (READ/s ...) every second; here the columns
// are counts per interval, the same numbers at the default interval of 1 s.
pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "vfsstat",
    summary: "Count file reads, writes, fsyncs, opens and creates per interval \
              (syscall-level approximation of the VFS calls).",
    object: object!("vfsstat"),
    variants: &[Variant::new(
        "tracepoint",
        &[
            "read",
            "readv",
            "pread64",
            "write",
            "writev",
            "pwrite64",
            "fsync",
            "fdatasync",
            "creat",
            "open",
            "openat",
            "openat2",
        ],
    )
    .optional(&["open", "creat", "openat2"])],
    flags: &[
        TIMESTAMP_WALL,
        interval("Print the counts every INTERVAL seconds").default("1"),
        COUNT,
    ],
    outputs: &[Output::Table {
        when: When::Always,
        map: "stats",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("READ", "reads", 8).right(),
            Column::new("WRITE", "writes", 8).right(),
            Column::new("FSYNC", "fsyncs", 8).right(),
            Column::new("OPEN", "opens", 8).right(),
            Column::new("CREATE", "creates", 8).right(),
        ],
        sort: &[],
    }],
    examples: "\
    vfsstat        # counts every second
    vfsstat 5 10   # every 5 seconds, 10 times
    vfsstat -T     # with the time",
};
