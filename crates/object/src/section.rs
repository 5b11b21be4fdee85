//! libbpf `SEC()` names → what a program hooks into.
//!
//! aya 0.14 knows only some of libbpf's names and ignores what follows the
//! prefix, so bpfkit parses them itself and keeps the attach target.

use std::fmt;

/// What a program attaches to, as its `SEC()` name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `tp/CAT/NAME`, `tracepoint/CAT/NAME`.
    Tracepoint { category: String, name: String },
    /// `raw_tp/NAME`, `raw_tracepoint/NAME`.
    RawTracepoint { name: String },
    /// `tp_btf/NAME`.
    BtfTracepoint { name: String },
    /// `uprobe[/PATH:SYMBOL[+OFF]]`, `uretprobe[...]`; bare when the target
    /// is given at run time.
    Uprobe {
        ret: bool,
        target: Option<UprobeTarget>,
    },
    /// `usdt/BINARY:PROVIDER:NAME`; bare when the target is given at run
    /// time. Attached as a uprobe on every site of the probe.
    Usdt { target: Option<UsdtTarget> },
    /// `kprobe/FUNC`, `kretprobe/FUNC`.
    Kprobe { ret: bool, function: Option<String> },
    /// `ksyscall/NAME`, `kretsyscall/NAME`.
    Ksyscall { ret: bool, syscall: String },
    /// `fentry/FUNC`, `fexit/FUNC`.
    Fentry { exit: bool, function: String },
    /// `lsm/HOOK`.
    Lsm { hook: String },
    /// `perf_event`.
    PerfEvent,
    /// `xdp`.
    Xdp,
    /// `tc`, `classifier`, `tc/ingress`, `tcx/ingress`, `tcx/egress`.
    Tc { direction: TcDirection },
    /// `socket`.
    SocketFilter,
    /// `cgroup_skb/ingress`, `cgroup_skb/egress`, `cgroup/skb` (ingress):
    /// packets of the sockets in a cgroup.
    CgroupSkb { direction: TcDirection },
    /// `iter/TARGET` (`iter/task`, `iter/bpf_map`): a BPF iterator, which
    /// runs when read.
    Iter { target: String },
    /// `uprobe.multi/PATH:PATTERN`, `uretprobe.multi/...` (`.s`: sleepable):
    /// one link on every function of a binary whose name matches a glob;
    /// bare when the target is given at run time.
    UprobeMulti {
        ret: bool,
        sleepable: bool,
        target: Option<UprobeMultiTarget>,
    },
    /// `kprobe.multi/PATTERN`, `kretprobe.multi/PATTERN`.
    KprobeMulti { ret: bool, pattern: String },
    /// `sockops`: TCP events of the sockets in a cgroup.
    SockOps,
    /// `sk_msg`: messages sent on the sockets of a sockmap/sockhash.
    SkMsg,
    /// `sk_skb/stream_parser`, `sk_skb/stream_verdict`, `sk_skb/verdict`.
    SkSkb { kind: SkSkbKind },
    /// `cgroup/ATTACH` (`connect4`, `sock_create`, `sysctl`, `getsockopt`,
    /// ...): socket and sysctl hooks of a cgroup.
    Cgroup { attach: CgroupAttach },
    /// `syscall`: run once from user space with `BPF_PROG_RUN`.
    Syscall,
    /// `struct_ops/NAME` (`.s`: sleepable): an operation of a kernel
    /// struct_ops map (e.g. `tcp_congestion_ops`).
    StructOps { name: String },
    /// `fsession/FUNC`: one program on a kernel function's entry and exit.
    Fsession { function: String },
}

/// A uprobe.multi target: a binary and a glob over its function symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeMultiTarget {
    pub binary: String,
    /// `*` and `?` wildcards, as libbpf's `glob_match`.
    pub pattern: String,
}

impl UprobeMultiTarget {
    /// `BINARY:PATTERN` (the binary may itself hold a `:`).
    pub fn parse(target: &str) -> Result<UprobeMultiTarget, String> {
        match target.rsplit_once(':') {
            Some((binary, pattern)) if !binary.is_empty() && !pattern.is_empty() => {
                Ok(UprobeMultiTarget {
                    binary: binary.to_string(),
                    pattern: pattern.to_string(),
                })
            }
            _ => Err(format!("expected BINARY:PATTERN, got '{target}'")),
        }
    }
}

/// Which `sk_skb` hook of a sockmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkSkbKind {
    StreamParser,
    StreamVerdict,
    Verdict,
}

