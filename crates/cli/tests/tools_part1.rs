//! End-to-end tests of the built-in tools statsnoop, mountsnoop, runqlen,
//! runqslower, softirqs, biolatency, biopattern, biosnoop and oomkill: run
//! `bpfkit TOOL ...` against the running kernel, cause known events (a stat
//! of a missing path, a tmpfs mount, busy threads, loopback traffic, direct
//! reads of a loop device of our own) and check the decoded table output.
//! Where the libbpf-tools original runs here, it watches the same workload
//! and must see the same events.
//!
//! Other test runs may share the machine: rows are filtered by pid, marker
//! path or our own loop device. Interval tools are stopped with SIGINT (they
//! print their summary then), so no test depends on how long anything takes.

mod common;

use common::tool::{
    Peer, ToolOutput, ToolRun, linear_buckets, log2_buckets, peer_test, rows, section, watch_script,
};
use common::workloads::{
    BUSY_COMM, BusyThreads, LoopDevice, READ_SECTORS, loopback_traffic, run_ok,
};
use common::{TempDir, serial, unique};
use std::path::Path;
use std::process::Command;
use std::thread;

// ---------------------------------------------------------------- statsnoop

/// Rows of statsnoop output (PID COMM RET ERR PATH) naming `path`.
fn stat_rows<'a>(stdout: &'a str, path: &str) -> Vec<Vec<&'a str>> {
    rows(stdout, "PID")
        .into_iter()
        .filter(|r| r.last() == Some(&path))
        .collect()
}

#[test]
fn statsnoop_shows_failed_and_successful_stats_of_a_process() {
    if !bpfkit_testkit::privileged("statsnoop_shows_failed_and_successful_stats_of_a_process") {
        return;
    }
    let _serial = serial();
    let missing = format!("/tmp/{}-missing", unique("statsnoop"));
    // `exec` keeps the pid: the stats happen in the process -p names.
    let (pid, _, out) = watch_script("statsnoop", &[], &format!("exec stat {missing} /"));
    let failed = stat_rows(&out.stdout, &missing);
    assert!(!failed.is_empty(), "no stat of {missing}:\n{}", out.stdout);
    for row in &failed {
        // PID COMM RET ERR PATH; RET -1 and ERR 2 (ENOENT) as libbpf-tools.
        assert_eq!(row[..4], [pid.as_str(), "stat", "-1", "2"], "{row:?}");
    }
    let root = stat_rows(&out.stdout, "/");
    assert!(!root.is_empty(), "no stat of /:\n{}", out.stdout);
    assert_eq!(root[0][..4], [pid.as_str(), "stat", "0", "0"]);
    assert!(
        rows(&out.stdout, "PID").iter().all(|r| r[0] == pid),
        "{}",
        out.stdout
    );
}

#[test]
fn statsnoop_failed_only_hides_successful_stats() {
    if !bpfkit_testkit::privileged("statsnoop_failed_only_hides_successful_stats") {
        return;
    }
    let _serial = serial();
    let missing = format!("/tmp/{}-missing", unique("statsnoop"));
    let (_, _, out) = watch_script(
        "statsnoop",
        &["-x", "-t"],
        &format!("exec stat {missing} /"),
    );
    // TIME(s) PID COMM RET ERR PATH
    let all = rows(&out.stdout, "TIME(s)");
    assert!(!all.is_empty(), "{}", out.stdout);
    assert!(all.iter().all(|r| r[3] == "-1"), "{}", out.stdout);
    assert!(all.iter().any(|r| r[5] == missing), "{}", out.stdout);
    assert!(
        all.iter().all(|r| r[0].parse::<f64>().is_ok()),
        "{}",
        out.stdout
    );
}

#[test]
fn statsnoop_sees_what_libbpf_tools_statsnoop_sees() {
    let test = "statsnoop_sees_what_libbpf_tools_statsnoop_sees";
    let Some((peer, _serial)) = peer_test(test, "statsnoop") else {
        return;
    };
    let missing = format!("/tmp/{}-missing", unique("statsnoop"));
    let ours = ToolRun::start("statsnoop", &["-x"]);
    let mut theirs = Peer::start(&peer, &["-x"], "PID");
    if theirs.programs().is_empty() {
        // libbpf-tools 0.26 asks whether tracepoint `syscalls/statfs` (not
        // `syscalls/sys_enter_statfs`) exists, finds none and loads no
        // program: it runs, prints its header and never an event. bpfkit
        // must still see the stats.
        eprintln!("{test}: libbpf-tools statsnoop loaded no program here; ours only");
        stat_missing(&missing, 4);
        let ours = ours.stop();
        assert_eq!(count_ending(&ours.stdout, &missing), 4, "{}", ours.stdout);
        return;
    }
    let probe = format!("{missing}-probe");
    theirs.wait_for(&probe, || stat_missing(&probe, 1));
    stat_missing(&missing, 4);
    let ours = ours.stop();
    let theirs = theirs.stop_after(|l| l.ends_with(&missing), 4);
    assert_eq!(count_ending(&ours.stdout, &missing), 4, "{}", ours.stdout);
    assert_eq!(count_ending(&theirs, &missing), 4, "peer saw:\n{theirs}");
}

