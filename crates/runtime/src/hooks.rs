//! Which hook a program gets (its `SEC()` name, or `--attach PROG=TARGET`),
//! and whether this kernel can provide it.

use std::collections::BTreeMap;

use bpfkit_object::{Hook, TcDirection, section::parse_uprobe_target};

use crate::error::{Result, RuntimeError};
use crate::features;

/// Where a program attaches, after overrides.
#[derive(Debug, Clone)]
pub struct Target {
    pub hook: Hook,
    /// Interface for xdp/tc/socket programs.
    pub iface: Option<String>,
    /// Sampling frequency (Hz) for perf_event programs.
    pub sample_freq: u64,
    /// Cgroup v2 directory for cgroup programs (`None`: the root cgroup).
    pub cgroup: Option<String>,
    /// The sockmap/sockhash an sk_msg/sk_skb program attaches to (`None`:
    /// the object's only one).
    pub map: Option<String>,
}

/// The defaults that `--attach` overrides per program.
pub struct TargetDefaults<'a> {
    pub iface: Option<&'a str>,
    pub sample_freq: u64,
    pub cgroup: Option<&'a str>,
}

/// Applies `--attach PROG=TARGET` (when given) to a program's hook.
/// TARGET is what the `SEC()` name would have after its prefix:
/// `CAT/NAME` for tracepoints, `BINARY:SYMBOL` for uprobes,
/// `BINARY:PROVIDER:NAME` for usdt, a function for kprobes/fentry, an
/// interface for xdp/tc/socket, a frequency in Hz for perf_event.
pub fn resolve_target(
    program: &str,
    hook: &Hook,
    over: Option<&str>,
    defaults: &TargetDefaults,
) -> Result<Target> {
    let mut target = Target {
        hook: hook.clone(),
        iface: defaults.iface.map(str::to_string),
        sample_freq: defaults.sample_freq,
        cgroup: defaults.cgroup.map(str::to_string),
        map: None,
    };
    let Some(over) = over.map(str::trim) else {
        return Ok(target);
    };
    let bad = |why: String| RuntimeError::Usage(format!("--attach {program}={over}: {why}"));
    if over.is_empty() {
        return Err(bad("empty target".into()));
    }
    target.hook = match hook {
        Hook::Tracepoint { .. } => {
            let (category, name) = over
                .split_once(['/', ':'])
                .filter(|(c, n)| !c.is_empty() && !n.is_empty())
                .ok_or_else(|| bad("expected CATEGORY/NAME".into()))?;
            Hook::Tracepoint {
                category: category.into(),
                name: name.into(),
            }
        }
        Hook::RawTracepoint { .. } => Hook::RawTracepoint { name: over.into() },
        Hook::BtfTracepoint { .. } => Hook::BtfTracepoint { name: over.into() },
        Hook::Uprobe { ret, .. } => Hook::Uprobe {
            ret: *ret,
            target: Some(parse_uprobe_target(over).map_err(bad)?),
        },
        Hook::Usdt { .. } => Hook::Usdt {
            target: Some(bpfkit_object::UsdtTarget::parse(over).map_err(bad)?),
        },
        Hook::Kprobe { ret, .. } => Hook::Kprobe {
            ret: *ret,
            function: Some(over.into()),
        },
        Hook::Ksyscall { ret, .. } => Hook::Ksyscall {
            ret: *ret,
            syscall: over.into(),
        },
        Hook::Fentry { exit, .. } => Hook::Fentry {
            exit: *exit,
            function: over.into(),
        },
        Hook::Lsm { .. } => Hook::Lsm { hook: over.into() },
        Hook::Iter { .. } => Hook::Iter {
            target: over.into(),
        },
        Hook::PerfEvent => {
            let hz = over.trim_end_matches("hz").trim_end_matches("Hz");
            target.sample_freq = hz
                .parse()
                .ok()
                .filter(|&f: &u64| f > 0)
                .ok_or_else(|| bad("expected a sampling frequency in Hz".into()))?;
            Hook::PerfEvent
        }
        Hook::Xdp | Hook::Tc { .. } | Hook::SocketFilter => {
            target.iface = Some(over.into());
            hook.clone()
        }
        Hook::CgroupSkb { .. } | Hook::SockOps | Hook::Cgroup { .. } => {
            target.cgroup = Some(over.into());
            hook.clone()
        }
        Hook::SkMsg | Hook::SkSkb { .. } => {
            target.map = Some(over.into());
            hook.clone()
        }
        Hook::UprobeMulti { ret, sleepable, .. } => Hook::UprobeMulti {
            ret: *ret,
            sleepable: *sleepable,
            target: Some(bpfkit_object::UprobeMultiTarget::parse(over).map_err(bad)?),
        },
        Hook::KprobeMulti { ret, .. } => Hook::KprobeMulti {
            ret: *ret,
            pattern: over.into(),
        },
        Hook::StructOps { .. } => Hook::StructOps { name: over.into() },
        Hook::Fsession { .. } => Hook::Fsession {
            function: over.into(),
        },
        Hook::Syscall => {
            return Err(bad(
                "syscall programs attach to nothing; they run once (--ctx HEX gives their context)"
                    .into(),
            ));
        }
    };
    Ok(target)
}

