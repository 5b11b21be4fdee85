//! `bpfkit trace`/`argdist` on USDT probes (`U:LIB:PROVIDER:NAME`), on
//! test programs built with `<sys/sdt.h>` whose probe arguments the tests
//! know: crates/probe/tests/usdt_args.c (two sites, arguments in stack
//! memory, registers, a constant and a string) and the runtime's
//! usdt_target_sema.c (one site behind a semaphore).

mod common;

use bpfkit_testkit::privileged;
use common::{Run, TempDir, events, map_counts, map_entries};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Builds the test program `source` (relative to the repository), `None`
/// to skip (no root, clang or <sys/sdt.h>, outside CI).
fn usdt_program(test: &str, dir: &TempDir, source: &str) -> Option<PathBuf> {
    if !privileged(test) {
        return None;
    }
    let source = Path::new(REPO).join(source);
    bpfkit_testkit::build_usdt_program(test, &source, dir.path())
}

/// Starts `program N`, which fires its probes once a byte arrives on stdin.
fn spawn_waiting(program: &Path, n: u32) -> Child {
    Command::new(program)
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawning the USDT test program")
}

/// Lets the program fire its probes and waits for it to end.
fn release(mut child: Child) {
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(b"x")
        .expect("writing to the test program");
    let status = child.wait().expect("waiting for the test program");
    assert!(status.success(), "the USDT test program failed: {status}");
}

const ARGS_C: &str = "crates/probe/tests/usdt_args.c";

/// Every kind of argument location is read right, at both sites of the
/// probe (one program each, as their specs differ), and the filter sees
/// the same values.
#[test]
fn usdt_arguments_of_every_location_kind_reach_trace() {
    const TEST: &str = "usdt_arguments_of_every_location_kind_reach_trace";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, ARGS_C) else {
        return;
    };
    let child = spawn_waiting(&program, 3);
    let pid = child.id().to_string();
    let probe = format!(
        "U:{}:bpfkit_trace:args (arg1 >= 1 && arg3 == -7) \"%d %ld %d %s %d\", arg1, arg2, arg3, arg4, arg5",
        program.display()
    );
    let mut run = Run::start_tool_attached("trace", &["-p", &pid, &probe]);
    run.wait_attached(&["probe_0", "probe_1"]);
    release(child);
    run.wait_until("four USDT events", |seen| {
        seen.iter().filter(|r| r["type"] == "event").count() >= 4
    });
    let finished = run.stop();
    let fired: Vec<&Value> = events(&finished.records, "events").collect();
    let mut seen: Vec<i64> = Vec::new();
    for event in &fired {
        let data = &event["data"];
        let i = data["arg1"].as_i64().expect("arg1");
        assert_eq!(data["arg2"], -5_000_000_000i64, "{event}");
        assert_eq!(data["arg3"], -7, "{event}");
        assert_eq!(data["arg4"], "usdt-name", "{event}");
        assert_eq!(data["arg5"], i * 3, "{event}");
        assert_eq!(data["probe"], "args", "{event}");
        seen.push(i);
    }
    seen.sort();
    assert_eq!(
        seen,
        [1, 1, 2, 2],
        "each of i = 1, 2 once per site: {fired:?}"
    );
}

/// argdist -C counts a USDT argument per value, over both sites.
#[test]
fn argdist_counts_a_usdt_argument() {
    const TEST: &str = "argdist_counts_a_usdt_argument";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, ARGS_C) else {
        return;
    };
    let child = spawn_waiting(&program, 4);
    let pid = child.id().to_string();
    let spec = format!("U:{}:bpfkit_trace:args():int:arg5", program.display());
    let mut run = Run::start_tool_attached("argdist", &["-p", &pid, "-C", &spec]);
    run.wait_attached(&["probe_0", "probe_1"]);
    release(child);
    let finished = run.stop();
    let mut counts: Vec<(i64, u64)> = map_counts(&finished.records, "counts")
        .into_iter()
        .map(|(key, count)| (key.as_i64().unwrap_or(-1), count))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [(0, 2), (3, 2), (6, 2), (9, 2)],
        "{:?}",
        finished.records
    );
}

