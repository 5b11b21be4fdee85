//! The command line under hostile conditions: huge durations, a stdout that
//! is closed or full, a program whose output feeds itself, maps that cannot
//! be listed, usage without a target, a file named like a tool. Each ends
//! with one clear message (or quietly, for a closed pipe) and the right exit
//! status, never a panic or a hang, and leaves the kernel clean.

mod common;

use bpfkit_testkit::privileged;
use common::tool::ToolRun;
use common::{BOUND, BPFKIT, ChildGuard, Held, Run, TempDir, assert_released, example, serial};
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn bpfkit(args: &[&str]) -> Output {
    Command::new(BPFKIT)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running bpfkit")
}

/// The one `bpfkit:` error line of a failed run.
fn one_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.starts_with("bpfkit: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    common::assert_no_repeated_cause(&stderr);
    stderr
}

/// A committed built-in tool object.
fn tool_object(name: &str) -> String {
    bpfkit_testkit::repo_path(&format!("crates/tools/bpf/{name}.bpf.o"))
        .to_string_lossy()
        .into_owned()
}

// ---- durations -------------------------------------------------------------

#[test]
fn durations_too_long_to_hold_are_errors() {
    let huge = "99999999999999999h";
    let execsnoop = example("execsnoop.bpf.o");
    for args in [
        &["run", &execsnoop, "-d", huge][..],
        &["run", &execsnoop, "-i", huge],
        &["opensnoop", "-d", huge],
        &["runqlat", huge, "1"],
        &["opensnoop", "-d", "18446744073709551616"],
    ] {
        let err = one_error(&bpfkit(args));
        assert!(err.contains("out of range"), "{args:?}: {err}");
    }
}

