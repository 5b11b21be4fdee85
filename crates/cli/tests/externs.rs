//! `.kconfig` and `.ksyms` externs (crates/runtime/tests/bpf/kconfig.bpf.c,
//! as libbpf-tools' bitesize and sigsnoop use them) are not resolved yet:
//! the run fails with one line naming each extern and its section, instead
//! of aya's "Unable to determine the size of section `.kconfig`".

mod common;

use common::BPFKIT;
use std::path::Path;
use std::process::Command;

#[test]
fn unresolved_externs_are_named_in_one_line() {
    let test = "unresolved_externs_are_named_in_one_line";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/kconfig.bpf.c");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let Some(object) = bpfkit_testkit::build_bpf_object(test, &source, out_dir) else {
        return;
    };
    let out = Command::new(BPFKIT)
        .arg("run")
        .arg(&object)
        .args(["-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("LINUX_KERNEL_VERSION (.kconfig)")
            && stderr.contains("bpf_task_from_pid (.ksyms)"),
        "{stderr}"
    );
}