/// How many lines end with `path`.
fn count_ending(text: &str, path: &str) -> usize {
    text.lines().filter(|l| l.ends_with(path)).count()
}

/// Stats `path` (missing) `n` times from our own process: one syscall each.
fn stat_missing(path: &str, n: usize) {
    for _ in 0..n {
        assert!(std::fs::metadata(path).is_err());
    }
}

// ---------------------------------------------------------------- mountsnoop

/// A directory to mount a tmpfs on: unmounted (lazily, if still mounted)
/// and removed on drop, also when a test fails. Its path and the tmpfs
/// source name are unique and no prefix of another test's.
struct MountPoint {
    _dir: TempDir,
    target: String,
    source: String,
}

impl MountPoint {
    fn new() -> MountPoint {
        let dir = TempDir::new("tmpfs");
        let target = dir.path().join("mnt");
        std::fs::create_dir(&target).expect("creating a mount point");
        MountPoint {
            _dir: dir,
            target: target.to_str().expect("a UTF-8 temp path").to_string(),
            source: format!("{}-src", unique("tmpfs")),
        }
    }

    fn target(&self) -> &str {
        &self.target
    }

    /// `mount -t tmpfs SOURCE DIR`, then `umount DIR`; their pids.
    fn mount_and_unmount(&self) -> (u32, u32) {
        let mount =
            run_ok(Command::new("mount").args(["-t", "tmpfs", &self.source, self.target()]));
        let umount = run_ok(Command::new("umount").arg(self.target()));
        (mount, umount)
    }

    fn is_mounted(&self) -> bool {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        mounts
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(self.target()))
    }
}

impl Drop for MountPoint {
    fn drop(&mut self) {
        while self.is_mounted() {
            let ok = Command::new("umount").arg("-l").arg(self.target()).status();
            if !ok.is_ok_and(|s| s.success()) {
                break;
            }
        }
    }
}

#[test]
fn mountsnoop_shows_a_tmpfs_mount_and_its_unmount() {
    if !bpfkit_testkit::privileged("mountsnoop_shows_a_tmpfs_mount_and_its_unmount") {
        return;
    }
    let _serial = serial();
    let point = MountPoint::new();
    let run = ToolRun::start("mountsnoop", &[]);
    let (mount_pid, umount_pid) = point.mount_and_unmount();
    // Unmounting what is no longer mounted fails with EINVAL.
    let failed = Command::new("umount")
        .arg(point.target())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("running umount");
    assert!(!failed.success());
    let out = run.stop();
    let ours: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(point.target()))
        .collect();
    assert_eq!(ours.len(), 3, "{}", out.stdout);
    // COMM PID TID MNT_NS, then the call as libbpf-tools print it.
    let (mount_pid, umount_pid) = (mount_pid.to_string(), umount_pid.to_string());
    let mount: Vec<&str> = ours[0].split_whitespace().collect();
    assert_eq!(mount[..3], ["mount", &mount_pid, &mount_pid], "{mount:?}");
    assert!(mount[3].parse::<u64>().is_ok_and(|ns| ns > 0), "{mount:?}");
    let call = |line: &str| {
        line.split_whitespace()
            .skip(4)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let target = point.target();
    assert_eq!(
        call(ours[0]),
        format!(
            "mount(\"{}\", \"{target}\", \"tmpfs\", 0x0, \"\") = 0",
            point.source
        )
    );
    let umount: Vec<&str> = ours[1].split_whitespace().collect();
    assert_eq!(umount[..3], ["umount", &umount_pid, &umount_pid]);
    assert_eq!(umount[3], mount[3], "same mount namespace");
    assert_eq!(call(ours[1]), format!("umount(\"{target}\", 0x0) = 0"));
    // A failed call's return as libbpf-tools print it.
    assert_eq!(
        call(ours[2]),
        format!("umount(\"{target}\", 0x0) = -EINVAL")
    );
}