/// argdist -C with a USDT string argument (TYPE char*) in the key, alone
/// and with a number, over both sites.
#[test]
fn argdist_counts_a_usdt_string_argument() {
    const TEST: &str = "argdist_counts_a_usdt_string_argument";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, ARGS_C) else {
        return;
    };
    let child = spawn_waiting(&program, 2);
    let pid = child.id().to_string();
    let probe = format!("U:{}:bpfkit_trace:args()", program.display());
    let alone = format!("{probe}:char*:arg4");
    let with_number = format!("{probe}:char*,int:arg4,arg1");
    let mut run =
        Run::start_tool_attached("argdist", &["-p", &pid, "-C", &alone, "-C", &with_number]);
    run.wait_attached(&["probe_0", "probe_1", "probe_2", "probe_3"]);
    release(child);
    let finished = run.stop();
    let entries = |map: &str| map_counts(&finished.records, map);
    assert_eq!(entries("counts"), [(Value::from("usdt-name"), 4)]);
    let key = |i: i64| serde_json::json!({"arg4": "usdt-name", "arg1": i});
    assert_eq!(entries("counts_2"), [(key(0), 2), (key(1), 2)]);
}

const SEMA_C: &str = "crates/runtime/tests/bpf/usdt_target_sema.c";

/// A probe with one site goes through the runtime's USDT attach, which
/// raises the probe's semaphore in the process `-p` names; without `-p`
/// that is one error saying so. The probe names the binary through a
/// symbolic link (as /usr/bin/python3 is one to python3.11), while the
/// process maps the file under its real name.
/// `$task` in a USDT probe's filter and format: the task that fired the
/// probe, a child of this test, named as its binary.
#[test]
fn usdt_probe_reads_task_members() {
    const TEST: &str = "usdt_probe_reads_task_members";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, ARGS_C) else {
        return;
    };
    let child = spawn_waiting(&program, 2);
    let pid = child.id();
    let me = std::process::id();
    let probe = format!(
        "U:{}:bpfkit_trace:args ($task->real_parent->tgid == {me}) \"%d %s\", $task->tgid, $task->comm",
        program.display()
    );
    let mut run = Run::start_tool_attached("trace", &["-p", &pid.to_string(), &probe]);
    run.wait_attached(&["probe_0", "probe_1"]);
    release(child);
    run.wait_until("four USDT events", |seen| {
        seen.iter().filter(|r| r["type"] == "event").count() >= 4
    });
    let finished = run.stop();
    let fired: Vec<&Value> = events(&finished.records, "events").collect();
    // i = 0 and 1 at each of the two sites.
    assert_eq!(fired.len(), 4, "{fired:?}");
    let name = program
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a name");
    let comm: String = name.chars().take(15).collect();
    for event in fired {
        assert_eq!(event["data"]["tgid"], pid, "{event}");
        assert_eq!(event["data"]["comm_2"], comm.as_str(), "{event}");
    }
}