#[test]
fn tool_durations_take_units_like_run() {
    if !privileged("tool_durations_take_units_like_run") {
        return;
    }
    let _serial = serial();
    let mut run = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(["opensnoop", "-d", "300ms"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let out = run.wait_with_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}

/// A duration or interval an `Instant` cannot reach means "until stopped".
#[test]
fn far_future_deadlines_run_until_stopped() {
    if !privileged("far_future_deadlines_run_until_stopped") {
        return;
    }
    let _serial = serial();
    let max = u64::MAX.to_string();
    ToolRun::start("opensnoop", &["-d", &max]).stop();
    ToolRun::start("runqlat", &[&max, "1"]).stop();
}

// ---- stdout closed or full -------------------------------------------------

/// bpfkit with a stdout pipe whose reader is already gone.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(BPFKIT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning bpfkit");
    drop(child.stdout.take());
    let mut guard = ChildGuard(child);
    guard.wait_with_output()
}

fn with_full_stdout(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("opening /dev/full");
    Command::new(BPFKIT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .expect("running bpfkit")
}

/// Commands that only print: the whole output, help of every kind.
const PRINTING: &[&[&str]] = &[
    &["tools"],
    &["--help"],
    &["--version"],
    &["run", "--help"],
    &["run", "-h"],
    &["execsnoop", "--help"],
    &["execsnoop", "--version"],
    &["completions", "bash"],
    &["syscount", "--list"],
    &[
        "btf",
        "dump",
        "file",
        "/sys/kernel/btf/vmlinux",
        "--type",
        "task_struct",
    ],
];

#[test]
fn closed_stdout_ends_quietly_with_success() {
    let opensnoop = example("opensnoop.bpf.o");
    let object_help = ["run", opensnoop.as_str(), "--help"];
    for args in PRINTING.iter().copied().chain([&object_help[..]]) {
        let out = with_closed_stdout(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {}\n{stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn full_stdout_is_one_clear_error() {
    let opensnoop = example("opensnoop.bpf.o");
    let object_help = ["run", opensnoop.as_str(), "--help"];
    for args in PRINTING.iter().copied().chain([&object_help[..]]) {
        let err = one_error(&with_full_stdout(args));
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
    }
}

#[test]
fn a_run_into_a_full_stdout_fails_once_and_cleans_up() {
    if !privileged("a_run_into_a_full_stdout_fails_once_and_cleans_up") {
        return;
    }
    let _serial = serial();
    let before = bpfkit_sys::prog_ids().expect("prog ids");
    let execsnoop = example("execsnoop.bpf.o");
    let err = one_error(&with_full_stdout(&["run", &execsnoop, "-o", "json"]));
    assert!(err.contains("No space left on device"), "{err}");
    let err = one_error(&with_full_stdout(&["opensnoop", "-d", "5s"]));
    assert!(err.contains("No space left on device"), "{err}");
    // What the runs loaded is gone (programs are freed asynchronously).
    let deadline = Instant::now() + BOUND;
    loop {
        let new: Vec<u32> = bpfkit_sys::prog_ids()
            .expect("prog ids")
            .into_iter()
            .filter(|id| !before.contains(id))
            .filter(|&id| program_name(id).starts_with("tracepoint__sys"))
            .collect();
        if new.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "programs left: {new:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn program_name(id: u32) -> String {
    bpfkit_sys::prog_fd_by_id(id)
        .ok()
        .and_then(|fd| bpfkit_sys::prog_info(std::os::fd::AsFd::as_fd(&fd)).ok())
        .map(|info| info.name)
        .unwrap_or_default()
}

#[test]
fn run_interval_of_zero_is_an_error() {
    // Bounded: a zero interval used to print maps on every turn of the loop.
    let mut run = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(["run", &example("runqlat.bpf.o"), "-i", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let err = one_error(&run.wait_with_output());
    assert!(err.contains("--interval"), "{err}");
}

/// Starts `bpfkit ARGS` with piped stdout, returns once `first` bytes came
/// (the run is attached), with the reader then closed.
fn start_then_close_stdout(args: &[&str], first: usize) -> (ChildGuard, Held) {
    let mut child = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = child.0.stdout.take().expect("piped stdout");
    let mut buf = vec![0u8; first];
    stdout.read_exact(&mut buf).expect("the run's first output");
    let held = Held::of_process(child.pid());
    assert!(!held.progs.is_empty(), "no program loaded");
    drop(stdout);
    (child, held)
}

/// Runs `trigger` until the child exits; its exit status and stderr.
fn wait_exit_triggering(child: &mut ChildGuard, mut trigger: impl FnMut()) -> Output {
    let deadline = Instant::now() + BOUND;
    while let Ok(None) = child.0.try_wait() {
        assert!(
            Instant::now() < deadline,
            "bpfkit still runs {BOUND:?} after its stdout closed"
        );
        trigger();
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output()
}

#[test]
fn events_into_a_closed_pipe_end_the_run() {
    if !privileged("events_into_a_closed_pipe_end_the_run") {
        return;
    }
    let _serial = serial();
    // The table header comes once every program is attached.
    let (mut child, held) = start_then_close_stdout(&["execsnoop"], 4);
    // The first event after the close must end it, not the ~800th (when
    // 64 KiB of unwritten lines have piled up).
    let mut execs = 0;
    let out = wait_exit_triggering(&mut child, || {
        assert!(
            execs < 100,
            "bpfkit still runs after {execs} execs into a closed pipe"
        );
        let _ = Command::new("/bin/true").status();
        execs += 1;
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
    assert_released(&held);
}

/// `bpfkit tool | head -1` on a quiet machine: the run ends when its reader
/// goes, not at a next write that may never come (no uid 4242424 execs).
#[test]
fn a_quiet_run_ends_when_its_reader_goes() {
    if !privileged("a_quiet_run_ends_when_its_reader_goes") {
        return;
    }
    let (mut child, held) = start_then_close_stdout(&["execsnoop", "-u", "4242424"], 4);
    let out = wait_exit_triggering(&mut child, || {});
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
    assert_released(&held);
}

/// minimal.bpf.o prints on every write(2), bpfkit's own failed writes
/// included: reading trace_pipe "until empty" never ended, past `-d`,
/// SIGINT and SIGTERM.
#[test]
fn printk_that_feeds_itself_still_stops() {
    if !privileged("printk_that_feeds_itself_still_stops") {
        return;
    }
    let _serial = serial();
    let minimal = example("minimal.bpf.o");
    let args = ["run", &minimal, "-o", "json", "-d", "2s"];
    let (mut child, held) = start_then_close_stdout(&args, 300);
    let out = wait_exit_triggering(&mut child, || {});
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_released(&held);
}

#[test]
fn no_printk_leaves_trace_pipe_to_its_reader() {
    if !privileged("no_printk_leaves_trace_pipe_to_its_reader") {
        return;
    }
    let _serial = serial();
    let Some(_reader) = hold_trace_pipe() else {
        eprintln!("skipped: trace_pipe stayed busy (another reader)");
        return;
    };
    let minimal = example("minimal.bpf.o");
    let err = one_error(&bpfkit(&["run", &minimal, "-d", "200ms"]));
    assert!(err.contains("--no-printk"), "{err}");
    let out = bpfkit(&["run", &minimal, "-d", "200ms", "--no-printk"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}

/// trace_pipe opened for reading (one reader at a time), retried a while
/// when another test or tool holds it.
fn hold_trace_pipe() -> Option<std::fs::File> {
    let deadline = Instant::now() + BOUND;
    loop {
        for dir in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
            if let Ok(f) = std::fs::File::open(format!("{dir}/trace_pipe")) {
                return Some(f);
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

// ---- maps ------------------------------------------------------------------

/// runqlat's object has a cgroup array next to its histograms: the run
/// prints the histograms and ends well instead of failing on the array.
#[test]
fn maps_that_cannot_be_listed_are_skipped() {
    if !privileged("maps_that_cannot_be_listed_are_skipped") {
        return;
    }
    let run = Run::start(&tool_object("runqlat"), &["-d", "1s"]);
    let finished = run.finish();
    let exit = finished.records.last().cloned().unwrap_or_default();
    assert_eq!(exit["type"], "exit", "{exit}");
    assert!(
        !finished.stderr.contains("cgroup_map"),
        "{}",
        finished.stderr
    );
}

// ---- usage -----------------------------------------------------------------

#[test]
fn run_help_and_usage() {
    for help in ["--help", "-h"] {
        let out = bpfkit(&["run", help]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{help}: {}", out.status);
        assert!(stdout.contains("Usage: bpfkit run"), "{help}: {stdout}");
    }
    let out = bpfkit(&["run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("Usage: bpfkit run"), "{stderr}");
}

#[test]
fn a_file_named_like_a_tool_does_not_hide_it() {
    let dir = TempDir::new("robustness");
    dir.write("execsnoop", "not an object\n");
    let run_in_dir = |target: &str| {
        Command::new(BPFKIT)
            .args(["run", target, "--help"])
            .current_dir(dir.path())
            .output()
            .expect("running bpfkit")
    };
    let out = run_in_dir("execsnoop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("Usage: execsnoop"), "{stdout}");
    // A path means the file.
    let err = one_error(&run_in_dir("./execsnoop"));
    assert!(err.contains("./execsnoop"), "{err}");
}

// ---- stdout open but never read --------------------------------------------

/// Two pages: a hundred execsnoop lines fill it. (A pipe polls writable
/// while a page is free.)
const SMALL_PIPE: libc::c_int = 8192;
const PAGE: usize = 4096;

/// `bpfkit ARGS` writing into a one-page pipe that stays open but is never
/// read once the first `first` bytes (the run is attached) came.
fn start_into_unread_pipe(
    args: &[&str],
    first: usize,
) -> (ChildGuard, Held, std::process::ChildStdout) {
    let mut child = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = child.0.stdout.take().expect("piped stdout");
    // SAFETY: fcntl(2) on a pipe fd this test owns.
    let size = unsafe {
        libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&stdout),
            libc::F_SETPIPE_SZ,
            SMALL_PIPE,
        )
    };
    assert!(
        size >= SMALL_PIPE,
        "F_SETPIPE_SZ: {}",
        std::io::Error::last_os_error()
    );
    let mut buf = vec![0u8; first];
    stdout.read_exact(&mut buf).expect("the run's first output");
    let held = Held::of_process(child.pid());
    assert!(!held.progs.is_empty(), "no program loaded");
    (child, held, stdout)
}

/// Bytes waiting in the pipe behind `reader`.
fn unread_bytes(reader: &std::process::ChildStdout) -> usize {
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(reader),
            libc::FIONREAD,
            &mut bytes,
        )
    };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    usize::try_from(bytes).unwrap_or(0)
}

/// Execs until the pipe behind `reader` holds more than a page, and then
/// more than a page again: bpfkit now has lines it cannot write, and waits
/// on the pipe.
fn fill_with_execs(child: &mut ChildGuard, reader: &std::process::ChildStdout) {
    let deadline = Instant::now() + BOUND;
    while unread_bytes(reader) <= PAGE {
        assert!(Instant::now() < deadline, "execs did not fill the pipe");
        assert!(matches!(child.0.try_wait(), Ok(None)), "bpfkit ended early");
        let _ = Command::new("/bin/true").status();
    }
    for _ in 0..200 {
        let _ = Command::new("/bin/true").status();
    }
    // Give the run time to format those lines and block on them.
    thread::sleep(Duration::from_millis(300));
    assert!(matches!(child.0.try_wait(), Ok(None)), "bpfkit ended early");
}

/// Waits (at most [`BOUND`]) for `child` to exit; its status and stderr.
fn exits_in_bound(child: &mut ChildGuard, what: &str) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.0.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return (status, stderr);
        }
        assert!(
            Instant::now() < deadline,
            "bpfkit still runs {BOUND:?} after {what}, its stdout full"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A stdout that is full but still open used to hold bpfkit in write(2)
/// for good: SIGTERM (with SA_RESTART handlers) did not end the run.
#[test]
fn sigterm_ends_a_run_blocked_on_a_full_pipe() {
    if !privileged("sigterm_ends_a_run_blocked_on_a_full_pipe") {
        return;
    }
    let _serial = serial();
    let (mut child, held, reader) = start_into_unread_pipe(&["execsnoop"], 4);
    fill_with_execs(&mut child, &reader);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.pid() as libc::pid_t, libc::SIGTERM) };
    let (status, stderr) = exits_in_bound(&mut child, "SIGTERM");
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_released(&held);
    drop(reader);
}

/// ... nor did `-d`: the deadline passed while the run waited on stdout.
#[test]
fn the_deadline_ends_a_run_blocked_on_a_full_pipe() {
    if !privileged("the_deadline_ends_a_run_blocked_on_a_full_pipe") {
        return;
    }
    let _serial = serial();
    let execsnoop = example("execsnoop.bpf.o");
    let args = ["run", &execsnoop, "-o", "json", "-d", "2s"];
    // The first `attached` record says the run is ready.
    let (mut child, held, reader) = start_into_unread_pipe(&args, 20);
    fill_with_execs(&mut child, &reader);
    let (status, stderr) = exits_in_bound(&mut child, "its 2s deadline");
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_released(&held);
    drop(reader);
}

/// A stdout that is already full when the run starts: the table header,
/// written before the run loop, waited in poll(2) where SIGTERM only noted
/// the stop, so bpfkit stayed loaded for as long as the pipe stayed full.
#[test]
fn sigterm_ends_a_run_whose_stdout_was_full_from_the_start() {
    if !privileged("sigterm_ends_a_run_whose_stdout_was_full_from_the_start") {
        return;
    }
    let (reader, writer) = full_pipe();
    let mut child = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(["execsnoop"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped()),
    );
    let deadline = Instant::now() + BOUND;
    let held = loop {
        let held = Held::of_process(child.pid());
        // Attached: the header is next, and cannot be written.
        if !held.links.is_empty() {
            break held;
        }
        assert!(Instant::now() < deadline, "execsnoop did not attach");
        assert!(matches!(child.0.try_wait(), Ok(None)), "bpfkit ended early");
        thread::sleep(Duration::from_millis(20));
    };
    thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.pid() as libc::pid_t, libc::SIGTERM) };
    let (status, stderr) = exits_in_bound(&mut child, "SIGTERM");
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_released(&held);
    drop(reader);
}

/// A pipe whose buffer is full: (read end, write end).
fn full_pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills two fds, owned right after.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: fresh fds from pipe2.
    let (reader, writer) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    let chunk = [b'x'; PAGE];
    // SAFETY: fcntl/write on the pipe this test owns; non-blocking while
    // filling, blocking again for the child.
    unsafe {
        let flags = libc::fcntl(writer.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(writer.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        while libc::write(writer.as_raw_fd(), chunk.as_ptr().cast(), PAGE) > 0 {}
        libc::fcntl(writer.as_raw_fd(), libc::F_SETFL, flags);
    }
    (reader, writer)
}

/// A run stopped while its stdout pipe was full and whose reader comes
/// back within a second gets everything: the buffered events and the
/// `exit` record (a slow reader, e.g. a test's reading thread on a busy
/// machine, lost the tail of the output before).
#[test]
fn a_stopped_run_whose_reader_reads_again_prints_everything() {
    let test = "a_stopped_run_whose_reader_reads_again_prints_everything";
    if !privileged(test) {
        return;
    }
    let text = stopped_on_a_full_pipe(Duration::from_millis(300));
    let last = text.lines().last().unwrap_or_default();
    let last: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}"));
    assert_eq!(last["type"], "exit", "{last}");
    let records = text.lines().filter(|l| l.contains("getpgid of")).count();
    assert!(records > 100, "{records} records");
}

/// A run stopped while its stdout pipe was full, in the middle of a line,
/// whose reader stalls for longer than a second, finishes that line once
/// the reader reads again (within a grace), so a JSON reader never gets a
/// cut record; no more lines follow.
#[test]
fn a_run_stopped_on_a_full_pipe_ends_on_a_whole_line() {
    if !privileged("a_run_stopped_on_a_full_pipe_ends_on_a_whole_line") {
        return;
    }
    let text = stopped_on_a_full_pipe(Duration::from_millis(1500));
    assert!(text.len() > 32 * 1024, "only {} bytes", text.len());
    assert!(
        text.ends_with('\n'),
        "cut last line: {:?}",
        &text[text.len().saturating_sub(120)..]
    );
    let records = text.lines().filter(|l| l.contains("getpgid of")).count();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    assert!(records > 100, "{records} records");
    // The stall ended the output: not all 5000 records came out.
    assert!(records < 5000, "{records} records after the stop");
}

/// `trace --json` of 5000 events into a pipe nobody reads, SIGINT, and the
/// reader back after `reader_back_after`: what it read (bpfkit exited 0).
fn stopped_on_a_full_pipe(reader_back_after: Duration) -> String {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills two fds, owned right after.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds from pipe2.
    let (mut reader, writer) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    let me = std::process::id().to_string();
    let mut child = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(["trace", "--json", "-p", &me])
            .arg(r#"t:syscalls:sys_enter_getpgid "getpgid of %d", args->pid"#)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped()),
    );
    let deadline = Instant::now() + BOUND;
    while Held::of_process(child.pid()).links.is_empty() {
        assert!(Instant::now() < deadline, "trace did not attach");
        assert!(matches!(child.0.try_wait(), Ok(None)), "bpfkit ended early");
        thread::sleep(Duration::from_millis(20));
    }
    // Far more than the pipe's 64 KiB: the printer blocks mid-record.
    for _ in 0..5000 {
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
    }
    thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.pid() as libc::pid_t, libc::SIGINT) };
    // Stopped and still waiting for room: the reader comes back only now.
    thread::sleep(reader_back_after);
    let mut out = Vec::new();
    reader.read_to_end(&mut out).expect("reading the pipe");
    let (status, stderr) = exits_in_bound(&mut child, "SIGINT");
    assert!(status.success(), "{status}: {stderr}");
    String::from_utf8_lossy(&out).into_owned()
}
