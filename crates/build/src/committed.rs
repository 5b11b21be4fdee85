//! The repository's committed BPF objects (`examples/*.bpf.o`,
//! `crates/tools/bpf/*.bpf.o`): rebuilt reproducibly by
//! `scripts/build-bpf.sh`, and checked against their sources by
//! `scripts/build-bpf.sh --check` in CI.
//!
//! Reproducible means: the pinned `include/vmlinux/vmlinux.h` instead of the
//! running kernel's, fixed `-mcpu=v3` and `__TARGET_ARCH_x86`, paths in BTF
//! relative to the source directory (`-fdebug-prefix-map`), no DWARF, and
//! the pinned clang version.

use crate::{BuildError, BuildOptions, build, default_output};
use std::path::{Path, PathBuf};

/// The clang that produced the committed objects; another version gives
/// different (equally valid) bytes. `$BPFKIT_CLANG` overrides it.
pub const PINNED_CLANG: &str = "clang-16";

/// Directories with committed objects, relative to the repository root.
/// Missing ones are skipped.
pub const OBJECT_DIRS: &[&str] = &["examples", "crates/tools/bpf"];

/// The pinned header, relative to the repository root.
pub const PINNED_VMLINUX_H: &str = "include/vmlinux/vmlinux.h";

/// Every `*.bpf.c` with a committed object, sorted.
pub fn committed_sources(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in OBJECT_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.to_string_lossy().ends_with(".bpf.c") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The options that build `source` the reproducible way into `output`.
pub fn reproducible_options(root: &Path, source: &Path, output: PathBuf) -> BuildOptions {
    BuildOptions {
        source: source.to_path_buf(),
        output: Some(output),
        vmlinux_header: Some(root.join(PINNED_VMLINUX_H)),
        clang: std::env::var_os("BPFKIT_CLANG")
            .map(PathBuf::from)
            .or_else(|| Some(PINNED_CLANG.into())),
        cpu: Some("v3".into()),
        target_arch: Some("x86".into()),
        ..BuildOptions::default()
    }
}

/// Builds like [`build`], but a warning (a best-effort step such as keeping
/// own types that failed) is an error: a committed object must come out the
/// same on every run, not depend on whether that step happened to work.
fn build_strictly(opts: &BuildOptions) -> Result<(), BuildError> {
    let out = build(opts)?;
    if let Some(warning) = out.warnings.first() {
        return Err(BuildError::Object {
            path: out.object,
            message: format!("reproducible build had a warning: {warning}"),
        });
    }
    Ok(())
}

/// Rebuilds every committed object in place; returns the objects written.
pub fn rebuild_committed(root: &Path) -> Result<Vec<PathBuf>, BuildError> {
    committed_sources(root)
        .iter()
        .map(|source| {
            let object = default_output(source);
            build_strictly(&reproducible_options(root, source, object))?;
            Ok(default_output(source))
        })
        .collect()
}

/// Rebuilds every committed object into `scratch` and returns the committed
/// ones that differ from (or are missing next to) their sources.
pub fn check_committed(root: &Path, scratch: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let mut stale = Vec::new();
    for source in committed_sources(root) {
        let committed = default_output(&source);
        let fresh = scratch.join(committed.file_name().unwrap_or_default());
        build_strictly(&reproducible_options(root, &source, fresh.clone()))?;
        if std::fs::read(&fresh).ok() != std::fs::read(&committed).ok() {
            stale.push(committed);
        }
    }
    Ok(stale)
}
