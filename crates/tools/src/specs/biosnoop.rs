use super::common::{CGROUP, DISK, QUEUED, duration_positional};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

const MS: Format = Format::Scaled(1_000_000, 3);

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "biosnoop",
    summary: "Trace block I/O.",
    object: object!("biosnoop"),
    variants: &[
        Variant::new(
            "tp_btf",
            &[
                "block_io_start_btf",
                "block_rq_insert_btf",
                "block_rq_issue_btf",
                "block_rq_complete_btf",
            ],
        ),
        Variant::new(
            "raw_tp",
            &[
                "block_io_start",
                "block_rq_insert",
                "block_rq_issue",
                "block_rq_complete",
            ],
        ),
        // Before 6.5 there is no block_io_start tracepoint, and where
        // blk_account_io_start is inlined (6.1) or kprobes are missing,
        // nothing names the process that queued a request: the tool still
        // times every request, with an empty COMM/PID (`-v` says why).
        Variant::new(
            "kprobe",
            &[
                "blk_account_io_start",
                "block_rq_insert",
                "block_rq_issue",
                "block_rq_complete",
            ],
        )
        .optional(&["blk_account_io_start"]),
    ],
    flags: &[
        DISK,
        QUEUED,
        Flag::named(
            Some('m'),
            "min",
            "MIN_MS",
            Parse::Int,
            "Min latency to trace, in ms",
            &[Effect::Param("min_ms")],
        ),
        CGROUP,
        duration_positional("Trace for this many seconds"),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("COMM", "comm", 14),
            Column::new("PID", "pid", 7),
            Column::new("DISK", "dev", 7).fmt(Format::Disk),
            Column::new("T", "rwbs", 4),
            Column::new("SECTOR", "sector", 10),
            Column::new("BYTES", "len", 7),
            Column::new("QUE(ms)", "qdelta_ns", 7)
                .right()
                .fmt(MS)
                .when(When::With("queued")),
            Column::new("LAT(ms)", "delta_ns", 7).right().fmt(MS),
        ],
        defaults: &[Runtime::Timestamp],
    }],
    examples: "\
    biosnoop              # trace all block I/O
    biosnoop -Q           # include OS queued time in I/O time
    biosnoop 10           # trace for 10 seconds only
    biosnoop -d sdc       # trace sdc only
    biosnoop -m 10        # trace I/O slower than 10 ms only
    biosnoop -c CG        # Trace process under cgroupsPath CG",
};