/// An error when this kernel cannot provide `hook`.
pub fn check_supported(program: &str, section: &str, hook: &Hook) -> Result<()> {
    let k = features::kernel();
    let missing = |feature: &str, hint: Option<String>| {
        Err(RuntimeError::MissingFeature {
            program: program.into(),
            section: section.into(),
            feature: feature.into(),
            hint,
        })
    };
    let not_yet = |why: &str| {
        Err(RuntimeError::Attach {
            program: program.into(),
            hook: section.into(),
            message: why.into(),
        })
    };
    match hook {
        Hook::Kprobe { ret, function } if !k.kprobes => {
            let hint = function
                .as_deref()
                .and_then(syscall_of_kernel_function)
                .and_then(|sys| syscall_tracepoint_hint(sys, *ret));
            missing(KPROBE_FEATURE, hint.or_else(|| Some(NO_KPROBE_HINT.into())))
        }
        Hook::Ksyscall { ret, syscall } if !k.kprobes => missing(
            KPROBE_FEATURE,
            syscall_tracepoint_hint(syscall, *ret).or_else(|| Some(NO_KPROBE_HINT.into())),
        ),
        Hook::Fentry { exit, function } if !features::trampolines() => {
            let hint = syscall_of_kernel_function(function)
                .and_then(|sys| syscall_tracepoint_hint(sys, *exit));
            missing(
                "BPF trampolines (fentry/fexit programs do not load here)",
                hint.or_else(|| Some("use a tracepoint or raw_tp/tp_btf instead".into())),
            )
        }
        Hook::Lsm { .. } if !k.bpf_lsm => missing(
            "BPF LSM (\"bpf\" is not in /sys/kernel/security/lsm)",
            Some("boot with lsm=...,bpf and CONFIG_BPF_LSM=y".into()),
        ),
        // LSM programs attach through trampolines, like fentry.
        Hook::Lsm { .. } if !features::trampolines() => missing(
            "BPF trampolines, which lsm programs attach through",
            Some("use a tracepoint instead (ls /sys/kernel/tracing/events)".into()),
        ),
        Hook::BtfTracepoint { .. } if !k.btf => missing(
            "kernel BTF (/sys/kernel/btf/vmlinux), which tp_btf programs need",
            Some("use SEC(\"raw_tp/NAME\") instead".into()),
        ),
        Hook::KprobeMulti { .. } if !k.kprobes => missing(
            "kprobe.multi links (they need kprobes/fprobe: CONFIG_KPROBE_EVENTS, CONFIG_FPROBE)",
            Some(NO_KPROBE_HINT.into()),
        ),
        Hook::KprobeMulti { .. } if k.version < (5, 18) => missing(
            "kprobe.multi links (Linux 5.18+)",
            Some("use kprobe/FUNCTION programs, one per function".into()),
        ),
        Hook::UprobeMulti { .. } if k.version < (6, 6) => missing(
            "uprobe.multi links (Linux 6.6+)",
            Some("use uprobe/BINARY:SYMBOL programs, one per function".into()),
        ),
        Hook::StructOps { .. } if !features::trampolines() => missing(
            "BPF trampolines, which struct_ops programs are called through",
            None,
        ),
        Hook::StructOps { .. } => not_yet(
            "bpfkit does not register struct_ops maps yet (bpftool struct_ops register OBJ does)",
        ),
        Hook::Fsession { .. } if !features::trampolines() => missing(
            "BPF trampolines, which fsession programs attach through",
            Some("use a tracepoint instead (ls /sys/kernel/tracing/events)".into()),
        ),
        Hook::Fsession { .. } => not_yet(
            "bpfkit does not create fsession (BPF_TRACE_FSESSION) links yet; \
             use an fentry/fexit pair",
        ),
        Hook::Uprobe { .. } | Hook::UprobeMulti { .. } | Hook::Usdt { .. } if !k.uprobes => {
            missing("uprobe support (CONFIG_UPROBE_EVENTS)", None)
        }
        Hook::Tracepoint { .. } if !k.tracepoints => match crate::caps::tracefs_denied() {
            Some(why) => Err(RuntimeError::Attach {
                program: program.into(),
                hook: section.into(),
                message: why,
            }),
            None => missing("tracepoints (no tracefs events directory)", None),
        },
        _ => Ok(()),
    }
}

