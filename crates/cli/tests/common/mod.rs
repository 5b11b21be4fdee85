//! Harness for end-to-end tests of `bpfkit run`: spawn the binary with JSON
//! output, wait for its `attached` records, cause events, match decoded
//! records, stop it with SIGINT, and check it left nothing in the kernel.
//!
//! Every bound here (`BOUND`) only keeps a broken run from hanging the test
//! suite; no test asserts on how long anything takes.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::marker::PhantomData;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits for.
pub const BOUND: Duration = Duration::from_secs(20);
/// How often a repeating trigger fires while a test waits for its record.
const RETRIGGER: Duration = Duration::from_millis(200);

pub const BPFKIT: &str = env!("CARGO_BIN_EXE_bpfkit");

/// Runs of one test binary happen one at a time: trace_pipe has a single
/// reader, and two runs of the same object would see each other's events.
static SERIAL: Mutex<()> = Mutex::new(());

thread_local! {
    /// This thread's hold on [`SERIAL`] and how many [`Serial`]s share it:
    /// a test may run two tools side by side.
    static TURN: RefCell<(usize, Option<MutexGuard<'static, ()>>)> =
        const { RefCell::new((0, None)) };
}

/// This test's turn, over when the last `Serial` of its thread is dropped
/// (not `Send`: it counts in its thread's [`TURN`]).
pub struct Serial(PhantomData<*const ()>);

pub fn serial() -> Serial {
    TURN.with_borrow_mut(|(holders, guard)| {
        if *holders == 0 {
            // A failed test poisons the lock; the next one may still run.
            *guard = Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()));
        }
        *holders += 1;
    });
    Serial(PhantomData)
}

impl Drop for Serial {
    fn drop(&mut self) {
        let released = TURN.with_borrow_mut(|(holders, guard)| {
            *holders -= 1;
            if *holders == 0 { guard.take() } else { None }
        });
        drop(released);
    }
}

/// Absolute path of a committed example.
pub fn example(name: &str) -> String {
    bpfkit_testkit::repo_path(&format!("examples/{name}"))
        .to_string_lossy()
        .into_owned()
}

/// Kernel objects a run held: read from its fdinfo while it runs.
#[derive(Debug, Default, Clone)]
pub struct Held {
    pub progs: BTreeSet<u32>,
    pub maps: BTreeSet<u32>,
    pub links: BTreeSet<u32>,
}

