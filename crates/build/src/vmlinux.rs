//! `vmlinux.h` for the running kernel, generated once per kernel BTF and
//! cached as `<cache>/vmlinux-<hash of the BTF bytes>/vmlinux.h` (a
//! directory per kernel because programs `#include "vmlinux.h"` by that
//! exact name, so the directory is what goes on clang's `-I`).

use crate::BuildError;
use crate::cache::{KeyHasher, cache_root, write_atomic};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Hash of the running kernel's BTF: names the cached header and is part of
/// object cache keys.
pub fn kernel_btf_hash() -> Result<String, BuildError> {
    let raw = crate::cache::read(Path::new(bpfkit_btf::VMLINUX_PATH)).map_err(|e| {
        BuildError::Vmlinux(format!(
            "{e} (the kernel needs CONFIG_DEBUG_INFO_BTF=y; or pass a pinned vmlinux.h)"
        ))
    })?;
    Ok(KeyHasher::default().add("vmlinux btf", &raw).finish())
}

/// The cached `vmlinux.h` of the running kernel, generating it if needed.
pub fn running_kernel_header() -> Result<PathBuf, BuildError> {
    let hash = kernel_btf_hash()?;
    let path = cache_root()?
        .join(format!("vmlinux-{hash}"))
        .join("vmlinux.h");
    if !path.is_file() {
        let text = generate_vmlinux_h(Path::new(bpfkit_btf::VMLINUX_PATH))?;
        write_atomic(&path, &text)?;
    }
    Ok(path)
}

/// C declarations of every type in the raw BTF file `btf_path`.
///
/// Uses bpftool until bpfkit-btf's own C dumper is available; this is the
/// one place to switch over.
pub fn generate_vmlinux_h(btf_path: &Path) -> Result<Vec<u8>, BuildError> {
    let output = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(btf_path)
        .args(["format", "c"])
        .output()
        .map_err(|e| {
            BuildError::Vmlinux(format!(
                "running bpftool: {e} (install bpftool, or pass a pinned vmlinux.h)"
            ))
        })?;
    if !output.status.success() {
        return Err(BuildError::Vmlinux(format!(
            "bpftool btf dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}
