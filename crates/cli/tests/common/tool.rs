//! Harness for end-to-end tests of built-in tools (`bpfkit TOOL ...`) and
//! of the libbpf-tools binaries they are compared with: table output on
//! stdout, `bpfkit: attached ...` on stderr with `-v`.
//!
//! Every `BOUND` only keeps a broken run from hanging the suite; nothing
//! asserts on how long anything takes.

use super::{BOUND, BPFKIT, Serial};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A running tool: stdout collected in the background, stderr lines
/// streamed (for `bpfkit: attached ...`). Killed on drop if still running.
pub struct ToolRun {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Receiver<String>,
    stderr_seen: Vec<String>,
    progs: BTreeSet<u32>,
}

/// What a finished tool run printed.
pub struct ToolOutput {
    pub stdout: String,
    pub stderr: String,
}

impl ToolRun {
    /// Starts `bpfkit TOOL -v ARGS` and returns once every program is
    /// attached (the runtime reports attachments after the last attach).
    pub fn start(tool: &str, args: &[&str]) -> ToolRun {
        let mut cmd = Command::new(BPFKIT);
        cmd.arg(tool).arg("-v").args(args);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning bpfkit");
        let mut out = child.stdout.take().expect("stdout");
        let stdout = thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let err = child.stderr.take().expect("stderr");
        let mut run = ToolRun {
            child,
            stdout: Some(stdout),
            stderr: forward_lines(err),
            stderr_seen: Vec::new(),
            progs: BTreeSet::new(),
        };
        run.wait_for_stderr("bpfkit: attached");
        run.progs = super::Held::of_process(run.child.id()).progs;
        run
    }

    fn wait_for_stderr(&mut self, wanted: &str) {
        let deadline = Instant::now() + BOUND;
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let found = line.contains(wanted);
                    self.stderr_seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!(
                            "the tool exited ({status}) before '{wanted}':\n{}",
                            self.stderr_seen.join("\n")
                        );
                    }
                }
            }
        }
        panic!(
            "no '{wanted}' within {BOUND:?}:\n{}",
            self.stderr_seen.join("\n")
        );
    }

    /// The tool's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the tool with SIGINT (as Ctrl-C would) and collects its output.
    /// The signal is repeated until the tool exits: one that arrives between
    /// attaching and the run loop only ends the run once it has started.
    pub fn stop(mut self) -> ToolOutput {
        let deadline = Instant::now() + BOUND;
        while let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) on our own, not yet reaped, child.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
            if Instant::now() > deadline {
                break;
            }
            thread::sleep(Duration::from_millis(300));
        }
        self.finish()
    }

    /// Waits for the tool to exit by itself (interval count), checks it
    /// succeeded and left no program behind.
    pub fn finish(mut self) -> ToolOutput {
        let status = wait_bounded(&mut self.child);
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        self.stderr_seen.extend(self.stderr.try_iter());
        let stderr = self.stderr_seen.join("\n");
        assert!(
            status.success(),
            "{status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
        assert!(!self.progs.is_empty(), "the run held no BPF programs");
        super::assert_released(&super::Held {
            progs: self.progs.clone(),
            ..Default::default()
        });
        ToolOutput { stdout, stderr }
    }
}

impl Drop for ToolRun {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn forward_lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "the tool did not exit");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The start of a test comparing a tool with its libbpf-tools original
/// `name`: the original's path, and this test's turn (runs are serialized).
/// `None` (skip) without root or the original.
pub fn peer_test(test: &str, name: &str) -> Option<(PathBuf, Serial)> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let peer = bpfkit_testkit::peer_tool(test, name)?;
    Some((peer, super::serial()))
}