impl Held {
    pub fn of_process(pid: u32) -> Held {
        let mut held = Held::default();
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
            return held;
        };
        for entry in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            for line in text.lines() {
                let Some((key, value)) = line.split_once(':') else {
                    continue;
                };
                let Ok(id) = value.trim().parse::<u32>() else {
                    continue;
                };
                match key {
                    "prog_id" => held.progs.insert(id),
                    "map_id" => held.maps.insert(id),
                    "link_id" => held.links.insert(id),
                    _ => false,
                };
            }
        }
        held
    }

    /// Waits until process `pid` holds a BPF link: its program is attached.
    pub fn wait_for_link(pid: u32) {
        let deadline = Instant::now() + BOUND;
        while Held::of_process(pid).links.is_empty() {
            assert!(Instant::now() < deadline, "bpfkit attached nothing");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The ones of these still in the kernel.
    fn still_loaded(&self) -> Held {
        let alive = |ids: &BTreeSet<u32>, all: Vec<u32>| -> BTreeSet<u32> {
            all.into_iter().filter(|id| ids.contains(id)).collect()
        };
        Held {
            progs: alive(&self.progs, bpfkit_sys::prog_ids().expect("prog ids")),
            maps: alive(&self.maps, bpfkit_sys::map_ids().expect("map ids")),
            links: alive(&self.links, bpfkit_sys::link_ids().expect("link ids")),
        }
    }

    fn is_empty(&self) -> bool {
        self.progs.is_empty() && self.maps.is_empty() && self.links.is_empty()
    }
}

/// Waits until none of `held` is left in the kernel (freeing after the
/// last fd closes is deferred), panics if something stays.
pub fn assert_released(held: &Held) {
    let deadline = Instant::now() + BOUND;
    loop {
        let left = held.still_loaded();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bpfkit exited but left kernel objects behind: {left:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// A running `bpfkit run ... -o json`.
pub struct Run {
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line received so far, parsed.
    seen: Vec<Value>,
    stderr: Option<JoinHandle<String>>,
    held: Held,
    _serial: Serial,
}

/// What a run printed, once it ended.
/// `(key, count)` of every entry of map `map`'s record, keys as JSON (a
/// string, a number, or an object of a key's several values), sorted by
/// key text.
pub fn map_counts(records: &[Value], map: &str) -> Vec<(Value, u64)> {
    let mut entries: Vec<(Value, u64)> = map_entries(records, map)
        .iter()
        .map(|e| (e["key"].clone(), e["value"]["count"].as_u64().unwrap_or(0)))
        .collect();
    entries.sort_by_key(|(key, _)| key.to_string());
    entries
}

/// The entries of map `map`'s record among `records`.
pub fn map_entries<'a>(records: &'a [Value], map: &str) -> &'a [Value] {
    records
        .iter()
        .find(|r| r["type"] == "map" && r["map"] == map)
        .and_then(|r| r["entries"].as_array())
        .unwrap_or_else(|| panic!("no map {map} with entries: {records:?}"))
}

pub struct Finished {
    pub records: Vec<Value>,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Run {
    /// Starts `bpfkit run TARGET -o json ARGS...`.
    pub fn start(target: &str, args: &[&str]) -> Run {
        Run::start_with(Command::new(BPFKIT), target, args)
    }

    /// Starts bpfkit inside network namespace `netns` (`ip netns exec`
    /// execs, so the child is bpfkit itself and SIGINT reaches it).
    pub fn start_in_netns(netns: &str, target: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", netns, BPFKIT]);
        Run::start_with(cmd, target, args)
    }

    fn start_with(mut cmd: Command, target: &str, args: &[&str]) -> Run {
        cmd.args(["run", target, "-o", "json"]).args(args);
        Run::spawn(cmd)
    }

    /// Starts the built-in tool `bpfkit TOOL --json ARGS...`, which prints
    /// the same records.
    pub fn start_tool(tool: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new(BPFKIT);
        cmd.arg(tool).arg("--json").args(args);
        Run::spawn(cmd)
    }

    /// [`Run::start_tool`], returning once the tool's programs are attached
    /// (a tool prints its `attached` records after the last attach).
    pub fn start_tool_attached(tool: &str, args: &[&str]) -> Run {
        let mut run = Run::start_tool(tool, args);
        run.wait_for("an attached record", |r| r["type"] == "attached");
        run.note_held();
        run
    }

    fn spawn(mut cmd: Command) -> Run {
        let serial = serial();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning bpfkit");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        Run {
            child,
            lines: forward_lines(stdout),
            seen: Vec::new(),
            stderr: Some(thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            })),
            held: Held::default(),
            _serial: serial,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until one `attached` record per name in `programs` was printed
    /// (the run loop starts right after them), and notes what the run holds
    /// in the kernel for [`Run::stop`] to check.
    pub fn wait_attached(&mut self, programs: &[&str]) {
        for name in programs {
            self.wait_for(&format!("attached {name}"), |r| {
                r["type"] == "attached" && r["program"] == *name
            });
        }
        self.note_held();
    }

    /// Notes what the attached run holds in the kernel, for [`Run::stop`]
    /// to check it is released.
    fn note_held(&mut self) {
        self.held = Held::of_process(self.pid());
        assert!(
            !self.held.progs.is_empty(),
            "bpfkit holds no program fds after attaching"
        );
    }

    /// The first record (already seen or still to come) matching `pred`.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_retriggering(what, pred, || {})
    }

    /// Like [`Run::wait_for`], calling `trigger` now and again while waiting:
    /// for events a concurrent reader may steal (trace_pipe) or that need a
    /// few tries (interval map prints).
    pub fn wait_retriggering(
        &mut self,
        what: &str,
        pred: impl Fn(&Value) -> bool,
        trigger: impl FnMut(),
    ) -> Value {
        self.wait_from(0, what, pred, trigger)
    }

    /// Like [`Run::wait_retriggering`], for a record yet to come.
    pub fn wait_next_retriggering(
        &mut self,
        what: &str,
        pred: impl Fn(&Value) -> bool,
        trigger: impl FnMut(),
    ) -> Value {
        self.wait_from(self.seen.len(), what, pred, trigger)
    }

    /// The first record from the `from`th one on that matches `pred`.
    fn wait_from(
        &mut self,
        from: usize,
        what: &str,
        pred: impl Fn(&Value) -> bool,
        trigger: impl FnMut(),
    ) -> Value {
        if let Some(found) = self.seen[from..].iter().find(|r| pred(r)) {
            return found.clone();
        }
        self.read_until(what, |seen| seen.last().is_some_and(&pred), trigger);
        self.seen.last().cloned().expect("just read")
    }

    /// Reads records until those read so far satisfy `done` (a count of
    /// matching ones, say).
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) {
        if !done(&self.seen) {
            self.read_until(what, done, || {});
        }
    }

    /// Reads records, calling `trigger` now and again, until `done` holds
    /// after one of them.
    fn read_until(
        &mut self,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
        mut trigger: impl FnMut(),
    ) {
        let deadline = Instant::now() + BOUND;
        trigger();
        let mut next_trigger = Instant::now() + RETRIGGER;
        while Instant::now() < deadline {
            match self.lines.recv_timeout(RETRIGGER) {
                Ok(line) => {
                    self.seen.push(parse(&line));
                    if done(&self.seen) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "bpfkit ended ({status:?}) before printing {what}; stderr:\n{}\nstdout:\n{}",
                        self.take_stderr(),
                        summary(&self.seen)
                    );
                }
            }
            if Instant::now() >= next_trigger {
                trigger();
                next_trigger = Instant::now() + RETRIGGER;
            }
        }
        panic!(
            "no {what} within {BOUND:?}; stdout so far:\n{}",
            summary(&self.seen)
        );
    }

    /// Sends SIGINT, collects the rest of the output, checks the clean exit
    /// (status 0, an `exit` record for the signal) and that everything the
    /// run loaded is gone from the kernel.
    pub fn stop(self) -> Finished {
        self.stop_with(libc::SIGINT)
    }

    /// [`Run::stop`] with another signal (SIGTERM).
    pub fn stop_with(self, signal: i32) -> Finished {
        // SAFETY: kill has no memory preconditions; the pid is our child,
        // not yet reaped, so it cannot have been reused.
        let rc = unsafe { libc::kill(self.pid() as i32, signal) };
        assert_eq!(rc, 0, "signal {signal} to bpfkit");
        let finished = self.finish();
        let exit = finished.records.last().cloned().unwrap_or_default();
        assert_eq!(exit["type"], "exit", "last record: {exit}");
        assert_eq!(exit["reason"], "signal", "last record: {exit}");
        finished
    }

    /// Waits for bpfkit to end by itself (`-d`, `--max-events`), then checks
    /// as [`Run::stop`] does.
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + BOUND;
        loop {
            match self.lines.recv_timeout(RETRIGGER) {
                Ok(line) => self.seen.push(parse(&line)),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            assert!(
                Instant::now() < deadline,
                "bpfkit still running after {BOUND:?}; stdout:\n{}",
                summary(&self.seen)
            );
        }
        let status = wait_bounded(&mut self.child);
        let stderr = self.take_stderr();
        assert!(
            status.success(),
            "bpfkit exited with {status}; stderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
        assert_released(&self.held);
        Finished {
            records: std::mem::take(&mut self.seen),
            stderr,
            status,
        }
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Run {
    /// A failed test still ends its bpfkit (its fds, and so its programs
    /// and links, go with it).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn forward_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
}

fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for bpfkit") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("bpfkit did not exit within {BOUND:?} after its output closed");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The records, one a line, shortened for a panic message.
fn summary(records: &[Value]) -> String {
    let mut lines: Vec<String> = records.iter().map(Value::to_string).collect();
    if lines.len() > 40 {
        let dropped = lines.len() - 40;
        lines.drain(..dropped);
        lines.insert(0, format!("... {dropped} earlier lines"));
    }
    lines.join("\n")
}

/// `type == "event"` records of map `map`.
pub fn events<'a>(records: &'a [Value], map: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    records
        .iter()
        .filter(move |r| r["type"] == "event" && r["map"] == map)
}

/// A printk record whose text (the trace_pipe line) contains `needle`.
pub fn is_printk_with(record: &Value, needle: &str) -> bool {
    record["type"] == "printk" && record["text"].as_str().is_some_and(|t| t.contains(needle))
}

// Not every test binary uses both.
#[allow(unused_imports)]
pub use bpfkit_testkit::{TempDir, unique};

/// A child process killed and reaped when dropped, even on test failure.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn spawn(cmd: &mut Command) -> ChildGuard {
        ChildGuard(cmd.spawn().expect("spawning a test child"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Waits (bounded) for the child to end by itself.
    pub fn wait(&mut self) -> ExitStatus {
        wait_bounded(&mut self.0)
    }

    /// Waits (bounded) for the child to end, with what it printed on its
    /// piped stdout and stderr.
    pub fn wait_with_output(&mut self) -> Output {
        let read_all = |pipe: Option<Box<dyn Read + Send>>| {
            thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = read_all(self.0.stdout.take().map(|p| Box::new(p) as _));
        let stderr = read_all(self.0.stderr.take().map(|p| Box::new(p) as _));
        let status = wait_bounded(&mut self.0);
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Output of a command that must succeed.
pub fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip` with whitespace-separated arguments (names here have no spaces).
pub fn ip(args: &str) -> String {
    output("ip", &args.split_whitespace().collect::<Vec<_>>())
}

/// Two fresh network namespaces joined by a veth pair, 169.254.77.1/30 on
/// `a`'s end and .2 on `b`'s; both deleted (taking the veths along) on drop.
pub struct VethPair {
    pub ns_a: String,
    pub ns_b: String,
    pub dev_a: String,
    pub dev_b: String,
}

pub const ADDR_A: &str = "169.254.77.1";

impl VethPair {
    pub fn create() -> VethPair {
        // Interface names are at most 15 bytes.
        let tag = format!(
            "{}x{}",
            std::process::id() % 100_000,
            bpfkit_testkit::unique_number() % 1000
        );
        let pair = VethPair {
            ns_a: unique("a"),
            ns_b: unique("b"),
            dev_a: format!("bk{tag}a"),
            dev_b: format!("bk{tag}b"),
        };
        ip(&format!("netns add {}", pair.ns_a));
        ip(&format!("netns add {}", pair.ns_b));
        ip(&format!(
            "link add {} netns {} type veth peer name {} netns {}",
            pair.dev_a, pair.ns_a, pair.dev_b, pair.ns_b
        ));
        for (ns, dev, addr) in [
            (&pair.ns_a, &pair.dev_a, "169.254.77.1/30"),
            (&pair.ns_b, &pair.dev_b, "169.254.77.2/30"),
        ] {
            ip(&format!("-n {ns} addr add {addr} dev {dev}"));
            ip(&format!("-n {ns} link set {dev} up"));
        }
        pair
    }

    /// One UDP datagram from `b` to `a` (port 9, discard); bash's /dev/udp
    /// needs no extra tool.
    pub fn send_udp_to_a(&self) {
        let datagram = format!("echo bpfkit >/dev/udp/{ADDR_A}/9");
        output(
            "ip",
            &["netns", "exec", &self.ns_b, "bash", "-c", &datagram],
        );
    }

    /// tc ingress filters and XDP programs on `a`'s end, as `tc` and `ip`
    /// show them (empty when nothing is attached).
    pub fn hooks_on_a(&self) -> String {
        let (ns, dev) = (&self.ns_a, &self.dev_a);
        let filters = ip(&format!("netns exec {ns} tc filter show dev {dev} ingress"));
        let link = ip(&format!("-n {ns} -d link show {dev}"));
        let xdp = link
            .lines()
            .filter(|l| l.contains("xdp"))
            .collect::<Vec<_>>();
        format!("{filters}{}", xdp.join("\n"))
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// True when interface `dev` exists in the host namespace or `ns`.
pub fn link_exists(ns: &str, dev: &str) -> bool {
    let in_ns = Command::new("ip")
        .args(["-n", ns, "link", "show", dev])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let on_host = Command::new("ip")
        .args(["link", "show", dev])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    in_ns || on_host
}

pub mod tool;

/// An error chain whose context repeats its source's text says the cause
/// twice ("opening X: Device busy: Device busy"): no part of a line
/// between `: ` separators may come back later in the line.
pub fn assert_no_repeated_cause(stderr: &str) {
    for line in stderr.lines() {
        let parts: Vec<&str> = line.split(": ").map(str::trim).collect();
        for (i, part) in parts.iter().enumerate() {
            // Short parts (a name, a map) may well recur meaningfully.
            if part.len() < 12 {
                continue;
            }
            let later = parts[i + 1..].join(": ");
            assert!(
                !later.contains(part),
                "the cause '{part}' is said twice in:\n{line}"
            );
        }
    }
}
pub mod workloads;