#[test]
fn mountsnoop_detailed_mode_shows_one_field_a_line() {
    if !bpfkit_testkit::privileged("mountsnoop_detailed_mode_shows_one_field_a_line") {
        return;
    }
    let _serial = serial();
    let point = MountPoint::new();
    let run = ToolRun::start("mountsnoop", &["-d"]);
    let (mount_pid, _) = point.mount_and_unmount();
    let out = run.stop();
    let block = out
        .stdout
        .split("\n\n")
        .find(|b| b.contains(&point.source))
        .unwrap_or_else(|| panic!("no mount of {}:\n{}", point.source, out.stdout));
    let field = |name: &str| {
        block
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name}: in\n{block}"))
    };
    assert_eq!(field("PID"), mount_pid.to_string());
    assert_eq!(field("COMM"), "mount");
    assert_eq!(field("FS"), "tmpfs");
    assert_eq!(field("TARGET"), point.target());
    assert_eq!(field("RET"), "0");
    // Time in the call, in microseconds (libbpf-tools: `LAT: 197us`).
    assert!(field("LAT(us)").parse::<u64>().is_ok(), "{block}");
}

#[test]
fn mountsnoop_sees_what_libbpf_tools_mountsnoop_sees() {
    let test = "mountsnoop_sees_what_libbpf_tools_mountsnoop_sees";
    let Some((peer, _serial)) = peer_test(test, "mountsnoop") else {
        return;
    };
    let ours = ToolRun::start("mountsnoop", &[]);
    let mut theirs = Peer::start(&peer, &[], "COMM");
    // It prints its header before it polls its buffer: mount until it shows
    // one (on a mount point of its own), then count.
    let probe = MountPoint::new();
    theirs.wait_for(&probe.source, || {
        probe.mount_and_unmount();
    });
    let counted = MountPoint::new();
    for _ in 0..3 {
        counted.mount_and_unmount();
    }
    // Three mounts and three unmounts, each call written as C the same way,
    // `mount("src", "/target", "tmpfs", 0x0, "") = 0`.
    let count = |text: &str| count_mentions(text, counted.target());
    let ours = ours.stop();
    let theirs = theirs.stop_after(|l| l.contains(counted.target()), 6);
    assert_eq!(count(&ours.stdout), 6, "{}", ours.stdout);
    assert_eq!(count(&theirs), 6, "peer saw:\n{theirs}");
    assert_eq!(
        count_mentions(&theirs, &format!("mount(\"{}\"", counted.source)),
        3,
        "{theirs}"
    );
    let calls = |text: &str| {
        let mut calls: Vec<String> = text
            .lines()
            .filter(|l| l.contains(counted.target()))
            .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
            .collect();
        calls.sort();
        calls
    };
    assert_eq!(
        calls(&ours.stdout),
        calls(&theirs),
        "{}\n{theirs}",
        ours.stdout
    );
}

/// The new mount API, as util-linux 2.39+ and systemd use it, from raw
/// syscalls on a thread of its own in a private mount namespace: a tmpfs
/// made with fsopen/fsconfig/fsmount, attached with move_mount, made
/// read-only with mount_setattr, cloned with open_tree. Returns the thread
/// id and what each call returned.
fn new_mount_api_calls(target: &Path) -> (u32, Vec<i64>) {
    let target = std::ffi::CString::new(target.to_str().expect("UTF-8")).expect("a C path");
    thread::spawn(move || {
        let mut returned = Vec::new();
        // SAFETY: raw syscalls with NUL-terminated strings, a zeroed
        // mount_attr of the size passed, on this thread's own namespace.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare");
            let root = c"/";
            let private = (libc::MS_REC | libc::MS_PRIVATE) as libc::c_ulong;
            let none = std::ptr::null::<libc::c_char>();
            assert_eq!(
                libc::mount(none, root.as_ptr(), none, private, std::ptr::null()),
                0
            );
            let fs = libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), 1 /* CLOEXEC */);
            returned.push(fs);
            returned.push(libc::syscall(
                libc::SYS_fsconfig,
                fs,
                1, /* FSCONFIG_SET_STRING */
                c"size".as_ptr(),
                c"1m".as_ptr(),
                0,
            ));
            returned.push(libc::syscall(
                libc::SYS_fsconfig,
                fs,
                6, /* FSCONFIG_CMD_CREATE */
                none,
                none,
                0,
            ));
            let mnt = libc::syscall(libc::SYS_fsmount, fs, 1, 0x4 /* NODEV */);
            returned.push(mnt);
            returned.push(libc::syscall(
                libc::SYS_move_mount,
                mnt,
                c"".as_ptr(),
                libc::AT_FDCWD,
                target.as_ptr(),
                0x4, /* MOVE_MOUNT_F_EMPTY_PATH */
            ));
            let attr = [1u64 /* MOUNT_ATTR_RDONLY */, 0, 0, 0];
            returned.push(libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                target.as_ptr(),
                0,
                attr.as_ptr(),
                std::mem::size_of_val(&attr),
            ));
            let clone = 0x1 | libc::O_CLOEXEC as i64; /* OPEN_TREE_CLONE|CLOEXEC */
            returned.push(libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                target.as_ptr(),
                clone,
            ));
            for fd in [fs, mnt, returned[returned.len() - 1]] {
                libc::close(fd as i32);
            }
            (libc::syscall(libc::SYS_gettid) as u32, returned)
        }
    })
    .join()
    .expect("the mounting thread")
}

