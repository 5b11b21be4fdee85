//! `bpfkit run SRC.bpf.c` takes `-I DIR` and `-D MACRO` like `bpfkit build`
//! (crates/runtime/tests/bpf/defined.bpf.c needs both to compile), and
//! says they do not apply to an object.

mod common;

use bpfkit_testkit::TempDir;
use common::{BPFKIT, Run};
use std::process::Command;

const SOURCE: &str = "crates/runtime/tests/bpf/defined.bpf.c";

#[test]
fn include_dirs_and_defines_reach_the_build() {
    let test = "include_dirs_and_defines_reach_the_build";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let dir = TempDir::new("run-defs");
    dir.write("run_defs.h", "#define DEFS_BASE 100\n");
    let include = dir.path().to_string_lossy().to_string();
    let source = bpfkit_testkit::repo_path(SOURCE);
    let tgid = std::process::id().to_string();
    let args = [
        "-I",
        include.as_str(),
        "-DKIND=7",
        "--target_tgid",
        tgid.as_str(),
    ];
    let mut run = Run::start(&source.to_string_lossy(), &args);
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    unsafe { libc::getpgid(0) };
    let done = run.stop();
    let seen = done
        .records
        .iter()
        .find(|r| r["type"] == "global" && r["name"] == "kind_seen")
        .unwrap_or_else(|| panic!("no global 'kind_seen': {:?}", done.records));
    assert_eq!(seen["value"], 107, "{seen}");
}

#[test]
fn build_flags_on_an_object_are_an_error() {
    let test = "build_flags_on_an_object_are_an_error";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let object = bpfkit_testkit::repo_path("examples/minimal.bpf.o");
    let out = Command::new(BPFKIT)
        .arg("run")
        .arg(&object)
        .args(["-D", "KIND=7", "-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("-I and -D apply to a .bpf.c source"),
        "{stderr}"
    );
}
