//! `funccount` and `stackcount` on user functions (`LIB:FUNC`,
//! `u:LIB:FUNC`, globs): a known number of calls of libc functions this
//! process makes, counted per function by one uprobe.multi program whose
//! attach cookies tell the functions apart.

mod common;

use bpfkit_testkit::privileged;
use common::{Run, map_entries};
use serde_json::Value;

/// `(name, count)` of every entry of the `counts` map record.
fn counts(records: &[Value]) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = map_entries(records, "counts")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap_or("?").to_string(),
                e["value"]["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    counts.sort();
    counts
}

fn call_getppid(times: usize) {
    for _ in 0..times {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
}

fn call_getpgid(times: usize) {
    for _ in 0..times {
        // SAFETY: getpgid(0) asks about this process.
        unsafe { libc::getpgid(0) };
    }
}

/// A glob over two libc functions (`getp?id` ... only getppid and getpgid
/// are called) and an exact `u:` name: each counted on its own key.
#[test]
fn funccount_counts_each_libc_function_by_its_cookie() {
    if !privileged("funccount_counts_each_libc_function_by_its_cookie") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("funccount", &["-p", &pid, "c:getp?id", "u:c:getsid"]);
    call_getppid(5);
    call_getpgid(7);
    for _ in 0..3 {
        // SAFETY: getsid(0) asks about this process.
        unsafe { libc::getsid(0) };
    }
    let finished = run.stop();
    let counted = counts(&finished.records);
    let of = |name: &str| counted.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(of("getppid"), Some(5), "{counted:?}");
    assert_eq!(of("getpgid"), Some(7), "{counted:?}");
    assert_eq!(of("getsid"), Some(3), "{counted:?}");
    let attached: Vec<&Value> = finished
        .records
        .iter()
        .filter(|r| r["type"] == "attached")
        .collect();
    if bpfkit_runtime::probe::has_uprobe_multi() {
        assert!(
            attached.iter().any(|r| r["hook"]
                .as_str()
                .is_some_and(|h| h.starts_with("uprobe.multi:") && h.contains("getp?id"))),
            "one uprobe.multi link for the glob: {attached:?}"
        );
    }
}

/// stackcount on a user function: every call counted, under a user stack
/// whose innermost frame is the function itself.
#[test]
fn stackcount_counts_user_stacks_of_a_libc_function() {
    if !privileged("stackcount_counts_user_stacks_of_a_libc_function") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("stackcount", &["-U", "-p", &pid, "c:getppid"]);
    call_getppid(4);
    let finished = run.stop();
    let stacks: Vec<&Value> = finished
        .records
        .iter()
        .filter(|r| r["type"] == "stack")
        .collect();
    let total: u64 = stacks
        .iter()
        .map(|s| s["weight"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 4, "{stacks:?}");
    for stack in &stacks {
        let user = stack["user"].as_array().expect("user frames");
        // glibc's own name for it may be an alias (__GI_getppid).
        let innermost = user.first().and_then(Value::as_str).unwrap_or("");
        assert!(innermost.ends_with("getppid"), "{stack}");
    }
}

/// -r: regular expressions (matched as bcc's re.match) over user function
/// names, one uprobe per match, and over tracepoint names.
#[test]
fn funccount_regex_over_user_functions_and_tracepoints() {
    if !privileged("funccount_regex_over_user_functions_and_tracepoints") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "funccount",
        &[
            "-r",
            "-p",
            &pid,
            "c:^getp(p|g)id$",
            "t:^syscalls$:^sys_enter_getp(p|g)id$",
        ],
    );
    call_getppid(2);
    call_getpgid(3);
    let finished = run.stop();
    let counted = counts(&finished.records);
    assert_eq!(
        counted,
        [
            ("getpgid".to_string(), 3),
            ("getppid".to_string(), 2),
            ("sys_enter_getpgid".to_string(), 3),
            ("sys_enter_getppid".to_string(), 2),
        ],
        "{:?}",
        finished.records
    );
}
