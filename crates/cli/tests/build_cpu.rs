//! `bpfkit build --cpu CPU` picks clang's BPF instruction set: libbpf-tools
//! builds with clang's default (`generic`), and some of its programs
//! (cpufreq) pass the verifier only that way, others (softirqs) only with v3.

mod common;

use bpfkit_testkit::TempDir;
use common::BPFKIT;
use object::{Object, ObjectSection};
use std::path::Path;
use std::process::Command;

const SOURCE: &str = "crates/cli/tests/bpf/cpu32.bpf.c";
const SECTION: &str = "tp/syscalls/sys_enter_getpgid";
/// The JMP32 instruction class, which only v3 and newer emit.
const BPF_JMP32: u8 = 0x06;

/// Builds the test program with `extra` flags; the number of JMP32 instructions.
fn jmp32_count(dir: &TempDir, name: &str, extra: &[&str]) -> usize {
    let object = dir.path().join(name);
    let out = Command::new(BPFKIT)
        .arg("build")
        .arg(bpfkit_testkit::repo_path(SOURCE))
        .arg("-o")
        .arg(&object)
        .args(extra)
        .output()
        .expect("running bpfkit build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bpfkit build {extra:?}: {stderr}");
    count_class(&object, BPF_JMP32)
}

fn count_class(object: &Path, class: u8) -> usize {
    let bytes = std::fs::read(object).expect("reading the object");
    let elf = object::File::parse(&*bytes).expect("parsing the object");
    let section = elf
        .section_by_name(SECTION)
        .unwrap_or_else(|| panic!("no section {SECTION} in {}", object.display()));
    let code = section.data().expect("section data");
    code.chunks_exact(8)
        .filter(|insn| insn[0] & 0x07 == class)
        .count()
}

#[test]
fn cpu_picks_the_instruction_set() {
    let test = "cpu_picks_the_instruction_set";
    if bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let dir = TempDir::new("build-cpu");
    assert!(jmp32_count(&dir, "v3.bpf.o", &["--cpu", "v3"]) > 0);
    assert_eq!(jmp32_count(&dir, "generic.bpf.o", &["--cpu", "generic"]), 0);
}

#[test]
fn an_unknown_cpu_is_one_clear_error() {
    let out = Command::new(BPFKIT)
        .args(["build", SOURCE, "--cpu", "v9"])
        .output()
        .expect("running bpfkit build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("invalid value 'v9' for '--cpu"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
