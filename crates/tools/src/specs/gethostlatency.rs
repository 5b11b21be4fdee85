use super::common::PID_TARGET;
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "gethostlatency",
    summary: "Show latency for getaddrinfo/gethostbyname[2] calls.",
    object: object!("gethostlatency"),
    // SEC("uprobe/libc.so.6:..."): the system's libc, or -l's.
    variants: &[Variant::new(
        "uprobe",
        &[
            "getaddrinfo_entry",
            "getaddrinfo_return",
            "gethostbyname_entry",
            "gethostbyname_return",
            "gethostbyname2_entry",
            "gethostbyname2_return",
        ],
    )],
    flags: &[
        Flag::named(
            Some('l'),
            "libc",
            "LIBC",
            Parse::Path,
            "Specify which libc.so to use",
            &[Effect::Runtime(Runtime::UprobeBinary)],
        ),
        PID_TARGET,
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMM", "comm", 16),
            Column::new("LATms", "time", 10).fmt(Format::Scaled(1_000_000, 3)),
            Column::new("HOST", "host", 0),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    gethostlatency             # time getaddrinfo/gethostbyname[2] calls
    gethostlatency -p 1216     # only trace PID 1216",
};
