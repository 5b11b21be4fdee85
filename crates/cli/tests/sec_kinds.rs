//! `bpfkit run` with the SEC() kinds aya does not load by itself: a syscall
//! program run once with `--ctx`, and a uprobe.multi whose SEC() names a
//! glob over libc's functions.

mod common;

use common::{BPFKIT, Run};
use std::process::Command;

fn source(name: &str) -> String {
    bpfkit_testkit::repo_path(&format!("crates/runtime/tests/bpf/{name}.bpf.c"))
        .to_string_lossy()
        .into_owned()
}

fn ready(test: &str) -> bool {
    bpfkit_testkit::privileged(test) && bpfkit_testkit::clang(test).is_some()
}

#[test]
fn syscall_program_runs_once_with_ctx_and_the_run_ends() {
    if !ready("syscall_program_runs_once_with_ctx_and_the_run_ends") {
        return;
    }
    // No -d: a run with only a syscall program ends by itself.
    let run = Run::start(
        &source("syscall"),
        &["--ctx", "0x02000000 28000000 00000000"],
    );
    let done = run.finish();
    assert!(done.status.success(), "{}", done.stderr);
    let run_record = done
        .records
        .iter()
        .find(|r| r["type"] == "syscall")
        .unwrap_or_else(|| panic!("no syscall record: {:?}", done.records));
    assert_eq!(run_record["program"], "add");
    assert_eq!(run_record["retval"], 42);
    assert_eq!(run_record["ctx"], "02000000280000002a000000");
    let runs = done
        .records
        .iter()
        .find(|r| r["type"] == "global" && r["name"] == "runs")
        .expect("runs global");
    assert_eq!(runs["value"], 1);
}

#[test]
fn syscall_context_errors_are_one_line() {
    if !ready("syscall_context_errors_are_one_line") {
        return;
    }
    for (args, expected) in [
        (vec![], "pass it with --ctx HEX"),
        (vec!["--ctx", "123"], "--ctx 123: expected whole bytes"),
        (vec!["--ctx", "zz"], "'zz' is not a hex byte"),
    ] {
        let out = Command::new(BPFKIT)
            .args(["run", &source("syscall")])
            .args(&args)
            .output()
            .expect("bpfkit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    let out = Command::new(BPFKIT)
        .args(["run", &source("getpgid"), "--ctx", "00"])
        .output()
        .expect("bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--ctx: this object has no syscall program"),
        "{stderr}"
    );
}

#[test]
fn uprobe_multi_from_its_sec_name_counts_libc_calls() {
    if !ready("uprobe_multi_from_its_sec_name_counts_libc_calls") {
        return;
    }
    let mut run = Run::start(&source("uprobe_multi_libc"), &[]);
    run.wait_attached(&["on_getppid"]);
    let attached = run.wait_for("the attached record", |r| r["type"] == "attached");
    let hook = attached["hook"].as_str().unwrap_or_default().to_string();
    assert!(
        hook.starts_with("uprobe.multi:/")
            && hook.contains("libc.so")
            && hook.contains("1=getppid"),
        "{hook}"
    );
    // bash asks for its parent's pid at start ($PPID).
    let status = Command::new("bash")
        .args(["-c", "true"])
        .status()
        .expect("bash");
    assert!(status.success());
    let done = run.stop();
    let calls = done
        .records
        .iter()
        .find(|r| r["type"] == "global" && r["name"] == "getppid_calls")
        .expect("getppid_calls global");
    assert!(calls["value"].as_u64().unwrap_or(0) >= 1, "{calls}");
}
