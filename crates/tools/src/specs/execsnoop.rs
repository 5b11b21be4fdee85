use super::common::{CGROUP, SINCE_START, UID, failed, name, print_uid, time, timestamp, uid};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Parse, Runtime, ToolSpec, Variant};

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "execsnoop",
    summary: "Trace exec syscalls",
    object: object!("execsnoop"),
    variants: &[Variant::new(
        "tracepoint",
        &[
            "tracepoint__syscalls__sys_enter_execve",
            "tracepoint__syscalls__sys_exit_execve",
        ],
    )],
    flags: &[
        time("include time column on output (HH:MM:SS)"),
        timestamp('t', "include timestamp on output", SINCE_START),
        failed(
            "fails",
            "include failed exec()s",
            &[Effect::Param("include_failed")],
        ),
        uid("trace this UID only", &[Effect::Param("targ_uid")]),
        print_uid("print UID column"),
        Flag::switch(
            Some('q'),
            "quote",
            "Add quotemarks (\") around arguments",
            &[Effect::Runtime(Runtime::Quote)],
        ),
        name("only print commands matching this name, any arg"),
        Flag::named(
            Some('l'),
            "line",
            "LINE",
            Parse::Text,
            "only print commands where arg contains this line",
            &[Effect::Runtime(Runtime::Contains("args"))],
        ),
        Flag::named(
            None,
            "max-args",
            "MAX_ARGS",
            Parse::Int,
            "maximum number of arguments parsed and displayed",
            &[Effect::Param("max_args")],
        )
        .default("20"),
        CGROUP,
    ],
    outputs: &[Output::Events {
        when: crate::When::Always,
        columns: &[
            UID,
            Column::new("PCOMM", "comm", 16),
            Column::new("PID", "pid", 6),
            Column::new("PPID", "ppid", 6),
            Column::new("RET", "retval", 3).right(),
            Column::new("ARGS", "args", 0).fmt(Format::ArgList {
                count: "args_count",
                max_param: "max_args",
            }),
        ],
        defaults: &[],
    }],
    examples: "\
    execsnoop           # trace all exec() syscalls
    execsnoop -x        # include failed exec()s
    execsnoop -T        # include time (HH:MM:SS)
    execsnoop -U        # include UID
    execsnoop -u 1000   # only trace UID 1000
    execsnoop -t        # include timestamps
    execsnoop -q        # add \"quotemarks\" around arguments
    execsnoop -n main   # only print command lines containing \"main\"
    execsnoop -l tpkg   # only print command where arguments contains \"tpkg\"
    execsnoop -c CG     # Trace process under cgroupsPath CG",
};
