//! `bpfkit run` on each committed example: the test causes the events
//! itself and checks the decoded fields. Other processes on the machine
//! cause events too, so every match is by the pid or marker of the test.

mod common;

use bpfkit_testkit::privileged;
use common::{ChildGuard, Run, TempDir, events, example, is_printk_with, unique};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn event_of(record: &Value, map: &str, pid: u32) -> bool {
    record["type"] == "event" && record["map"] == map && record["data"]["pid"] == pid
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory preconditions; `pid` is an unreaped child.
    let rc = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// `sh` blocked reading its stdin, running `body` once per line it reads:
/// the test picks the moment (after bpfkit attached) and knows the pid.
fn shell_loop(body: &str) -> ChildGuard {
    ChildGuard::spawn(
        Command::new("/bin/sh")
            .args(["-c", &format!("while read line; do {body}; done")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

fn poke(child: &mut ChildGuard) {
    let stdin = child.0.stdin.as_mut().expect("piped stdin");
    stdin.write_all(b"go\n").expect("writing to the child");
    stdin.flush().expect("flushing the child's stdin");
}

#[test]
fn execsnoop_reports_exec_of_a_child() {
    if !privileged("execsnoop_reports_exec_of_a_child") {
        return;
    }
    let mut run = Run::start(&example("execsnoop.bpf.o"), &[]);
    run.wait_attached(&[
        "tracepoint__syscalls__sys_enter_execve",
        "tracepoint__syscalls__sys_exit_execve",
    ]);
    let mut child = ChildGuard::spawn(Command::new("/bin/true").arg(unique("exec")));
    let pid = child.pid();
    assert!(child.wait().success());

    let exit = run.wait_for("execve exit of /bin/true", |r| {
        event_of(r, "events", pid) && r["data"]["is_exit"] == true
    });
    assert_eq!(exit["data"]["comm"], "true", "{exit}");
    assert_eq!(exit["data"]["retval"], 0, "{exit}");
    assert_eq!(exit["data"]["ppid"], std::process::id(), "{exit}");
    assert_eq!(exit["data"]["uid"], 0, "{exit}");
    let enter = run.wait_for("execve entry of /bin/true", |r| {
        event_of(r, "events", pid) && r["data"]["is_exit"] == false
    });
    assert_eq!(enter["data"]["ppid"], std::process::id(), "{enter}");
    run.stop();
}

#[test]
fn exitsnoop_reports_exit_code_of_a_child() {
    if !privileged("exitsnoop_reports_exit_code_of_a_child") {
        return;
    }
    let mut run = Run::start(&example("exitsnoop.bpf.o"), &[]);
    run.wait_attached(&["handle_exit"]);
    let mut child = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", "exit 3"]));
    let pid = child.pid();
    assert_eq!(child.wait().code(), Some(3));

    let exit = run.wait_for("exit of sh", |r| event_of(r, "rb", pid));
    // The example keeps the exit status byte: (task->exit_code >> 8) & 0xff.
    assert_eq!(exit["data"]["exit_code"], 3, "{exit}");
    assert_eq!(exit["data"]["comm"], "sh", "{exit}");
    assert_eq!(exit["data"]["ppid"], std::process::id(), "{exit}");
    assert!(
        exit["data"]["duration_ns"].as_u64().is_some_and(|d| d > 0),
        "{exit}"
    );
    run.stop();
}

#[test]
fn bootstrap_reports_exec_and_exit() {
    if !privileged("bootstrap_reports_exec_and_exit") {
        return;
    }
    let mut run = Run::start(&example("bootstrap.bpf.o"), &["--min_duration_ns", "0"]);
    run.wait_attached(&["handle_exec", "handle_exit"]);
    let mut child = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", "exit 3"]));
    let pid = child.pid();
    assert_eq!(child.wait().code(), Some(3));

    let exec = run.wait_for("exec of sh", |r| {
        event_of(r, "rb", pid) && r["data"]["exit_event"] == false
    });
    assert_eq!(exec["data"]["filename"], "/bin/sh", "{exec}");
    assert_eq!(exec["data"]["comm"], "sh", "{exec}");
    assert_eq!(exec["data"]["ppid"], std::process::id(), "{exec}");
    let exit = run.wait_for("exit of sh", |r| {
        event_of(r, "rb", pid) && r["data"]["exit_event"] == true
    });
    assert_eq!(exit["data"]["exit_code"], 3, "{exit}");
    // Measured from the exec the program saw.
    assert!(
        exit["data"]["duration_ns"].as_u64().is_some_and(|d| d > 0),
        "{exit}"
    );
    run.stop();
}

#[test]
fn bootstrap_min_duration_filters_short_lived_processes() {
    if !privileged("bootstrap_min_duration_filters_short_lived_processes") {
        return;
    }
    // 1 s, through the kebab-case alias of min_duration_ns.
    let mut run = Run::start(
        &example("bootstrap.bpf.o"),
        &["--min-duration-ns", "1000000000"],
    );
    run.wait_attached(&["handle_exec", "handle_exit"]);
    let mut short = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", "exit 3"]));
    let short_pid = short.pid();
    assert_eq!(short.wait().code(), Some(3));
    // Lives longer than the minimum: its exit must be reported, and as the
    // ring buffer keeps order, after the short one's would have been.
    let mut long = ChildGuard::spawn(Command::new("/bin/sleep").arg("2"));
    let long_pid = long.pid();
    assert!(long.wait().success());

    let exit = run.wait_for("exit of the long-lived sleep", |r| {
        event_of(r, "rb", long_pid)
    });
    assert_eq!(exit["data"]["exit_event"], true, "{exit}");
    assert!(
        exit["data"]["duration_ns"]
            .as_u64()
            .is_some_and(|d| d >= 1_000_000_000),
        "{exit}"
    );
    let done = run.stop();
    let short_events: Vec<_> = events(&done.records, "rb")
        .filter(|r| r["data"]["pid"] == short_pid)
        .collect();
    assert!(
        short_events.is_empty(),
        "filtered child reported: {short_events:?}"
    );
    let execs: Vec<_> = events(&done.records, "rb")
        .filter(|r| r["data"]["exit_event"] == false)
        .collect();
    assert!(
        execs.is_empty(),
        "exec events despite a duration filter: {execs:?}"
    );
}

#[test]
fn opensnoop_pid_filter_reports_only_that_process() {
    if !privileged("opensnoop_pid_filter_reports_only_that_process") {
        return;
    }
    let marker = unique("open");
    let path = format!("/nonexistent/{marker}");
    // `read` is a builtin: the shell itself opens the path, under its own
    // pid (right after bpfkit attached: the record must not wait for a
    // second one to wake the perf buffer reader).
    let mut child = shell_loop(&format!("read x < {path}"));
    let pid = child.pid();
    let mut run = Run::start(&example("opensnoop.bpf.o"), &["-p", &pid.to_string()]);
    run.wait_attached(&[
        "tracepoint__syscalls__sys_enter_openat",
        "tracepoint__syscalls__sys_exit_openat",
    ]);
    // An open by this process, which the filter must drop.
    assert!(std::fs::File::open(format!("/nonexistent/{marker}-test")).is_err());
    poke(&mut child);
    let open = run.wait_for("the child's failed open", |r| {
        r["type"] == "event" && r["data"]["fname"] == path.as_str()
    });
    assert_eq!(open["data"]["pid"], pid, "{open}");
    assert_eq!(open["data"]["ret"], -2, "ENOENT: {open}");
    assert_eq!(open["data"]["comm"], "sh", "{open}");
    let done = run.stop();
    let others: Vec<_> = events(&done.records, "events")
        .filter(|r| r["data"]["pid"] != pid)
        .collect();
    assert!(others.is_empty(), "events of other processes: {others:?}");
}

/// SIGINT or SIGTERM as soon as the `attached` records are out (before the
/// run loop may have started) ends the run cleanly.
#[test]
fn signal_right_after_attached_exits_cleanly() {
    if !privileged("signal_right_after_attached_exits_cleanly") {
        return;
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGINT, libc::SIGTERM] {
        let mut run = Run::start(&example("kill.bpf.o"), &[]);
        run.wait_attached(&["tracepoint__syscalls__sys_enter_kill"]);
        run.stop_with(signal);
    }
}

#[test]
fn sigsnoop_reports_a_signal_sent_by_the_test() {
    if !privileged("sigsnoop_reports_a_signal_sent_by_the_test") {
        return;
    }
    let mut run = Run::start(&example("sigsnoop.bpf.o"), &[]);
    run.wait_attached(&["kill_entry", "kill_exit"]);
    let mut child = ChildGuard::spawn(Command::new("/bin/sleep").arg("60"));
    let target = child.pid();
    signal(target, libc::SIGUSR1);
    child.wait();

    let sig = run.wait_for("kill() by the test", |r| {
        r["type"] == "event" && r["map"] == "events" && r["data"]["tpid"] == target
    });
    assert_eq!(sig["data"]["pid"], std::process::id(), "{sig}");
    assert_eq!(sig["data"]["sig"], libc::SIGUSR1, "{sig}");
    assert_eq!(sig["data"]["ret"], 0, "{sig}");
    run.stop();
}

#[test]
fn kill_counts_signals_per_target_in_the_exit_map_dump() {
    if !privileged("kill_counts_signals_per_target_in_the_exit_map_dump") {
        return;
    }
    let mut run = Run::start(&example("kill.bpf.o"), &[]);
    run.wait_attached(&["tracepoint__syscalls__sys_enter_kill"]);
    let mut child = ChildGuard::spawn(Command::new("/bin/sleep").arg("60"));
    let target = child.pid();
    // Signal 0 only checks that the process exists: three counted calls.
    signal(target, 0);
    signal(target, 0);
    signal(target, libc::SIGTERM);
    child.wait();

    let done = run.stop();
    let dump = done
        .records
        .iter()
        .find(|r| r["type"] == "map" && r["map"] == "killed")
        .unwrap_or_else(|| panic!("no dump of map 'killed': {:?}", done.records));
    let entries = dump["entries"].as_array().expect("entries");
    let entry = entries
        .iter()
        .find(|e| e["key"] == target)
        .unwrap_or_else(|| panic!("pid {target} not in {dump}"));
    assert_eq!(entry["value"], 3, "{entry}");
}

#[test]
fn minimal_source_builds_and_prints_for_its_pid_filter() {
    if !privileged("minimal_source_builds_and_prints_for_its_pid_filter") {
        return;
    }
    if bpfkit_testkit::clang("minimal_source_builds_and_prints_for_its_pid_filter").is_none() {
        return;
    }
    let mut child = shell_loop("echo \"$line\"");
    let pid = child.pid();
    let mut run = Run::start(
        &example("minimal.bpf.c"),
        &["--pid_filter", &pid.to_string()],
    );
    run.wait_attached(&["handle_tp"]);
    // Another trace_pipe reader on the machine may take a line: write again
    // until one reaches bpfkit.
    let line = run.wait_retriggering(
        "printk of the child's write",
        |r| is_printk_with(r, &format!("BPF triggered sys_enter_write from PID {pid}")),
        || poke(&mut child),
    );
    assert!(
        line["text"]
            .as_str()
            .is_some_and(|t| t.contains("bpf_trace_printk")),
        "{line}"
    );
    let done = run.stop();
    let others: Vec<_> = done
        .records
        .iter()
        .filter(|r| is_printk_with(r, "BPF triggered"))
        .filter(|r| !is_printk_with(r, &format!("from PID {pid}.")))
        .collect();
    assert!(others.is_empty(), "writes of other processes: {others:?}");
}

#[test]
fn unlink_tp_prints_the_unlinked_name() {
    if !privileged("unlink_tp_prints_the_unlinked_name") {
        return;
    }
    let dir = TempDir::new("unlink");
    let name = unique("unlink");
    let file = dir.path().join(&name);
    let mut run = Run::start(&example("unlink_tp.bpf.o"), &[]);
    run.wait_attached(&["unlinkat_entry", "unlinkat_exit"]);
    // The program keeps 63 bytes of the path: match on the unique name's
    // start, which fits after the temp dir.
    let needle = format!("filename = {}", file.display());
    let needle: String = needle.chars().take("filename = ".len() + 60).collect();
    let line = run.wait_retriggering(
        "printk of the unlink",
        |r| is_printk_with(r, &needle),
        || {
            std::fs::write(&file, b"x").expect("creating the file");
            unlinkat(&file);
        },
    );
    assert!(
        line["text"]
            .as_str()
            .is_some_and(|t| t.contains("ENTRY: pid = ")),
        "{line}"
    );
    run.stop();
}

/// std's remove_file calls unlink(2); the example traces unlinkat(2).
fn unlinkat(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
    // SAFETY: c_path is a valid NUL-terminated string for the whole call.
    let rc = unsafe { libc::unlinkat(libc::AT_FDCWD, c_path.as_ptr(), 0) };
    assert_eq!(rc, 0, "unlinkat {}", path.display());
}

#[test]
fn runqlat_histogram_has_buckets() {
    if !privileged("runqlat_histogram_has_buckets") {
        return;
    }
    let mut run = Run::start(&example("runqlat.bpf.o"), &["-d", "2s"]);
    run.wait_attached(&["sched_wakeup", "sched_wakeup_new", "sched_switch"]);
    // Sleeps wake this thread up: run queue latencies to measure.
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let done = run.finish();
    assert_eq!(
        done.records.last().map(|r| r["reason"].clone()),
        Some("duration".into())
    );
    let hist = done
        .records
        .iter()
        .find(|r| r["type"] == "hist" && r["map"] == "hists")
        .unwrap_or_else(|| panic!("no histogram of map 'hists': {:?}", done.records));
    assert_plausible_log2(hist);
}

/// Buckets are ascending powers of two with some counts.
fn assert_plausible_log2(hist: &Value) {
    assert_eq!(hist["scale"], "log2", "{hist}");
    let buckets = hist["buckets"].as_array().expect("buckets");
    assert!(!buckets.is_empty(), "{hist}");
    let mut total = 0;
    let mut prev_high = None;
    for b in buckets {
        let (low, high) = (b["low"].as_u64().unwrap(), b["high"].as_u64().unwrap());
        assert!(low <= high, "{b}");
        assert!((high + 1).is_power_of_two(), "{b}");
        if let Some(prev) = prev_high {
            assert_eq!(low, prev + 1, "buckets not contiguous: {hist}");
        }
        prev_high = Some(high);
        total += b["count"].as_u64().expect("count");
    }
    assert!(total > 0, "all buckets empty: {hist}");
}

#[test]
fn hardirqs_counts_interrupts() {
    if !privileged("hardirqs_counts_interrupts") {
        return;
    }
    let dir = TempDir::under(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), "on-disk");
    let file = dir.path().join("io");
    let mut run = Run::start(&example("hardirqs.bpf.o"), &["-i", "500ms"]);
    run.wait_attached(&["handle_entry", "handle_exit"]);
    // Disk writes (virtio-blk) cause interrupts if nothing else does.
    let hist = run.wait_retriggering(
        "interval print of map 'infos'",
        |r| r["type"] == "hist" && r["map"] == "infos",
        || {
            let mut f = std::fs::File::create(&file).expect("temp file");
            f.write_all(&[0u8; 65536]).expect("writing");
            f.sync_all().expect("fsync");
        },
    );
    assert!(
        hist["key"]["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{hist}"
    );
    assert!(
        hist["labels"]["count"].as_u64().is_some_and(|c| c > 0),
        "{hist}"
    );
    assert_plausible_log2(&hist);
    run.stop();
}

#[test]
fn bashreadline_reports_a_typed_line() {
    if !privileged("bashreadline_reports_a_typed_line") {
        return;
    }
    let mut run = Run::start(&example("bashreadline.bpf.o"), &[]);
    run.wait_attached(&["printret"]);
    let command = format!("echo {}", unique("readline"));
    // bash calls readline only on a terminal: script(1) gives it a pty and
    // copies our pipe into it.
    let mut bash = ChildGuard::spawn(
        Command::new("script")
            .args(["-qec", "/bin/bash --norc --noprofile -i", "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let stdin = bash.0.stdin.as_mut().expect("piped stdin");
    writeln!(stdin, "{command}").expect("typing into bash");
    let line = run.wait_for("the typed line", |r| {
        r["type"] == "event" && r["data"]["str"] == command.as_str()
    });
    assert_eq!(line["data"]["comm"], "bash", "{line}");
    writeln!(stdin, "exit").expect("typing into bash");
    drop(bash.0.stdin.take());
    bash.wait();
    run.stop();
}