/// The kernel event of a hook that has twins of other kinds: libbpf tools
/// ship `tp_btf/X` next to `raw_tp/X` (or `tp/CAT/X`), and `fentry/F` next
/// to `kprobe/F`, and let user space load one of them. Attaching all of
/// them counts every event twice.
fn twin_event(hook: &Hook) -> Option<(&'static str, &str)> {
    match hook {
        Hook::BtfTracepoint { name }
        | Hook::RawTracepoint { name }
        | Hook::Tracepoint { name, .. } => Some(("tracepoint", name)),
        Hook::Fentry { exit, function } => Some((if *exit { "exit" } else { "entry" }, function)),
        Hook::Kprobe {
            ret,
            function: Some(function),
        } => Some((if *ret { "exit" } else { "entry" }, function)),
        _ => None,
    }
}

/// The order in which twins are preferred (lower first): typed arguments
/// and cheaper hooks first, as libbpf tools choose.
fn twin_rank(hook: &Hook) -> u8 {
    match hook {
        Hook::BtfTracepoint { .. } | Hook::Fentry { .. } => 0,
        Hook::RawTracepoint { .. } | Hook::Kprobe { .. } => 1,
        _ => 2,
    }
}

/// Whether this kernel has what `hook` needs and the thing it names (as far
/// as can be told without loading).
pub fn usable_here(hook: &Hook) -> bool {
    check_supported("", "", hook).is_ok() && missing_target(hook).is_none()
}

/// Why the kernel function or tracepoint `hook` names is not here, when it
/// is not (kernel versions rename and inline functions, and add and drop
/// tracepoints). A fentry target must be in kernel BTF and, like a kprobe
/// target, in `available_filter_functions`: a function BTF describes but
/// ftrace cannot patch (inlined, notrace) fails to attach with EBUSY.
pub fn missing_target(hook: &Hook) -> Option<String> {
    let untraceable = |function: &str| {
        (features::kprobe_target_exists(function) == Some(false)).then(|| {
            format!(
                "{function} cannot be traced here (not in available_filter_functions: \
                 absent, inlined or notrace)"
            )
        })
    };
    match hook {
        Hook::BtfTracepoint { name } | Hook::RawTracepoint { name } => {
            (!features::raw_tracepoint_exists(name))
                .then(|| format!("no raw tracepoint {name} in this kernel"))
        }
        Hook::Tracepoint { category, name } => (!features::tracepoint_exists(category, name))
            .then(|| format!("no tracepoint {category}:{name} in this kernel")),
        Hook::Fentry { function, .. } if !features::kernel_function_exists(function) => {
            Some(format!("no kernel function {function} in kernel BTF"))
        }
        Hook::Fentry { function, .. } => untraceable(function),
        Hook::Kprobe {
            function: Some(function),
            ..
        } => untraceable(function),
        _ => None,
    }
}

/// Whether the program at `index` of `programs` has a twin of another hook
/// kind to fall back to when it fails to load or attach here.
pub fn has_twin_of_other_kind(programs: &[(&str, &Hook)], index: usize) -> bool {
    let hook = programs[index].1;
    let Some(event) = twin_event(hook) else {
        return false;
    };
    programs
        .iter()
        .any(|(_, other)| twin_event(other) == Some(event) && twin_rank(other) != twin_rank(hook))
}