#[test]
fn mountsnoop_shows_each_call_of_the_new_mount_api() {
    if !bpfkit_testkit::privileged("mountsnoop_shows_each_call_of_the_new_mount_api") {
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("mount-api");
    let me = std::process::id().to_string();
    let run = ToolRun::start("mountsnoop", &["-p", &me]);
    let (tid, returned) = new_mount_api_calls(dir.path());
    let out = run.stop();
    assert!(returned.iter().all(|&r| r >= 0), "{returned:?}");
    let (fs, mnt, tree) = (returned[0], returned[3], returned[6]);
    let target = dir.path().display();
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cells| cells.get(2) == Some(&tid.to_string().as_str()))
        .collect();
    let calls: Vec<String> = lines.iter().map(|cells| cells[4..].join(" ")).collect();
    assert_eq!(
        calls,
        [
            // The thread's mounts made private first (flags by name).
            "mount(\"\", \"/\", \"\", MS_REC | MS_PRIVATE, \"\") = 0".to_string(),
            format!("fsopen(\"tmpfs\", FSOPEN_CLOEXEC) = {fs}"),
            format!("fsconfig({fs}, \"FSCONFIG_SET_STRING\", \"size\", \"1m\", 0) = 0"),
            format!("fsconfig({fs}, \"FSCONFIG_CMD_CREATE\", \"\", \"\", 0) = 0"),
            format!("fsmount({fs}, \"FSMOUNT_CLOEXEC\", \"MOUNT_ATTR_NODEV\") = {mnt}"),
            format!(
                "move_mount({mnt}, \"\", AT_FDCWD, \"{target}\", \"MOVE_MOUNT_F_EMPTY_PATH\") = 0"
            ),
            format!("mount_setattr(AT_FDCWD, \"{target}\", 0x0, MOUNT_ATTR_RDONLY) = 0"),
            format!(
                "open_tree(AT_FDCWD, \"{target}\", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) = {tree}"
            ),
        ],
        "{}",
        out.stdout
    );
    // The calls came from this process, in its thread's own namespace.
    assert!(lines.iter().all(|c| c[1] == me), "{}", out.stdout);
    let host_ns = std::fs::read_link("/proc/self/ns/mnt").expect("our mount namespace");
    assert!(
        lines
            .iter()
            .all(|c| !host_ns.to_string_lossy().contains(c[3])),
        "{}",
        out.stdout
    );
}

/// How many lines mention `needle`.
fn count_mentions(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

// ---------------------------------------------------- runqlen / runqslower

/// Spins the busy threads while a sampling tool runs: one more spinner
/// than CPUs keeps some run queue longer than one all along. The half
/// second only gives the sampler time to take samples; nothing depends on
/// how many it takes.
fn with_busy_threads(run: ToolRun) -> ToolOutput {
    let busy = BusyThreads::start();
    thread::sleep(std::time::Duration::from_millis(500));
    let out = run.stop();
    drop(busy);
    out
}

#[test]
fn runqlen_samples_a_histogram_of_queue_lengths() {
    if !bpfkit_testkit::privileged("runqlen_samples_a_histogram_of_queue_lengths") {
        return;
    }
    let _serial = serial();
    let out = with_busy_threads(ToolRun::start("runqlen", &[]));
    assert!(
        out.stdout.contains("runqlen       : count"),
        "{}",
        out.stdout
    );
    let buckets = linear_buckets(&out.stdout);
    assert!(!buckets.is_empty(), "{}", out.stdout);
    // Increasing lengths, empty ones left out (as libbpf-tools do), and
    // some samples with others waiting.
    assert!(buckets.is_sorted_by(|a, b| a.0 < b.0), "{}", out.stdout);
    assert!(buckets.iter().all(|&(_, n)| n > 0), "{}", out.stdout);
    assert!(buckets.iter().any(|&(len, _)| len >= 1), "{}", out.stdout);
}

#[test]
fn runqlen_per_cpu_histograms() {
    if !bpfkit_testkit::privileged("runqlen_per_cpu_histograms") {
        return;
    }
    let _serial = serial();
    let out = with_busy_threads(ToolRun::start("runqlen", &["-C"]));
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    for cpu in 0..cpus {
        let hist = section(&out.stdout, &format!("cpu = {cpu}"))
            .unwrap_or_else(|| panic!("no cpu = {cpu}:\n{}", out.stdout));
        let total: u64 = linear_buckets(hist).iter().map(|b| b.1).sum();
        assert!(total > 0, "{}", out.stdout);
    }
}

#[test]
fn runqlen_samples_where_libbpf_tools_runqlen_does() {
    let test = "runqlen_samples_where_libbpf_tools_runqlen_does";
    let Some((peer, _serial)) = peer_test(test, "runqlen") else {
        return;
    };
    let ours = ToolRun::start("runqlen", &[]);
    // libbpf-tools 0.26 runqlen reads `cfs_rq.nr_running`, a field this
    // kernel (6.18) no longer has: its CO-RE relocation fails and it exits.
    let theirs = Peer::try_start(&peer, &[], "Sampling");
    let out = with_busy_threads(ours);
    assert!(
        linear_buckets(&out.stdout).iter().any(|b| b.1 > 0),
        "{}",
        out.stdout
    );
    let Some(theirs) = theirs else {
        eprintln!("{test}: libbpf-tools runqlen cannot load here; ours only");
        return;
    };
    let theirs = theirs.stop();
    assert!(
        linear_buckets(&theirs).iter().any(|b| b.1 > 0),
        "peer:\n{theirs}"
    );
}

/// runqslower rows (TIME COMM TID LAT(us)) of our busy threads: (tid, us).
fn busy_waits(stdout: &str) -> Vec<(u32, u64)> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() >= 4 && r[1] == BUSY_COMM)
        .map(|r| (r[2].parse().expect("TID"), r[3].parse().expect("LAT(us)")))
        .collect()
}

