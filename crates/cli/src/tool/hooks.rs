//! Which variant of a tool this kernel can run: every non-optional program's
//! hook must exist here (a kprobe target probeable, an fentry target a
//! kernel function), and, when the caller loads, the variant must load and
//! attach; otherwise the next variant is tried. Probing reads /sys, tracefs
//! and the kernel BTF; nothing is loaded except aya's one-off trampoline
//! probe, and only for fentry variants.

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

/// Where the user moved a tool's uprobes: another binary (`-O`), symbols
/// with a prefix (`-S je_`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Retarget<'a> {
    pub binary: Option<&'a str>,
    pub prefix: Option<&'a str>,
}

impl Retarget<'_> {
    pub fn is_some(&self) -> bool {
        self.binary.is_some() || self.prefix.is_some()
    }
}

/// The best candidate variant whose required hooks all exist; an error
/// listing why each candidate failed when none works.
pub fn choose(
    spec: &ToolSpec,
    object: &Object,
    given: &dyn Fn(&str) -> bool,
    retarget: Retarget,
) -> Result<Choice, String> {
    choose_loadable(
        &spec.candidate_variants(given),
        object,
        retarget,
        |_| Ok(()),
    )
}

/// The first of `candidates` (best first) whose required hooks exist and
/// that passes `load` (which loads and attaches it): a variant whose CO-RE
/// relocations do not resolve or whose target cannot be attached here is
/// passed over, with the error as the reason, for the next one.
pub fn choose_loadable(
    candidates: &[&'static Variant],
    object: &Object,
    retarget: Retarget,
    mut load: impl FnMut(&Choice) -> Result<(), String>,
) -> Result<Choice, String> {
    let mut passed_over = Vec::new();
    for &variant in candidates {
        let left_out = match check_variant(object, variant, retarget) {
            Ok(left_out) => left_out,
            Err(why) => {
                passed_over.push((variant.label, why));
                continue;
            }
        };
        let choice = Choice {
            variant,
            disabled: disabled_programs(object, variant, &left_out),
            passed_over: Vec::new(),
            left_out,
        };
        match load(&choice) {
            Ok(()) => {
                return Ok(Choice {
                    passed_over,
                    ..choice
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

/// Every program of the object except the variant's own that are kept.
fn disabled_programs(
    object: &Object,
    variant: &Variant,
    left_out: &[(&'static str, String)],
) -> HashSet<String> {
    let keep: HashSet<&str> = variant
        .programs
        .iter()
        .copied()
        .filter(|p| !left_out.iter().any(|(l, _)| l == p))
        .collect();
    object
        .programs
        .iter()
        .filter(|p| !keep.contains(p.name.as_str()))
        .map(|p| p.name.clone())
        .collect()
}

/// The optional programs whose hooks are missing, or why a required one
/// cannot run.
fn check_variant(
    object: &Object,
    variant: &Variant,
    retarget: Retarget,
) -> Result<Vec<(&'static str, String)>, String> {
    let mut left_out = Vec::new();
    for &name in variant.programs {
        let program = object
            .programs
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("program {name} is not in the object"))?;
        if let Err(why) = hook_available(&program.hook, retarget) {
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
pub fn hook_available(hook: &Hook, retarget: Retarget) -> Result<(), String> {
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
        Hook::Kprobe {
            function: Some(function),
            ..
        } if features::kprobe_target_exists(function) == Some(false) => Err(format!(
            "{function} cannot take a kprobe here (not in available_filter_functions: \
             absent, inlined or notrace)"
        )),
        Hook::Fentry { .. } if !features::trampolines() => {
            Err("fentry/fexit do not load here (no BPF trampolines)".into())
        }
        Hook::Fentry { function, .. } if !features::kernel_function_exists(function) => {
            Err(match features::kernel_function_module(function) {
                Some(module) => format!(
                    "{function} is in module {module}: fentry/fexit attach to vmlinux \
                     functions only"
                ),
                None => {
                    format!("{function} is not a function in the kernel BTF (absent or inlined)")
                }
            })
        }
        Hook::Lsm { .. } if !k.bpf_lsm => Err("BPF LSM is not active".into()),
        Hook::Lsm { hook } if !features::kernel_function_exists(&format!("bpf_lsm_{hook}")) => {
            Err(format!("no LSM hook {hook} in this kernel"))
        }
        Hook::Uprobe { .. } if !k.uprobes => Err("uprobes are not available".into()),
        Hook::Uprobe { target, .. } => {
            let binary = retarget
                .binary
                .or(target.as_ref().map(|t| t.binary.as_str()));
            let Some(binary) = binary else {
                return Ok(());
            };
            let path = bpfkit_runtime::resolve_binary(binary)
                .ok_or_else(|| format!("{binary} does not exist"))?;
            let symbol = target.as_ref().and_then(|t| t.symbol.as_deref());
            match (retarget.prefix, symbol) {
                (Some(prefix), Some(symbol)) => has_function(&path, &format!("{prefix}{symbol}")),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Whether the ELF file at `path` defines the function `name` (a prefixed
/// allocator symbol may well be missing, unlike the one in `SEC()`).
fn has_function(path: &std::path::Path, name: &str) -> Result<(), String> {
    let elf = bpfkit_btf::read_input_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match bpfkit_object::symbols::matching_functions(&elf, name) {
        Ok(found) if !found.is_empty() => Ok(()),
        Ok(_) => Err(format!("{} has no function {name}", path.display())),
        Err(why) => Err(format!("{}: {why}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit_runtime::{LoadOptions, Session};
    use bpfkit_testkit::{TempDir, build_bpf_object, privileged, repo_path};

    /// Best first, as a tool lists them; only `good` can run anywhere.
    static VARIANTS: [Variant; 3] = [
        Variant::new("missing_target", &["missing_target"]),
        Variant::new("missing_type", &["missing_type"]),
        Variant::new("good", &["good"]),
    ];

    #[test]
    fn variants_that_cannot_load_here_are_passed_over_with_the_reason() {
        const TEST: &str = "variants_that_cannot_load_here_are_passed_over_with_the_reason";
        if !privileged(TEST) {
            return;
        }
        let dir = TempDir::new("variants");
        let source = repo_path("crates/cli/tests/bpf/variants.bpf.c");
        let Some(path) = build_bpf_object(TEST, &source, dir.path()) else {
            return;
        };
        let elf = std::fs::read(&path).expect("reading the test object");
        let object = bpfkit_object::analyze(&elf).expect("analyzing the test object");
        let candidates: Vec<&'static Variant> = VARIANTS.iter().collect();

        // The hook checks alone pass missing_type: its tracepoint exists.
        let by_hooks =
            choose_loadable(&candidates, &object, Retarget::default(), |_| Ok(())).unwrap();
        assert_eq!(by_hooks.variant.label, "missing_type");

        let mut session = None;
        let choice = choose_loadable(&candidates, &object, Retarget::default(), |choice| {
            let opts = LoadOptions {
                disabled: choice.disabled.clone(),
                ..Default::default()
            };
            session = Some(Session::load(&object, &opts).map_err(|e| e.to_string())?);
            Ok(())
        })
        .unwrap();
        assert_eq!(choice.variant.label, "good");
        let reasons = &choice.passed_over;
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(reasons[0].0, "missing_target");
        assert!(
            reasons[0]
                .1
                .contains("no tracepoint syscalls:sys_enter_bpfkit_missing"),
            "{reasons:?}"
        );
        assert_eq!(reasons[1].0, "missing_type");
        assert!(!reasons[1].1.is_empty());
        let session = session.expect("the good variant is loaded");
        let attached: Vec<&str> = session
            .attachments()
            .iter()
            .map(|a| a.program.as_str())
            .collect();
        assert_eq!(attached, ["good"]);
    }
}
