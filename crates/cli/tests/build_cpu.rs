//! `bpfkit build` (and `bpfkit run SRC.bpf.c`) use clang's default cpu, as
//! libbpf-tools' Makefile does, not `-mcpu=v3`: with v3, code like
//! cpufreq's (crates/runtime/tests/bpf/cpuslot.bpf.c) fails the verifier.

mod common;

use common::{BPFKIT, Run};
use std::path::Path;
use std::process::Command;

const SOURCE: &str = "crates/runtime/tests/bpf/cpuslot.bpf.c";

#[test]
fn source_built_by_bpfkit_passes_the_verifier() {
    let test = "source_built_by_bpfkit_passes_the_verifier";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(clang) = bpfkit_testkit::clang(test) else {
        return;
    };
    let source = bpfkit_testkit::repo_path(SOURCE);
    // The same source built with -mcpu=v3 is rejected: what this test guards.
    let v3 =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cpuslot-v3-{}.o", std::process::id()));
    let asm = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    let built = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g", "-mcpu=v3", "-I", &asm, "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&v3)
        .status()
        .expect("running clang");
    assert!(built.success(), "building {SOURCE} with -mcpu=v3");
    let rejected = Command::new(BPFKIT)
        .arg("run")
        .arg(&v3)
        .args(["-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert!(
        stderr.contains("rejected by the kernel verifier"),
        "{stderr}"
    );

    let tgid = std::process::id().to_string();
    let mut run = Run::start(&source.to_string_lossy(), &["--target_tgid", &tgid]);
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    unsafe { libc::getpgid(0) };
    let done = run.stop();
    let slots = done
        .records
        .iter()
        .find(|r| r["type"] == "global" && r["name"] == "slots")
        .unwrap_or_else(|| panic!("no global 'slots': {:?}", done.records));
    assert_eq!(slots["value"][1], 1, "{slots}");
}
