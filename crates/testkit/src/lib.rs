//! Test helpers shared by every bpfkit crate.
//!
//! Tests that need root (to load BPF) or clang (to build objects) call
//! [`privileged`] / [`clang`] first. Outside CI a missing requirement skips
//! the test with a message; CI sets `BPFKIT_REQUIRE_PRIVILEGED=1` and
//! `BPFKIT_REQUIRE_CLANG=1`, and then a missing requirement fails the test,
//! so nothing silently skips there.
//!
//! Also shared: [`TempDir`] and [`unique`] names for what tests create.

pub mod mutate;

use std::path::{Path, PathBuf};
use std::process::Command;

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// True when the test may load BPF programs. Prints why when it may not;
/// panics instead when `BPFKIT_REQUIRE_PRIVILEGED=1`.
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return true;
    }
    if required("BPFKIT_REQUIRE_PRIVILEGED") {
        panic!("{test}: needs root but BPFKIT_REQUIRE_PRIVILEGED=1");
    }
    eprintln!("skipping {test}: needs root to load BPF programs");
    false
}

/// The clang to build BPF objects with: `$BPFKIT_CLANG`, else the first of
/// clang, clang-19, clang-16, clang-14 on PATH. `None` (with a message) when
/// there is none; panics when `BPFKIT_REQUIRE_CLANG=1`.
pub fn clang(test: &str) -> Option<PathBuf> {
    // The same search `bpfkit build` does.
    let found = bpfkit_build::find_clang(None).ok();
    if found.is_none() {
        if required("BPFKIT_REQUIRE_CLANG") {
            panic!("{test}: needs clang but BPFKIT_REQUIRE_CLANG=1");
        }
        eprintln!("skipping {test}: clang not found (apt-get install clang-16)");
    }
    found
}

/// The major version of a clang binary, from `clang --version`
/// (`Debian clang version 14.0.6` → 14).
pub fn clang_major(clang: &Path) -> Option<u32> {
    let out = Command::new(clang).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, rest) = text.lines().next()?.split_once("clang version ")?;
    rest.split('.').next()?.trim().parse().ok()
}

/// The newest clang [`clang`] could pick, with its major version:
/// `$BPFKIT_CLANG` alone when set, else the newest of clang, clang-19,
/// clang-16, clang-14 on PATH. `None` when there is none (no message).
pub fn newest_clang() -> Option<(PathBuf, u32)> {
    bpfkit_build::clang_candidates()
        .into_iter()
        .filter_map(|clang| Some((clang_major(&clang)?, clang)))
        .max_by_key(|(major, _)| *major)
        .map(|(major, clang)| (clang, major))
}

/// Like [`clang`], for a test that needs clang ≥ `major` because of `why`
/// (BTF or CO-RE features older clangs lack): the newest clang, when it is
/// new enough. Otherwise the test skips, saying what it needs and what it
/// found; under `BPFKIT_REQUIRE_CLANG=1` it fails instead.
pub fn clang_at_least(test: &str, major: u32, why: &str) -> Option<PathBuf> {
    match newest_clang() {
        Some((clang, found)) if found >= major => Some(clang),
        found => {
            newer_clang_needed(test, major, why, found.map(|(_, v)| v));
            None
        }
    }
}

/// Says that (part of) `test` is skipped because it needs clang ≥ `major`
/// for `why` and `found` is older (or there is no clang); panics instead
/// under `BPFKIT_REQUIRE_CLANG=1`.
pub fn newer_clang_needed(test: &str, major: u32, why: &str, found: Option<u32>) {
    let have = found.map_or("no clang found".to_string(), |v| {
        format!("the newest clang found is {v}")
    });
    clang_skip(
        test,
        &format!("needs clang {major} or newer for {why}; {have}"),
    );
}

/// Skips (part of) `test` for a clang reason `why`, with a message; under
/// `BPFKIT_REQUIRE_CLANG=1` (CI) the test fails instead.
pub fn clang_skip(test: &str, why: &str) {
    if required("BPFKIT_REQUIRE_CLANG") {
        panic!("{test}: {why}, and BPFKIT_REQUIRE_CLANG=1");
    }
    eprintln!("skipping {test}: {why} (apt-get install clang-16, or set BPFKIT_CLANG)");
}

/// A tool a test compares against (bpftool, a libbpf-tools binary), with the
/// same skip-or-fail rule under `BPFKIT_REQUIRE_CLANG` (CI installs peers
/// together with clang).
pub fn peer_tool(test: &str, name: &str) -> Option<PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists());
    if found.is_none() {
        if required("BPFKIT_REQUIRE_CLANG") {
            panic!("{test}: needs {name} but BPFKIT_REQUIRE_CLANG=1");
        }
        eprintln!("skipping {test}: {name} not installed");
    }
    found
}

/// Path of a file in the repository, from any crate's tests.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Every committed BPF object (examples and built-in tools): the objects of
/// the sources `scripts/build-bpf.sh` builds, sorted.
pub fn committed_objects() -> Vec<PathBuf> {
    bpfkit_build::committed::committed_sources(&repo_path(""))
        .into_iter()
        .map(|source| source.with_extension("o"))
        .collect()
}

