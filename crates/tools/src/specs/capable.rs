use super::common::{CGROUP, PID_TGID};
use super::object;
use crate::{Column, Effect, Flag, Format, Output, Runtime, ToolSpec, Variant, When};

/// Capability names by number (include/uapi/linux/capability.h).
const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// With stacks a record is ~560 bytes instead of ~40: a 4 MiB ring buffer
/// (16 times common.h's) holds ~7,500 of them, a burst of checks from many
/// processes starting at once (each new bpfkit checks CAP_BPF and more).
const STACK_RECORDS: Effect = Effect::MapSize("events", 4 << 20);

/// AUDIT and INSETID: 0, 1, or `-` where the hook does not tell (the
/// tracepoint has no options).
const OPTION: Format = Format::Names(&["0", "1", "-"]);

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "capable",
    summary: "Trace security capability checks (cap_capable()).",
    object: object!("capable"),
    // The kprobes see cap_capable's options (AUDIT, INSETID); the
    // tracepoint (6.15+) works without kprobes.
    variants: &[
        Variant::new("kprobe", &["cap_capable_entry", "cap_capable_exit"]),
        Variant::new("tracepoint", &["cap_capable_tp"]),
    ],
    flags: &[
        CGROUP,
        PID_TGID,
        Flag::switch(
            Some('K'),
            "kernel-stack",
            "output kernel stack trace",
            &[Effect::Param("kernel_stack"), STACK_RECORDS],
        ),
        Flag::switch(
            Some('U'),
            "user-stack",
            "output user stack trace",
            &[Effect::Param("user_stack"), STACK_RECORDS],
        ),
        Flag::switch(
            Some('x'),
            "extra",
            "Extra fields: show TID and INSETID columns",
            &[],
        ),
    ],
    outputs: &[Output::Events {
        when: When::Always,
        columns: &[
            Column::new("UID", "uid", 5),
            Column::new("PID", "pid", 7),
            Column::new("TID", "tid", 7).when(When::With("extra")),
            Column::new("COMM", "task", 16),
            Column::new("CAP", "cap", 7),
            Column::new("NAME", "cap", 20).fmt(Format::Names(CAPABILITIES)),
            Column::new("AUDIT", "audit", 7).fmt(OPTION),
            Column::new("VERDICT", "denied", 7).fmt(Format::Names(&["allow", "deny"])),
            Column::new("INSETID", "insetid", 7)
                .fmt(OPTION)
                .when(When::With("extra")),
            // Under the row, kernel frames first, as bcc's capable.
            Column::new("", "kernel_ips", 0)
                .fmt(Format::Stack {
                    pid: None,
                    missing: "[Missed Kernel Stack]",
                })
                .when(When::With("kernel-stack")),
            Column::new("", "user_ips", 0)
                .fmt(Format::Stack {
                    pid: Some("pid"),
                    missing: "[Missed User Stack]",
                })
                .when(When::With("user-stack")),
        ],
        defaults: &[Runtime::WallTime],
    }],
    examples: "\
    capable                  # Trace capability checks
    capable -p 185           # Trace this PID only
    capable -c CG            # Trace process under cgroupsPath CG
    capable -x               # Extra fields: show TID and INSETID columns
    capable -K               # Add kernel stacks to trace
    capable -U               # Add user-space stacks to trace",
};
