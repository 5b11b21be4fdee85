//! `vmlinux.h` for the running kernel, generated once per kernel BTF and
//! cached as `<cache>/vmlinux-<hash of the BTF bytes>/vmlinux.h` (a
//! directory per kernel because programs `#include "vmlinux.h"` by that
//! exact name, so the directory is what goes on clang's `-I`).

use crate::BuildError;
use crate::cache::{KeyHasher, cache_root, write_atomic};
use std::path::{Path, PathBuf};

/// Names how headers are generated; part of the cache name so that a
/// change of generator does not reuse old headers.
const GENERATOR: &str = "bpfkit-btf dump_c 1";

/// Hash of the running kernel's BTF: names the cached header and is part of
/// object cache keys.
pub fn kernel_btf_hash() -> Result<String, BuildError> {
    let raw = crate::cache::read(Path::new(bpfkit_btf::VMLINUX_PATH)).map_err(|e| {
        BuildError::Vmlinux(format!(
            "{e} (the kernel needs CONFIG_DEBUG_INFO_BTF=y; or pass a pinned vmlinux.h)"
        ))
    })?;
    Ok(KeyHasher::default()
        .add("generator", GENERATOR.as_bytes())
        .add("vmlinux btf", &raw)
        .finish())
}

/// The cached `vmlinux.h` of the running kernel under `cache` (default:
/// bpfkit's cache root), generating it if needed.
pub fn running_kernel_header(cache: Option<&Path>) -> Result<PathBuf, BuildError> {
    let hash = kernel_btf_hash()?;
    let root = match cache {
        Some(dir) => dir.to_path_buf(),
        None => cache_root()?,
    };
    let path = root.join(format!("vmlinux-{hash}")).join("vmlinux.h");
    if !path.is_file() {
        let text = generate_vmlinux_h(Path::new(bpfkit_btf::VMLINUX_PATH))?;
        write_atomic(&path, &text)?;
    }
    Ok(path)
}

/// C declarations of every type in the raw BTF file `btf_path`, written
/// by bpfkit-btf's C dumper (the same header `bpftool btf dump ... format c`
/// writes, plus kfunc prototypes).
pub fn generate_vmlinux_h(btf_path: &Path) -> Result<Vec<u8>, BuildError> {
    let btf =
        bpfkit_btf::Btf::from_file(btf_path).map_err(|e| BuildError::Vmlinux(e.to_string()))?;
    let mut text = Vec::new();
    bpfkit_btf::c::dump_c(&btf, &bpfkit_btf::c::CDumpOptions::default(), &mut text)
        .map_err(|e| BuildError::Vmlinux(e.to_string()))?;
    Ok(text)
}