/// A probe with one site goes through the runtime's USDT attach, which
/// raises the probe's semaphore in the process `-p` names; without `-p`
/// that is one error saying so. The probe names the binary through a
/// symbolic link (as /usr/bin/python3 is one to python3.11), while the
/// process maps the file under its real name.
#[test]
fn usdt_probe_behind_a_semaphore_fires_with_pid() {
    const TEST: &str = "usdt_probe_behind_a_semaphore_fires_with_pid";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, SEMA_C) else {
        return;
    };
    let link = dir.path().join("sema-link");
    std::os::unix::fs::symlink(&program, &link).expect("linking the test program");
    let probe = format!(
        "U:{}:bpfkit_test:tick \"%d %ld\", arg1, arg2",
        link.display()
    );
    let out = Command::new(common::BPFKIT)
        .args(["trace", "-d", "1s", &probe])
        .output()
        .expect("running bpfkit trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("semaphore"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one error: {stderr}");

    let child = spawn_waiting(&program, 3);
    let pid = child.id().to_string();
    let mut run = Run::start_tool_attached("trace", &["-p", &pid, &probe]);
    release(child);
    run.wait_until("three ticks", |seen| {
        seen.iter().filter(|r| r["type"] == "event").count() >= 3
    });
    let finished = run.stop();
    let ticks: Vec<(i64, i64)> = events(&finished.records, "events")
        .map(|e| {
            (
                e["data"]["arg1"].as_i64().unwrap_or(-1),
                e["data"]["arg2"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        ticks,
        [
            (0, -5_000_000_000),
            (1, -5_000_000_000),
            (2, -5_000_000_000)
        ]
    );
}

/// A probe the binary lacks: one error listing the probes it has; `-l`
/// lists them too.
#[test]
fn missing_usdt_probe_lists_the_binary_probes() {
    const TEST: &str = "missing_usdt_probe_lists_the_binary_probes";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, ARGS_C) else {
        return;
    };
    let probe = format!("U:{}:bpfkit_trace:nope", program.display());
    let out = Command::new(common::BPFKIT)
        .args(["trace", &probe])
        .output()
        .expect("running bpfkit trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has no USDT probe bpfkit_trace:nope (it has: bpfkit_trace:args)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let listed = common::output(
        common::BPFKIT,
        &["trace", "-l", &format!("U:{}:bpfkit_*", program.display())],
    );
    assert_eq!(listed, format!("{} bpfkit_trace:args\n", program.display()));
}

const COUNT_C: &str = "crates/probe/tests/usdt_count.c";

/// `(name, count)` of every entry of funccount's `counts` map record, by
/// the name the pattern gave the target (JSON's `name`), sorted.
fn named_counts(records: &[Value]) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = map_entries(records, "counts")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("?").to_string(),
                e["value"]["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    counts.sort();
    counts
}

/// bcc's `funccount 'u:LIB:PROBE'`: a glob over probe names counts each
/// USDT probe it matches on its own line, named PROVIDER:NAME, every site
/// of a probe included (gc__done has two); an exact name counts one.
#[test]
fn funccount_counts_usdt_probes_matched_by_a_pattern() {
    const TEST: &str = "funccount_counts_usdt_probes_matched_by_a_pattern";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, COUNT_C) else {
        return;
    };
    let child = spawn_waiting(&program, 4);
    let pid = child.id().to_string();
    let glob = format!("u:{}:gc*", program.display());
    let exact = format!("u:{}:tick", program.display());
    let run = Run::start_tool_attached("funccount", &["-p", &pid, &glob, &exact]);
    release(child);
    let finished = run.stop();
    assert_eq!(
        named_counts(&finished.records),
        [
            ("bpfkit_count:gc__done".to_string(), 8),
            ("bpfkit_count:gc__start".to_string(), 4),
            ("bpfkit_count:tick".to_string(), 12),
        ],
        "{:?}",
        finished.records
    );
    let usdt_links = finished
        .records
        .iter()
        .filter(|r| {
            r["type"] == "attached" && r["hook"].as_str().is_some_and(|h| h.starts_with("usdt "))
        })
        .count();
    assert_eq!(
        usdt_links, 3,
        "one usdt program per probe: {:?}",
        finished.records
    );
    // Every target was hit: the map holds an entry for each, and is not
    // "full" (a false warning of dropped counts).
    assert!(!finished.stderr.contains("is full"), "{}", finished.stderr);
}

/// The table names the probes as bcc's funccount prints them, and `-r`
/// matches probe names by regular expression.
#[test]
fn funccount_table_names_usdt_probes_and_takes_regex() {
    const TEST: &str = "funccount_table_names_usdt_probes_and_takes_regex";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, COUNT_C) else {
        return;
    };
    // One bpfkit at a time: others' events would crowd this one's.
    let _serial = common::serial();
    let child = spawn_waiting(&program, 2);
    let pid = child.id().to_string();
    let pattern = format!("u:{}:^gc__(start|done)$", program.display());
    let bpfkit = Command::new(common::BPFKIT)
        .args(["funccount", "-r", "-p", &pid, "-d", "2s", &pattern])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running bpfkit funccount");
    // Attached well within the first second; the probes fire at once.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    release(child);
    let out = bpfkit.wait_with_output().expect("waiting for bpfkit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|cols: &Vec<&str>| cols.len() == 2 && cols[0].starts_with("bpfkit_count:"))
        .collect();
    assert_eq!(
        rows,
        [
            vec!["bpfkit_count:gc__done", "4"],
            vec!["bpfkit_count:gc__start", "2"]
        ],
        "{stdout}"
    );
}

