//! The fuzz targets of bpfkit-object, shared by the stable fuzz runner
//! (`examples/fuzz.rs`, a bounded in-process mutation loop) and the test
//! that replays the crash corpus (`tests/fuzz_corpus.rs`).
//!
//! - `analyze`: arbitrary bytes as a BPF object: `analyze`, then CO-RE
//!   relocation of what analyzes against the object's own BTF (as a
//!   stand-in kernel, the same on every machine) and, when given, the
//!   running kernel's BTF view.
//! - `core_kernel`: a committed object relocated against a corrupted
//!   kernel BTF: the object's own BTF re-encoded (its kernel types carry
//!   the kernel's names, so relocation resolves) and then mutated. A corpus
//!   entry is named `<object>--<hash>.btf` after the committed object.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bpfkit_btf::view::BtfView;
use bpfkit_object::{Object, analyze, relocate_core_report};

/// The targets, by the name of their corpus directory.
pub const TARGETS: [&str; 2] = ["analyze", "core_kernel"];

/// Where crashing inputs are kept, per target.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(target)
}

/// The `analyze` target: whatever analyzes is relocated too. True when
/// the input analyzed (the runner counts how deep mutants get).
pub fn analyze_target<D: AsRef<[u8]>>(elf: &[u8], kernel: Option<&BtfView<D>>) -> bool {
    let Ok(object) = analyze(elf) else {
        return false;
    };
    relocate_against_own_btf(&object);
    if let Some(kernel) = kernel {
        let _ = relocate_core_report(&object, kernel);
    }
    true
}

fn relocate_against_own_btf(object: &Object) {
    let own = bpfkit_btf::encode::encode(&object.btf);
    if let Ok(view) = BtfView::new(&own[..]) {
        let _ = relocate_core_report(object, &view);
    }
}

/// The `core_kernel` target: `object` relocated against `kernel_btf`.
/// True when the corrupted BTF still made a view (relocation ran).
pub fn core_kernel_target(object: &Object, kernel_btf: &[u8]) -> bool {
    let Ok(view) = BtfView::new(kernel_btf) else {
        return false;
    };
    let _ = relocate_core_report(object, &view);
    true
}

/// The committed object named `stem` (`execsnoop`, `tcpconnect`...).
pub fn committed_object(stem: &str) -> Option<(PathBuf, Vec<u8>)> {
    bpfkit_testkit::committed_objects()
        .into_iter()
        .find(|p| object_stem(p) == stem)
        .and_then(|p| Some((p.clone(), std::fs::read(&p).ok()?)))
}

/// `execsnoop` for `.../execsnoop.bpf.o`.
pub fn object_stem(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.split('.').next().unwrap_or_default().to_string()
}

/// The stand-in kernel BTF of the `core_kernel` target for `object`.
pub fn own_kernel_btf(object: &Object) -> Vec<u8> {
    bpfkit_btf::encode::encode(&object.btf)
}

/// Where in `elf` its `.BTF` and `.BTF.ext` sections lie (mutations focus
/// there, where the parsing is).
pub fn btf_ranges(elf: &[u8]) -> Vec<std::ops::Range<usize>> {
    [".BTF", ".BTF.ext"]
        .iter()
        .filter_map(|name| bpfkit_btf::elf::section_data(elf, name).ok().flatten())
        .map(|data| {
            let start = data.as_ptr() as usize - elf.as_ptr() as usize;
            start..start + data.len()
        })
        .collect()
}

/// A short stable name for an input: FNV-1a, 64 bits, in hex.
pub fn input_hash(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
