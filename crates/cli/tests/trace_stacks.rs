//! `bpfkit trace -K`/`-U` (stacks under each event), `%K`/`%U` (symbols
//! of address arguments) and `-L TID`, on events the tests cause: a sleep
//! of this very thread (an hrtimer whose function is `hrtimer_wakeup`),
//! and the USDT test program's probe, whose sixth argument is the address
//! of its function `second_site`.

mod common;

use bpfkit_testkit::privileged;
use common::{BOUND, BPFKIT, TempDir};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `bpfkit trace -v ARGS` in table mode; returns once `programs` programs
/// are attached (from -v's "attached" lines on stderr).
fn start_trace(args: &[&str], programs: usize) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(BPFKIT)
        .arg("trace")
        .arg("-v")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning bpfkit trace");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut attached = 0;
    let deadline = Instant::now() + BOUND;
    while attached < programs {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("bpfkit trace {args:?}: not attached in time"));
        attached += usize::from(line.contains("attached"));
    }
    (child, rx)
}

/// Waits for bpfkit (ended by its -M) while calling `cause` now and then.
fn finish(mut child: Child, mut cause: impl FnMut()) -> Output {
    let deadline = Instant::now() + BOUND;
    while child.try_wait().expect("polling bpfkit").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("bpfkit trace -M did not end");
        }
        cause();
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("bpfkit output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// -K, %K and -L: this thread's sleep arms an hrtimer whose function is
/// hrtimer_wakeup; the event's kernel stack goes through the syscall
/// entry; only this thread's timers pass -L. (An interrupt that rearms
/// the tick while this thread runs is an event of it too: a few events are
/// taken and the sleep's is looked for among them.)
#[test]
fn kernel_stack_and_kernel_symbol_of_this_threads_sleep() {
    if !privileged("kernel_stack_and_kernel_symbol_of_this_threads_sleep") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() }.to_string();
    let probe = "t:timer:hrtimer_start \"timer %K\", args->function";
    let (child, _stderr) = start_trace(&["-L", &tid, "-K", "-M", "3", probe], 1);
    let out = finish(child, || std::thread::sleep(Duration::from_millis(1)));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = events_with_frames(&stdout);
    assert_eq!(events.len(), 3, "{stdout}");
    for (row, _) in &events {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1], tid, "-L keeps this thread only: {stdout}");
    }
    let (_, frames) = events
        .iter()
        .find(|(row, _)| row.ends_with("timer hrtimer_wakeup"))
        .unwrap_or_else(|| panic!("%K names the sleep's timer function: {stdout}"));
    assert!(
        frames.contains(&"hrtimer_start_range_ns") && frames.contains(&"do_syscall_64"),
        "{stdout}"
    );
}

/// The table's events after its header: each row with the frames indented
/// under it.
fn events_with_frames(stdout: &str) -> Vec<(&str, Vec<&str>)> {
    let mut events: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in stdout.lines().skip(1) {
        match (line.strip_prefix("        "), events.last_mut()) {
            (Some(frame), Some((_, frames))) => frames.push(frame.trim()),
            _ => events.push((line, Vec::new())),
        }
    }
    events
}

