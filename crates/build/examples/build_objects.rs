//! Builds the committed BPF objects of the repository (`examples/*.bpf.c`,
//! `crates/tools/bpf/*.bpf.c`) reproducibly, or with `--check` verifies that
//! the committed ones are what the sources produce. Run through
//! `scripts/build-bpf.sh`.
//!
//! Reproducible means: the pinned `include/vmlinux/vmlinux.h` instead of the
//! running kernel's, fixed `-mcpu=v3` and `__TARGET_ARCH_x86`, paths in BTF
//! relative to the source directory, and the pinned clang version.

use bpfkit_build::{BuildOptions, build};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The clang that produced the committed objects; another version gives
/// different (equally valid) bytes. `$BPFKIT_CLANG` overrides it.
const PINNED_CLANG: &str = "clang-16";

/// Directories with committed objects, relative to the repository root.
/// Missing ones are skipped.
const OBJECT_DIRS: &[&str] = &["examples", "crates/tools/bpf"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources(root: &Path) -> Vec<PathBuf> {
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

fn options(root: &Path, source: &Path, output: PathBuf) -> BuildOptions {
    BuildOptions {
        source: source.to_path_buf(),
        output: Some(output),
        vmlinux_header: Some(root.join("include/vmlinux/vmlinux.h")),
        clang: std::env::var_os("BPFKIT_CLANG")
            .map(PathBuf::from)
            .or_else(|| Some(PINNED_CLANG.into())),
        cpu: Some("v3".into()),
        target_arch: Some("x86".into()),
        ..BuildOptions::default()
    }
}

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = match std::fs::canonicalize(repo_root()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("build_objects: repository root: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scratch = std::env::temp_dir().join(format!("bpfkit-objects-{}", std::process::id()));
    let mut stale = Vec::new();
    let mut failed = false;
    for source in sources(&root) {
        let committed = bpfkit_build::default_output(&source);
        let output = if check {
            scratch.join(committed.file_name().unwrap_or_default())
        } else {
            committed.clone()
        };
        let rel = source.strip_prefix(&root).unwrap_or(&source).display().to_string();
        match build(&options(&root, &source, output.clone())) {
            Ok(out) => {
                for w in &out.warnings {
                    eprintln!("{rel}: warning: {w}");
                }
                if check && std::fs::read(&output).ok() != std::fs::read(&committed).ok() {
                    stale.push(committed.strip_prefix(&root).unwrap_or(&committed).to_path_buf());
                } else if !check {
                    println!("built {}", committed.strip_prefix(&root).unwrap_or(&committed).display());
                }
            }
            Err(e) => {
                eprintln!("{rel}: {e}");
                failed = true;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !stale.is_empty() {
        eprintln!("committed objects differ from their sources (run scripts/build-bpf.sh):");
        for path in &stale {
            eprintln!("  {}", path.display());
        }
    }
    if failed || !stale.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