#[test]
fn runqslower_shows_threads_waiting_for_a_cpu() {
    if !bpfkit_testkit::privileged("runqslower_shows_threads_waiting_for_a_cpu") {
        return;
    }
    let _serial = serial();
    let me = std::process::id().to_string();
    let run = ToolRun::start("runqslower", &["-p", &me, "1"]);
    let busy = BusyThreads::start();
    thread::sleep(std::time::Duration::from_millis(500));
    let tids = busy.tids.clone();
    let out = run.stop();
    drop(busy);
    assert!(
        out.stdout
            .starts_with("TIME     COMM             TID           LAT(us)"),
        "{}",
        out.stdout
    );
    let waits = busy_waits(&out.stdout);
    assert!(!waits.is_empty(), "{}", out.stdout);
    for (tid, us) in waits {
        assert!(tids.contains(&tid), "{tid} is no busy thread: {tids:?}");
        assert!(us >= 1, "{}", out.stdout);
    }
}

#[test]
fn runqslower_sees_what_libbpf_tools_runqslower_sees() {
    let test = "runqslower_sees_what_libbpf_tools_runqslower_sees";
    let Some((peer, _serial)) = peer_test(test, "runqslower") else {
        return;
    };
    let me = std::process::id().to_string();
    let ours = ToolRun::start("runqslower", &["-p", &me, "1"]);
    let theirs = Peer::start(&peer, &["-p", &me, "1"], "TIME");
    let busy = BusyThreads::start();
    thread::sleep(std::time::Duration::from_millis(500));
    let ours = ours.stop();
    let theirs = theirs.stop();
    drop(busy);
    // Both watch the same scheduler events; how many cross the threshold
    // is each one's own measurement, so both just must see the threads.
    assert!(!busy_waits(&ours.stdout).is_empty(), "{}", ours.stdout);
    assert!(!busy_waits(&theirs).is_empty(), "peer saw:\n{theirs}");
}

// ---------------------------------------------------------------- softirqs

/// Names libbpf-tools softirqs prints, in vector order.
const VECTORS: [&str; 10] = [
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
];

#[test]
fn softirqs_totals_time_per_softirq_by_name() {
    if !bpfkit_testkit::privileged("softirqs_totals_time_per_softirq_by_name") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("softirqs", &[]);
    loopback_traffic();
    let out = run.stop();
    let rows = rows(&out.stdout, "SOFTIRQ");
    assert!(out.stdout.contains("TOTAL_usecs"), "{}", out.stdout);
    for row in &rows {
        assert_eq!(row.len(), 2, "{}", out.stdout);
        assert!(VECTORS.contains(&row[0]), "{}", out.stdout);
        assert!(row[1].parse::<u64>().is_ok(), "{}", out.stdout);
    }
    assert!(rows.iter().any(|r| r[0] == "net_rx"), "{}", out.stdout);
}

