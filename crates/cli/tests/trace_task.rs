//! `$task` (the current `struct task_struct *`, members typed from the
//! kernel's BTF) in every kind of probe this kernel runs, and bitfield
//! members, on children the tests fork: each names itself, maybe sets
//! SCHED_RESET_ON_FORK (the 1-bit `task_struct.sched_reset_on_fork`), and
//! calls getppid a known number of times.

mod common;

use bpfkit_testkit::privileged;
use common::{Run, events, map_counts};
use serde_json::Value;
use std::ffi::CString;

/// Forks a child that names itself `name`, sets SCHED_RESET_ON_FORK when
/// `reset_on_fork`, calls libc's getppid (the uprobe `c:getppid` and the
/// syscall's tracepoint both see it) `calls` times and exits; returns its
/// pid once it has exited with 0.
fn child_calling_getppid(name: &str, reset_on_fork: bool, calls: usize) -> u32 {
    let name = CString::new(name).expect("no NUL in a task name");
    // SAFETY: between fork and _exit the child calls only prctl,
    // sched_setscheduler and getppid (async-signal-safe system calls) on
    // memory made before the fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: see above; the child never returns into the test.
        unsafe {
            libc::prctl(libc::PR_SET_NAME, name.as_ptr());
            let param = libc::sched_param { sched_priority: 0 };
            if reset_on_fork
                && libc::sched_setscheduler(
                    0,
                    libc::SCHED_OTHER | libc::SCHED_RESET_ON_FORK,
                    &param,
                ) != 0
            {
                libc::_exit(2);
            }
            for _ in 0..calls {
                libc::getppid();
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: our own child, not yet reaped.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(reaped, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child {name:?} failed: status {status:#x} (2: sched_setscheduler)"
    );
    pid as u32
}

/// The `data` of every event of child `pid`.
fn data_of(records: &[Value], pid: u32) -> Vec<&Value> {
    events(records, "events")
        .map(|e| &e["data"])
        .filter(|d| d["pid"] == pid)
        .collect()
}

/// `$task` in a tracepoint probe's filter and format: only this process's
/// children pass, and each event carries this process as the parent and
/// the child's own name.
#[test]
fn task_members_in_a_tracepoint_filter_and_format() {
    if !privileged("task_members_in_a_tracepoint_filter_and_format") {
        return;
    }
    let me = std::process::id();
    let probe = format!(
        "t:syscalls:sys_enter_getppid ($task->real_parent->tgid == {me}) \"%d %s %d\", \
         $task->real_parent->tgid, $task->comm, $task->tgid"
    );
    let mut run = Run::start_tool_attached("trace", &[&probe]);
    let first = child_calling_getppid("h12-first", false, 3);
    let second = child_calling_getppid("h12-second", false, 2);
    run.wait_for("the second child's event", |r| r["data"]["pid"] == second);
    let finished = run.stop();
    // The filter: no task but this process's children.
    for e in events(&finished.records, "events") {
        assert_eq!(e["data"]["tgid"], me, "{e}");
    }
    for (child, name, calls) in [(first, "h12-first", 3), (second, "h12-second", 2)] {
        let seen = data_of(&finished.records, child);
        assert_eq!(seen.len(), calls, "{name}: {seen:?}");
        for d in seen {
            // `comm` is the header's; `$task->comm` is read from the task.
            assert_eq!(d["comm_2"], name, "{d}");
            assert_eq!(d["tgid_2"], child, "{d}");
        }
    }
}

/// A bitfield member: `task_struct.sched_reset_on_fork` is 1 bit wide (see
/// `bpfkit btf dump`), set by sched_setscheduler with SCHED_RESET_ON_FORK.
/// Refused as "a bitfield: not supported" before bitfields were read.
#[test]
fn bitfield_member_is_read_from_its_bits() {
    if !privileged("bitfield_member_is_read_from_its_bits") {
        return;
    }
    let me = std::process::id();
    let probe = format!(
        "t:syscalls:sys_enter_getppid ($task->real_parent->tgid == {me}) \"%d\", \
         $task->sched_reset_on_fork"
    );
    let mut run = Run::start_tool_attached("trace", &[&probe]);
    let reset = child_calling_getppid("h12-reset", true, 2);
    let plain = child_calling_getppid("h12-plain", false, 2);
    run.wait_for("the plain child's event", |r| r["data"]["pid"] == plain);
    let finished = run.stop();
    let bits = |pid| -> Vec<Value> {
        data_of(&finished.records, pid)
            .iter()
            .map(|d| d["sched_reset_on_fork"].clone())
            .collect()
    };
    assert_eq!(bits(reset), [1, 1], "{:?}", finished.records);
    assert_eq!(bits(plain), [0, 0], "{:?}", finished.records);
}

/// `$task` in a uprobe probe (libc's getppid).
#[test]
fn task_members_in_a_uprobe() {
    if !privileged("task_members_in_a_uprobe") {
        return;
    }
    let me = std::process::id();
    let probe = format!(
        "p:c:getppid ($task->real_parent->tgid == {me}) \"%s %d\", $task->comm, $task->pid"
    );
    let mut run = Run::start_tool_attached("trace", &[&probe]);
    let child = child_calling_getppid("h12-uprobe", false, 2);
    run.wait_for("the child's event", |r| r["data"]["pid"] == child);
    let finished = run.stop();
    let seen = data_of(&finished.records, child);
    assert_eq!(seen.len(), 2, "{:?}", finished.records);
    for d in seen {
        assert_eq!(d["comm_2"], "h12-uprobe", "{d}");
        assert_eq!(d["pid_2"], child, "{d}");
    }
}

/// `$task` in argdist's value and filter: getppid calls counted per tgid,
/// and no other task's (runs are serial: no other test's children now).
#[test]
fn argdist_counts_per_task_tgid() {
    if !privileged("argdist_counts_per_task_tgid") {
        return;
    }
    let me = std::process::id();
    let spec =
        format!("t:syscalls:sys_enter_getppid():int:$task->tgid:$task->real_parent->tgid=={me}");
    let run = Run::start_tool_attached("argdist", &["-C", &spec]);
    let three = child_calling_getppid("h12-three", false, 3);
    let five = child_calling_getppid("h12-five", false, 5);
    let finished = run.stop();
    let mut counts: Vec<(u64, u64)> = map_counts(&finished.records, "counts")
        .into_iter()
        .map(|(key, count)| (key.as_u64().unwrap_or(0), count))
        .collect();
    counts.sort();
    let mut wanted = vec![(three as u64, 3), (five as u64, 5)];
    wanted.sort();
    assert_eq!(counts, wanted, "{:?}", finished.records);
}

/// A `$task` member that is not there: one error naming the near ones,
/// with a caret under the walk, exit 1.
#[test]
fn unknown_task_member_is_one_error_with_near_names() {
    if !privileged("unknown_task_member_is_one_error_with_near_names") {
        return;
    }
    let probe = "t:syscalls:sys_enter_getppid ($task->real_parent->tgidd == 1)";
    let out = std::process::Command::new(common::BPFKIT)
        .args(["trace", probe])
        .output()
        .expect("running bpfkit trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(
            "bpfkit: probe 't:syscalls:sys_enter_getppid ($task->real_parent->tgidd == 1)': \
             '$task->real_parent' has no member 'tgidd' (near: tgid) (column 31)"
        ),
        "{stderr}"
    );
    let caret = stderr.lines().last().unwrap_or_default();
    assert_eq!(caret.find('^'), Some(4 + 30), "{stderr}");
}
