//! The repository's committed BPF objects (`examples/*.bpf.o`,
//! `crates/tools/bpf/*.bpf.o`, `crates/runtime/bpf/*.bpf.o`): rebuilt reproducibly by
//! `scripts/build-bpf.sh`, and checked against their sources by
//! `scripts/build-bpf.sh --check` in CI.
//!
//! Reproducible means: the pinned `include/vmlinux/vmlinux.h` instead of the
//! running kernel's, fixed `-mcpu=v3` and `__TARGET_ARCH_x86`, paths in BTF
//! relative to the source directory (`-fdebug-prefix-map`), no DWARF, and
//! the pinned clang version, and one fixed build directory: clang's BTF for
//! the harvested own types comes out in a different order when the checkout
//! path has a different length, so sources are staged under
//! [`STAGING_ROOT`] (the same absolute path on every machine) and built
//! there, one build at a time (a lock file).

use crate::{BuildError, BuildOptions, build, default_output};
use std::path::{Path, PathBuf};

/// The clang that produced the committed objects; another version gives
/// different (equally valid) bytes. `$BPFKIT_CLANG` overrides it.
pub const PINNED_CLANG: &str = "clang-16";

/// Directories with committed objects, relative to the repository root.
/// Missing ones are skipped.
pub const OBJECT_DIRS: &[&str] = &["examples", "crates/tools/bpf", "crates/runtime/bpf"];

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

/// Where committed objects are built, whatever the checkout's path.
pub const STAGING_ROOT: &str = "/tmp/bpfkit-reproducible-build";

/// What a committed object's build reads, relative to the root.
const STAGED_DIRS: &[&str] = &[
    "examples",
    "crates/tools/bpf",
    "crates/runtime/bpf",
    "include",
];

/// Builds every committed source from a copy of the tree at
/// [`STAGING_ROOT`]; returns (committed object, freshly built object) pairs.
/// The staging lock is held while `use_objects` runs.
fn build_staged<T>(
    root: &Path,
    use_objects: impl FnOnce(Vec<(PathBuf, PathBuf)>) -> Result<T, BuildError>,
) -> Result<T, BuildError> {
    let staging = Path::new(STAGING_ROOT);
    let _lock = StagingLock::acquire(staging)?;
    let tree = staging.join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    for dir in STAGED_DIRS {
        copy_dir(&root.join(dir), &tree.join(dir))?;
    }
    let mut pairs = Vec::new();
    for source in committed_sources(&tree) {
        let relative = source.strip_prefix(&tree).unwrap_or(&source);
        let committed = default_output(&root.join(relative));
        let fresh = default_output(&source);
        build_strictly(&reproducible_options(&tree, &source, fresh.clone()))?;
        pairs.push((committed, fresh));
    }
    use_objects(pairs)
}

/// Rebuilds every committed object in place; returns the objects written.
pub fn rebuild_committed(root: &Path) -> Result<Vec<PathBuf>, BuildError> {
    build_staged(root, |pairs| {
        let mut written = Vec::new();
        for (committed, fresh) in pairs {
            std::fs::copy(&fresh, &committed)
                .map_err(|e| BuildError::io(format!("writing {}", committed.display()), e))?;
            written.push(committed);
        }
        Ok(written)
    })
}

/// Rebuilds every committed object and returns the committed ones that
/// differ from (or are missing next to) their sources.
pub fn check_committed(root: &Path) -> Result<Vec<PathBuf>, BuildError> {
    build_staged(root, |pairs| {
        Ok(pairs
            .into_iter()
            .filter(|(committed, fresh)| std::fs::read(fresh).ok() != std::fs::read(committed).ok())
            .map(|(committed, _)| committed)
            .collect())
    })
}

/// Copies a directory tree (regular files only; skips missing sources).
fn copy_dir(from: &Path, to: &Path) -> Result<(), BuildError> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    std::fs::create_dir_all(to)
        .map_err(|e| BuildError::io(format!("creating {}", to.display()), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else if path.is_file() {
            std::fs::copy(&path, &target)
                .map_err(|e| BuildError::io(format!("copying {}", path.display()), e))?;
        }
    }
    Ok(())
}

/// An exclusive `flock` on `STAGING_ROOT/lock`, so that a test and the
/// script never build into the same staging tree at once.
/// The lock is released when the file closes.
struct StagingLock {
    _file: std::fs::File,
}

impl StagingLock {
    fn acquire(staging: &Path) -> Result<StagingLock, BuildError> {
        std::fs::create_dir_all(staging)
            .map_err(|e| BuildError::io(format!("creating {}", staging.display()), e))?;
        let path = staging.join("lock");
        let file = std::fs::File::create(&path)
            .map_err(|e| BuildError::io(format!("creating {}", path.display()), e))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) } != 0 {
            return Err(BuildError::io(
                format!("locking {}", path.display()),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(StagingLock { _file: file })
    }
}