impl SkSkbKind {
    pub fn name(self) -> &'static str {
        match self {
            SkSkbKind::StreamParser => "stream_parser",
            SkSkbKind::StreamVerdict => "stream_verdict",
            SkSkbKind::Verdict => "verdict",
        }
    }
}

/// The `cgroup/*` attach points libbpf knows (besides `cgroup/skb`), by
/// their SEC() spelling.
pub const CGROUP_ATTACH_POINTS: &[&str] = &[
    "sock",
    "sock_create",
    "sock_release",
    "post_bind4",
    "post_bind6",
    "bind4",
    "bind6",
    "connect4",
    "connect6",
    "getpeername4",
    "getpeername6",
    "getsockname4",
    "getsockname6",
    "sendmsg4",
    "sendmsg6",
    "recvmsg4",
    "recvmsg6",
    "sysctl",
    "getsockopt",
    "setsockopt",
    "dev",
];

/// One of [`CGROUP_ATTACH_POINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupAttach(&'static str);

impl CgroupAttach {
    pub fn parse(name: &str) -> Option<CgroupAttach> {
        CGROUP_ATTACH_POINTS
            .iter()
            .find(|&&p| p == name)
            .map(|&p| CgroupAttach(p))
    }

    /// The SEC() spelling (`connect4`).
    pub fn name(self) -> &'static str {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeTarget {
    /// Path of the binary or library (absolute, or a name resolved at attach).
    pub binary: String,
    /// Function symbol; `None` with an offset means a raw address.
    pub symbol: Option<String>,
    pub offset: u64,
}

/// A USDT probe: `BINARY:PROVIDER:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtTarget {
    pub binary: String,
    pub provider: String,
    pub name: String,
}

impl UsdtTarget {
    /// `BINARY:PROVIDER:NAME`, as in libbpf's `SEC("usdt/...")`; the binary
    /// may itself hold a `:`.
    pub fn parse(target: &str) -> Result<UsdtTarget, String> {
        let mut parts = target.rsplitn(3, ':');
        let (name, provider, binary) = (parts.next(), parts.next(), parts.next());
        match (binary, provider, name) {
            (Some(b), Some(p), Some(n)) if !b.is_empty() && !p.is_empty() && !n.is_empty() => {
                Ok(UsdtTarget {
                    binary: b.to_string(),
                    provider: p.to_string(),
                    name: n.to_string(),
                })
            }
            _ => Err(format!("expected BINARY:PROVIDER:NAME, got '{target}'")),
        }
    }
}

impl fmt::Display for UsdtTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.binary, self.provider, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcDirection {
    #[default]
    Ingress,
    Egress,
}

impl fmt::Display for TcDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcDirection::Ingress => "ingress",
            TcDirection::Egress => "egress",
        })
    }
}

/// The SEC() kinds bpfkit knows, for the error about one it does not.
pub const SUPPORTED_SECTIONS: &str = "tp/, tracepoint/, raw_tp/, raw_tracepoint/, tp_btf/, \
     uprobe, uretprobe, uprobe.multi, uretprobe.multi, usdt, kprobe/, kretprobe/, \
     kprobe.multi/, kretprobe.multi/, ksyscall/, kretsyscall/, fentry/, fexit/, fsession/, \
     lsm/, perf_event, xdp, tc, tcx/, classifier, socket, cgroup_skb/, cgroup/, sockops, \
     sk_msg, sk_skb/, iter/, syscall, struct_ops/ (.s sleepable variants too)";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SectionError {
    #[error("section '{0}': no loader knows this SEC() name (supported: {SUPPORTED_SECTIONS})")]
    Unknown(String),
    #[error("section '{section}': {why}")]
    Malformed { section: String, why: String },
}