/// [`build_program`] for a program with USDT probes: `None` (skip) also
/// without systemtap's `<sys/sdt.h>` (systemtap-sdt-dev), outside CI.
pub fn build_usdt_program(test: &str, source: &Path, out_dir: &Path) -> Option<PathBuf> {
    let multiarch = format!(
        "/usr/include/{}-linux-gnu/sys/sdt.h",
        std::env::consts::ARCH
    );
    if ![Path::new("/usr/include/sys/sdt.h"), Path::new(&multiarch)]
        .iter()
        .any(|p| p.exists())
    {
        assert!(
            std::env::var("BPFKIT_REQUIRE_CLANG").as_deref() != Ok("1"),
            "{test}: needs <sys/sdt.h> (apt-get install systemtap-sdt-dev)"
        );
        eprintln!("skipping {test}: no <sys/sdt.h> (apt-get install systemtap-sdt-dev)");
        return None;
    }
    build_program(test, source, out_dir)
}

/// Builds the user-space test program `source` (a C file) into `out_dir`
/// with frame pointers and without sibling calls, so that its stacks walk
/// and symbolize in full. `None` (skip) without clang, as [`clang`] says.
pub fn build_program(test: &str, source: &Path, out_dir: &Path) -> Option<PathBuf> {
    let flags = [
        "-O1",
        "-g",
        "-fno-omit-frame-pointer",
        "-fno-optimize-sibling-calls",
    ];
    let clang = clang(test)?;
    compile(&clang, source, &flags, &out_path(test, source, out_dir, ""))
}

/// Builds the BPF object `source` (a `.bpf.c` file using the UAPI
/// headers, no vmlinux.h) into `out_dir`. `None` (skip) without clang.
pub fn build_bpf_object(test: &str, source: &Path, out_dir: &Path) -> Option<PathBuf> {
    let clang = clang(test)?;
    compile_bpf_object(&clang, test, source, out_dir)
}

/// [`build_bpf_object`] for a source that needs clang ≥ `major` (see
/// [`clang_at_least`]).
pub fn build_bpf_object_needing(
    test: &str,
    source: &Path,
    out_dir: &Path,
    major: u32,
    why: &str,
) -> Option<PathBuf> {
    let clang = clang_at_least(test, major, why)?;
    compile_bpf_object(&clang, test, source, out_dir)
}

fn compile_bpf_object(clang: &Path, test: &str, source: &Path, out_dir: &Path) -> Option<PathBuf> {
    // <asm/types.h>, which the UAPI headers include, is per architecture.
    let asm = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    let flags = ["-target", "bpf", "-O2", "-g", "-I", &asm, "-c"];
    compile(
        clang,
        source,
        &flags,
        &out_path(test, source, out_dir, ".bpf.o"),
    )
}

/// `out_dir/NAME-TEST-PID.EXT`: tests running at once each build their own.
fn out_path(test: &str, source: &Path, out_dir: &Path, ext: &str) -> PathBuf {
    let name = source.file_name().unwrap_or_default().to_string_lossy();
    let name = name.split('.').next().unwrap_or_default();
    out_dir.join(format!("{name}-{test}-{}{ext}", std::process::id()))
}

/// Runs clang on `source` with `flags`; panics (the test fails) when it
/// does not compile.
fn compile(clang: &Path, source: &Path, flags: &[&str], output: &Path) -> Option<PathBuf> {
    let status = Command::new(clang)
        .args(flags)
        .arg(source)
        .arg("-o")
        .arg(output)
        .status()
        .expect("running clang");
    assert!(status.success(), "building {}", source.display());
    Some(output.to_path_buf())
}

/// A name no other call in this test process returns,
/// `bpfkit-WHAT-PID-N`: for files, namespaces and markers of tests that
/// run at once (also in other test binaries).
pub fn unique(what: &str) -> String {
    format!("bpfkit-{what}-{}-{}", std::process::id(), unique_number())
}

/// A number no other call in this test process returns, for names that
/// must be shorter than [`unique`]'s (network interfaces: 15 bytes).
pub fn unique_number() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A scratch directory with a [`unique`] name, removed on drop (also when
/// the test fails). `KEEP_TMP=1` keeps it, to look at after a failure.
pub struct TempDir(PathBuf);

impl TempDir {
    /// In `$TMPDIR`.
    pub fn new(what: &str) -> TempDir {
        TempDir::under(&std::env::temp_dir(), what)
    }

    /// In `parent`, e.g. cargo's `CARGO_TARGET_TMPDIR` for a directory on
    /// disk where `$TMPDIR` may be tmpfs.
    pub fn under(parent: &Path, what: &str) -> TempDir {
        let dir = parent.join(unique(what));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of the file `name` in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to the file `name` in the directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.file(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// xorshift64*: a tiny deterministic PRNG for property tests and bounded
/// fuzz loops (no `rand` crate). The same seed gives the same sequence.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A byte biased towards the ones formatters treat specially: NUL,
    /// space, quote, backslash, 0xff, invalid UTF-8 lead bytes, letters.
    pub fn byte(&mut self) -> u8 {
        const SPECIAL: &[u8] = b"\0 \"\\\x7f\x80\xc3\xe2\xf0\xffa-0\n\t";
        match self.below(4) {
            0 => SPECIAL[self.below(SPECIAL.len())],
            _ => self.next_u64() as u8,
        }
    }

    /// A record of `size` bytes in one of several patterns (all zero, all
    /// 0xff, all spaces, random, special bytes, random words), sometimes
    /// cut short at a random length to stand for a truncated record.
    pub fn record(&mut self, size: usize) -> Vec<u8> {
        let mut bytes: Vec<u8> = match self.below(6) {
            0 => vec![0; size],
            1 => vec![0xff; size],
            2 => vec![b' '; size],
            3 => (0..size).map(|_| self.next_u64() as u8).collect(),
            _ => (0..size).map(|_| self.byte()).collect(),
        };
        if self.below(4) == 0 {
            let cut = self.below(size + 1);
            bytes.truncate(cut);
        }
        bytes
    }
}