/// A probe behind a semaphore is counted with -p (which raises it); without
/// -p that is one error saying so.
#[test]
fn funccount_counts_a_usdt_probe_behind_a_semaphore_with_pid() {
    const TEST: &str = "funccount_counts_a_usdt_probe_behind_a_semaphore_with_pid";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, SEMA_C) else {
        return;
    };
    // One bpfkit at a time: others' events would crowd this one's.
    let _serial = common::serial();
    let pattern = format!("u:{}:t*", program.display());
    let out = Command::new(common::BPFKIT)
        .args(["funccount", "-d", "1s", &pattern])
        .output()
        .expect("running bpfkit funccount");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("semaphore") && stderr.contains("--pid"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one error: {stderr}");

    let child = spawn_waiting(&program, 3);
    let pid = child.id().to_string();
    let run = Run::start_tool_attached("funccount", &["-p", &pid, &pattern]);
    release(child);
    let finished = run.stop();
    assert_eq!(
        named_counts(&finished.records),
        [("bpfkit_test:tick".to_string(), 3)]
    );
}

/// `u:LIB:PATTERN` on a library with no USDT notes (Debian's libc) counts
/// its functions, as `u:c:str*` always did, and `-v` says why.
#[test]
fn funccount_u_on_a_library_without_usdt_counts_functions() {
    if !privileged("funccount_u_on_a_library_without_usdt_counts_functions") {
        return;
    }
    let libc = bpfkit_probe::uprobe::resolve_library("c").expect("libc");
    let elf = std::fs::read(&libc).expect("reading libc");
    let sites = bpfkit_object::usdt::read_usdt_sites(&elf).expect("libc's notes");
    if sites.iter().any(|s| s.name.starts_with("getp")) {
        eprintln!("skipping: this libc has USDT probes named getp*");
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("funccount", &["-v", "-p", &pid, "u:c:getp?id"]);
    for _ in 0..5 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    let finished = run.stop();
    let counted = named_counts(&finished.records);
    assert!(counted.contains(&("getppid".to_string(), 5)), "{counted:?}");
    assert!(
        finished
            .stderr
            .contains("has no USDT probes (no .note.stapsdt): counting its functions"),
        "{}",
        finished.stderr
    );
}

/// A pattern matching no USDT probe and no function: one error naming the
/// probes the binary has; `U:` (USDT only) says the same.
#[test]
fn funccount_unmatched_usdt_pattern_is_one_error() {
    const TEST: &str = "funccount_unmatched_usdt_pattern_is_one_error";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, COUNT_C) else {
        return;
    };
    // One bpfkit at a time: others' events would crowd this one's.
    let _serial = common::serial();
    for pattern in [
        format!("u:{}:nope*", program.display()),
        format!("U:{}:nope*", program.display()),
        format!("u:{}:bpfkit_count:nope*", program.display()),
    ] {
        let out = Command::new(common::BPFKIT)
            .args(["funccount", "-d", "1s", &pattern])
            .output()
            .expect("running bpfkit funccount");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{pattern}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one error: {stderr}");
        assert!(
            stderr.contains(
                "has no USDT probe matching 'nope*' (it has: bpfkit_count:gc__done, \
                 bpfkit_count:gc__start, bpfkit_count:tick)"
            ),
            "{pattern}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// stackcount on a USDT probe: every hit counted under a user stack whose
/// innermost frame is the function holding the probe site.
#[test]
fn stackcount_counts_user_stacks_of_a_usdt_probe() {
    const TEST: &str = "stackcount_counts_user_stacks_of_a_usdt_probe";
    let dir = TempDir::new("usdt");
    let Some(program) = usdt_program(TEST, &dir, COUNT_C) else {
        return;
    };
    let mut child = spawn_waiting(&program, 3);
    let pid = child.id().to_string();
    let pattern = format!("u:{}:gc__start", program.display());
    let run = Run::start_tool_attached("stackcount", &["-U", "-p", &pid, &pattern]);
    // Fire, but keep the process (and its symbols) until the stacks print.
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(b"x").expect("writing to the test program");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let finished = run.stop();
    drop(stdin);
    assert!(
        child
            .wait()
            .expect("waiting for the test program")
            .success()
    );
    let stacks: Vec<&Value> = finished
        .records
        .iter()
        .filter(|r| r["type"] == "stack")
        .collect();
    let total: u64 = stacks
        .iter()
        .map(|s| s["weight"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 3, "{stacks:?}");
    for stack in &stacks {
        let innermost = stack["user"][0].as_str().unwrap_or("");
        assert!(innermost.starts_with("collect"), "{stack}");
    }
}
