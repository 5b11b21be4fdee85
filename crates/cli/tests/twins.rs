//! `bpfkit run` on an object with twin programs (tp_btf, raw_tp and tp for
//! one event, as libbpf-tools ship them) attaches the best one; the others
//! are a routine choice, named with `-v` only.

mod common;

use common::BPFKIT;
use std::process::{Command, Stdio};

fn run_twins(extra: &[&str]) -> (String, String) {
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/twins.bpf.c");
    let out = Command::new(BPFKIT)
        .arg("run")
        .arg(&source)
        .args(["-o", "json", "-d", "200ms"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("running bpfkit");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{}: {stderr}", out.status);
    (stdout, stderr)
}

#[test]
fn twins_attach_once_and_verbose_says_which() {
    let test = "twins_attach_once_and_verbose_says_which";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let _serial = common::serial();
    let (stdout, stderr) = run_twins(&[]);
    let attached: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"attached\""))
        .collect();
    assert_eq!(attached.len(), 1, "{stdout}");
    assert!(attached[0].contains("btf_sys_enter"), "{stdout}");
    assert!(!stderr.contains("skipped"), "{stderr}");
    let (_, stderr) = run_twins(&["-v"]);
    for twin in ["raw_sys_enter", "tp_sys_enter"] {
        let note = format!("bpfkit: skipped {twin}: twin of btf_sys_enter (tp_btf:sys_enter)");
        assert!(stderr.contains(&note), "{stderr}");
    }
}
