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
//!
//! With `-c`, bpfkit starts the program itself (`memleak_ages exit`: both
//! leaks, allocations freed again, exit): the run ends when the program
//! does, and the report (libbpf-tools' layout, `-T` stacks, `-t` calls,
//! `-S` prefixed allocator) shows what it leaked, symbolized.

mod common;

use common::tool::ToolRun;
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

/// What the program allocates and frees again (its FREED_* constants).
const FREED: (u64, u64) = (4, 500);

/// The test program, built; `None` (skip) without root or clang.
fn program(test: &str) -> Option<std::path::PathBuf> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let source = bpfkit_testkit::repo_path("crates/tools/tests/data/memleak_ages.c");
    bpfkit_testkit::build_program(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// `bpfkit memleak ARGS -c 'PROGRAM exit MODE'`, run until the program
/// has exited (and so the run ended by itself).
fn memleak_command(program: &Path, mode: &str, args: &[&str]) -> String {
    let command = format!("{} exit {mode}", program.display());
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-c", &command]);
    ToolRun::start("memleak", &all).finish().stdout
}

/// The report's stacks: each entry line with the numbered frames under it
/// (the process line, `\t-  COMM (PID)`, left out).
fn report_stacks(stdout: &str) -> Vec<(String, Vec<String>)> {
    let mut stacks: Vec<(String, Vec<String>)> = Vec::new();
    for line in stdout.lines() {
        let frame = line
            .strip_prefix('\t')
            .filter(|f| f.starts_with(|c: char| c.is_ascii_digit()));
        match (frame, stacks.last_mut()) {
            (Some(frame), Some((_, frames))) => frames.push(frame.to_string()),
            _ if line.contains(" allocations from stack") => {
                stacks.push((line.to_string(), Vec::new()))
            }
            _ => {}
        }
    }
    stacks
}

/// The entry line of the stack whose first frame is in `function`.
fn entry_of<'a>(stacks: &'a [(String, Vec<String>)], function: &str) -> Option<&'a str> {
    stacks
        .iter()
        .find(|(_, frames)| frames.first().is_some_and(|f| f.ends_with(function)))
        .map(|(entry, _)| entry.as_str())
}

/// libbpf-tools' entry line for `n` allocations of `size` bytes.
fn entry((n, size): (u64, u64)) -> String {
    format!("{} bytes in {n} allocations from stack", n * size)
}

/// The one title line, `[HH:MM:SS] Top N stacks with outstanding allocations:`.
fn assert_title(stdout: &str, shown: usize) {
    let titles: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with("stacks with outstanding allocations:"))
        .collect();
    assert_eq!(titles.len(), 1, "{stdout}");
    let (time, title) = titles[0].split_once(' ').expect("time and title");
    let time = time.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
    let digits: Vec<&str> = time.expect("[HH:MM:SS]").split(':').collect();
    assert!(
        digits.len() == 3 && digits.iter().all(|d| d.len() == 2),
        "{stdout}"
    );
    assert_eq!(
        title,
        format!("Top {shown} stacks with outstanding allocations:")
    );
}

#[test]
fn memleak_command_runs_until_it_ends_and_reports_its_leaks() {
    let Some(program) = program("memleak_command_runs_until_it_ends_and_reports_its_leaks") else {
        return;
    };
    let stdout = memleak_command(&program, "", &[]);
    assert_title(&stdout, 2);
    let stacks = report_stacks(&stdout);
    assert_eq!(stacks.len(), 2, "{stdout}");
    // Heaviest first, each from its function, symbolized after the exit.
    assert_eq!(stacks[0].0, entry(YOUNG), "{stdout}");
    assert_eq!(
        entry_of(&stacks, "bpfkit_leak_young"),
        Some(entry(YOUNG).as_str())
    );
    assert_eq!(
        entry_of(&stacks, "bpfkit_leak_old"),
        Some(entry(OLD).as_str())
    );
    assert!(
        !stdout.contains("bpfkit_no_leak"),
        "freed, yet shown: {stdout}"
    );
    // Each stack's process: the command, by its name (cut to 15 bytes).
    let file = program.file_name().expect("a file name").to_string_lossy();
    let comm = &file[..15.min(file.len())];
    let processes: Vec<&str> = stdout.lines().filter(|l| l.starts_with("\t-  ")).collect();
    assert_eq!(processes.len(), 2, "{stdout}");
    assert!(
        processes
            .iter()
            .all(|l| l.starts_with(&format!("\t-  {comm} ("))),
        "{stdout}"
    );
    // Numbered frames with their addresses: `0 [<000055d1c0ffee12>] name`.
    for (_, frames) in &stacks {
        for (i, frame) in frames.iter().enumerate() {
            let (number, rest) = frame.split_once(" [<").expect("a numbered frame");
            assert_eq!(number, i.to_string(), "{stdout}");
            let (address, _) = rest.split_once(">] ").expect("an address");
            assert!(u64::from_str_radix(address, 16).is_ok() && address.len() == 16);
        }
    }
}

