//! `bpfkit run --cgroup PATH`: the object's cgroup array map gets the
//! cgroup and its `filter_cg` parameter is set, as libbpf-tools' `-c`
//! does (crates/runtime/tests/bpf/cgroup_filter.bpf.c traces execs).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ChildGuard, Run, events};

/// A cgroup v2 directory made for this test, removed (and the cgroup2
/// mount the test made, if any, unmounted) on drop.
struct TestCgroup {
    dir: PathBuf,
    mounted: Option<bpfkit_testkit::TempDir>,
}

impl TestCgroup {
    fn create(test: &str) -> Option<TestCgroup> {
        let (root, mounted) = match cgroup2_mount() {
            Some(root) => (root, None),
            None => {
                let tmp = bpfkit_testkit::TempDir::new(test);
                let ok = Command::new("mount")
                    .args(["-t", "cgroup2", "none"])
                    .arg(tmp.path())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    eprintln!("skipping {test}: no cgroup2 mounted, and mounting one failed");
                    return None;
                }
                (tmp.path().to_path_buf(), Some(tmp))
            }
        };
        let dir = root.join(bpfkit_testkit::unique("cgroup"));
        std::fs::create_dir(&dir).expect("creating a test cgroup");
        Some(TestCgroup { dir, mounted })
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
        if let Some(tmp) = &self.mounted {
            let _ = Command::new("umount").arg(tmp.path()).status();
        }
    }
}

/// Where cgroup2 is mounted, from /proc/self/mounts.
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, dir, kind) = (fields.next()?, fields.next()?, fields.next()?);
        (kind == "cgroup2").then(|| PathBuf::from(dir))
    })
}

/// `sh` that moves itself into `cgroup` (when given), then execs `/bin/true`.
fn exec_true(cgroup: Option<&Path>) -> ChildGuard {
    let script = match cgroup {
        Some(dir) => format!(
            "echo $$ > '{}/cgroup.procs' && exec /bin/true",
            dir.display()
        ),
        None => "exec /bin/true".to_string(),
    };
    let mut child = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &script]));
    assert!(child.wait().success(), "sh -c {script}");
    child
}

#[test]
fn only_execs_in_the_cgroup_are_traced() {
    let test = "only_execs_in_the_cgroup_are_traced";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let Some(cgroup) = TestCgroup::create(test) else {
        return;
    };
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/cgroup_filter.bpf.c");
    let dir = cgroup.dir.to_string_lossy().into_owned();
    let mut run = Run::start(&source.to_string_lossy(), &["--cgroup", &dir]);
    run.wait_attached(&["on_exec"]);
    let outside = exec_true(None).pid();
    let inside = exec_true(Some(&cgroup.dir)).pid();
    run.wait_for("the exec inside the cgroup", |r| {
        r["type"] == "event" && r["data"]["pid"] == inside
    });
    let done = run.stop();
    let pids: Vec<u64> = events(&done.records, "execs")
        .filter_map(|r| r["data"]["pid"].as_u64())
        .collect();
    // Every exec seen was in the test's fresh cgroup: only `inside`'s.
    assert!(
        pids.iter().all(|&p| p == u64::from(inside)),
        "execs outside the cgroup were traced (outside pid {outside}): {pids:?}"
    );
}

#[test]
fn cgroup_needs_a_cgroup_array_and_a_cgroup_v2_directory() {
    let test = "cgroup_needs_a_cgroup_array_and_a_cgroup_v2_directory";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let no_map = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/getpgid.bpf.c");
    let out = Command::new(common::BPFKIT)
        .args(["run", &no_map.to_string_lossy(), "--cgroup", "/tmp"])
        .output()
        .expect("bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--cgroup: this object has no cgroup program and no cgroup array map"),
        "{stderr}"
    );
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/cgroup_filter.bpf.c");
    let out = Command::new(common::BPFKIT)
        .args([
            "run",
            &source.to_string_lossy(),
            "--cgroup",
            "/tmp",
            "-d",
            "1s",
        ])
        .output()
        .expect("bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("/tmp is not a cgroup v2 directory"),
        "{stderr}"
    );
}

/// `capable -U -c CG` under a flood: 100 processes started at once in the
/// cgroup, each `nice -n -1 true` (a CAP_SYS_NICE check after the dynamic
/// loader's, each record with its user stack). Every check arrives and
/// nothing is lost: with stacks each record is ~560 bytes, and the ~2,200
/// of the burst (~1.2 MB) overflowed the 256 KiB ring buffer that suits
/// the small records (~1,700 lost: the printer cannot drain it while 100
/// processes start on two CPUs); the 4 MiB that -U asks for holds all of
/// them ~3 times over even if nothing were read during the burst.
#[test]
fn capable_with_user_stacks_loses_nothing_when_many_processes_start_at_once() {
    let test = "capable_with_user_stacks_loses_nothing_when_many_processes_start_at_once";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(cgroup) = TestCgroup::create(test) else {
        return;
    };
    const PROCESSES: usize = 100;
    let dir = cgroup.dir.to_string_lossy().into_owned();
    let run = Run::start_tool_attached("capable", &["-U", "-c", &dir]);
    let script = format!(
        "echo $$ > '{dir}/cgroup.procs' && for i in $(seq {PROCESSES}); do nice -n -1 /bin/true & done; wait"
    );
    let mut flood = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &script]));
    assert!(flood.wait().success(), "sh -c {script}");
    // The last records may still be in the ring buffer: a moment to read them.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let done = run.stop();
    let lost: Vec<_> = done
        .records
        .iter()
        .filter(|r| r["type"] == "lost")
        .collect();
    assert!(lost.is_empty(), "{lost:?}");
    let nice_checks = events(&done.records, "events")
        .filter(|r| r["data"]["cap"] == 23 && r["data"]["task"] == "nice")
        .count();
    assert_eq!(nice_checks, PROCESSES, "one CAP_SYS_NICE check per nice");
}
