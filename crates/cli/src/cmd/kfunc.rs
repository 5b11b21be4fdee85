//! The running kernel as bpfkit-probe's kernel function probes see it:
//! which hooks it has (from bpfkit-runtime's feature probes) and its BTF.

use bpfkit_btf::view::BtfView;
use bpfkit_probe::kfunc::Kernel;
use bpfkit_runtime::features;
use std::sync::Arc;

struct RunningKernel {
    btf: Option<BtfView>,
    /// `--kprobes`: kprobes even where fentry works.
    no_fentry: bool,
}

impl Kernel for RunningKernel {
    fn fentry(&self) -> bool {
        !(self.no_fentry && self.kprobes()) && features::trampolines()
    }

    fn kprobes(&self) -> bool {
        features::kernel().kprobes
    }

    fn kprobe_multi(&self) -> bool {
        bpfkit_runtime::probe::kprobe_multi_links()
    }

    fn traceable(&self, function: &str) -> Option<bool> {
        features::kprobe_target_exists(function)
    }

    fn matching(&self, pattern: &str) -> Option<Vec<String>> {
        features::kprobe_functions_matching(pattern)
    }

    fn btf(&self) -> Option<&BtfView> {
        self.btf.as_ref()
    }
}

/// The running kernel (its BTF opened now, dropped with the result before
/// the generated program is loaded); with `prefer_kprobes`, kernel
/// functions take kprobes wherever the kernel has them.
pub fn running(prefer_kprobes: bool) -> Arc<dyn Kernel> {
    Arc::new(RunningKernel {
        btf: BtfView::vmlinux().ok(),
        no_fentry: prefer_kprobes,
    })
}

/// Whether a probe text names a kernel function (`p::FUNC`, `r::FUNC`,
/// bcc's bare `FUNC`), so that the kernel is only looked at when one does.
pub fn any_kernel_function<'a>(mut probes: impl Iterator<Item = &'a str>) -> bool {
    probes.any(|p| {
        let spec = p.trim_start().split([' ', '\t', '(']).next().unwrap_or("");
        spec.starts_with("p::") || spec.starts_with("r::") || !spec.contains(':')
    })
}

/// `Some(kernel)` when a probe names a kernel function or reads `$task`
/// (typed from the kernel's BTF in every kind of probe).
pub fn for_probes<'a>(
    probes: impl Iterator<Item = &'a str> + Clone,
    prefer_kprobes: bool,
) -> Option<Arc<dyn Kernel>> {
    let reads_task = probes.clone().any(|p| p.contains("$task"));
    (reads_task || any_kernel_function(probes)).then(|| running(prefer_kprobes))
}

/// The programs of funccount/stackcount `patterns`: tracepoints
/// (`t:CAT:NAME`) from tracefs and user functions (`LIB:FUNC`) through
/// uprobe.multi or uprobes, then kernel functions (`vfs_*`, `p::vfs_*`)
/// through kprobe.multi, kprobes or fentry as the kernel allows. `regex`
/// (`-r`) makes the tracepoint and user patterns regular expressions.
/// `verbose` (`-v`) prints how a pattern was read where that is not plain
/// (`u:c:str*` counts functions: libc has no USDT probes).
pub fn count_targets(
    patterns: &[String],
    tracefs: &std::path::Path,
    regex: bool,
    verbose: bool,
) -> anyhow::Result<Vec<bpfkit_probe::funccount::CountTarget>> {
    use bpfkit_probe::{funccount, kfunc};
    let (functions, others): (Vec<&String>, Vec<&String>) = patterns
        .iter()
        .partition(|p| kfunc::function_pattern(p).is_some());
    let mut targets = Vec::new();
    if !others.is_empty() {
        let others: Vec<String> = others.into_iter().cloned().collect();
        let how = funccount::Expand {
            multi: bpfkit_runtime::probe::has_uprobe_multi(),
            regex,
        };
        targets.extend(funccount::expand(&others, tracefs, how)?);
    }
    if !functions.is_empty() {
        let functions: Vec<&str> = functions.into_iter().map(String::as_str).collect();
        targets.extend(kfunc::programs(&functions, running(true).as_ref())?);
    }
    if verbose {
        for note in targets.iter().filter_map(|t| t.note.as_deref()) {
            eprintln!("bpfkit: note: {note}");
        }
    }
    Ok(targets)
}

/// bcc's `-I HEADER` (C headers for the probe's types): nothing is compiled
/// here, types come from BTF, so the headers are not needed; say so once.
pub fn note_ignored_includes(headers: &[String]) {
    if !headers.is_empty() {
        eprintln!(
            "bpfkit: note: -I {} ignored: types come from the kernel's BTF and the signature",
            headers.join(" -I ")
        );
    }
}
