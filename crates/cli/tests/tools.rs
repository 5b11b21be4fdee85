//! End-to-end tests of the built-in tools: run `bpfkit TOOL ...` against
//! the running kernel, cause known events (an exec with a marker argument,
//! an open of a missing path, a signal, an exit code, block I/O), and check
//! the decoded table output. Where the libbpf-tools original runs here, it
//! watches the same workload and must see the same events.
//!
//! Runs are serialized (system-wide tools would see each other's events)
//! and filtered by pid or marker. Every `BOUND` only keeps a broken run
//! from hanging the suite; nothing asserts on how long anything takes.

mod common;

use common::tool::{Gated, Peer, ToolRun, log2_buckets, peer_test, rows, watch_script};
use common::{BPFKIT, ChildGuard, TempDir, serial, unique};
use std::io::{Read, Write};
use std::process::{Child, Command};

/// Execs `/bin/true MARKER a b` `n` times; returns their pids.
fn exec_marked(marker: &str, n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| {
            let mut child = Command::new("/bin/true")
                .args([marker, "a", "b"])
                .spawn()
                .expect("running /bin/true");
            child.wait().expect("waiting for true");
            child.id()
        })
        .collect()
}

#[test]
fn execsnoop_shows_each_exec_with_its_arguments() {
    if !bpfkit_testkit::privileged("execsnoop_shows_each_exec_with_its_arguments") {
        return;
    }
    let _serial = serial();
    let marker = unique("exec");
    let run = ToolRun::start("execsnoop", &["-l", &marker]);
    let pids = exec_marked(&marker, 3);
    let out = run.stop();
    let rows = rows(&out.stdout, "PCOMM");
    assert_eq!(rows.len(), 3, "{}\n{}", out.stdout, out.stderr);
    for (row, pid) in rows.iter().zip(&pids) {
        // PCOMM PID PPID RET ARGS...
        assert_eq!(row[0], "true");
        assert_eq!(row[1], pid.to_string());
        assert_eq!(row[2], std::process::id().to_string());
        assert_eq!(row[3], "0");
        assert_eq!(row[4..], ["/bin/true", marker.as_str(), "a", "b"]);
    }
    assert!(out.stderr.contains("using the tracepoint variant"));
}

#[test]
fn execsnoop_quotes_and_truncates_arguments() {
    if !bpfkit_testkit::privileged("execsnoop_quotes_and_truncates_arguments") {
        return;
    }
    let _serial = serial();
    let marker = unique("quote");
    let run = ToolRun::start("execsnoop", &["-q", "--max-args", "2", "-l", &marker]);
    exec_marked(&marker, 1);
    let out = run.stop();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&marker))
        .unwrap_or_else(|| panic!("no exec line:\n{}", out.stdout));
    assert!(
        line.ends_with(&format!("\"/bin/true\" \"{marker}\" ...")),
        "{line}"
    );
}

#[test]
fn execsnoop_sees_what_libbpf_tools_execsnoop_sees() {
    let test = "execsnoop_sees_what_libbpf_tools_execsnoop_sees";
    let Some((peer, _serial)) = peer_test(test, "execsnoop") else {
        return;
    };
    let marker = unique("peer");
    let ours = ToolRun::start("execsnoop", &["-l", &marker]);
    // libbpf-tools print the header once attached. Not `-l`: they match it
    // against the first argument only.
    let mut theirs = Peer::start(&peer, &[], "PCOMM");
    // It prints its header before it opens its perf buffer: exec until it
    // sees one of ours, then count.
    let probe = format!("{marker}-probe");
    theirs.wait_for(&probe, || {
        exec_marked(&probe, 1);
    });
    exec_marked(&marker, 4);
    // Both also see the peer's own exec, whose arguments name the marker.
    let count = |stdout: &str| {
        stdout
            .lines()
            .filter(|l| l.contains(&format!("/bin/true {marker} a b")))
            .count()
    };
    let ours = ours.stop();
    // libbpf-tools drop what they have not read yet on Ctrl-C.
    let theirs = theirs.stop_after(|line| count(line) == 1, 4);
    assert_eq!(count(&ours.stdout), 4, "{}", ours.stdout);
    assert_eq!(count(&ours.stdout), count(&theirs), "peer saw:\n{theirs}");
}