/// A libbpf-tools binary watching alongside, its stdout line-buffered
/// (`stdbuf -oL`) so that lines arrive as it prints them.
pub struct Peer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    /// Starts `peer ARGS`, ready once its stdout shows `ready` (libbpf-tools
    /// print their header or "Tracing ..." after attaching).
    pub fn start(peer: &Path, args: &[&str], ready: &str) -> Peer {
        Peer::try_start(peer, args, ready)
            .unwrap_or_else(|| panic!("{} exited before printing '{ready}'", peer.display()))
    }

    /// Like [`Peer::start`], `None` when the peer exits before it is ready:
    /// a libbpf-tools binary that cannot load or attach on this kernel.
    pub fn try_start(peer: &Path, args: &[&str], ready: &str) -> Option<Peer> {
        let mut child = Command::new("stdbuf")
            .arg("-oL")
            .arg(peer)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning the peer tool");
        let lines = forward_lines(child.stdout.take().expect("stdout"));
        let mut peer = Peer {
            child,
            lines,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + BOUND;
        while !peer.seen.iter().any(|l| l.contains(ready)) {
            if let Ok(Some(_)) = peer.child.try_wait() {
                // Its last lines may still be in the pipe.
                peer.seen.extend(peer.lines.iter());
                if !peer.seen.iter().any(|l| l.contains(ready)) {
                    return None;
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the peer tool never printed '{ready}':\n{}",
                peer.seen.join("\n")
            );
            peer.read_for(Duration::from_millis(100));
        }
        Some(peer)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// BPF programs the peer holds (it execs from stdbuf into the tool).
    pub fn programs(&self) -> BTreeSet<u32> {
        super::Held::of_process(self.pid()).progs
    }

    fn read_for(&mut self, span: Duration) {
        let until = Instant::now() + span;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return,
            }
        }
    }

    /// Calls `trigger` until a line containing `text` shows up (bounded):
    /// libbpf-tools may print their header before their buffer is polled.
    pub fn wait_for(&mut self, text: &str, mut trigger: impl FnMut()) {
        let deadline = Instant::now() + BOUND;
        while !self.seen.iter().any(|l| l.contains(text)) {
            assert!(
                Instant::now() < deadline,
                "the peer never showed {text}:\n{}",
                self.seen.join("\n")
            );
            trigger();
            self.read_for(Duration::from_millis(200));
        }
    }

    /// Waits (bounded) until `n` lines match, then stops the peer with
    /// SIGINT (libbpf-tools drop what they have not read yet on Ctrl-C).
    pub fn stop_after(mut self, matches: impl Fn(&str) -> bool, n: usize) -> String {
        let deadline = Instant::now() + BOUND;
        while self.seen.iter().filter(|l| matches(l)).count() < n && Instant::now() < deadline {
            self.read_for(Duration::from_millis(100));
        }
        self.stop()
    }

    /// Stops the peer with SIGINT and returns everything it printed
    /// (interval tools print their summary on Ctrl-C).
    pub fn stop(mut self) -> String {
        // SAFETY: kill(2) on our own, not yet reaped, child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        wait_bounded(&mut self.child);
        self.seen.extend(self.lines.iter());
        self.seen.join("\n")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A shell child that waits for a line on stdin before running `script`,
/// so that a tool filtering by its pid can attach first.
pub struct Gated {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Gated {
    pub fn new(script: &str) -> Gated {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read go; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning sh");
        let stdin = child.stdin.take();
        Gated { child, stdin }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the script run and waits (bounded) for it to end.
    pub fn go(mut self) -> ExitStatus {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"go\n");
        }
        wait_bounded(&mut self.child)
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `bpfkit TOOL ARGS... -p PID` watching a shell that runs `script` once
/// the tool is attached: the shell's pid, how it exited, what the tool
/// printed.
pub fn watch_script(tool: &str, args: &[&str], script: &str) -> (String, ExitStatus, ToolOutput) {
    let gated = Gated::new(script);
    let pid = gated.pid().to_string();
    let run = ToolRun::start(tool, &[args, &["-p", &pid]].concat());
    let status = gated.go();
    (pid, status, run.stop())
}

/// Rows of a table: lines split on whitespace, after the header line that
/// starts with `first_header`.
pub fn rows<'a>(stdout: &'a str, first_header: &str) -> Vec<Vec<&'a str>> {
    let mut lines = stdout.lines();
    assert!(
        lines.any(|l| l.split_whitespace().next() == Some(first_header)),
        "no header starting with {first_header}:\n{stdout}"
    );
    lines
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| !r.is_empty())
        .collect()
}

/// Buckets of a printed log2 histogram (`low -> high : count |***|`):
/// (low, high, count).
pub fn log2_buckets(text: &str) -> Vec<(u64, u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let (range, rest) = l.split_once(':')?;
            let (low, high) = range.trim().split_once("->")?;
            let count = rest.split_whitespace().next()?;
            Some((
                low.trim().parse().ok()?,
                high.trim().parse().ok()?,
                count.parse().ok()?,
            ))
        })
        .collect()
}

/// Buckets of a printed linear histogram (`value : count |***|`):
/// (value, count).
pub fn linear_buckets(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let (value, rest) = l.split_once(':')?;
            let count = rest.split_whitespace().next()?;
            Some((value.trim().parse().ok()?, count.parse().ok()?))
        })
        .collect()
}

/// The histogram printed after the label line `label` (`disk = loop0`),
/// up to the next blank line.
pub fn section<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let start = text.find(&format!("{label}\n"))? + label.len() + 1;
    let rest = &text[start..];
    Some(rest.split("\n\n").next().unwrap_or(rest))
}
