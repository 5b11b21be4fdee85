//! The kernel's BTF is read once per run, also for objects whose programs
//! name kernel types (tp_btf), although aya's loader would read its own copy.

use std::process::Command;

use bpfkit_testkit::{TempDir, peer_tool, privileged, repo_path};

/// Successful opens of /sys/kernel/btf/vmlinux by `bpfkit ARGS`, any thread.
fn vmlinux_opens(strace: &std::path::Path, args: &[&str]) -> usize {
    let dir = TempDir::new("btf-opens");
    let log = dir.file("strace.txt");
    let status = Command::new(strace)
        .args(["-f", "-qq", "-e", "trace=openat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_bpfkit"))
        .args(args)
        .status()
        .expect("running strace");
    let trace = std::fs::read_to_string(&log).expect("reading the strace log");
    assert!(status.success(), "bpfkit {args:?} failed:\n{trace}");
    trace
        .lines()
        .filter(|l| l.contains("\"/sys/kernel/btf/vmlinux\"") && !l.contains("= -1"))
        .count()
}

#[test]
fn kernel_btf_is_read_once_per_run() {
    if !privileged("kernel_btf_is_read_once_per_run") {
        return;
    }
    let Some(strace) = peer_tool("kernel_btf_is_read_once_per_run", "strace") else {
        return;
    };
    // runqlat: tp_btf programs (attach_btf_id) plus CO-RE relocations.
    let runqlat = repo_path("examples/runqlat.bpf.o");
    let runqlat = runqlat.to_str().expect("utf-8 path");
    assert_eq!(vmlinux_opens(&strace, &["run", runqlat, "-d", "200ms"]), 1);
    // The built-in tool: its hook probing must not read it again either.
    assert_eq!(vmlinux_opens(&strace, &["runqlat", "-m", "1", "1"]), 1);
}