#[test]
fn opensnoop_shows_a_failed_open_of_a_process() {
    if !bpfkit_testkit::privileged("opensnoop_shows_a_failed_open_of_a_process") {
        return;
    }
    let _serial = serial();
    let path = format!("/nonexistent/{}", unique("open"));
    // `exec` keeps the pid: the open happens in the process -p names.
    let (pid, _, out) = watch_script("opensnoop", &["-x"], &format!("exec cat {path}"));
    let rows = rows(&out.stdout, "PID");
    let row = rows
        .iter()
        .find(|r| r.last() == Some(&path.as_str()))
        .unwrap_or_else(|| panic!("no open of {path}:\n{}", out.stdout));
    // PID COMM FD ERR PATH
    assert_eq!(row[..4], [pid.as_str(), "cat", "-1", "2"]);
    assert!(rows.iter().all(|r| r[0] == pid), "{}", out.stdout);
}

/// The PATH of the row that opened a path ending in `name`.
fn opened_path<'a>(stdout: &'a str, name: &str) -> &'a str {
    rows(stdout, "PID")
        .into_iter()
        .find_map(|r| r.last().copied().filter(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no open of {name}:\n{stdout}"))
}

#[test]
fn opensnoop_full_path_puts_the_working_directory_before_a_relative_path() {
    if !bpfkit_testkit::privileged(
        "opensnoop_full_path_puts_the_working_directory_before_a_relative_path",
    ) {
        return;
    }
    let _serial = serial();
    // Under /dev/shm (a mount of its own where it exists): the walk up to
    // the root crosses a mount.
    let base = ["/dev/shm", "/tmp"]
        .into_iter()
        .find(|d| std::path::Path::new(d).is_dir())
        .expect("a temporary directory");
    let dir = TempDir::under(std::path::Path::new(base), "opensnoop-F");
    std::fs::create_dir(dir.file("sub")).expect("creating sub");
    let name = unique("rel");
    let script = format!("cd {}/sub && exec cat ../sub/{name}", dir.path().display());
    let (_, _, full) = watch_script("opensnoop", &["-x", "-F"], &script);
    let (_, _, plain) = watch_script("opensnoop", &["-x"], &script);
    let real = std::fs::canonicalize(dir.path()).expect("the directory");
    assert_eq!(
        opened_path(&full.stdout, &name),
        format!("{}/sub/../sub/{name}", real.display())
    );
    assert_eq!(opened_path(&plain.stdout, &name), format!("../sub/{name}"));
    // An absolute path stays as it was.
    let absolute = format!("/nonexistent/{}", unique("abs"));
    let (_, _, out) = watch_script("opensnoop", &["-x", "-F"], &format!("exec cat {absolute}"));
    assert_eq!(opened_path(&out.stdout, &absolute), absolute);
}

#[test]
fn opensnoop_full_path_starts_a_relative_openat_at_its_directory() {
    if !bpfkit_testkit::privileged("opensnoop_full_path_starts_a_relative_openat_at_its_directory")
    {
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("opensnoop-F-dirfd");
    let name = unique("at");
    let me = std::process::id().to_string();
    let run = ToolRun::start("opensnoop", &["-x", "-F", "-p", &me]);
    let directory = std::fs::File::open(dir.path()).expect("opening the directory");
    let relative = std::ffi::CString::new(name.clone()).expect("a C name");
    // SAFETY: openat(2) with an open directory and a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            std::os::fd::AsRawFd::as_raw_fd(&directory),
            relative.as_ptr(),
            libc::O_RDONLY,
        )
    };
    assert_eq!(fd, -1, "{name} does not exist");
    let out = run.stop();
    let real = std::fs::canonicalize(dir.path()).expect("the directory");
    assert_eq!(
        opened_path(&out.stdout, &name),
        format!("{}/{name}", real.display())
    );
}

