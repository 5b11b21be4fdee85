//! `bpfkit memleak -o AGE`: only allocations outstanding for at least AGE
//! milliseconds are reported. A test program (crates/tools/tests/data/
//! memleak_ages.c) leaks from one function, lets those bytes age well past
//! AGE, then leaks from another just before the report: with `-o` only the
//! old leak is shown, without it both are (so the young one was traced).
//!
//! The ages are the test's own sleeps, far apart (6 s against well under
//! AGE = 4 s), so a loaded machine does not blur them; nothing asserts on
//! how long bpfkit takes.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const BPFKIT: &str = env!("CARGO_BIN_EXE_bpfkit");
/// Upper bound for anything the test waits for.
const BOUND: Duration = Duration::from_secs(20);
/// `-o`, in milliseconds.
const MIN_AGE_MS: u64 = 4000;
/// How long the old leak ages before the young one happens.
const AGING: Duration = Duration::from_secs(6);
/// What the test program leaks (its OLD_* and YOUNG_* constants).
const OLD: (u64, u64) = (5, 1000);
const YOUNG: (u64, u64) = (3, 3000);

/// A child process, killed and reaped on drop, even when the test fails.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Builds the leaking program with frame pointers; `None` (skip) without clang.
fn build_target(test: &str) -> Option<PathBuf> {
    let clang = bpfkit_testkit::clang(test)?;
    let source = bpfkit_testkit::repo_path("crates/tools/tests/data/memleak_ages.c");
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("memleak_ages-{}", std::process::id()));
    let status = Command::new(clang)
        .args(["-O1", "-g", "-fno-omit-frame-pointer"])
        .arg("-fno-optimize-sibling-calls")
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .status()
        .expect("running clang");
    assert!(status.success(), "building {}", source.display());
    Some(binary)
}

/// The leaking program: told what to leak on stdin, says when it did.
struct Target {
    child: Guard,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Target {
    fn spawn(binary: &PathBuf) -> Target {
        let mut child = Guard(
            Command::new(binary)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("the leaking program"),
        );
        let stdin = child.0.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
        Target {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends the command byte and waits for the program's answer.
    fn leak(&mut self, command: u8, answer: &str) {
        self.stdin.write_all(&[command]).expect("to the program");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("from the program");
        assert_eq!(line.trim_end(), answer);
    }
}

/// A running `bpfkit memleak --json ...`: stdout lines as they come.
struct Memleak {
    child: Guard,
    lines: Receiver<String>,
    stderr: JoinHandle<String>,
}

impl Memleak {
    /// Starts it and returns once its probes are attached (the `attached`
    /// records come after the last attach).
    fn start(args: &[&str]) -> Memleak {
        let mut child = Guard(
            Command::new(BPFKIT)
                .args(["memleak", "--json"])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawning bpfkit"),
        );
        let stdout = child.0.stdout.take().expect("stdout");
        let mut stderr = child.0.stderr.take().expect("stderr");
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let run = Memleak {
            child,
            lines,
            stderr,
        };
        let line = run
            .lines
            .recv_timeout(BOUND)
            .unwrap_or_else(|e| panic!("no output from bpfkit ({e})"));
        assert!(line.contains("\"attached\""), "first line: {line}");
        run
    }

    /// Stops it as Ctrl-C would; its records (the report comes at exit).
    fn stop(mut self) -> Vec<Value> {
        // SAFETY: kill(2) on our own, not yet reaped, child.
        let rc = unsafe { libc::kill(self.child.0.id() as i32, libc::SIGINT) };
        assert_eq!(rc, 0, "SIGINT to bpfkit");
        let deadline = Instant::now() + BOUND;
        let status = loop {
            if let Some(status) = self.child.0.try_wait().expect("waiting for bpfkit") {
                break status;
            }
            assert!(Instant::now() < deadline, "bpfkit did not exit");
            thread::sleep(Duration::from_millis(50));
        };
        let stderr = self.stderr.join().unwrap_or_default();
        assert!(status.success(), "bpfkit: {status}\n{stderr}");
        self.lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
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
    let test = "memleak_older_leaves_out_young_allocations";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(binary) = build_target(test) else {
        return;
    };
    let mut target = Target::spawn(&binary);
    let pid = target.child.0.id().to_string();
    let min_age = MIN_AGE_MS.to_string();
    let older = Memleak::start(&["-p", &pid, "-o", &min_age]);
    let all = Memleak::start(&["-p", &pid]);

    target.leak(b'o', "old");
    thread::sleep(AGING);
    target.leak(b'y', "young");
    let (older, all) = (older.stop(), all.stop());

    let bytes = |(n, size): (u64, u64)| (n, n * size);
    assert_eq!(leak_from(&older, "bpfkit_leak_old"), bytes(OLD));
    assert!(
        stacks_from(&older, "bpfkit_leak_young").is_empty(),
        "-o {MIN_AGE_MS} shows the young leak: {older:?}"
    );
    assert_eq!(leak_from(&all, "bpfkit_leak_old"), bytes(OLD));
    assert_eq!(leak_from(&all, "bpfkit_leak_young"), bytes(YOUNG));
}
