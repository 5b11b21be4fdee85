//! `bpfkit run --skip-missing`: programs whose kernel function or tracepoint
//! this kernel lacks are left out with a note, as libbpf-tools' front ends
//! turn off autoload for alternatives a kernel does not have (cachestat's
//! folio functions, biosnoop's block_io_start, syncsnoop's
//! sync_file_range2); without the flag the object fails as before, and a
//! hook kind the kernel lacks altogether stays an error.

mod common;

use common::{BPFKIT, Run};
use std::process::Command;

const SOURCE: &str = "crates/cli/tests/bpf/alternatives.bpf.c";

fn source() -> String {
    bpfkit_testkit::repo_path(SOURCE)
        .to_string_lossy()
        .to_string()
}

#[test]
fn a_missing_target_is_left_out_and_the_rest_runs() {
    let test = "a_missing_target_is_left_out_and_the_rest_runs";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let tgid = std::process::id().to_string();
    let mut run = Run::start(
        &source(),
        &["--skip-missing", "--target_tgid", tgid.as_str()],
    );
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    unsafe { libc::getpgid(0) };
    let done = run.stop();
    let hits = done
        .records
        .iter()
        .find(|r| r["type"] == "global" && r["name"] == "hits")
        .unwrap_or_else(|| panic!("no global 'hits': {:?}", done.records));
    assert_eq!(hits["value"], 1, "{hits}");
    assert!(
        !done.records.iter().any(|r| r["program"] == "on_missing"),
        "{:?}",
        done.records
    );
    assert!(
        done.stderr.contains(
            "skipped on_missing: left out (--skip-missing): no tracepoint \
             syscalls:sys_enter_bpfkit_missing in this kernel"
        ),
        "{}",
        done.stderr
    );
}

#[test]
fn without_the_flag_a_missing_target_fails_the_run() {
    let test = "without_the_flag_a_missing_target_fails_the_run";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let out = Command::new(BPFKIT)
        .args(["run", &source(), "-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("sys_enter_bpfkit_missing"), "{stderr}");
}

#[test]
fn nothing_left_is_one_clear_error() {
    let test = "nothing_left_is_one_clear_error";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let out = Command::new(BPFKIT)
        .args([
            "run",
            &source(),
            "--skip-missing",
            "--disable",
            "on_getpgid",
            "-d",
            "1s",
        ])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("every program was left out, this kernel lacks their targets"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
