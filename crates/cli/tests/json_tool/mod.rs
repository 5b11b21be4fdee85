//! A built-in tool run as `bpfkit TOOL --json ARGS...` (the tool's own
//! flags, unlike `bpfkit run`'s `-o json`): started, read line by line,
//! stopped with SIGINT, its records parsed. Killed on drop, so a failing
//! test leaves nothing attached.
//!
//! `BOUND` only keeps a broken run from hanging the test suite; no test
//! asserts on how long anything takes.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub const BPFKIT: &str = env!("CARGO_BIN_EXE_bpfkit");
/// Upper bound for anything a test waits for.
pub const BOUND: Duration = Duration::from_secs(20);

/// A child process, killed and reaped on drop, even when the test fails.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A running `bpfkit TOOL --json ...`.
pub struct JsonTool {
    child: Guard,
    lines: Receiver<String>,
    stderr: JoinHandle<String>,
    /// Records read so far.
    seen: Vec<Value>,
}

impl JsonTool {
    /// Starts the tool and returns once its programs are attached (the
    /// `attached` records come after the last attach).
    pub fn start(tool: &str, args: &[&str]) -> JsonTool {
        let mut child = Guard(
            Command::new(BPFKIT)
                .args([tool, "--json"])
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
        let mut run = JsonTool {
            child,
            lines,
            stderr,
            seen: Vec::new(),
        };
        run.wait_for("an attached record", |r| r["type"] == "attached");
        run
    }

    /// Waits for a record (already read or still to come) matching `pred`.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_until(what, |seen| seen.iter().any(&pred));
        let found = self.seen.iter().find(|r| pred(r));
        found.cloned().expect("just seen")
    }

    /// Reads records until those read so far satisfy `done`.
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + BOUND;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(parse(&line)),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} within {BOUND:?}; records: {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let stderr = self.take_stderr();
                    panic!(
                        "bpfkit ended before {what}; records: {:?}\nstderr:\n{stderr}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Stops the tool as Ctrl-C would and checks it exited cleanly; every
    /// record it printed (summaries come at exit).
    pub fn stop(mut self) -> Vec<Value> {
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
        let stderr = self.take_stderr();
        assert!(status.success(), "bpfkit: {status}\n{stderr}");
        let rest: Vec<String> = self.lines.iter().collect();
        self.seen.extend(rest.iter().map(|l| parse(l)));
        self.seen
    }

    fn take_stderr(&mut self) -> String {
        let done = std::mem::replace(&mut self.stderr, thread::spawn(String::new));
        done.join().unwrap_or_default()
    }
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
}