/// Of `programs` (name and hook, in object order), the twins not to attach
/// (by index), each with the reason: of the hook kinds a kernel event has
/// programs for, the best kind whose programs are all `usable` (by name and
/// hook) is kept (the best kind when none is, so that its error is the one
/// reported).
pub fn losing_twins(
    programs: &[(&str, &Hook)],
    usable: &dyn Fn(&str, &Hook) -> bool,
) -> BTreeMap<usize, String> {
    let mut by_event: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, (_, hook)) in programs.iter().enumerate() {
        if let Some(event) = twin_event(hook) {
            by_event.entry(event).or_default().push(i);
        }
    }
    let mut losers = BTreeMap::new();
    for members in by_event.values() {
        let mut ranks: Vec<u8> = members.iter().map(|&i| twin_rank(programs[i].1)).collect();
        ranks.sort_unstable();
        ranks.dedup();
        if ranks.len() < 2 {
            continue;
        }
        let of_rank = |rank: u8| {
            members
                .iter()
                .filter(move |&&i| twin_rank(programs[i].1) == rank)
        };
        let chosen = ranks
            .iter()
            .copied()
            .find(|&rank| {
                of_rank(rank).all(|&i| {
                    let (name, hook) = programs[i];
                    usable(name, hook)
                })
            })
            .unwrap_or(ranks[0]);
        let Some(&winner) = of_rank(chosen).next() else {
            continue;
        };
        let (winner_name, winner_hook) = programs[winner];
        for &i in members
            .iter()
            .filter(|&&i| twin_rank(programs[i].1) != chosen)
        {
            let hook = programs[i].1;
            let mut reason =
                format!("twin of {winner_name} ({winner_hook}), which is attached instead");
            if twin_rank(hook) < chosen {
                reason.push_str(&format!(": {hook} does not work on this kernel"));
            }
            losers.insert(i, reason);
        }
    }
    losers
}

const KPROBE_FEATURE: &str = "kprobe support (CONFIG_KPROBE_EVENTS is not set)";
const NO_KPROBE_HINT: &str =
    "look for a tracepoint covering the same code: ls /sys/kernel/tracing/events";

/// `kill` for the kernel's syscall entry functions (`__x64_sys_kill`,
/// `__se_sys_kill`, `__do_sys_kill`, `sys_kill`).
fn syscall_of_kernel_function(function: &str) -> Option<&str> {
    [
        "__x64_sys_",
        "__ia32_sys_",
        "__arm64_sys_",
        "__se_sys_",
        "__do_sys_",
        "sys_",
    ]
    .iter()
    .find_map(|p| function.strip_prefix(p))
    .filter(|s| !s.is_empty())
}

/// `use SEC("tp/syscalls/sys_enter_kill") instead`, when that tracepoint exists.
fn syscall_tracepoint_hint(syscall: &str, exit: bool) -> Option<String> {
    let name = format!("sys_{}_{syscall}", if exit { "exit" } else { "enter" });
    features::tracepoint_exists("syscalls", &name)
        .then(|| format!("use SEC(\"tp/syscalls/{name}\") instead"))
}

