//! A `const volatile` parameter of pointer type (klockstat's `targ_lock`)
//! keeps its default and is not offered as a flag, instead of keeping the
//! object from loading. Program: crates/runtime/tests/bpf/ptrparam.bpf.c.

mod common;

use common::{BPFKIT, Run, events};
use std::path::{Path, PathBuf};
use std::process::Command;

fn object(test: &str) -> Option<PathBuf> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/ptrparam.bpf.c");
    bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))
}

#[test]
fn pointer_parameter_keeps_its_default_and_the_object_runs() {
    let Some(object) = object("pointer_parameter_keeps_its_default_and_the_object_runs") else {
        return;
    };
    let tgid = std::process::id();
    let tgid_text = tgid.to_string();
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", &tgid_text]);
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    let getpgid = || unsafe {
        libc::getpgid(0);
    };
    run.wait_retriggering(
        "the getpgid event",
        |r| r["type"] == "event" && r["data"]["tgid"] == tgid,
        getpgid,
    );
    let done = run.stop();
    let event = events(&done.records, "events")
        .find(|r| r["data"]["tgid"] == tgid)
        .expect("event");
    assert_eq!(event["data"]["lock_is_null"], 1, "{event}");
}

#[test]
fn pointer_parameter_is_not_a_flag() {
    let Some(object) = object("pointer_parameter_is_not_a_flag") else {
        return;
    };
    let help = Command::new(BPFKIT)
        .arg("run")
        .arg(&object)
        .arg("--help")
        .output()
        .expect("running bpfkit");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{help:?}");
    assert!(text.contains("--target_tgid"), "{text}");
    assert!(!text.contains("targ_lock"), "{text}");
    let given = Command::new(BPFKIT)
        .arg("run")
        .arg(&object)
        .args(["--targ_lock", "1", "-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&given.stderr);
    assert!(!given.status.success(), "{stderr}");
    assert!(
        stderr.contains("targ_lock") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
