//! Which variant of a tool this kernel can run: every non-optional program's
//! hook must exist here. Probing reads /sys and tracefs only; nothing is
//! loaded except aya's one-off trampoline probe, and only for fentry variants.

use bpfkit_object::{Hook, Object};
use bpfkit_runtime::features;
use bpfkit_tools::{ToolSpec, Variant};
use std::collections::HashSet;

/// The variant to load, and what that means for the other programs.
#[derive(Debug)]
pub struct Choice {
    pub variant: &'static Variant,
    /// Programs not to load: other variants' and missing optional ones.
    pub disabled: HashSet<String>,
    /// Better variants passed over, with the reason (for `-v`).
    pub passed_over: Vec<(&'static str, String)>,
    /// Optional programs left out, with the reason (for `-v`).
    pub left_out: Vec<(&'static str, String)>,
}

/// The best candidate variant whose required hooks all exist; an error
/// listing why each candidate failed when none works.
pub fn choose(
    spec: &ToolSpec,
    object: &Object,
    given: &dyn Fn(&str) -> bool,
    uprobe_binary: Option<&str>,
) -> Result<Choice, String> {
    let mut passed_over = Vec::new();
    for variant in spec.candidate_variants(given) {
        match check_variant(object, variant, uprobe_binary) {
            Ok(left_out) => {
                let keep: HashSet<&str> = variant
                    .programs
                    .iter()
                    .copied()
                    .filter(|p| !left_out.iter().any(|(l, _)| l == p))
                    .collect();
                let disabled = object
                    .programs
                    .iter()
                    .filter(|p| !keep.contains(p.name.as_str()))
                    .map(|p| p.name.clone())
                    .collect();
                return Ok(Choice {
                    variant,
                    disabled,
                    passed_over,
                    left_out,
                });
            }
            Err(why) => passed_over.push((variant.label, why)),
        }
    }
    let reasons: Vec<String> = passed_over
        .iter()
        .map(|(label, why)| format!("{label}: {why}"))
        .collect();
    Err(if reasons.is_empty() {
        "it has no variant to run".into()
    } else {
        reasons.join("; ")
    })
}

/// The optional programs whose hooks are missing, or why a required one
/// cannot run.
fn check_variant(
    object: &Object,
    variant: &Variant,
    uprobe_binary: Option<&str>,
) -> Result<Vec<(&'static str, String)>, String> {
    let mut left_out = Vec::new();
    for &name in variant.programs {
        let program = object
            .programs
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("program {name} is not in the object"))?;
        if let Err(why) = hook_available(&program.hook, uprobe_binary) {
            if variant.optional.contains(&name) {
                left_out.push((name, why));
            } else {
                return Err(format!("{name}: {why}"));
            }
        }
    }
    Ok(left_out)
}

/// Whether this kernel provides `hook`; the error says what is missing.
pub fn hook_available(hook: &Hook, uprobe_binary: Option<&str>) -> Result<(), String> {
    let k = features::kernel();
    match hook {
        Hook::Tracepoint { category, name } => {
            if features::tracepoint_exists(category, name) {
                Ok(())
            } else {
                Err(format!("no tracepoint {category}:{name}"))
            }
        }
        Hook::BtfTracepoint { name } if !k.btf => Err(format!(
            "tp_btf/{name} needs kernel BTF (/sys/kernel/btf/vmlinux)"
        )),
        Hook::BtfTracepoint { name } | Hook::RawTracepoint { name } => {
            if features::raw_tracepoint_exists(name) {
                Ok(())
            } else {
                Err(format!("no raw tracepoint {name} in this kernel"))
            }
        }
        Hook::Kprobe { .. } | Hook::Ksyscall { .. } if !k.kprobes => {
            Err("kprobes are not available (CONFIG_KPROBE_EVENTS)".into())
        }
        Hook::Fentry { .. } if !features::trampolines() => {
            Err("fentry/fexit do not load here (no BPF trampolines)".into())
        }
        Hook::Lsm { .. } if !k.bpf_lsm => Err("BPF LSM is not active".into()),
        Hook::Uprobe { .. } if !k.uprobes => Err("uprobes are not available".into()),
        Hook::Uprobe { target, .. } => {
            let binary = uprobe_binary.or(target.as_ref().map(|t| t.binary.as_str()));
            match binary {
                Some(b) if bpfkit_runtime::resolve_binary(b).is_none() => {
                    Err(format!("{b} does not exist"))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
