//! Builds tests/data/events.bpf.c with clang and hands out its BTF.

use bpfkit_btf::{Btf, TypeId};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The test object's BTF, or `None` (test skipped) without clang.
pub fn btf(test: &str) -> Option<&'static Btf> {
    static BTF: OnceLock<Option<Btf>> = OnceLock::new();
    let clang = bpfkit_testkit::clang(test)?;
    BTF.get_or_init(|| Some(build(&clang))).as_ref()
}

fn build(clang: &std::path::Path) -> Btf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/events.bpf.c");
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include");
    let out = std::env::temp_dir().join(format!("bpfkit-output-events-{}.o", std::process::id()));
    let status = Command::new(clang)
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg("-I")
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run clang");
    assert!(status.success(), "clang failed on {}", src.display());
    let btf = Btf::from_any_file(&out).expect("BTF of the test object");
    let _ = std::fs::remove_file(&out);
    btf
}

/// A struct of the test object by name.
pub fn ty(btf: &Btf, name: &str) -> TypeId {
    btf.find_struct(name)
        .or_else(|| btf.ids_by_name(name).first().copied())
        .unwrap_or_else(|| panic!("no type {name}"))
}

/// Writes `v`'s little-endian bytes at `off`.
pub fn put(buf: &mut [u8], off: usize, v: &[u8]) {
    buf[off..off + v.len()].copy_from_slice(v);
}