impl Hook {
    /// A short name of the hook kind, as users write it (`tracepoint`, `uprobe`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Hook::Tracepoint { .. } => "tracepoint",
            Hook::RawTracepoint { .. } => "raw_tracepoint",
            Hook::BtfTracepoint { .. } => "tp_btf",
            Hook::Uprobe { ret: false, .. } => "uprobe",
            Hook::Uprobe { ret: true, .. } => "uretprobe",
            Hook::Usdt { .. } => "usdt",
            Hook::Kprobe { ret: false, .. } => "kprobe",
            Hook::Kprobe { ret: true, .. } => "kretprobe",
            Hook::Ksyscall { ret: false, .. } => "ksyscall",
            Hook::Ksyscall { ret: true, .. } => "kretsyscall",
            Hook::Fentry { exit: false, .. } => "fentry",
            Hook::Fentry { exit: true, .. } => "fexit",
            Hook::Lsm { .. } => "lsm",
            Hook::PerfEvent => "perf_event",
            Hook::Xdp => "xdp",
            Hook::Tc { .. } => "tc",
            Hook::SocketFilter => "socket",
            Hook::CgroupSkb { .. } => "cgroup_skb",
            Hook::Iter { .. } => "iter",
            Hook::UprobeMulti { ret: false, .. } => "uprobe.multi",
            Hook::UprobeMulti { ret: true, .. } => "uretprobe.multi",
            Hook::KprobeMulti { ret: false, .. } => "kprobe.multi",
            Hook::KprobeMulti { ret: true, .. } => "kretprobe.multi",
            Hook::SockOps => "sockops",
            Hook::SkMsg => "sk_msg",
            Hook::SkSkb { .. } => "sk_skb",
            Hook::Cgroup { .. } => "cgroup",
            Hook::Syscall => "syscall",
            Hook::StructOps { .. } => "struct_ops",
            Hook::Fsession { .. } => "fsession",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind_name();
        match self {
            Hook::Tracepoint { category, name } => write!(f, "{kind}:{category}:{name}"),
            Hook::RawTracepoint { name } | Hook::BtfTracepoint { name } => {
                write!(f, "{kind}:{name}")
            }
            Hook::Uprobe {
                target: Some(t), ..
            } => {
                write!(f, "{kind}:{}", t.binary)?;
                if let Some(s) = &t.symbol {
                    write!(f, ":{s}")?;
                }
                if t.offset != 0 {
                    write!(f, "+{:#x}", t.offset)?;
                }
                Ok(())
            }
            Hook::Usdt { target: Some(t) } => write!(f, "{kind}:{t}"),
            Hook::Kprobe {
                function: Some(func),
                ..
            } => write!(f, "{kind}:{func}"),
            Hook::Ksyscall { syscall, .. } => write!(f, "{kind}:{syscall}"),
            Hook::Fentry { function, .. } => write!(f, "{kind}:{function}"),
            Hook::Lsm { hook } => write!(f, "{kind}:{hook}"),
            Hook::Iter { target } => write!(f, "{kind}:{target}"),
            Hook::UprobeMulti {
                target: Some(t), ..
            } => write!(f, "{kind}:{}:{}", t.binary, t.pattern),
            Hook::KprobeMulti { pattern, .. } => write!(f, "{kind}:{pattern}"),
            Hook::SkSkb { kind: k } => write!(f, "{kind}:{}", k.name()),
            Hook::Cgroup { attach } => write!(f, "{kind}:{}", attach.name()),
            Hook::StructOps { name } => write!(f, "{kind}:{name}"),
            Hook::Fsession { function } => write!(f, "{kind}:{function}"),
            Hook::Tc { direction } | Hook::CgroupSkb { direction } => {
                write!(f, "{kind}:{direction}")
            }
            _ => f.write_str(kind),
        }
    }
}