#[test]
fn softirqs_counts_with_c_and_keeps_to_one_cpu_with_lowercase_c() {
    let test = "softirqs_counts_with_c_and_keeps_to_one_cpu_with_lowercase_c";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let _serial = serial();
    // Upstream's current flags: -C adds TOTAL_count, -c CPU traces one CPU.
    let run = ToolRun::start("softirqs", &["-C", "-c", "0"]);
    loopback_traffic_on_cpu0();
    let out = run.stop();
    assert!(out.stdout.contains("TOTAL_count"), "{}", out.stdout);
    let rows = rows(&out.stdout, "SOFTIRQ");
    // Loopback packets are received in the sender's CPU's net_rx softirq.
    assert!(rows.iter().any(|r| r[0] == "net_rx"), "{}", out.stdout);
    for row in &rows {
        assert_eq!(row.len(), 3, "{}", out.stdout);
        assert!(row[2].parse::<u64>().is_ok_and(|n| n > 0), "{}", out.stdout);
    }
    let absent = (std::thread::available_parallelism().map_or(1, |n| n.get()) + 8).to_string();
    let run = ToolRun::start("softirqs", &["-c", &absent]);
    loopback_traffic();
    let out = run.stop();
    assert!(rows_or_none(&out.stdout).is_empty(), "{}", out.stdout);
}

/// loopback_traffic() from a thread that runs on CPU 0 only.
fn loopback_traffic_on_cpu0() {
    std::thread::spawn(|| {
        // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and
        // sched_setaffinity(0: this thread) only read and write it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            let size = std::mem::size_of::<libc::cpu_set_t>();
            assert_eq!(
                libc::sched_setaffinity(0, size, &set),
                0,
                "pinning to CPU 0"
            );
        }
        loopback_traffic();
    })
    .join()
    .expect("loopback traffic on CPU 0");
}

/// SOFTIRQ rows, none when no table was printed.
fn rows_or_none(stdout: &str) -> Vec<Vec<&str>> {
    if stdout.contains("SOFTIRQ") {
        rows(stdout, "SOFTIRQ")
    } else {
        Vec::new()
    }
}

#[test]
fn softirqs_histograms_per_softirq_in_nanoseconds() {
    if !bpfkit_testkit::privileged("softirqs_histograms_per_softirq_in_nanoseconds") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("softirqs", &["-d", "-N"]);
    loopback_traffic();
    let out = run.stop();
    let hist = section(&out.stdout, "softirq = net_rx")
        .unwrap_or_else(|| panic!("no net_rx histogram:\n{}", out.stdout));
    assert!(hist.contains("nsecs"), "{}", out.stdout);
    let buckets = log2_buckets(hist);
    assert!(buckets.iter().any(|b| b.2 > 0), "{}", out.stdout);
    for (low, high, _) in &buckets {
        assert!(low <= high && (*low == 0 || high + 1 == low * 2));
    }
}

#[test]
fn softirqs_sees_what_libbpf_tools_softirqs_sees() {
    let test = "softirqs_sees_what_libbpf_tools_softirqs_sees";
    let Some((peer, _serial)) = peer_test(test, "softirqs") else {
        return;
    };
    let ours = ToolRun::start("softirqs", &["-d"]);
    let theirs = Peer::start(&peer, &["-d"], "Tracing");
    loopback_traffic();
    let ours = ours.stop();
    let theirs = theirs.stop();
    // Totals are system-wide and differ by when each started; both must
    // have seen our traffic under the same name.
    for text in [&ours.stdout, &theirs] {
        let hist = section(text, "softirq = net_rx")
            .unwrap_or_else(|| panic!("no net_rx histogram:\n{text}"));
        assert!(log2_buckets(hist).iter().any(|b| b.2 > 0), "{text}");
    }
}

// ------------------------------------------------- biosnoop / biolatency / biopattern

#[test]
fn biosnoop_shows_each_direct_read_of_a_loop_device() {
    if !bpfkit_testkit::privileged("biosnoop_shows_each_direct_read_of_a_loop_device") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let (out, dd) = disk.watch_reads("biosnoop", &[], 4);
    let dd = dd.to_string();
    let rows = rows(&out.stdout, "TIME(s)");
    assert_eq!(rows.len(), 4, "{}", out.stdout);
    // TIME(s) COMM PID DISK T SECTOR BYTES LAT(ms)
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[1..4], ["dd", &dd, disk.name()], "{row:?}");
        assert!(row[4].starts_with('R'), "{row:?}");
        assert_eq!(row[5], (i as u64 * READ_SECTORS).to_string(), "{row:?}");
        assert_eq!(row[6], "4096", "{row:?}");
        assert!(row[7].parse::<f64>().is_ok(), "{row:?}");
    }
}

#[test]
fn biosnoop_queued_adds_a_queue_column() {
    if !bpfkit_testkit::privileged("biosnoop_queued_adds_a_queue_column") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let (out, _) = disk.watch_reads("biosnoop", &["-Q"], 2);
    let header = out.stdout.lines().next().unwrap_or_default();
    assert!(header.contains("QUE(ms)"), "{}", out.stdout);
    let rows = rows(&out.stdout, "TIME(s)");
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    assert!(rows.iter().all(|r| r.len() == 9), "{}", out.stdout);
}