#[test]
fn opensnoop_callers_names_the_functions_that_opened() {
    const TEST: &str = "opensnoop_callers_names_the_functions_that_opened";
    if !bpfkit_testkit::privileged(TEST) {
        return;
    }
    let source = bpfkit_testkit::repo_path("crates/tools/tests/data/open_callers.c");
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let Some(program) = bpfkit_testkit::build_program(TEST, &source, out_dir) else {
        return;
    };
    let _serial = serial();
    let path = format!("/nonexistent/{}", unique("callers"));
    // Held until a byte comes, alive until its stdin closes.
    let mut target = ChildGuard::spawn(
        Command::new(&program)
            .arg(&path)
            .stdin(std::process::Stdio::piped()),
    );
    let pid = target.pid().to_string();
    let mut gate = target.0.stdin.take().expect("stdin");
    let args = ["opensnoop", "-x", "-c", "-p", &pid];
    let mut watch = Peer::start(std::path::Path::new(BPFKIT), &args, "PATH");
    gate.write_all(b"g").expect("starting the program");
    watch.wait_for(&path, || {});
    drop(gate);
    target.wait();
    let stdout = watch.stop();
    let lines: Vec<&str> = stdout.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.ends_with(&path))
        .unwrap_or_else(|| panic!("no open of {path}:\n{stdout}"));
    // The two callers, each on a line of its own under the row.
    let callers: Vec<&str> = lines[row + 1..]
        .iter()
        .take(2)
        .map(|l| l.trim_start())
        .collect();
    assert!(
        callers.len() == 2
            && callers[0].starts_with("bpfkit_outer+0x")
            && callers[1].starts_with("main+0x"),
        "{stdout}"
    );
}

#[test]
fn opensnoop_reports_what_a_full_ring_buffer_dropped() {
    if !bpfkit_testkit::privileged("opensnoop_reports_what_a_full_ring_buffer_dropped") {
        return;
    }
    let _serial = serial();
    let opens = 20_000;
    let marker = unique("full-ring");
    // Each `true` with an input redirection is one failed open.
    let gated = Gated::new(&format!(
        "i=0; while [ $i -lt {opens} ]; do true 2>/dev/null </nonexistent/{marker}-$i; i=$((i+1)); done"
    ));
    let pid = gated.pid().to_string();
    let run = ToolRun::start("opensnoop", &["-x", "-p", &pid]);
    // A stopped reader: the 256 KiB ring fills after a few hundred opens.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(run.pid() as i32, libc::SIGSTOP) };
    let status = gated.go();
    unsafe { libc::kill(run.pid() as i32, libc::SIGCONT) };
    assert!(status.success());
    let out = run.stop();
    let shown = out.stdout.lines().filter(|l| l.contains(&marker)).count();
    let lost: usize = out
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("lost ")?
                .strip_suffix(" events in total (map events)")
        })
        .unwrap_or_else(|| panic!("no lost total:\n{}", out.stdout))
        .parse()
        .expect("lost count");
    assert!(lost > 0 && shown > 0, "shown {shown}, lost {lost}");
    // Every open is accounted for: shown or counted as lost.
    assert_eq!(shown + lost, opens, "shown {shown}, lost {lost}");
}

#[test]
fn exitsnoop_shows_the_exit_code() {
    if !bpfkit_testkit::privileged("exitsnoop_shows_the_exit_code") {
        return;
    }
    let _serial = serial();
    let (pid, status, out) = watch_script("exitsnoop", &[], "exit 7");
    assert_eq!(status.code(), Some(7));
    let rows = rows(&out.stdout, "PCOMM");
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    // PCOMM PID PPID TID AGE(s) EXIT_CODE, as libbpf-tools: `code 7`.
    let row = &rows[0];
    assert_eq!(row[0], "sh");
    assert_eq!(row[1], pid);
    assert_eq!(row[2], std::process::id().to_string());
    assert_eq!(row[5..].join(" "), "code 7", "{}", out.stdout);
}

#[test]
fn exitsnoop_shows_the_killing_signal() {
    if !bpfkit_testkit::privileged("exitsnoop_shows_the_killing_signal") {
        return;
    }
    let _serial = serial();
    let mut sleeper = Sleeper::new();
    let pid = sleeper.pid().to_string();
    let run = ToolRun::start("exitsnoop", &["-p", &pid]);
    sleeper.signal(libc::SIGKILL);
    sleeper.reap();
    let out = run.stop();
    let rows = rows(&out.stdout, "PCOMM");
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!(rows[0][0], "sleep");
    assert_eq!(
        rows[0][5..].join(" "),
        "signal 9 (Killed)",
        "{}",
        out.stdout
    );
}

/// `sleep 60`, killed on drop.
struct Sleeper(Child);

impl Sleeper {
    fn new() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("60")
                .spawn()
                .expect("spawning sleep"),
        )
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.0.id() as i32, sig) }, 0);
    }

    fn reap(&mut self) {
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Rows about signals to `target` whose TPID is `from_end` columns before
/// the last (killsnoop: PID COMM SIG TPID RESULT, 1; sigsnoop: TIME PID
/// COMM SIG TPID TCOMM RESULT, 2).
fn signal_rows<'a>(stdout: &'a str, target: &str, from_end: usize) -> Vec<Vec<&'a str>> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() >= 5 && r[r.len() - 1 - from_end] == target)
        .collect()
}

