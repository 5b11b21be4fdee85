//! `bpfkit run` on an object with twin programs (tp_btf, raw_tp and tp for
//! one event, as libbpf-tools ship them) attaches the best one; the others
//! are a routine choice, named with `-v` only.

mod common;

use common::BPFKIT;
use std::process::{Command, Stdio};

fn run_twins(extra: &[&str]) -> (String, String) {
    run_source("crates/runtime/tests/bpf/twins.bpf.c", extra)
}

fn run_source(source: &str, extra: &[&str]) -> (String, String) {
    let source = bpfkit_testkit::repo_path(source);
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

/// A twin that fails here (the verifier rejects twin_fallback.bpf.c's
/// tp_btf program; on 6.1 tcpsynbl's fentry fails to attach) gives way to
/// the next kind instead of failing the run, and `-v` says why.
#[test]
fn a_failing_twin_falls_back_and_verbose_says_why() {
    let test = "a_failing_twin_falls_back_and_verbose_says_why";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let _serial = common::serial();
    let source = "crates/runtime/tests/bpf/twin_fallback.bpf.c";
    let (stdout, stderr) = run_source(source, &["-v"]);
    let attached: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"attached\""))
        .collect();
    assert_eq!(attached.len(), 1, "{stdout}");
    assert!(attached[0].contains("raw_sys_enter"), "{stdout}");
    let note = "bpfkit: skipped btf_sys_enter: twin of raw_sys_enter (raw_tracepoint:sys_enter), \
                which is attached instead: tp_btf:sys_enter does not work on this kernel: \
                program 'btf_sys_enter' (tp_btf/sys_enter) was rejected by the kernel verifier\n";
    assert!(stderr.contains(note), "{stderr}");
    let (_, quiet) = run_source(source, &[]);
    assert!(!quiet.contains("skipped"), "{quiet}");
}