/// -U and %U on the USDT test program (which stays until its stdin closes,
/// so its symbols can be read): the stack of the probe in second_site
/// goes through main, and %U names the function whose address arg6 is.
#[test]
fn user_stack_and_user_symbol_of_a_usdt_probe() {
    const TEST: &str = "user_stack_and_user_symbol_of_a_usdt_probe";
    if !privileged(TEST) {
        return;
    }
    let dir = TempDir::new("trace-stacks");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../probe/tests/usdt_args.c");
    let Some(program) = bpfkit_testkit::build_usdt_program(TEST, &source, dir.path()) else {
        return;
    };
    let mut target = Command::new(&program)
        .arg("1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawning the USDT test program");
    let pid = target.id().to_string();
    let probe = format!(
        "U:{}:bpfkit_trace:args \"%d %U\", arg1, arg6",
        program.display()
    );
    let (child, _stderr) = start_trace(&["-p", &pid, "-U", "-M", "2", &probe], 2);
    let mut stdin = target.stdin.take().expect("piped stdin");
    stdin.write_all(b"x").expect("releasing the probes");
    let out = finish(child, || {});
    drop(stdin);
    assert!(target.wait().expect("test program").success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = events_with_frames(&stdout);
    assert_eq!(events.len(), 2, "{stdout}");
    for (row, frames) in &events {
        assert!(row.ends_with("0 second_site"), "{stdout}");
        assert!(frames.contains(&"main"), "{stdout}");
    }
    assert!(
        events
            .iter()
            .any(|(_, frames)| frames.first() == Some(&"second_site")),
        "the probe in second_site: {stdout}"
    );
}

/// `--json -U` on the same probe: the events' `user` members are arrays
/// of the frames' function names, the probe's function first, through main.
#[test]
fn json_user_stack_of_a_usdt_probe_names_its_functions() {
    const TEST: &str = "json_user_stack_of_a_usdt_probe_names_its_functions";
    if !privileged(TEST) {
        return;
    }
    let dir = TempDir::new("trace-stacks-json");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../probe/tests/usdt_args.c");
    let Some(program) = bpfkit_testkit::build_usdt_program(TEST, &source, dir.path()) else {
        return;
    };
    let mut target = Command::new(&program)
        .arg("1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawning the USDT test program");
    let pid = target.id().to_string();
    let probe = format!("U:{}:bpfkit_trace:args \"%d\", arg1", program.display());
    let run = common::Run::start_tool_attached("trace", &["-p", &pid, "-U", "-M", "2", &probe]);
    let mut stdin = target.stdin.take().expect("piped stdin");
    stdin.write_all(b"x").expect("releasing the probes");
    let finished = run.finish();
    drop(stdin);
    assert!(target.wait().expect("test program").success());
    let stacks: Vec<Vec<&str>> = finished
        .records
        .iter()
        .filter(|r| r["type"] == "event")
        .map(|r| {
            r["user"]
                .as_array()
                .unwrap_or_else(|| panic!("no user frames: {r}"))
                .iter()
                .map(|f| f.as_str().unwrap_or_else(|| panic!("{f} is no name")))
                .collect()
        })
        .collect();
    assert_eq!(stacks.len(), 2, "{:?}", finished.records);
    assert!(stacks.iter().all(|s| s.contains(&"main")), "{stacks:?}");
    assert!(
        stacks.iter().any(|s| s.first() == Some(&"second_site")),
        "the probe in second_site: {stacks:?}"
    );
}

/// In JSON, the message and the symbolized stacks are members of each
/// event next to its `data`.
#[test]
fn json_events_carry_the_message_and_symbolized_stacks() {
    if !privileged("json_events_carry_the_message_and_symbolized_stacks") {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() }.to_string();
    let probe = "t:timer:hrtimer_start \"timer %K\", args->function";
    let mut run = common::Run::start_tool_attached("trace", &["-L", &tid, "-K", "-U", probe]);
    let event = run.wait_retriggering(
        "an event of this thread's sleep",
        // Not the tick, rearmed by an interrupt while this thread ran.
        |r| r["type"] == "event" && r["message"] == "timer hrtimer_wakeup",
        || std::thread::sleep(Duration::from_millis(1)),
    );
    run.stop();
    assert_eq!(event["message"], "timer hrtimer_wakeup", "{event}");
    let frames = |key: &str| -> Vec<String> {
        event[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} frames: {event}"))
            .iter()
            .map(|f| f.as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        frames("kernel").iter().any(|f| f == "do_syscall_64"),
        "{event}"
    );
    let user = frames("user");
    assert!(
        !user.is_empty() && user.iter().all(|f| !f.is_empty()),
        "{event}"
    );
}

/// The user frames of the USDT test program's two probe events, through
/// `bpfkit trace -U` plus `extra` arguments (`-s FILES`): the program at
/// `program` runs until its stdin closes, so its maps can be read.
fn usdt_user_frames(program: &Path, extra: &[&str]) -> Vec<Vec<String>> {
    let mut target = Command::new(program)
        .arg("1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawning the USDT test program");
    let pid = target.id().to_string();
    let probe = format!("U:{}:bpfkit_trace:args \"%d\", arg1", program.display());
    let mut args = vec!["-p", &pid, "-U", "-M", "2"];
    args.extend_from_slice(extra);
    args.push(&probe);
    let (child, _stderr) = start_trace(&args, 2);
    let mut stdin = target.stdin.take().expect("piped stdin");
    stdin.write_all(b"x").expect("releasing the probes");
    let out = finish(child, || {});
    drop(stdin);
    assert!(target.wait().expect("test program").success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = events_with_frames(&stdout);
    assert_eq!(events.len(), 2, "{stdout}");
    events
        .into_iter()
        .map(|(_, frames)| frames.into_iter().map(String::from).collect())
        .collect()
}

/// `objcopy ARGS IN OUT`, `None` (skip) where binutils is not installed.
fn objcopy(args: &[&str], input: &Path, output: &Path) -> Option<()> {
    let status = Command::new("objcopy")
        .args(args)
        .arg(input)
        .arg(output)
        .status();
    match status {
        Ok(status) => {
            assert!(status.success(), "objcopy {args:?} {}", input.display());
            Some(())
        }
        Err(_) => {
            eprintln!("skipped: no objcopy (binutils) to strip a copy");
            None
        }
    }
}

/// -s: a stripped copy of the USDT test program shows its frames as
/// addresses; with the unstripped program in -s (matched by build-id,
/// under another name) they are named, and without build-ids (removed
/// from both) a symbol file of the same name is taken.
#[test]
fn symbol_files_name_the_frames_of_a_stripped_binary() {
    const TEST: &str = "symbol_files_name_the_frames_of_a_stripped_binary";
    if !privileged(TEST) {
        return;
    }
    let dir = TempDir::new("trace-symfiles");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../probe/tests/usdt_args.c");
    let Some(program) = bpfkit_testkit::build_usdt_program(TEST, &source, dir.path()) else {
        return;
    };
    let stripped = dir.path().join("stripped-copy");
    if objcopy(&["--strip-all"], &program, &stripped).is_none() {
        return;
    }
    // One probe is in main, the other in second_site (called by main).
    let named = |frames: &[Vec<String>]| {
        frames.iter().all(|f| f.iter().any(|n| n == "main"))
            && frames
                .iter()
                .any(|f| f.first().is_some_and(|n| n == "second_site"))
    };
    let bare = usdt_user_frames(&stripped, &[]);
    assert!(
        bare.iter()
            .flatten()
            .all(|f| f != "main" && f != "second_site"),
        "a stripped binary has no names of its own: {bare:?}"
    );
    let symfile = program.to_str().expect("UTF-8 path");
    let by_id = usdt_user_frames(&stripped, &["-s", symfile]);
    assert!(named(&by_id), "-s by build-id: {by_id:?}");

    // The same file name in two directories, neither with a build-id.
    let plain = TempDir::new("trace-symfiles-noid");
    let no_id = ["--remove-section", ".note.gnu.build-id"];
    let unstripped = plain.path().join("usdt-program");
    let _ = objcopy(&no_id, &program, &unstripped);
    let stripped_no_id = dir.path().join("usdt-program");
    let _ = objcopy(&no_id, &stripped, &stripped_no_id);
    let symfile = unstripped.to_str().expect("UTF-8 path");
    let by_name = usdt_user_frames(&stripped_no_id, &["-s", symfile]);
    assert!(named(&by_name), "-s by file name: {by_name:?}");
}

/// -s with a file that is not there: one error naming it, before anything
/// is loaded.
#[test]
fn a_symbol_file_that_cannot_be_read_is_one_error() {
    let out = Command::new(BPFKIT)
        .args([
            "trace",
            "-s",
            "/nonexistent/symbols",
            "t:syscalls:sys_enter_getppid",
        ])
        .output()
        .expect("running bpfkit trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("-s /nonexistent/symbols"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