#[test]
fn memleak_top_shows_only_the_heaviest_stacks() {
    let Some(program) = program("memleak_top_shows_only_the_heaviest_stacks") else {
        return;
    };
    let stdout = memleak_command(&program, "", &["-T", "1"]);
    assert_title(&stdout, 1);
    let stacks = report_stacks(&stdout);
    assert_eq!(stacks.len(), 1, "{stdout}");
    assert_eq!(
        entry_of(&stacks, "bpfkit_leak_young"),
        Some(entry(YOUNG).as_str())
    );
}

#[test]
fn memleak_trace_shows_every_allocation_and_free() {
    let Some(program) = program("memleak_trace_shows_every_allocation_and_free") else {
        return;
    };
    let stdout = memleak_command(&program, "", &["-t"]);
    let rows = common::tool::rows(&stdout, "PID");
    let calls: Vec<(&str, u64)> = rows
        .iter()
        .filter(|r| r.len() == 5)
        .map(|r| (r[2], r[3].parse().expect("SIZE")))
        .collect();
    let count = |call: &str, size: u64| calls.iter().filter(|c| **c == (call, size)).count();
    assert_eq!(count("alloc", OLD.1) as u64, OLD.0, "{stdout}");
    assert_eq!(count("alloc", YOUNG.1) as u64, YOUNG.0, "{stdout}");
    assert_eq!(count("alloc", FREED.1) as u64, FREED.0, "{stdout}");
    assert_eq!(count("free", FREED.1) as u64, FREED.0, "{stdout}");
    // COMM is the program's (its file name, cut to 15 bytes by the kernel).
    let file = program.file_name().expect("a file name").to_string_lossy();
    let comm = &file[..15.min(file.len())];
    assert!(
        rows.iter().filter(|r| r.len() == 5).all(|r| r[1] == comm),
        "{stdout}"
    );
    // The stacks still come at the end.
    assert_eq!(report_stacks(&stdout).len(), 2, "{stdout}");
}

#[test]
fn memleak_symbols_prefix_traces_an_allocator_of_its_own() {
    let Some(program) = program("memleak_symbols_prefix_traces_an_allocator_of_its_own") else {
        return;
    };
    let object = program.display().to_string();
    let stdout = memleak_command(&program, "prefixed", &["-S", "testalloc_", "-O", &object]);
    let stacks = report_stacks(&stdout);
    assert_eq!(stacks.len(), 2, "{stdout}");
    // The first frame is where testalloc_malloc returns to.
    assert_eq!(
        entry_of(&stacks, "bpfkit_leak_young"),
        Some(entry(YOUNG).as_str())
    );
    assert_eq!(
        entry_of(&stacks, "bpfkit_leak_old"),
        Some(entry(OLD).as_str())
    );
}

#[test]
fn memleak_command_json_names_the_command() {
    let Some(program) = program("memleak_command_json_names_the_command") else {
        return;
    };
    let command = format!("{} exit", program.display());
    let records = Run::start_tool_attached("memleak", &["-c", &command])
        .finish()
        .records;
    let file = program.file_name().expect("a file name").to_string_lossy();
    let comm = &file[..15.min(file.len())];
    let (count, weight) = leak_from(&records, "bpfkit_leak_old");
    assert_eq!((count, weight), (OLD.0, OLD.0 * OLD.1));
    let stack = stacks_from(&records, "bpfkit_leak_old")[0];
    assert_eq!(stack["comm"], comm, "{stack}");
}

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