#[test]
fn sigsnoop_shows_a_signal_by_name() {
    if !bpfkit_testkit::privileged("sigsnoop_shows_a_signal_by_name") {
        return;
    }
    let _serial = serial();
    let mut sleeper = Sleeper::new();
    let target = sleeper.pid().to_string();
    let me = std::process::id().to_string();
    let run = ToolRun::start("sigsnoop", &["-n", "-p", &me, "-s", "USR1"]);
    sleeper.signal(libc::SIGUSR1);
    sleeper.reap();
    let out = run.stop();
    let rows = signal_rows(&out.stdout, &target, 2);
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    // TIME PID COMM SIG TPID TCOMM RESULT (sigsnoop always shows TIME)
    let row = &rows[0];
    assert_eq!(row.len(), 7, "{row:?}");
    assert_eq!(row[1], me);
    assert_eq!(row[3], "SIGUSR1");
    assert_eq!(row[5], "sleep");
    assert_eq!(row[6], "0");
}

#[test]
fn killsnoop_shows_kills_and_failed_kills() {
    if !bpfkit_testkit::privileged("killsnoop_shows_kills_and_failed_kills") {
        return;
    }
    let _serial = serial();
    let mut sleeper = Sleeper::new();
    let target = sleeper.pid().to_string();
    let me = std::process::id().to_string();
    let run = ToolRun::start("killsnoop", &["-n", "-p", &me]);
    sleeper.signal(libc::SIGUSR1);
    sleeper.reap();
    // The reaped pid is gone: this kill fails with ESRCH.
    // SAFETY: signal 0 only checks for existence.
    assert_eq!(unsafe { libc::kill(sleeper.pid() as i32, 0) }, -1);
    let out = run.stop();
    let rows = signal_rows(&out.stdout, &target, 1);
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    // PID COMM SIG TPID RESULT
    assert_eq!(rows[0][0], me);
    assert_eq!(rows[0][2], "SIGUSR1");
    assert_eq!(rows[0][4], "0");
    assert_eq!(rows[1][2], "-");
    // -ESRCH, as a number like libbpf-tools print it.
    assert_eq!(rows[1][4], (-libc::ESRCH).to_string());
}

#[test]
fn syscount_counts_failed_syscalls_by_errno_name() {
    if !bpfkit_testkit::privileged("syscount_counts_failed_syscalls_by_errno_name") {
        return;
    }
    let _serial = serial();
    let dir = format!("/nonexistent/{}", unique("syscount"));
    // `true`, not `:`: a failed redirection of a special builtin ends sh.
    let (_, _, out) = watch_script(
        "syscount",
        &["-e", "ENOENT"],
        &format!("for i in 1 2 3 4 5; do true < {dir}/$i; done 2>/dev/null"),
    );
    let rows = rows(&out.stdout, "SYSCALL");
    assert_eq!(rows, [vec!["openat", "5"]], "{}", out.stdout);
}

#[test]
fn syscount_by_process_with_latency() {
    if !bpfkit_testkit::privileged("syscount_by_process_with_latency") {
        return;
    }
    let _serial = serial();
    let (pid, _, out) = watch_script("syscount", &["-P", "-L", "-m"], "sleep 0.01; sleep 0.01");
    let rows = rows(&out.stdout, "PID");
    // PID COMM COUNT TIME: one process, sh waiting for its two children.
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!(rows[0][0], pid);
    assert_eq!(rows[0][1], "sh");
    assert!(rows[0][2].parse::<u64>().is_ok_and(|n| n > 0));
    let millis: f64 = rows[0][3].parse().expect("TIME (msecs)");
    assert!(millis >= 20.0, "two sleeps of 10 ms: {}", out.stdout);
    assert!(out.stdout.contains("TIME (msecs)"), "{}", out.stdout);
}

