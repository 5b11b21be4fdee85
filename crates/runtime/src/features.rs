//! What the running kernel can attach to. Probed once, from files in /sys and
//! /proc; nothing is loaded except for the trampoline probe, and that only
//! when a program needs it.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use bpfkit_btf::view::BtfView;

use crate::error::{Result, RuntimeError};

pub const TRACEFS: &str = "/sys/kernel/tracing";
pub const DEBUGFS: &str = "/sys/kernel/debug";
pub const BPFFS: &str = "/sys/fs/bpf";

/// The hooks this kernel provides.
#[derive(Debug, Clone)]
pub struct KernelFeatures {
    /// `uname -r`.
    pub release: String,
    /// (major, minor) of the release.
    pub version: (u32, u32),
    /// kprobes/kretprobes (a kprobe PMU or tracefs `kprobe_events`).
    pub kprobes: bool,
    /// uprobes/uretprobes.
    pub uprobes: bool,
    /// `tp/` programs (tracefs `events/` is there).
    pub tracepoints: bool,
    /// Kernel BTF, needed for `tp_btf/`, fentry and CO-RE.
    pub btf: bool,
    /// tcx links (6.6+); older kernels need a clsact qdisc.
    pub tcx: bool,
    /// BPF LSM (`bpf` in the active LSM list).
    pub bpf_lsm: bool,
}

/// The running kernel's features, probed on first use.
pub fn kernel() -> &'static KernelFeatures {
    static FEATURES: OnceLock<KernelFeatures> = OnceLock::new();
    FEATURES.get_or_init(probe)
}

/// Mounts what loading and attaching may need and is not there: tracefs
/// (debugfs where tracefs cannot be mounted, for old kernels that keep it
/// in debugfs/tracing) and the BPF filesystem. Failures are left for the
/// step that needs the filesystem to report.
pub fn ensure_mounts() {
    if ensure_tracefs().is_err() {
        let _ = ensure_debugfs();
    }
    let _ = ensure_bpffs();
}

fn probe() -> KernelFeatures {
    ensure_mounts();
    let release = uname_release();
    let version = parse_version(&release);
    let pmu = |name: &str| {
        Path::new("/sys/bus/event_source/devices")
            .join(name)
            .exists()
    };
    KernelFeatures {
        kprobes: pmu("kprobe") || Path::new(TRACEFS).join("kprobe_events").exists(),
        uprobes: pmu("uprobe") || Path::new(TRACEFS).join("uprobe_events").exists(),
        tracepoints: Path::new(TRACEFS).join("events").is_dir(),
        btf: Path::new(bpfkit_btf::VMLINUX_PATH).exists(),
        tcx: version >= (6, 6),
        bpf_lsm: active_lsms().iter().any(|m| m == "bpf"),
        release,
        version,
    }
}

/// Whether BPF trampolines work (fentry/fexit/fmod_ret). This loads a probe
/// program, so it runs only when an object has such a program.
pub fn trampolines() -> bool {
    static TRAMPOLINES: OnceLock<bool> = OnceLock::new();
    *TRAMPOLINES.get_or_init(|| {
        kernel().btf
            && aya::sys::is_program_supported(aya::programs::ProgramType::Tracing).unwrap_or(false)
    })
}

/// Whether the kernel has the raw tracepoint `name` (what `raw_tp/` and
/// `tp_btf/` attach to). Most raw tracepoints back a trace event of the same
/// name, so tracefs answers with a few `stat`s; the rest (bare tracepoints
/// such as `sched_update_nr_running_tp`) are found as the `btf_trace_NAME`
/// typedef in the kernel BTF.
pub fn raw_tracepoint_exists(name: &str) -> bool {
    trace_event_named(name) || btf_has_typedef(&format!("btf_trace_{name}"))
}

/// Whether some trace event category has an event called `name`. Syscall
/// events (`sys_enter_NAME`) and dynamic probes are events without a raw
/// tracepoint of their own, so those categories do not count.
fn trace_event_named(name: &str) -> bool {
    const NOT_RAW: [&str; 4] = ["syscalls", "ftrace", "kprobes", "uprobes"];
    let _ = ensure_tracefs();
    let Ok(categories) = std::fs::read_dir(Path::new(TRACEFS).join("events")) else {
        return false;
    };
    categories.flatten().any(|category| {
        let dir = category.file_name();
        !NOT_RAW.iter().any(|n| dir == *n) && category.path().join(name).is_dir()
    })
}

