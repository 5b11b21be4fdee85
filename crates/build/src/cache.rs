//! The on-disk cache (`$XDG_CACHE_HOME/bpfkit` or `~/.cache/bpfkit`),
//! content hashing, and writing files atomically so that two bpfkit runs
//! never see each other's half-written output.

use crate::BuildError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// bpfkit's cache root.
pub fn cache_root() -> Result<PathBuf, BuildError> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| BuildError::Io {
            what: "finding the cache directory".into(),
            source: std::io::Error::other("neither XDG_CACHE_HOME nor HOME is set"),
        })?;
    Ok(base.join("bpfkit"))
}

/// A SHA-256 over several labelled pieces; the labels and lengths keep
/// `("ab", "c")` and `("a", "bc")` apart.
#[derive(Default)]
pub struct KeyHasher(Sha256);

impl KeyHasher {
    pub fn add(&mut self, label: &str, bytes: &[u8]) -> &mut Self {
        for piece in [label.as_bytes(), bytes] {
            self.0.update((piece.len() as u64).to_le_bytes());
            self.0.update(piece);
        }
        self
    }

    /// The first 16 bytes as hex: plenty for a cache key.
    pub fn finish(&mut self) -> String {
        let digest = std::mem::take(&mut self.0).finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

pub fn read(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path)
        .map_err(|source| BuildError::io(format!("reading {}", path.display()), source))
}

/// Writes `data` to `path` through a temporary file in the same directory
/// and a rename.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), BuildError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| BuildError::io(format!("creating {}", dir.display()), source))?;
    }
    let tmp = temp_sibling(path, "tmp");
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            BuildError::io(format!("writing {}", path.display()), source)
        })
}

/// `dir/.name.<pid>.<tag>`: a scratch path next to `path`, unique per
/// process so that parallel builds do not collide.
pub fn temp_sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{tag}", std::process::id()))
}

/// The `#include "..."` files of `source`, recursively (quoted includes
/// only: those are the program's own headers; `<...>` ones come from
/// libbpf or the system and are covered by other parts of the key).
/// `vmlinux.h` is skipped: its identity is hashed separately.
pub fn local_headers(source: &Path, include_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut todo = vec![source.to_path_buf()];
    while let Some(file) = todo.pop() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        for name in quoted_includes(&text) {
            if Path::new(name)
                .file_name()
                .is_some_and(|n| n == "vmlinux.h")
            {
                continue;
            }
            let candidate = std::iter::once(dir)
                .chain(include_dirs.iter().map(PathBuf::as_path))
                .map(|d| d.join(name))
                .find(|p| p.is_file());
            if let Some(path) = candidate.filter(|p| !found.contains(p)) {
                found.push(path.clone());
                todo.push(path);
            }
        }
    }
    found.sort();
    found
}

fn quoted_includes(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let rest = line.trim_start().strip_prefix('#')?.trim_start();
        let rest = rest.strip_prefix("include")?.trim_start();
        let rest = rest.strip_prefix('"')?;
        rest.split('"').next()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quoted_includes_only() {
        let text = "#include \"vmlinux.h\"\n# include \"event.h\"\n#include <bpf/bpf_helpers.h>\n";
        let names: Vec<_> = quoted_includes(text).collect();
        assert_eq!(names, ["vmlinux.h", "event.h"]);
    }

    #[test]
    fn key_pieces_do_not_run_together() {
        let a = KeyHasher::default().add("x", b"ab").add("y", b"c").finish();
        let b = KeyHasher::default().add("x", b"a").add("y", b"bc").finish();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }
}
