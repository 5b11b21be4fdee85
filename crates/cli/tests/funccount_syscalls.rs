//! `funccount` over system call tracepoints: counted by number through the
//! two `raw_syscalls` tracepoints (x86-64), with the same counts as a
//! program on each `syscalls:*` tracepoint (`--per-tracepoint`), for a
//! known number of system calls this process makes.

mod common;

use bpfkit_testkit::privileged;
use common::{Run, map_counts};

const PATTERNS: [&str; 3] = [
    "t:syscalls:sys_enter_getp*",
    "t:syscalls:sys_e*_getsid",
    "t:syscalls:sys_exit_getppid",
];

/// getppid 5 times, getpgid 7 times, getsid 3 times, raw system calls (libc
/// could cache one).
fn make_known_calls() {
    for _ in 0..5 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    for _ in 0..7 {
        // SAFETY: getpgid(0) asks about this process.
        unsafe { libc::syscall(libc::SYS_getpgid, 0) };
    }
    for _ in 0..3 {
        // SAFETY: getsid(0) asks about this process.
        unsafe { libc::syscall(libc::SYS_getsid, 0) };
    }
}

/// getppid 11 times in a child process, which `-p` leaves out.
fn make_calls_in_a_child() {
    // SAFETY: the child only makes system calls and _exits (async-signal
    // safe after fork in a threaded process).
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        for _ in 0..11 {
            // SAFETY: getppid has no preconditions.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
}

/// The counts (`(name, count)`, sorted) and attached hooks of one run over
/// this process's known calls (`-p`: not its child's).
fn count_known_calls(extra: &[&str]) -> (Vec<(String, u64)>, Vec<String>) {
    let pid = std::process::id().to_string();
    let mut args = vec!["-p", pid.as_str()];
    args.extend(extra);
    args.extend(PATTERNS);
    let run = Run::start_tool_attached("funccount", &args);
    make_known_calls();
    make_calls_in_a_child();
    let finished = run.stop();
    let mut counts: Vec<(String, u64)> = map_counts(&finished.records, "counts")
        .into_iter()
        .map(|(key, count)| (key.as_str().unwrap_or("?").to_string(), count))
        .collect();
    counts.sort();
    let hooks = finished
        .records
        .iter()
        .filter(|r| r["type"] == "attached")
        .map(|r| r["hook"].as_str().unwrap_or("?").to_string())
        .collect();
    (counts, hooks)
}

#[test]
fn funccount_counts_syscall_tracepoints_by_number_as_one_by_one() {
    if !privileged("funccount_counts_syscall_tracepoints_by_number_as_one_by_one") {
        return;
    }
    let (by_number, hooks) = count_known_calls(&[]);
    let (one_by_one, single_hooks) = count_known_calls(&["--per-tracepoint"]);
    let of = |counts: &[(String, u64)], name: &str| {
        counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c)
    };
    for counts in [&by_number, &one_by_one] {
        assert_eq!(of(counts, "sys_enter_getppid"), Some(5), "{counts:?}");
        assert_eq!(of(counts, "sys_exit_getppid"), Some(5), "{counts:?}");
        assert_eq!(of(counts, "sys_enter_getpgid"), Some(7), "{counts:?}");
        assert_eq!(of(counts, "sys_enter_getsid"), Some(3), "{counts:?}");
        assert_eq!(of(counts, "sys_exit_getsid"), Some(3), "{counts:?}");
        // Matched, never called.
        assert_eq!(of(counts, "sys_enter_getpriority"), None, "{counts:?}");
    }
    // The test's other system calls (getpid from -p's check, futexes of
    // its threads) differ between runs: only the known ones are compared.
    assert!(
        single_hooks.iter().all(|h| h.contains("syscalls:sys_e")),
        "--per-tracepoint: a tracepoint each: {single_hooks:?}"
    );
    assert!(single_hooks.len() > 5, "{single_hooks:?}");
    if cfg!(target_arch = "x86_64") {
        let mut hooks = hooks;
        hooks.sort();
        assert_eq!(
            hooks.len(),
            2,
            "by number: raw_syscalls:sys_enter and sys_exit only: {hooks:?}"
        );
        assert!(hooks[0].ends_with("raw_syscalls:sys_enter"), "{hooks:?}");
        assert!(hooks[1].ends_with("raw_syscalls:sys_exit"), "{hooks:?}");
    }
}
