//! Uprobe targets given as bare names (`bash`, `libc`, `libssl.so.3`) →
//! a file: executables through `$PATH`, libraries through the ld.so
//! search directories.

use std::io::Read;
use std::path::{Path, PathBuf};

const DEFAULT_LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

/// The file `name` stands for: itself when it has a `/`, else an
/// executable on `$PATH`, else a shared library (`libc` → `libc.so.6`).
pub fn resolve_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return path.exists().then_some(path);
    }
    find_in_path(name).or_else(|| find_library(name))
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_elf(p))
}

fn find_library(name: &str) -> Option<PathBuf> {
    let stems: Vec<String> = if name.starts_with("lib") {
        vec![name.to_string()]
    } else {
        vec![format!("lib{name}"), name.to_string()]
    };
    library_dirs()
        .iter()
        .find_map(|dir| stems.iter().find_map(|stem| library_in(dir, stem)))
}

/// In `dir`: `stem` itself, else `stem.so`, else the shortest `stem.so.N...`
/// that is an ELF file (`libc.so` is often a linker script).
fn library_in(dir: &Path, stem: &str) -> Option<PathBuf> {
    let exact = dir.join(stem);
    if stem.contains(".so") && is_elf(&exact) {
        return Some(exact);
    }
    let prefix = format!("{stem}.so");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let file = e.file_name();
            let file = file.to_string_lossy();
            file == prefix || file.starts_with(&format!("{prefix}."))
        })
        .map(|e| e.path())
        .filter(|p| is_elf(p))
        .collect();
    found.sort_by_key(|p| p.as_os_str().len());
    found.into_iter().next()
}

/// ld.so's directories: /etc/ld.so.conf (and its includes) first, then
/// the built-in defaults.
fn library_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    read_ld_conf(Path::new("/etc/ld.so.conf"), &mut dirs, 0);
    dirs.extend(DEFAULT_LIB_DIRS.iter().map(PathBuf::from));
    dirs.dedup();
    dirs
}

fn read_ld_conf(file: &Path, dirs: &mut Vec<PathBuf>, depth: usize) {
    // Includes can nest; a loop of them must not hang us.
    if depth > 4 {
        return;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
    {
        if let Some(pattern) = line.strip_prefix("include ") {
            for included in expand_glob(pattern.trim()) {
                read_ld_conf(&included, dirs, depth + 1);
            }
        } else if line.starts_with('/') {
            dirs.push(PathBuf::from(line));
        }
    }
}

/// `/etc/ld.so.conf.d/*.conf`: only a `*` in the last component is supported.
fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let file = file.to_string_lossy();
    let Some((before, after)) = file.split_once('*') else {
        return vec![path.to_path_buf()];
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n.starts_with(before) && n.ends_with(after)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_libc_and_sh() {
        let libc = resolve_binary("libc").expect("libc");
        assert!(libc.to_string_lossy().contains("libc.so"), "{libc:?}");
        assert!(is_elf(&libc));
        let c = resolve_binary("c").expect("c");
        assert_eq!(c, libc);
        assert!(resolve_binary("sh").is_some());
        assert!(resolve_binary("no-such-binary-anywhere").is_none());
        assert!(resolve_binary("/no/such/file").is_none());
    }
}