/// Parses a libbpf `SEC()` name.
pub fn parse_section(section: &str) -> Result<Hook, SectionError> {
    let (prefix, rest) = match section.split_once('/') {
        Some((p, r)) => (p, Some(r)),
        None => (section, None),
    };
    let malformed = |why: &str| SectionError::Malformed {
        section: section.to_string(),
        why: why.to_string(),
    };
    let required = |what: &str| -> Result<String, SectionError> {
        match rest {
            Some(r) if !r.is_empty() => Ok(r.to_string()),
            _ => Err(malformed(&format!("expected {prefix}/{what}"))),
        }
    };
    // Sleepable variants (".s") attach the same way.
    let base = prefix.strip_suffix(".s").unwrap_or(prefix);
    Ok(match base {
        "tp" | "tracepoint" => {
            let target = required("CATEGORY/NAME")?;
            let (category, name) = target
                .split_once('/')
                .filter(|(c, n)| !c.is_empty() && !n.is_empty() && !n.contains('/'))
                .ok_or_else(|| malformed(&format!("expected {prefix}/CATEGORY/NAME")))?;
            Hook::Tracepoint {
                category: category.to_string(),
                name: name.to_string(),
            }
        }
        "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => Hook::RawTracepoint {
            name: required("NAME")?,
        },
        "tp_btf" => Hook::BtfTracepoint {
            name: required("NAME")?,
        },
        "uprobe" | "uretprobe" => Hook::Uprobe {
            ret: base == "uretprobe",
            target: rest
                .filter(|r| !r.is_empty())
                .map(|r| parse_uprobe_target(r).map_err(|why| malformed(&why)))
                .transpose()?,
        },
        "usdt" => Hook::Usdt {
            target: rest
                .filter(|r| !r.is_empty())
                .map(|r| UsdtTarget::parse(r).map_err(|why| malformed(&why)))
                .transpose()?,
        },
        "kprobe" | "kretprobe" => Hook::Kprobe {
            ret: base == "kretprobe",
            function: rest.filter(|r| !r.is_empty()).map(str::to_string),
        },
        "ksyscall" | "kretsyscall" => Hook::Ksyscall {
            ret: base == "kretsyscall",
            syscall: required("SYSCALL")?,
        },
        "fentry" | "fexit" => Hook::Fentry {
            exit: base == "fexit",
            function: required("FUNCTION")?,
        },
        "lsm" => Hook::Lsm {
            hook: required("HOOK")?,
        },
        "perf_event" => Hook::PerfEvent,
        "xdp" | "xdp.frags" => Hook::Xdp,
        "tc" | "classifier" | "tcx" => Hook::Tc {
            direction: match rest {
                None | Some("") | Some("ingress") => TcDirection::Ingress,
                Some("egress") => TcDirection::Egress,
                // `classifier/NAME` is an old spelling that names the program.
                Some(_) if base == "classifier" => TcDirection::Ingress,
                Some(other) => {
                    return Err(malformed(&format!(
                        "unknown direction '{other}' (expected ingress or egress)"
                    )));
                }
            },
        },
        "socket" => Hook::SocketFilter,
        "cgroup_skb" => Hook::CgroupSkb {
            // libbpf also takes `cgroup_skb/ingress/NAME`.
            direction: match rest.map(|r| r.split('/').next().unwrap_or(r)) {
                Some("ingress") => TcDirection::Ingress,
                Some("egress") => TcDirection::Egress,
                _ => {
                    return Err(malformed(
                        "expected cgroup_skb/ingress or cgroup_skb/egress",
                    ));
                }
            },
        },
        "iter" => Hook::Iter {
            target: required("TARGET")?,
        },
        "cgroup" if rest == Some("skb") => Hook::CgroupSkb {
            direction: TcDirection::Ingress,
        },
        "cgroup" => {
            let name = rest.map(|r| r.split('/').next().unwrap_or(r));
            Hook::Cgroup {
                attach: name.and_then(CgroupAttach::parse).ok_or_else(|| {
                    malformed(&format!(
                        "expected cgroup/ATTACH, ATTACH one of skb, {}",
                        CGROUP_ATTACH_POINTS.join(", ")
                    ))
                })?,
            }
        }
        "uprobe.multi" | "uretprobe.multi" => Hook::UprobeMulti {
            ret: base == "uretprobe.multi",
            sleepable: prefix.ends_with(".s"),
            target: rest
                .filter(|r| !r.is_empty())
                .map(|r| UprobeMultiTarget::parse(r).map_err(|why| malformed(&why)))
                .transpose()?,
        },
        "kprobe.multi" | "kretprobe.multi" => Hook::KprobeMulti {
            ret: base == "kretprobe.multi",
            pattern: required("PATTERN")?,
        },
        "sockops" => Hook::SockOps,
        "sk_msg" => Hook::SkMsg,
        "sk_skb" => Hook::SkSkb {
            kind: match rest.map(|r| r.split('/').next().unwrap_or(r)) {
                Some("stream_parser") => SkSkbKind::StreamParser,
                Some("stream_verdict") => SkSkbKind::StreamVerdict,
                Some("verdict") => SkSkbKind::Verdict,
                _ => {
                    return Err(malformed(
                        "expected sk_skb/stream_parser, sk_skb/stream_verdict or sk_skb/verdict",
                    ));
                }
            },
        },
        "syscall" => Hook::Syscall,
        "struct_ops" => Hook::StructOps {
            name: rest.unwrap_or_default().to_string(),
        },
        "fsession" => Hook::Fsession {
            function: required("FUNCTION")?,
        },
        _ => return Err(SectionError::Unknown(section.to_string())),
    })
}

