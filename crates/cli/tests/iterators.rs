//! `bpfkit run` on an object of iterators only reads each once and ends:
//! its text as is, or an `iter` record with `-o json`.

mod common;

use common::BPFKIT;
use std::process::{Command, Stdio};

#[test]
fn an_iterator_object_prints_what_the_iterator_writes() {
    let test = "an_iterator_object_prints_what_the_iterator_writes";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/iter.bpf.c");
    let me = std::process::id().to_string();
    let mut run = common::ChildGuard::spawn(
        Command::new(BPFKIT)
            .arg("run")
            .arg(&source)
            .args(["--target_tgid", &me, "-o", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // No -d: an object of iterators only ends by itself.
    let out = run.wait_with_output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let iter: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r["type"] == "iter")
        .collect();
    assert_eq!(iter.len(), 1, "{stdout}");
    assert_eq!(iter[0]["program"], "dump_task");
    let text = iter[0]["text"].as_str().unwrap_or_default();
    assert!(text.contains(&format!("task {me} of {me}\n")), "{stdout}");
}