#[test]
fn syscount_prints_a_bracketed_time_line_before_each_interval() {
    if !bpfkit_testkit::privileged("syscount_prints_a_bracketed_time_line") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("syscount", &["-i", "1", "-d", "2"]);
    // Syscalls of our own in both intervals.
    for _ in 0..4 {
        Command::new("sleep").arg("0.3").status().expect("sleep");
    }
    let out = run.finish();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("SYSCALL"))
        .collect();
    // As libbpf-tools: `[HH:MM:SS]` right above every interval's table.
    assert_eq!(headers.len(), 2, "{}", out.stdout);
    for i in headers {
        let time = lines[i.saturating_sub(1)];
        let hms = time.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
        let fields: Vec<&str> = hms.map_or(vec![], |t| t.split(':').collect());
        assert!(
            fields.len() == 3
                && fields
                    .iter()
                    .all(|f| f.len() == 2 && f.parse::<u8>().is_ok()),
            "no [HH:MM:SS] above line {i}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn runqlat_prints_a_histogram_per_interval() {
    if !bpfkit_testkit::privileged("runqlat_prints_a_histogram_per_interval") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("runqlat", &["1", "2"]);
    // Wakeups of our own: a few short sleeps.
    for _ in 0..5 {
        Command::new("sleep").arg("0.01").status().expect("sleep");
    }
    let out = run.finish();
    assert_eq!(
        out.stdout.matches("usecs               : count").count(),
        2,
        "{}",
        out.stdout
    );
    let buckets = log2_buckets(&out.stdout);
    assert!(buckets.iter().any(|b| b.2 > 0), "{}", out.stdout);
    for (low, high, _) in &buckets {
        assert!(low <= high && (*low == 0 || high + 1 == low * 2));
    }
}

#[test]
fn runqlat_labels_each_process() {
    if !bpfkit_testkit::privileged("runqlat_labels_each_process") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("runqlat", &["-P", "-m", "1", "1"]);
    for _ in 0..5 {
        Command::new("sleep").arg("0.01").status().expect("sleep");
    }
    let out = run.finish();
    assert!(
        out.stdout.lines().any(|l| l.starts_with("pid = ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("msecs"), "{}", out.stdout);
}

/// Block I/O that completes with an interrupt: a synced write.
fn disk_io() {
    // The target directory is on a disk; /tmp may be a tmpfs.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("io"));
    let mut file = std::fs::File::create(&path).expect("creating a scratch file");
    for _ in 0..8 {
        file.write_all(&[7u8; 64 * 1024]).expect("writing");
        file.sync_all().expect("fsync");
    }
    drop(file);
    let _ = std::fs::remove_file(path);
}

#[test]
fn hardirqs_counts_interrupts() {
    if !bpfkit_testkit::privileged("hardirqs_counts_interrupts") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("hardirqs", &["1", "1"]);
    disk_io();
    let out = run.finish();
    // As libbpf-tools: HARDIRQ TOTAL_count TOTAL_usecs MAX_usecs.
    assert!(
        out.stdout.contains("TOTAL_count") && out.stdout.contains("MAX_usecs"),
        "{}",
        out.stdout
    );
    let rows = irq_numbers::<3>(&out.stdout);
    assert!(!rows.is_empty(), "{}", out.stdout);
    for [count, total, max] in &rows {
        assert!(*count > 0 && max <= total, "{}", out.stdout);
    }
    assert!(
        rows.is_sorted_by(|a, b| a[1] >= b[1]),
        "by total time: {}",
        out.stdout
    );
}

/// The last N numbers of each HARDIRQ row (handler names may hold spaces).
fn irq_numbers<const N: usize>(stdout: &str) -> Vec<[u64; N]> {
    rows(stdout, "HARDIRQ")
        .iter()
        .map(|r| {
            let tail = &r[r.len() - N..];
            std::array::from_fn(|i| tail[i].parse().expect("a number"))
        })
        .collect()
}

#[test]
fn hardirqs_per_cpu_and_on_one_cpu() {
    if !bpfkit_testkit::privileged("hardirqs_per_cpu_and_on_one_cpu") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("hardirqs", &["-C", "1", "1"]);
    disk_io();
    let out = run.finish();
    // -C: a CPU column after TOTAL_count, TOTAL_usecs, MAX_usecs.
    let rows = irq_numbers::<4>(&out.stdout);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert!(!rows.is_empty(), "{}", out.stdout);
    assert!(rows.iter().all(|r| r[3] < cpus), "{}", out.stdout);
    // -s CPU: only that CPU's handlers (the disk's interrupt stays on its CPU).
    let busiest = rows[0][3].to_string();
    let run = ToolRun::start("hardirqs", &["-C", "-s", &busiest, "1", "1"]);
    disk_io();
    let out = run.finish();
    let rows = irq_numbers::<4>(&out.stdout);
    assert!(!rows.is_empty(), "{}", out.stdout);
    assert!(
        rows.iter().all(|r| r[3].to_string() == busiest),
        "{}",
        out.stdout
    );
}

#[test]
fn hardirqs_histograms_per_irq() {
    if !bpfkit_testkit::privileged("hardirqs_histograms_per_irq") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("hardirqs", &["-d", "1", "1"]);
    disk_io();
    let out = run.finish();
    assert!(
        out.stdout.lines().any(|l| l.starts_with("hardirq = ")),
        "{}",
        out.stdout
    );
    assert!(
        log2_buckets(&out.stdout).iter().any(|b| b.2 > 0),
        "{}",
        out.stdout
    );
}

#[test]
fn profile_folds_the_stacks_of_a_busy_process() {
    if !bpfkit_testkit::privileged("profile_folds_the_stacks_of_a_busy_process") {
        return;
    }
    let _serial = serial();
    // A shell counting for a while: samples land in sh itself.
    let (_, _, out) = watch_script(
        "profile",
        &["-f", "-F", "199"],
        "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
    );
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty(), "{}\n{}", out.stdout, out.stderr);
    for line in &lines {
        let (stack, weight) = line.rsplit_once(' ').expect("STACK WEIGHT");
        // Bare `sh`: a sample whose stacks could not be collected.
        assert!(stack == "sh" || stack.starts_with("sh;"), "{line}");
        assert!(weight.parse::<u64>().is_ok_and(|w| w > 0), "{line}");
    }
}

#[test]
fn profile_takes_pid_lists_and_one_cpu() {
    if !bpfkit_testkit::privileged("profile_takes_pid_lists_and_one_cpu") {
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("profile_takes_pid_lists_and_one_cpu: skipped: one CPU");
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("profile-lists");
    // Busy shells under names of their own (comm), each pinned to a CPU.
    let spin = |name: &str, cpu: usize| {
        let path = dir.path().join(name);
        std::fs::copy("/bin/sh", &path).expect("copying sh");
        Busy(
            Command::new("taskset")
                .args(["-c", &cpu.to_string()])
                .arg(&path)
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("spawning a busy shell"),
        )
    };
    let (a, b, c) = (spin("profa", 0), spin("profb", 1), spin("profc", 1));
    let list = format!("{},{}", a.0.id(), b.0.id());
    // -p A,B: both listed processes, not the third.
    let out = ToolRun::start("profile", &["-f", "-F", "199", "-p", &list, "1"]).finish();
    let comms = folded_comms(&out.stdout);
    assert_eq!(comms, ["profa", "profb"], "{}", out.stdout);
    // -C 1: only what ran on CPU 1 (B and C; A is pinned to CPU 0).
    let out = ToolRun::start("profile", &["-f", "-F", "199", "-C", "1", "1"]).finish();
    let comms = folded_comms(&out.stdout);
    assert!(comms.contains(&"profb".to_string()), "{}", out.stdout);
    assert!(comms.contains(&"profc".to_string()), "{}", out.stdout);
    assert!(!comms.contains(&"profa".to_string()), "{}", out.stdout);
    // -L lists threads: a single-threaded process's tid is its pid.
    let tids = format!("{},{}", a.0.id(), c.0.id());
    let out = ToolRun::start("profile", &["-f", "-F", "199", "-L", &tids, "1"]).finish();
    assert_eq!(
        folded_comms(&out.stdout),
        ["profa", "profc"],
        "{}",
        out.stdout
    );
}

/// The distinct first frames (comms) of folded stack lines, sorted.
fn folded_comms(stdout: &str) -> Vec<String> {
    let mut comms: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(stack, _)| stack.split(';').next().unwrap_or_default().to_string())
        .collect();
    comms.sort();
    comms.dedup();
    comms
}

/// A busy child, killed and reaped on drop.
struct Busy(Child);

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP connection over loopback carrying `len` bytes to `listener`.
fn loopback_exchange(listener: &std::net::TcpListener, len: usize) {
    let addr = listener.local_addr().expect("listener address");
    let mut client = std::net::TcpStream::connect(addr).expect("connecting");
    let (mut server, _) = listener.accept().expect("accepting");
    client.write_all(&vec![b'x'; len]).expect("sending");
    drop(client);
    let mut got = Vec::new();
    server.read_to_end(&mut got).expect("receiving");
    assert_eq!(got.len(), len);
}

#[test]
fn tcpktstat_counts_loopback_tcp_both_ways() {
    if !bpfkit_testkit::privileged("tcpktstat_counts_loopback_tcp_both_ways") {
        return;
    }
    let _serial = serial();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listening");
    // Counts print at exit: an interval could fire before the exchange.
    let run = ToolRun::start("tcpktstat", &["-i", "lo", "-P"]);
    loopback_exchange(&listener, 4000);
    let out = run.stop();
    let rows = rows(&out.stdout, "DIR");
    // DIR PROTO PACKETS BYTES
    for dir in ["in", "out"] {
        let row = rows
            .iter()
            .find(|r| r[..2] == [dir, "tcp"])
            .unwrap_or_else(|| panic!("no {dir} tcp row:\n{}", out.stdout));
        let bytes: u64 = row[3].parse().expect("BYTES");
        assert!(bytes >= 4000, "{}", out.stdout);
    }
}

#[test]
fn xdpfilter_counts_a_port_rule_in_dry_run() {
    if !bpfkit_testkit::privileged("xdpfilter_counts_a_port_rule_in_dry_run") {
        return;
    }
    let _serial = serial();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listening");
    let port = listener.local_addr().expect("address").port().to_string();
    let rule = format!("tcp:{port}");
    // -n: count, do not drop (the exchange must go through).
    // Counts print at exit: an interval could fire before the exchange.
    let run = ToolRun::start("xdpfilter", &["-i", "lo", "-n", "-P", &rule]);
    loopback_exchange(&listener, 4000);
    let out = run.stop();
    // SOURCE PREFIXLEN PROTO PORT PACKETS BYTES
    let hit = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|r| r.len() >= 4 && r[r.len() - 4] == "tcp" && r[r.len() - 3] == port)
        .unwrap_or_else(|| panic!("no hit of {rule}:\n{}", out.stdout));
    let packets: u64 = hit[hit.len() - 2].parse().expect("PACKETS");
    assert!(packets > 0, "{}", out.stdout);
}

#[test]
fn tools_lists_every_tool_with_its_hook() {
    let out = Command::new(BPFKIT)
        .arg("tools")
        .output()
        .expect("bpfkit tools");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for spec in ["execsnoop", "opensnoop", "runqlat", "hardirqs", "syscount"] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{spec} "))),
            "{spec} missing:\n{text}"
        );
    }
    if bpfkit_testkit::privileged("tools_lists_every_tool_with_its_hook") {
        let execsnoop = text.lines().find(|l| l.starts_with("execsnoop ")).unwrap();
        assert_eq!(execsnoop.split_whitespace().nth(1), Some("tracepoint"));
    }
}