/// Whether the kernel BTF has a typedef called `wanted` (each raw
/// tracepoint has one: `btf_trace_NAME`).
fn btf_has_typedef(wanted: &str) -> bool {
    let mut found = false;
    with_kernel_btf(|kernel| {
        let _ = kernel.for_each_named(
            |kind| kind == bpfkit_btf::types::kind_no::TYPEDEF,
            |_, _, name| found |= name == wanted,
        );
    });
    found
}

/// The kernel BTF opened by a hook check, kept for loading to take, so that
/// a run opens it at most once.
static KERNEL_BTF: Mutex<Option<BtfView>> = Mutex::new(None);

fn kernel_btf_slot() -> std::sync::MutexGuard<'static, Option<BtfView>> {
    KERNEL_BTF
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` on the kernel BTF (opened now unless a hook check already did),
/// keeping it for [`take_kernel_btf`]; nothing runs when there is none.
fn with_kernel_btf(f: impl FnOnce(&BtfView)) {
    let mut slot = kernel_btf_slot();
    if slot.is_none() {
        *slot = BtfView::vmlinux().ok();
    }
    if let Some(kernel) = slot.as_ref() {
        f(kernel);
    }
}

/// The kernel BTF for loading: the one a hook check opened, or a fresh one.
/// The caller owns it (and drops it once loaded); nothing stays here.
pub(crate) fn take_kernel_btf() -> Option<BtfView> {
    kernel_btf_slot().take().or_else(|| BtfView::vmlinux().ok())
}

/// Whether `function` can take a kprobe: listed in tracefs
/// `available_filter_functions` (an inlined or notrace function is not,
/// though kallsyms may still name it). `None` when the list cannot be read
/// or is empty (no tracefs; no function tracer, where kprobes still work
/// through breakpoints): then only attaching can tell.
pub fn kprobe_target_exists(function: &str) -> Option<bool> {
    kprobe_functions().map(|functions| functions.contains(function))
}

/// The kernel functions that match `pattern` (`*`, `?`) and can take a
/// kprobe, sorted: what `kprobe.multi/PATTERN` attaches to. `None` when
/// tracefs `available_filter_functions` cannot be read.
pub fn kprobe_functions_matching(pattern: &str) -> Option<Vec<String>> {
    let mut found: Vec<String> = kprobe_functions()?
        .iter()
        .filter(|f| bpfkit_object::symbols::glob_match(f, pattern))
        .cloned()
        .collect();
    found.sort();
    Some(found)
}

fn kprobe_functions() -> Option<&'static std::collections::HashSet<String>> {
    static FUNCTIONS: OnceLock<Option<std::collections::HashSet<String>>> = OnceLock::new();
    FUNCTIONS
        .get_or_init(|| {
            let _ = ensure_tracefs();
            let text =
                std::fs::read_to_string(Path::new(TRACEFS).join("available_filter_functions"))
                    .ok()?;
            // Lines are `name` or `name [module]`.
            let functions: std::collections::HashSet<String> = text
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect();
            (!functions.is_empty()).then_some(functions)
        })
        .as_ref()
}

/// Whether the kernel BTF describes a function called `name` (what fentry,
/// fexit and LSM programs attach to); false without kernel BTF.
pub fn kernel_function_exists(name: &str) -> bool {
    let mut found = false;
    with_kernel_btf(|kernel| {
        let _ = kernel.for_each_named(
            |kind| kind == bpfkit_btf::types::kind_no::FUNC,
            |_, _, n| found |= n == name,
        );
    });
    found
}

/// The module that defines kernel function `name`, from /proc/kallsyms
/// (`ADDR t NAME\t[MODULE]`); `None` when no loaded module does (or
/// kallsyms cannot be read). fentry targets are looked up in vmlinux's BTF
/// only, so this tells a module's function from a missing one.
pub fn kernel_function_module(name: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    kallsyms_module(&text, name)
}

/// The module kallsyms text names for symbol `name`, if any.
fn kallsyms_module(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.split_whitespace().skip(2);
        if fields.next()? != name {
            return None;
        }
        let module = fields.next()?;
        Some(module.strip_prefix('[')?.strip_suffix(']')?.to_string())
    })
}

/// Whether tracefs has `events/CATEGORY/NAME`.
pub fn tracepoint_exists(category: &str, name: &str) -> bool {
    let _ = ensure_tracefs();
    Path::new(TRACEFS)
        .join("events")
        .join(category)
        .join(name)
        .is_dir()
}

/// The active LSMs, from securityfs (mounted first when it is not).
fn active_lsms() -> Vec<String> {
    const SECURITYFS: &str = "/sys/kernel/security";
    let _ = ensure_mounted(SECURITYFS, "securityfs", "lsm");
    std::fs::read_to_string(Path::new(SECURITYFS).join("lsm"))
        .map(|l| l.trim().split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

fn uname_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn parse_version(release: &str) -> (u32, u32) {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Mounts tracefs at /sys/kernel/tracing unless it is there.
pub fn ensure_tracefs() -> Result<PathBuf> {
    ensure_mounted(TRACEFS, "tracefs", "events")
}

/// Mounts debugfs at /sys/kernel/debug unless it is there.
pub fn ensure_debugfs() -> Result<PathBuf> {
    ensure_mounted(DEBUGFS, "debugfs", "")
}

/// Mounts the BPF filesystem at /sys/fs/bpf unless it is there.
pub fn ensure_bpffs() -> Result<PathBuf> {
    ensure_mounted(BPFFS, "bpf", "")
}

/// Mounts `fstype` on `dir` unless it already is. `marker` is a file that
/// only the mounted filesystem has (empty: compare device numbers with the
/// parent directory, which differ on a mount point).
fn ensure_mounted(dir: &str, fstype: &str, marker: &str) -> Result<PathBuf> {
    let path = PathBuf::from(dir);
    if is_mounted(&path, marker) {
        return Ok(path);
    }
    let c = |s: &str| CString::new(s).map_err(|_| RuntimeError::Usage(format!("bad path {s}")));
    let (source, target, kind) = (c("nodev")?, c(dir)?, c(fstype)?);
    // SAFETY: all pointers are valid NUL-terminated strings; data is null.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            kind.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(RuntimeError::io(format!("mounting {fstype} on {dir}"), err));
    }
    Ok(path)
}

fn is_mounted(path: &Path, marker: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    if !marker.is_empty() {
        return path.join(marker).exists();
    }
    let (Ok(here), Some(Ok(parent))) = (
        std::fs::metadata(path),
        path.parent().map(std::fs::metadata),
    ) else {
        return false;
    };
    here.dev() != parent.dev()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_function_is_told_from_a_vmlinux_one() {
        let kallsyms = "ffffffff81000000 T vfs_read\n\
                        ffffffffc0a01000 t ext4_file_read_iter\t[ext4]\n\
                        ffffffffc0a02000 t xfs_file_read_iter [xfs]\n";
        assert_eq!(
            kallsyms_module(kallsyms, "ext4_file_read_iter").as_deref(),
            Some("ext4")
        );
        assert_eq!(
            kallsyms_module(kallsyms, "xfs_file_read_iter").as_deref(),
            Some("xfs")
        );
        assert_eq!(kallsyms_module(kallsyms, "vfs_read"), None);
        assert_eq!(kallsyms_module(kallsyms, "btrfs_file_read_iter"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("6.18.44"), (6, 18));
        assert_eq!(parse_version("5.15.0-91-generic"), (5, 15));
        assert_eq!(parse_version(""), (0, 0));
    }

    #[test]
    fn bare_raw_tracepoints_are_found_in_the_kernel_btf() {
        if !Path::new(bpfkit_btf::VMLINUX_PATH).exists() {
            eprintln!("skipping: no kernel BTF");
            return;
        }
        assert!(btf_has_typedef("btf_trace_sched_switch"));
        assert!(!btf_has_typedef("btf_trace_no_such_tracepoint"));
    }
}
