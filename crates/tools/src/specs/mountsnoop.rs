use super::common::{PID_TARGET, WALL_CLOCK, timestamp};
use super::object;
use crate::{
    Arg, ArgKind, Call, Column, Effect, Flag, Format, Output, Runtime, ToolSpec, Variant, When,
};

/// mount(2) flags, bit by bit (include/uapi/linux/mount.h).
const MS_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "MS_RDONLY"),
    (1 << 1, "MS_NOSUID"),
    (1 << 2, "MS_NODEV"),
    (1 << 3, "MS_NOEXEC"),
    (1 << 4, "MS_SYNCHRONOUS"),
    (1 << 5, "MS_REMOUNT"),
    (1 << 6, "MS_MANDLOCK"),
    (1 << 7, "MS_DIRSYNC"),
    (1 << 8, "MS_NOSYMFOLLOW"),
    (1 << 10, "MS_NOATIME"),
    (1 << 11, "MS_NODIRATIME"),
    (1 << 12, "MS_BIND"),
    (1 << 13, "MS_MOVE"),
    (1 << 14, "MS_REC"),
    (1 << 15, "MS_SILENT"),
    (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"),
    (1 << 18, "MS_PRIVATE"),
    (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"),
    (1 << 21, "MS_RELATIME"),
    (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"),
    (1 << 24, "MS_STRICTATIME"),
    (1 << 25, "MS_LAZYTIME"),
    (1 << 26, "MS_SUBMOUNT"),
    (1 << 27, "MS_NOREMOTELOCK"),
    (1 << 28, "MS_NOSEC"),
    (1 << 29, "MS_BORN"),
    (1 << 30, "MS_ACTIVE"),
    (1 << 31, "MS_NOUSER"),
];

/// umount2(2) flags (include/linux/fs.h).
const UMOUNT_FLAGS: &[(u64, &str)] = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

const FSOPEN_FLAGS: &[(u64, &str)] = &[(1, "FSOPEN_CLOEXEC")];

const FSCONFIG_COMMANDS: &[&str] = &[
    "FSCONFIG_SET_FLAG",
    "FSCONFIG_SET_STRING",
    "FSCONFIG_SET_BINARY",
    "FSCONFIG_SET_PATH",
    "FSCONFIG_SET_PATH_EMPTY",
    "FSCONFIG_SET_FD",
    "FSCONFIG_CMD_CREATE",
    "FSCONFIG_CMD_RECONFIGURE",
    "FSCONFIG_CMD_CREATE_EXCL",
];

const FSMOUNT_FLAGS: &[(u64, &str)] = &[(1, "FSMOUNT_CLOEXEC")];

/// fsmount(2)'s attr_flags and mount_setattr(2)'s attr_set.
const MOUNT_ATTRS: &[(u64, &str)] = &[
    (0x1, "MOUNT_ATTR_RDONLY"),
    (0x2, "MOUNT_ATTR_NOSUID"),
    (0x4, "MOUNT_ATTR_NODEV"),
    (0x8, "MOUNT_ATTR_NOEXEC"),
    (0x10, "MOUNT_ATTR_NOATIME"),
    (0x20, "MOUNT_ATTR_STRICTATIME"),
    (0x80, "MOUNT_ATTR_NODIRATIME"),
    (0x10_0000, "MOUNT_ATTR_IDMAP"),
    (0x20_0000, "MOUNT_ATTR_NOSYMFOLLOW"),
];

const MOVE_MOUNT_FLAGS: &[(u64, &str)] = &[
    (0x1, "MOVE_MOUNT_F_SYMLINKS"),
    (0x2, "MOVE_MOUNT_F_AUTOMOUNTS"),
    (0x4, "MOVE_MOUNT_F_EMPTY_PATH"),
    (0x10, "MOVE_MOUNT_T_SYMLINKS"),
    (0x20, "MOVE_MOUNT_T_AUTOMOUNTS"),
    (0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
    (0x100, "MOVE_MOUNT_SET_GROUP"),
    (0x200, "MOVE_MOUNT_BENEATH"),
];

/// The AT_* flags of mount_setattr(2) and open_tree(2), and open_tree's own.
const AT_FLAGS: &[(u64, &str)] = &[
    (0x1, "OPEN_TREE_CLONE"),
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
    (0o2000000, "OPEN_TREE_CLOEXEC"),
];

const fn arg(field: &'static str, kind: ArgKind) -> Arg {
    Arg { field, kind }
}

/// By the object's `enum op`, as libbpf-tools mountsnoop writes them (its
/// umount shows umount2's own flag names, mount_setattr the attributes it
/// sets, and the last two calls are bpfkit's).
const CALLS: &[Call] = &[
    Call {
        name: "mount",
        args: &[
            arg("src", ArgKind::Str),
            arg("dest", ArgKind::Str),
            arg("fs", ArgKind::Str),
            arg("flags", ArgKind::Flags(MS_FLAGS)),
            arg("data", ArgKind::Str),
        ],
    },
    Call {
        name: "umount",
        args: &[
            arg("dest", ArgKind::Str),
            arg("flags", ArgKind::Flags(UMOUNT_FLAGS)),
        ],
    },
    Call {
        name: "fsopen",
        args: &[
            arg("fs", ArgKind::Str),
            arg("flags", ArgKind::Flags(FSOPEN_FLAGS)),
        ],
    },
    Call {
        name: "fsconfig",
        args: &[
            arg("fd", ArgKind::Int),
            arg("cmd", ArgKind::Names(FSCONFIG_COMMANDS)),
            arg("src", ArgKind::Str),
            arg("data", ArgKind::Str),
            arg("aux", ArgKind::Int),
        ],
    },
    Call {
        name: "fsmount",
        args: &[
            arg("fd", ArgKind::Int),
            arg("flags", ArgKind::QuotedFlags(FSMOUNT_FLAGS)),
            arg("flags2", ArgKind::QuotedFlags(MOUNT_ATTRS)),
        ],
    },
    Call {
        name: "move_mount",
        args: &[
            arg("fd", ArgKind::DirFd),
            arg("src", ArgKind::Str),
            arg("fd2", ArgKind::DirFd),
            arg("dest", ArgKind::Str),
            arg("flags", ArgKind::QuotedFlags(MOVE_MOUNT_FLAGS)),
        ],
    },
    Call {
        name: "mount_setattr",
        args: &[
            arg("fd", ArgKind::DirFd),
            arg("src", ArgKind::Str),
            arg("flags", ArgKind::Flags(AT_FLAGS)),
            arg("flags2", ArgKind::Flags(MOUNT_ATTRS)),
        ],
    },
    Call {
        name: "open_tree",
        args: &[
            arg("fd", ArgKind::DirFd),
            arg("src", ArgKind::Str),
            arg("flags", ArgKind::Flags(AT_FLAGS)),
        ],
    },
];

/// Entry and exit of each traced call.
const PROGRAMS: &[&str] = &[
    "mount_entry",
    "mount_exit",
    "umount_entry",
    "umount_exit",
    "fsopen_entry",
    "fsopen_exit",
    "fsconfig_entry",
    "fsconfig_exit",
    "fsmount_entry",
    "fsmount_exit",
    "move_mount_entry",
    "move_mount_exit",
    "mount_setattr_entry",
    "mount_setattr_exit",
    "open_tree_entry",
    "open_tree_exit",
];

/// The new mount API's programs: all after mount and umount.
const NEW_API_PROGRAMS: &[&str] = PROGRAMS.split_at(4).1;

pub(crate) const SPEC: ToolSpec = ToolSpec {
    name: "mountsnoop",
    summary: "Trace mount, umount, fsopen, fsconfig, fsmount, move_mount, mount_setattr and open_tree syscalls.",
    object: object!("mountsnoop"),
    // The new mount API came in 5.2 (mount_setattr in 5.12): kernels
    // without a call just do not trace it.
    variants: &[Variant::new("tracepoint", PROGRAMS).optional(NEW_API_PROGRAMS)],
    flags: &[
        Flag::switch(
            Some('d'),
            "detailed",
            "Output result in detail mode",
            &[Effect::Runtime(Runtime::Detailed)],
        ),
        PID_TARGET,
        timestamp('t', "Include timestamp on output", WALL_CLOCK),
    ],
    outputs: &[
        // Detail mode: every part on a line of its own.
        Output::Events {
            when: When::With("detailed"),
            columns: &[
                Column::new("COMM", "comm", 16),
                Column::new("PID", "pid", 7),
                Column::new("TID", "tid", 7),
                Column::new("MNT_NS", "mnt_ns", 11),
                Column::new("OP", "op", 6),
                Column::new("RET", "ret", 4).right().fmt(Format::Errno),
                // Time spent in the call, as libbpf-tools show it.
                Column::new("LAT(us)", "delta_ns", 0).fmt(Format::Scaled(1000, 0)),
                Column::new("FLAGS", "flags", 0).fmt(Format::Hex),
                Column::new("FS", "fs", 0),
                Column::new("SOURCE", "src", 0),
                Column::new("TARGET", "dest", 0),
                Column::new("DATA", "data", 0),
                Column::new("CALL", "ret", 0).fmt(Format::Call {
                    op: "op",
                    calls: CALLS,
                }),
            ],
            defaults: &[],
        },
        // libbpf-tools' line: the call as C, strace-like.
        Output::Events {
            when: When::Always,
            columns: &[
                Column::new("COMM", "comm", 16),
                Column::new("PID", "pid", 7),
                Column::new("TID", "tid", 7),
                Column::new("MNT_NS", "mnt_ns", 11),
                Column::new("CALL", "ret", 0).fmt(Format::Call {
                    op: "op",
                    calls: CALLS,
                }),
            ],
            defaults: &[],
        },
    ],
    examples: "\
    mountsnoop         # trace mount and umount syscalls
    mountsnoop -d      # detailed output (one line per column value)
    mountsnoop -p 1216 # only trace PID 1216",
};
