use super::object;
use crate::{Column, Effect, Flag, Output, Parse, Runtime, ToolSpec, Variant, When};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "bashreadline",
    summary: "Print entered bash commands from all running shells.",
    object: object!("bashreadline"),
    // SEC("uretprobe//bin/bash:readline"): bash links readline statically on
    // Debian; elsewhere -s points at libreadline.so.
    variants: &[Variant::new("uprobe", &["printret"])],
    flags: &[Flag::named(
        Some('s'),
        "shared",
        "PATH",
        Parse::Path,
        "the location of libreadline.so library",
        &[Effect::Runtime(Runtime::UprobeBinary)],
    )],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("PID", "pid", 7),
            Column::new("COMMAND", "str", 0),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    bashreadline
    bashreadline -s /usr/lib/libreadline.so",
};
