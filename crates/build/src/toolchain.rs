//! Finding clang and libbpf's headers, and the flags that depend on the
//! machine (target arch, multiarch include dir, `-mcpu`).
//!
//! Nothing here runs clang: finding it is a PATH search, so that a cache hit
//! in [`crate::build_cached`] costs no process at all.

use crate::BuildError;
use std::path::{Path, PathBuf};

/// Names tried, in order, when neither the options nor `$BPFKIT_CLANG` name
/// a clang. The versioned names are what Debian installs.
const CLANG_NAMES: &[&str] = &["clang", "clang-19", "clang-16", "clang-14"];

/// The exact command that installs what `build` needs on Debian/Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install -y clang libbpf-dev";

/// Where libbpf-dev puts the header every libbpf-style program includes.
const LIBBPF_HELPERS: &str = "/usr/include/bpf/bpf_helpers.h";

fn missing(what: &str) -> BuildError {
    BuildError::MissingToolchain(format!(
        "{what}\nInstall the BPF toolchain (Debian/Ubuntu) with:\n    {INSTALL_HINT}"
    ))
}

/// The clang to use: `explicit`, else `$BPFKIT_CLANG`, else the first of
/// clang, clang-19, clang-16, clang-14 found on PATH.
pub fn find_clang(explicit: Option<&Path>) -> Result<PathBuf, BuildError> {
    let wanted = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("BPFKIT_CLANG").map(PathBuf::from));
    if let Some(wanted) = wanted {
        return resolve_program(&wanted).ok_or_else(|| {
            missing(&format!(
                "clang not found: {} does not exist or is not executable",
                wanted.display()
            ))
        });
    }
    CLANG_NAMES
        .iter()
        .find_map(|name| resolve_program(Path::new(name)))
        .ok_or_else(|| {
            missing(&format!(
                "clang not found (looked for $BPFKIT_CLANG, {} on PATH)",
                CLANG_NAMES.join(", ")
            ))
        })
}

/// `program` as an existing executable path: as given when it contains a
/// slash, else searched on PATH.
fn resolve_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks that `bpf/bpf_helpers.h` is reachable: from libbpf-dev, or from
/// one of the user's include dirs (projects that vendor libbpf headers).
pub fn check_libbpf_headers(include_dirs: &[PathBuf]) -> Result<(), BuildError> {
    let vendored = include_dirs
        .iter()
        .any(|d| d.join("bpf/bpf_helpers.h").is_file());
    if vendored || Path::new(LIBBPF_HELPERS).is_file() {
        return Ok(());
    }
    Err(missing(&format!(
        "libbpf headers not found ({LIBBPF_HELPERS} is missing)"
    )))
}

/// The `__TARGET_ARCH_*` name bpf_tracing.h expects for a Rust arch name,
/// used to pick the right `pt_regs` layout for PT_REGS_* macros.
pub fn target_arch_for(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" | "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv",
        "s390x" => "s390",
        "powerpc64" | "powerpc" => "powerpc",
        "mips" | "mips64" => "mips",
        "loongarch64" => "loongarch",
        "sparc64" => "sparc",
        other => other,
    }
}

/// Debian's multiarch directory holding `asm/` headers for this host.
pub fn multiarch_include() -> Option<PathBuf> {
    let triple = match std::env::consts::ARCH {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "riscv64" => "riscv64-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "powerpc64" => "powerpc64le-linux-gnu",
        "loongarch64" => "loongarch64-linux-gnu",
        _ => return None,
    };
    let dir = Path::new("/usr/include").join(triple);
    dir.is_dir().then_some(dir)
}

/// `v3` (32-bit jumps, ALU32) when the running kernel has it (5.1+),
/// otherwise no `-mcpu` so that clang's conservative default applies.
pub fn cpu_for_running_kernel() -> Option<&'static str> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let (major, minor) = parse_release(&release)?;
    ((major, minor) >= (5, 1)).then_some("v3")
}

/// `(major, minor)` from a kernel release like `6.18.44-fc-v669`.
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_release_parsing() {
        assert_eq!(parse_release("6.18.44-fc-v669\n"), Some((6, 18)));
        assert_eq!(parse_release("5.1"), Some((5, 1)));
        assert_eq!(parse_release("garbage"), None);
    }

    #[test]
    fn arch_names() {
        assert_eq!(target_arch_for("x86_64"), "x86");
        assert_eq!(target_arch_for("aarch64"), "arm64");
        assert_eq!(target_arch_for("riscv64"), "riscv");
    }

    #[test]
    fn explicit_missing_clang_names_the_install_command() {
        let err = find_clang(Some(Path::new("/nonexistent/clang"))).unwrap_err();
        let text = err.to_string();
        assert!(text.lines().any(|l| l.trim() == INSTALL_HINT), "{text}");
    }
}