/// Parses a libbpf `SEC()` name whose kind is known even when its target is
/// not (`uprobe/do_handshake`, `tp/unused` for a tail-call target: the
/// loader program supplies those): the kind's hook without a target, and why
/// the target could not be read. Unknown kinds are still errors.
pub fn parse_section_kind(section: &str) -> Result<(Hook, Option<String>), SectionError> {
    match parse_section(section) {
        Ok(hook) => Ok((hook, None)),
        Err(SectionError::Malformed { why, .. }) => {
            let prefix = section.split('/').next().unwrap_or(section);
            let base = prefix.strip_suffix(".s").unwrap_or(prefix);
            let hook = untargeted(base).ok_or_else(|| SectionError::Malformed {
                section: section.to_string(),
                why: why.clone(),
            })?;
            Ok((hook, Some(why)))
        }
        Err(e) => Err(e),
    }
}

/// The hook of kind `base` with its target left empty.
fn untargeted(base: &str) -> Option<Hook> {
    let empty = String::new;
    Some(match base {
        "tp" | "tracepoint" => Hook::Tracepoint {
            category: empty(),
            name: empty(),
        },
        "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => {
            Hook::RawTracepoint { name: empty() }
        }
        "tp_btf" => Hook::BtfTracepoint { name: empty() },
        "uprobe" | "uretprobe" => Hook::Uprobe {
            ret: base == "uretprobe",
            target: None,
        },
        "ksyscall" | "kretsyscall" => Hook::Ksyscall {
            ret: base == "kretsyscall",
            syscall: empty(),
        },
        "fentry" | "fexit" => Hook::Fentry {
            exit: base == "fexit",
            function: empty(),
        },
        "lsm" => Hook::Lsm { hook: empty() },
        "iter" => Hook::Iter { target: empty() },
        "uprobe.multi" | "uretprobe.multi" => Hook::UprobeMulti {
            ret: base == "uretprobe.multi",
            sleepable: false,
            target: None,
        },
        "kprobe.multi" | "kretprobe.multi" => Hook::KprobeMulti {
            ret: base == "kretprobe.multi",
            pattern: empty(),
        },
        "fsession" => Hook::Fsession { function: empty() },
        _ => return None,
    })
}

/// `/PATH:SYMBOL[+OFF]`, `PATH:OFF` (libbpf writes `uprobe//bin/bash:readline`,
/// so the path keeps its leading slash after the prefix's).
pub fn parse_uprobe_target(target: &str) -> Result<UprobeTarget, String> {
    let (binary, func) = target
        .rsplit_once(':')
        .ok_or_else(|| format!("expected BINARY:SYMBOL, got '{target}'"))?;
    if binary.is_empty() || func.is_empty() {
        return Err(format!("expected BINARY:SYMBOL, got '{target}'"));
    }
    let (symbol, offset) = match func.split_once('+') {
        Some((sym, off)) => (Some(sym.to_string()), parse_offset(off)?),
        None => match parse_offset(func) {
            Ok(addr) if func.starts_with("0x") || func.chars().all(|c| c.is_ascii_digit()) => {
                (None, addr)
            }
            _ => (Some(func.to_string()), 0),
        },
    };
    Ok(UprobeTarget {
        binary: binary.to_string(),
        symbol: symbol.filter(|s| !s.is_empty()),
        offset,
    })
}

