//! `bpfkit memleak -o AGE`: only allocations outstanding for at least AGE
//! milliseconds are reported. A test program (crates/tools/tests/data/
//! memleak_ages.c) leaks from one function, lets those bytes age well past
//! AGE, then leaks from another just before the report: with `-o` only the
//! old leak is shown, without it both are (so the young one was traced).
//!
//! Reports every interval show all that is outstanding, not just what was
//! allocated since the last one.
//!
//! The ages are the test's own sleeps, far apart (6 s against well under
//! AGE = 4 s), so a loaded machine does not blur them; nothing asserts on
//! how long bpfkit takes.

mod common;

use common::{ChildGuard, Run};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::thread;
use std::time::Duration;

/// `-o`, in milliseconds.
const MIN_AGE_MS: u64 = 4000;
/// How long the old leak ages before the young one happens.
const AGING: Duration = Duration::from_secs(6);
/// What the test program leaks (its OLD_* and YOUNG_* constants).
const OLD: (u64, u64) = (5, 1000);
const YOUNG: (u64, u64) = (3, 3000);

/// The leaking program: told what to leak on stdin, says when it did.
struct Target {
    child: ChildGuard,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Target {
    /// Builds and starts the program; `None` (skip) without root or clang.
    fn start(test: &str) -> Option<Target> {
        if !bpfkit_testkit::privileged(test) {
            return None;
        }
        let source = bpfkit_testkit::repo_path("crates/tools/tests/data/memleak_ages.c");
        let binary =
            bpfkit_testkit::build_program(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))?;
        let mut child = ChildGuard::spawn(
            Command::new(binary)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let stdin = child.0.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
        Some(Target {
            child,
            stdin,
            stdout,
        })
    }

    fn pid(&self) -> String {
        self.child.pid().to_string()
    }

    /// Sends the command byte and waits for the program's answer.
    fn leak(&mut self, command: u8, answer: &str) {
        self.stdin.write_all(&[command]).expect("to the program");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("from the program");
        assert_eq!(line.trim_end(), answer);
    }
}

/// The stack records whose innermost user frame is `function`.
fn stacks_from<'a>(records: &'a [Value], function: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == "stack" && r["user"][0] == function)
        .collect()
}

/// `(count, weight)` of the single stack from `function`.
fn leak_from(records: &[Value], function: &str) -> (u64, u64) {
    let found = stacks_from(records, function);
    assert_eq!(found.len(), 1, "one stack from {function}: {records:?}");
    let number = |field: &str| found[0][field].as_u64().expect(field);
    (number("count"), number("weight"))
}

#[test]
fn memleak_older_leaves_out_young_allocations() {
    let Some(mut target) = Target::start("memleak_older_leaves_out_young_allocations") else {
        return;
    };
    let pid = target.pid();
    let min_age = MIN_AGE_MS.to_string();
    let older = Run::start_tool_attached("memleak", &["-p", &pid, "-o", &min_age]);
    let all = Run::start_tool_attached("memleak", &["-p", &pid]);

    target.leak(b'o', "old");
    thread::sleep(AGING);
    target.leak(b'y', "young");
    let (older, all) = (older.stop().records, all.stop().records);

    let bytes = |(n, size): (u64, u64)| (n, n * size);
    assert_eq!(leak_from(&older, "bpfkit_leak_old"), bytes(OLD));
    assert!(
        stacks_from(&older, "bpfkit_leak_young").is_empty(),
        "-o {MIN_AGE_MS} shows the young leak: {older:?}"
    );
    assert_eq!(leak_from(&all, "bpfkit_leak_old"), bytes(OLD));
    assert_eq!(leak_from(&all, "bpfkit_leak_young"), bytes(YOUNG));
}

#[test]
fn memleak_reports_outstanding_allocations_every_interval() {
    let Some(mut target) = Target::start("memleak_reports_outstanding_allocations_every_interval")
    else {
        return;
    };
    let pid = target.pid();
    // A report every second, until stopped.
    let mut run = Run::start_tool_attached("memleak", &["-p", &pid, "1", "1000"]);
    target.leak(b'o', "old");
    // Nothing is freed: each report from now on shows the leak again.
    run.wait_until("two reports with the leak", |seen| {
        stacks_from(seen, "bpfkit_leak_old").len() >= 2
    });
    let records = run.stop().records;
    for report in stacks_from(&records, "bpfkit_leak_old") {
        let (count, bytes) = (report["count"].as_u64(), report["weight"].as_u64());
        assert_eq!((count, bytes), (Some(OLD.0), Some(OLD.0 * OLD.1)));
    }
}