#[test]
fn help_looks_like_libbpf_tools() {
    let out = Command::new(BPFKIT)
        .args(["execsnoop", "--help"])
        .output()
        .expect("bpfkit execsnoop --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Usage: execsnoop [OPTION...]\nTrace exec syscalls\n"));
    assert!(text.contains("EXAMPLES:\n    execsnoop           # trace all exec() syscalls\n"));
    assert!(text.contains("  -x, --fails                include failed exec()s\n"));
    assert!(text.contains("      --max-args=MAX_ARGS"));
}

#[test]
fn a_symlink_named_after_a_tool_runs_it() {
    let dir = std::env::temp_dir().join(unique("argv0"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch dir");
    let link = dir.join("runqlat");
    std::os::unix::fs::symlink(BPFKIT, &link).expect("symlink");
    let out = Command::new(&link)
        .arg("-h")
        .output()
        .expect("running the link");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Usage: runqlat [OPTION...] [interval] [count]\n"),
        "{text}"
    );
}

#[test]
fn run_accepts_a_tool_name() {
    // From a directory without a file called `opensnoop`.
    let out = Command::new(BPFKIT)
        .args(["run", "opensnoop", "--help"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("bpfkit run opensnoop --help");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Usage: opensnoop [OPTION...]"));
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let out = Command::new(BPFKIT)
        .args(["syscount", "-e", "ENOTANERRNO"])
        .output()
        .expect("bpfkit syscount");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--errno: 'ENOTANERRNO' is not an errno"),
        "{err}"
    );
    let out = Command::new(BPFKIT)
        .args(["nosuchtool"])
        .output()
        .expect("bpfkit nosuchtool");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command or tool 'nosuchtool'"));
}