fn parse_offset(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("bad offset '{s}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_names() {
        assert_eq!(
            parse_section("tp/syscalls/sys_enter_openat").unwrap(),
            Hook::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_openat".into()
            }
        );
        assert_eq!(
            parse_section("uretprobe//bin/bash:readline").unwrap(),
            Hook::Uprobe {
                ret: true,
                target: Some(UprobeTarget {
                    binary: "/bin/bash".into(),
                    symbol: Some("readline".into()),
                    offset: 0
                })
            }
        );
        assert_eq!(
            parse_section("uprobe").unwrap(),
            Hook::Uprobe {
                ret: false,
                target: None
            }
        );
        assert_eq!(
            parse_section("tcx/egress").unwrap(),
            Hook::Tc {
                direction: TcDirection::Egress
            }
        );
        assert_eq!(
            parse_section("tc").unwrap(),
            Hook::Tc {
                direction: TcDirection::Ingress
            }
        );
        assert!(matches!(
            parse_section("ksyscall/kill").unwrap(),
            Hook::Ksyscall { .. }
        ));
        assert!(matches!(
            parse_section("fexit/do_unlinkat").unwrap(),
            Hook::Fentry { exit: true, .. }
        ));
        assert_eq!(parse_section("perf_event").unwrap(), Hook::PerfEvent);
        assert_eq!(
            parse_section("cgroup_skb/egress").unwrap(),
            Hook::CgroupSkb {
                direction: TcDirection::Egress
            }
        );
        assert!(parse_section("cgroup_skb/sideways").is_err());
        let t = parse_uprobe_target("/lib/libc.so.6:malloc+0x10").unwrap();
        assert_eq!((t.symbol.as_deref(), t.offset), (Some("malloc"), 16));
    }

    #[test]
    fn kinds_without_a_readable_target() {
        let (hook, why) = parse_section_kind("uprobe/do_handshake").unwrap();
        assert_eq!(
            hook,
            Hook::Uprobe {
                ret: false,
                target: None
            }
        );
        assert!(why.unwrap().contains("BINARY:SYMBOL"));
        let (hook, why) = parse_section_kind("tp/unused").unwrap();
        assert_eq!(hook.kind_name(), "tracepoint");
        assert!(why.unwrap().contains("CATEGORY/NAME"));
        assert_eq!(parse_section_kind("xdp").unwrap(), (Hook::Xdp, None));
        assert!(parse_section_kind("tcx/sideways").is_err());
        assert!(parse_section_kind("usdt/foo").is_err());
    }

    #[test]
    fn errors_name_the_section() {
        let e = parse_section("usdt/foo").unwrap_err().to_string();
        assert!(e.contains("usdt/foo"), "{e}");
        let e = parse_section("nosuch/foo").unwrap_err().to_string();
        assert!(e.contains("nosuch/foo"), "{e}");
        assert!(parse_section("tp/only_one_part").is_err());
        assert!(parse_section("tcx/sideways").is_err());
        assert!(parse_section("fentry").is_err());
    }

    #[test]
    fn multi_probe_socket_cgroup_and_run_once_names() {
        assert_eq!(
            parse_section("uprobe.multi//usr/lib/x86_64-linux-gnu/libc.so.6:str*").unwrap(),
            Hook::UprobeMulti {
                ret: false,
                sleepable: false,
                target: Some(UprobeMultiTarget {
                    binary: "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
                    pattern: "str*".into()
                })
            }
        );
        assert_eq!(
            parse_section("uretprobe.multi.s").unwrap(),
            Hook::UprobeMulti {
                ret: true,
                sleepable: true,
                target: None
            }
        );
        assert!(parse_section("uprobe.multi/libc").is_err());
        assert_eq!(
            parse_section("kretprobe.multi/tcp_*").unwrap(),
            Hook::KprobeMulti {
                ret: true,
                pattern: "tcp_*".into()
            }
        );
        assert_eq!(parse_section("sockops").unwrap(), Hook::SockOps);
        assert_eq!(parse_section("sk_msg").unwrap(), Hook::SkMsg);
        for (name, kind) in [
            ("sk_skb/stream_parser", SkSkbKind::StreamParser),
            ("sk_skb/stream_verdict", SkSkbKind::StreamVerdict),
            ("sk_skb/verdict", SkSkbKind::Verdict),
        ] {
            assert_eq!(parse_section(name).unwrap(), Hook::SkSkb { kind });
        }
        assert!(parse_section("sk_skb/sideways").is_err());
        for attach in [
            "connect4",
            "sock_create",
            "sysctl",
            "getsockopt",
            "sendmsg6",
        ] {
            let hook = parse_section(&format!("cgroup/{attach}")).unwrap();
            assert_eq!(hook.to_string(), format!("cgroup:{attach}"));
        }
        let e = parse_section("cgroup/teleport").unwrap_err().to_string();
        assert!(e.contains("connect4") && e.contains("sysctl"), "{e}");
        assert_eq!(parse_section("syscall").unwrap(), Hook::Syscall);
        assert_eq!(
            parse_section("struct_ops.s/init").unwrap(),
            Hook::StructOps {
                name: "init".into()
            }
        );
        assert!(parse_section("fsession").is_err());
        let e = parse_section("nosuch/thing").unwrap_err().to_string();
        assert!(
            e.contains("nosuch/thing") && e.contains("supported: ") && e.contains("uprobe.multi"),
            "{e}"
        );
    }

    #[test]
    fn usdt_names() {
        assert_eq!(
            parse_section("usdt/libc.so.6:libc:setjmp").unwrap(),
            Hook::Usdt {
                target: Some(UsdtTarget {
                    binary: "libc.so.6".into(),
                    provider: "libc".into(),
                    name: "setjmp".into()
                })
            }
        );
        assert_eq!(parse_section("usdt").unwrap(), Hook::Usdt { target: None });
        assert!(parse_section("usdt/bin:name").is_err());
    }
}