/// A short description of where a program got attached.
pub fn describe(target: &Target) -> String {
    match &target.hook {
        Hook::Tracepoint { category, name } => format!("tracepoint {category}:{name}"),
        Hook::RawTracepoint { name } => format!("raw_tracepoint {name}"),
        Hook::BtfTracepoint { name } => format!("tp_btf {name}"),
        Hook::Tc { direction } => format!(
            "tc {} on {}",
            match direction {
                TcDirection::Ingress => "ingress",
                TcDirection::Egress => "egress",
            },
            target.iface.as_deref().unwrap_or("?")
        ),
        Hook::Xdp => format!("xdp on {}", target.iface.as_deref().unwrap_or("?")),
        Hook::CgroupSkb { direction } => format!(
            "cgroup_skb {direction} on {}",
            target.cgroup.as_deref().unwrap_or("the root cgroup")
        ),
        Hook::SockOps | Hook::Cgroup { .. } => format!(
            "{} on {}",
            target.hook,
            target.cgroup.as_deref().unwrap_or("the root cgroup")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> TargetDefaults<'static> {
        TargetDefaults {
            iface: Some("lo"),
            sample_freq: 49,
            cgroup: None,
        }
    }

    #[test]
    fn overrides() {
        let tp = Hook::Tracepoint {
            category: "a".into(),
            name: "b".into(),
        };
        let t = resolve_target("p", &tp, Some("sched:sched_switch"), &defaults()).unwrap();
        assert_eq!(describe(&t), "tracepoint sched:sched_switch");
        let t = resolve_target("p", &Hook::PerfEvent, Some("99"), &defaults()).unwrap();
        assert_eq!(t.sample_freq, 99);
        let t = resolve_target("p", &Hook::Xdp, None, &defaults()).unwrap();
        assert_eq!(t.iface.as_deref(), Some("lo"));
        let up = Hook::Uprobe {
            ret: true,
            target: None,
        };
        let t = resolve_target("p", &up, Some("libc:getpid"), &defaults()).unwrap();
        assert_eq!(t.hook.to_string(), "uretprobe:libc:getpid");
        let usdt = Hook::Usdt { target: None };
        let t = resolve_target("p", &usdt, Some("/bin/x:prov:name"), &defaults()).unwrap();
        assert_eq!(t.hook.to_string(), "usdt:/bin/x:prov:name");
        assert!(resolve_target("p", &usdt, Some("x:name"), &defaults()).is_err());
        let e = resolve_target("p", &tp, Some("nocolon"), &defaults()).unwrap_err();
        assert!(e.to_string().contains("--attach p=nocolon"), "{e}");
    }

    #[test]
    fn overrides_of_the_new_kinds() {
        let multi = Hook::UprobeMulti {
            ret: false,
            sleepable: false,
            target: None,
        };
        let t = resolve_target("p", &multi, Some("libc:str*"), &defaults()).unwrap();
        assert_eq!(t.hook.to_string(), "uprobe.multi:libc:str*");
        assert!(resolve_target("p", &multi, Some("libc"), &defaults()).is_err());
        let sk = Hook::SkMsg;
        let t = resolve_target("p", &sk, Some("sock_map"), &defaults()).unwrap();
        assert_eq!(t.map.as_deref(), Some("sock_map"));
        let t = resolve_target("p", &Hook::SockOps, Some("/sys/fs/cgroup/x"), &defaults()).unwrap();
        assert_eq!(describe(&t), "sockops on /sys/fs/cgroup/x");
        let e = resolve_target("p", &Hook::Syscall, Some("x"), &defaults()).unwrap_err();
        assert!(e.to_string().contains("run once"), "{e}");
    }

    fn tp_btf(name: &str) -> Hook {
        Hook::BtfTracepoint { name: name.into() }
    }

    fn raw_tp(name: &str) -> Hook {
        Hook::RawTracepoint { name: name.into() }
    }

    fn kprobe(function: &str, ret: bool) -> Hook {
        Hook::Kprobe {
            ret,
            function: Some(function.into()),
        }
    }

    fn fentry(function: &str, exit: bool) -> Hook {
        Hook::Fentry {
            exit,
            function: function.into(),
        }
    }

    #[test]
    fn twins_keep_the_best_kind_that_works() {
        let tp = Hook::Tracepoint {
            category: "sched".into(),
            name: "sched_switch".into(),
        };
        let hooks = [
            tp_btf("sched_switch"),
            raw_tp("sched_switch"),
            tp,
            raw_tp("sched_wakeup"),
            fentry("vfs_read", false),
            kprobe("vfs_read", false),
            fentry("vfs_read", true),
            kprobe("vfs_read", true),
            kprobe("vfs_write", false),
        ];
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        let programs: Vec<(&str, &Hook)> = names.iter().copied().zip(hooks.iter()).collect();
        let all = losing_twins(&programs, &|_, _| true);
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), [1, 2, 5, 7]);
        assert!(
            all[&1].contains("twin of a (tp_btf:sched_switch)"),
            "{}",
            all[&1]
        );
        // No trampolines: kprobes win, and the note says why fentry lost.
        let no_fentry = losing_twins(&programs, &|_, h| !matches!(h, Hook::Fentry { .. }));
        assert_eq!(no_fentry.keys().copied().collect::<Vec<_>>(), [1, 2, 4, 6]);
        assert!(
            no_fentry[&4].contains("fentry:vfs_read does not work"),
            "{}",
            no_fentry[&4]
        );
        // Nothing works: the best kind stays, to report its own error.
        let none = losing_twins(&programs, &|_, _| false);
        // A program that failed to attach here ("e", fentry:vfs_read) loses
        // to its kprobe twin; the exit pair keeps fentry.
        let e_failed = losing_twins(&programs, &|name, _| name != "e");
        assert_eq!(e_failed.keys().copied().collect::<Vec<_>>(), [1, 2, 4, 7]);
        assert!(has_twin_of_other_kind(&programs, 4));
        assert!(!has_twin_of_other_kind(&programs, 3));
        assert!(!has_twin_of_other_kind(&programs, 8));
        assert_eq!(none.keys().copied().collect::<Vec<_>>(), [1, 2, 5, 7]);
    }

    #[test]
    fn syscall_names() {
        assert_eq!(syscall_of_kernel_function("__x64_sys_kill"), Some("kill"));
        assert_eq!(syscall_of_kernel_function("do_unlinkat"), None);
    }
}