/// Total count of a log2 histogram.
fn total(hist: &str) -> u64 {
    log2_buckets(hist).iter().map(|b| b.2).sum()
}

#[test]
fn biolatency_counts_each_read_of_one_disk() {
    if !bpfkit_testkit::privileged("biolatency_counts_each_read_of_one_disk") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let (out, _) = disk.watch_reads("biolatency", &[], 16);
    assert!(
        out.stdout.contains("usecs               : count"),
        "{}",
        out.stdout
    );
    assert_eq!(total(&out.stdout), 16, "{}", out.stdout);
}

#[test]
fn biolatency_per_disk_and_per_flags() {
    if !bpfkit_testkit::privileged("biolatency_per_disk_and_per_flags") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let run = ToolRun::start("biolatency", &["-D", "-m"]);
    disk.direct_reads(8);
    let out = run.stop();
    let hist = section(&out.stdout, &format!("disk = {}", disk.name()))
        .unwrap_or_else(|| panic!("no histogram of {}:\n{}", disk.name(), out.stdout));
    assert!(hist.contains("msecs"), "{}", out.stdout);
    assert_eq!(total(hist), 8, "{}", out.stdout);

    let run = ToolRun::start("biolatency", &["-F", "-d", disk.name()]);
    disk.direct_reads(8);
    let out = run.stop();
    let flags: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("flags = "))
        .collect();
    assert_eq!(flags.len(), 1, "{}", out.stdout);
    // The kernel's rwbs text (`RS`), where libbpf-tools print `Sync-Read`.
    assert!(flags[0].starts_with('R'), "{}", out.stdout);
    assert_eq!(total(&out.stdout), 8, "{}", out.stdout);
}

#[test]
fn biolatency_sees_what_libbpf_tools_biolatency_sees() {
    let test = "biolatency_sees_what_libbpf_tools_biolatency_sees";
    let Some((peer, _serial)) = peer_test(test, "biolatency") else {
        return;
    };
    let (_, ours, theirs) = both_watch_reads("biolatency", &peer, 16);
    assert_eq!(total(&ours), 16, "{ours}");
    assert_eq!(total(&theirs), 16, "peer saw:\n{theirs}");
}

/// `bpfkit TOOL -d DISK` and libbpf-tools' TOOL (at `peer`) side by side
/// over `n` direct reads of a fresh loop device: the device's name, what
/// ours printed and what theirs did.
fn both_watch_reads(tool: &str, peer: &Path, n: usize) -> (String, String, String) {
    let disk = LoopDevice::create();
    let ours = ToolRun::start(tool, &["-d", disk.name()]);
    let theirs = Peer::start(peer, &["-d", disk.name()], "Tracing");
    disk.direct_reads(n);
    let ours = ours.stop();
    (disk.name().to_string(), ours.stdout, theirs.stop())
}

/// biopattern's row of `disk`: DISK %RND %SEQ COUNT KBYTES.
fn pattern_row<'a>(stdout: &'a str, disk: &str) -> Vec<&'a str> {
    rows(stdout, "DISK")
        .into_iter()
        .find(|r| r[0] == disk)
        .unwrap_or_else(|| panic!("no row of {disk}:\n{stdout}"))
}

#[test]
fn biopattern_shows_sequential_reads_of_a_loop_device() {
    if !bpfkit_testkit::privileged("biopattern_shows_sequential_reads_of_a_loop_device") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let (out, _) = disk.watch_reads("biopattern", &[], 16);
    // The first read has no predecessor to be sequential to; libbpf-tools
    // count from the second one on. Percentages are whole numbers there.
    assert_eq!(
        pattern_row(&out.stdout, disk.name()),
        [disk.name(), "0", "100", "15", "60"],
        "{}",
        out.stdout
    );
    assert_eq!(rows(&out.stdout, "DISK").len(), 1, "{}", out.stdout);
}

#[test]
fn biopattern_sees_what_libbpf_tools_biopattern_sees() {
    let test = "biopattern_sees_what_libbpf_tools_biopattern_sees";
    let Some((peer, _serial)) = peer_test(test, "biopattern") else {
        return;
    };
    let (disk, ours, theirs) = both_watch_reads("biopattern", &peer, 16);
    assert_eq!(
        pattern_row(&ours, &disk),
        pattern_row(&theirs, &disk),
        "ours:\n{ours}\npeer:\n{theirs}"
    );
}

