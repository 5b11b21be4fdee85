use super::common::{COUNT, PID_TARGET, interval};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "filetop",
    summary: "File reads and writes by process (syscall-level approximation of vfs_read/vfs_write).",
    object: object!("filetop"),
    variants: &[Variant::new(
        "tracepoint",
        &["read_enter", "read_exit", "write_enter", "write_exit"],
    )],
    flags: &[
        Flag::switch(
            Some('a'),
            "all",
            "Include special files",
            &[Effect::Param("all_files")],
        ),
        // bpfkit prints each interval below the last one; it never clears.
        Flag::switch(Some('C'), "noclear", "Don't clear the screen", &[]),
        PID_TARGET,
        Flag::named(
            Some('r'),
            "rows",
            "ROWS",
            Parse::Int,
            "Maximum rows to print",
            &[Effect::Runtime(Runtime::Top)],
        )
        .default("20"),
        interval("Print every INTERVAL seconds").default("1"),
        COUNT,
    ],
    // libbpf-tools' -s picks the sort column; here rows are sorted by read
    // bytes, then (equal reads) by the map's order.
    outputs: &[Output::Table {
        when: When::Always,
        map: "entries",
        defaults: &[],
        unit: "usecs",
        columns: &[
            Column::new("TID", "key.tid", 7),
            Column::new("COMM", "comm", 16),
            Column::new("READS", "reads", 6).right(),
            Column::new("WRITES", "writes", 6).right(),
            Column::new("R_Kb", "read_bytes", 7)
                .right()
                .fmt(Format::Scaled(1024, 0)),
            Column::new("W_Kb", "write_bytes", 7)
                .right()
                .fmt(Format::Scaled(1024, 0)),
            Column::new("T", "type", 1).fmt(Format::Names(&["R", "S", "O"])),
            Column::new("FILE", "filename", 32),
        ],
        sort: &[(When::Always, "read_bytes")],
    }],
    examples: "\
    filetop            # file I/O top, refresh every 1s
    filetop -p 1216    # only trace PID 1216
    filetop 5 10       # 5s summaries, 10 times
    filetop -a         # include sockets, pipes and other special files",
};
