//! Shared by the raw/JSON dump and mutation tests: building the all-kinds
//! test object with clang and running bpftool on it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory removed on drop (also when the test fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("bpfkit-btf-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Builds `tests/data/raw_kinds.bpf.c` into `dir`; `None` (skip) without clang.
pub fn build_kinds_object(test: &str, dir: &TempDir) -> Option<PathBuf> {
    let clang = bpfkit_testkit::clang(test)?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/raw_kinds.bpf.c");
    let obj = dir.path("raw_kinds.bpf.o");
    let out = Command::new(clang)
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(obj)
}

/// The `.BTF` section of an ELF object.
pub fn btf_section(obj: &Path) -> Vec<u8> {
    let elf = std::fs::read(obj).unwrap();
    bpfkit_btf::elf::section_data(&elf, ".BTF")
        .unwrap()
        .expect(".BTF section")
        .to_vec()
}

/// stdout of `bpftool <args>`, asserting success.
pub fn bpftool(tool: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "bpftool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Asserts two dumps are identical, showing the first differing line.
pub fn assert_same_text(ours: &[u8], theirs: &[u8], what: &str) {
    if ours == theirs {
        return;
    }
    let ours = String::from_utf8_lossy(ours);
    let theirs = String::from_utf8_lossy(theirs);
    for (n, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(
            a,
            b,
            "{what}: line {} differs (left: ours, right: bpftool)",
            n + 1
        );
    }
    assert_eq!(
        ours.lines().count(),
        theirs.lines().count(),
        "{what}: line counts differ"
    );
    panic!("{what}: dumps differ only in line endings");
}