#[test]
fn biosnoop_sees_what_libbpf_tools_biosnoop_sees() {
    let test = "biosnoop_sees_what_libbpf_tools_biosnoop_sees";
    let Some((peer, _serial)) = peer_test(test, "biosnoop") else {
        return;
    };
    let disk = LoopDevice::create();
    let ours = ToolRun::start("biosnoop", &["-d", disk.name()]);
    // libbpf-tools biosnoop needs fentry (blk_account_io_start), which this
    // kernel refuses (EPERM): it exits at once. Where it loads, it must see
    // the same requests.
    let theirs = Peer::try_start(&peer, &["-d", disk.name()], "TIME");
    disk.direct_reads(4);
    let ours = ours.stop();
    assert_eq!(
        count_mentions(&ours.stdout, disk.name()),
        4,
        "{}",
        ours.stdout
    );
    let Some(theirs) = theirs else {
        eprintln!("{test}: libbpf-tools biosnoop cannot load here; ours only");
        return;
    };
    let theirs = theirs.stop_after(|l| l.contains(disk.name()), 4);
    assert_eq!(
        count_mentions(&theirs, disk.name()),
        4,
        "peer saw:\n{theirs}"
    );
}

// ---------------------------------------------------------------- oomkill

#[test]
fn oomkill_attaches_and_exits_cleanly() {
    if !bpfkit_testkit::privileged("oomkill_attaches_and_exits_cleanly") {
        return;
    }
    let _serial = serial();
    // Causing an OOM kill would disturb everything else on the machine.
    let run = ToolRun::start("oomkill", &[]);
    let out = run.stop();
    assert!(
        out.stderr
            .contains("attached mark_victim to tracepoint oom:mark_victim"),
        "{}",
        out.stderr
    );
    // libbpf-tools' sentence form has no header line.
    assert!(!out.stdout.contains("FPID"), "{}", out.stdout);
}

#[test]
fn oomkill_prints_libbpf_tools_sentence_with_loadavg() {
    if !bpfkit_testkit::privileged("oomkill_prints_libbpf_tools_sentence_with_loadavg") {
        return;
    }
    let root = Path::new("/sys/fs/cgroup/memory");
    if !root.join("memory.limit_in_bytes").exists() {
        eprintln!("oomkill sentence: skipped: no cgroup v1 memory controller at {root:?}");
        return;
    }
    let _serial = serial();
    // An OOM kill confined to a 32 MiB memory cgroup of our own: `tail`
    // keeps the one endless line of /dev/zero in memory.
    let cgroup = OomCgroup(root.join(unique("oomkill")));
    std::fs::create_dir(&cgroup.0).expect("creating a memory cgroup");
    std::fs::write(cgroup.0.join("memory.limit_in_bytes"), "33554432").expect("limiting it");
    let procs = cgroup.0.join("cgroup.procs");
    let run = ToolRun::start("oomkill", &[]);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ >{} && exec tail /dev/zero",
            procs.display()
        ))
        .spawn()
        .expect("spawning tail");
    let pid = child.id();
    let status = child.wait().expect("waiting for tail");
    assert!(!status.success(), "tail was not killed: {status}");
    let out = run.stop();
    let victim = format!("OOM kill of PID {pid} (\"tail\"), ");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&victim))
        .unwrap_or_else(|| panic!("no kill of {pid}:\n{}", out.stdout));
    // HH:MM:SS Triggered by PID F ("C"), OOM kill of PID T ("tail"), N pages, loadavg: ...
    let (time, rest) = line.split_once(' ').expect("a time");
    assert_eq!(time.len(), 8, "{line}");
    assert!(rest.starts_with("Triggered by PID "), "{line}");
    let (_, after) = rest.split_once(&victim).expect("the victim");
    let (pages, loadavg) = after
        .split_once(" pages, loadavg: ")
        .expect("pages, loadavg");
    assert!(pages.parse::<u64>().is_ok_and(|p| p > 0), "{line}");
    // /proc/loadavg: three averages, running/total, last pid.
    assert_eq!(loadavg.split_whitespace().count(), 5, "{line}");
}

/// A memory cgroup removed on drop (its only process is reaped by then).
struct OomCgroup(std::path::PathBuf);

impl Drop for OomCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn oomkill_attaches_where_libbpf_tools_oomkill_does() {
    let test = "oomkill_attaches_where_libbpf_tools_oomkill_does";
    let Some((peer, _serial)) = peer_test(test, "oomkill") else {
        return;
    };
    let ours = ToolRun::start("oomkill", &[]);
    // libbpf-tools oomkill attaches a kprobe (oom_kill_process), which this
    // kernel lacks: it exits. bpfkit uses tracepoint oom:mark_victim.
    match Peer::try_start(&peer, &[], "Tracing") {
        Some(theirs) => drop(theirs.stop()),
        None => eprintln!("{test}: libbpf-tools oomkill cannot attach here; ours only"),
    }
    ours.stop();
}
