//! End-to-end tests of the storage tools of issue 14: fsslower (and its
//! ext4slower/xfsslower/btrfsslower aliases), fsdist (and its aliases),
//! cachestat, vfsstat and filetop. This test process writes, fsyncs and reads a file of its own
//! on disk (`FileOps`) and checks the decoded operations, sizes, offsets
//! and counts.
//!
//! The libbpf-tools originals (/usr/sbin/fsslower, fsdist, cachestat, 0.26)
//! need kprobes or fentry, which this kernel lacks, so there is nothing to
//! compare with here; bpfkit's own variants on the file systems' functions
//! (`crates/tools/bpf/fs.h`) then fall back to the syscall approximation
//! and `-v` says why (the kernel matrix runs the function variants).

mod common;

use common::BPFKIT;
use common::tool::{ToolRun, log2_buckets, rows, section};
use common::workloads::FileOps;
use common::{ChildGuard, serial, unique};

fn me() -> String {
    std::process::id().to_string()
}

/// The scratch file's file system, or `None` (with a note) where the test
/// cannot know it.
fn scratch_fs(ops: &FileOps) -> Option<&'static str> {
    let fs = ops.fs();
    if fs.is_none() {
        println!("skipped: the scratch directory is on no file system the test knows");
    }
    fs
}

/// (T, BYTES, OFF_KB) of the fsslower rows (TIME COMM PID T BYTES OFF_KB
/// LAT(ms) FILENAME) naming `file`, all from this process.
fn ops_on<'a>(stdout: &'a str, file: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    rows(stdout, "TIME")
        .into_iter()
        .filter(|r| r.last() == Some(&file))
        .map(|r| {
            assert_eq!(r.len(), 8, "{r:?}");
            assert_eq!(r[2], me(), "{r:?}");
            let lat: f64 = r[6].parse().unwrap_or_else(|_| panic!("LAT(ms) in {r:?}"));
            assert!(lat >= 0.0, "{r:?}");
            (r[3], r[4], r[5])
        })
        .collect()
}

/// Checks what `-v` said about the hook `tool` (fsslower, fsdist or an
/// alias) used on file system `fs`: one of its variants on the file
/// system's functions, or the syscall approximation, named as such, after
/// the reason each function variant could not run here.
fn check_hook_report(stderr: &str, tool: &str, fs: &str) {
    let using = format!("bpfkit: {tool}: using the ");
    let used = stderr
        .lines()
        .find_map(|l| l.strip_prefix(&using)?.strip_suffix(" variant"));
    match used {
        Some("fentry" | "kprobe") => {}
        Some("syscall-approx") => {
            for (kind, program) in [("fentry", "fentry"), ("kprobe", "kprobe")] {
                let why = format!("bpfkit: {tool}: not using {kind}: fs_{program}_{fs}_read: ");
                assert!(stderr.contains(&why), "no '{why}' in:\n{stderr}");
            }
        }
        other => panic!("{tool}: unexpected variant {other:?}:\n{stderr}"),
    }
}

/// What `FileOps::run` does, as fsslower shows it: create, two 1 MiB
/// writes (the second at 1024 KB), fsync; open, a 100-byte read.
const FILE_OPS: &[(&str, &str, &str)] = &[
    ("O", "0", "0"),
    ("W", "1048576", "0"),
    ("W", "1048576", "1024"),
    ("F", "0", "0"),
    ("O", "0", "0"),
    ("R", "100", "0"),
];

#[test]
fn fsslower_shows_each_operation_with_its_size_and_offset() {
    if !bpfkit_testkit::privileged("fsslower_shows_each_operation_with_its_size_and_offset") {
        return;
    }
    let _serial = serial();
    let ops = FileOps::new(&unique("fsslower"));
    let Some(fs) = scratch_fs(&ops) else { return };
    let me = me();
    let all = ToolRun::start("fsslower", &["-t", fs, "-m", "0", "-p", &me]);
    let alias_name = format!("{fs}slower");
    let alias = ToolRun::start(&alias_name, &["-m", "0", "-p", &me]);
    let any_block_fs = ToolRun::start("fsslower", &["-m", "0", "-p", &me]);
    // A file system this kernel has, but not the scratch file's.
    let other = if fs == "tmpfs" { "proc" } else { "tmpfs" };
    let other_fs = ToolRun::start("fsslower", &["-t", other, "-m", "0", "-p", &me]);
    let over_a_minute = ToolRun::start("fsslower", &["-t", fs, "-m", "60000", "-p", &me]);
    ops.run();
    let name = ops.name.clone();
    for (what, tool, run) in [
        ("-t", "fsslower", all),
        ("alias", alias_name.as_str(), alias),
        ("no -t", "fsslower", any_block_fs),
    ] {
        let out = run.stop();
        if what != "no -t" {
            check_hook_report(&out.stderr, tool, fs);
        }
        assert_eq!(
            ops_on(&out.stdout, &name),
            FILE_OPS,
            "{what}:\n{}",
            out.stdout
        );
    }
    for (what, run) in [("other fs", other_fs), ("-m 60000", over_a_minute)] {
        let out = run.stop();
        assert!(
            ops_on(&out.stdout, &name).is_empty(),
            "{what}:\n{}",
            out.stdout
        );
    }
}

/// Without a fentry/kprobe variant a file system name is still checked: a
/// name this kernel does not know is a usage error, not a run that shows
/// nothing.
#[test]
fn an_unknown_file_system_is_one_clear_error() {
    // Bounded runs (-d 1, one 1 s interval), should the name be accepted.
    for (tool, bound) in [("fsslower", ["-d", "1"]), ("fsdist", ["1", "1"])] {
        let out = std::process::Command::new(BPFKIT)
            .args([tool, "-t", "nosuchfs"])
            .args(bound)
            .output()
            .expect("running bpfkit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tool}: {stderr}");
        assert_eq!(
            stderr.trim(),
            "bpfkit: --type: 'nosuchfs' is not a file system type this kernel knows \
             (see /proc/filesystems)",
            "{tool}"
        );
        assert!(out.stdout.is_empty(), "{tool}");
    }
}

/// The count of a histogram section's buckets.
fn total(hist: &str) -> u64 {
    log2_buckets(hist).iter().map(|(_, _, n)| n).sum()
}

#[test]
fn fsdist_counts_each_operation_in_its_histogram() {
    if !bpfkit_testkit::privileged("fsdist_counts_each_operation_in_its_histogram") {
        return;
    }
    let _serial = serial();
    let ops = FileOps::new(&unique("fsdist"));
    let Some(fs) = scratch_fs(&ops) else { return };
    let me = me();
    let micros = ToolRun::start("fsdist", &["-t", fs, "-p", &me]);
    let alias_name = format!("{fs}dist");
    let millis = ToolRun::start(&alias_name, &["-m", "-p", &me]);
    ops.run();
    for (unit, tool, run) in [
        ("usecs", "fsdist", micros),
        ("msecs", alias_name.as_str(), millis),
    ] {
        let out = run.stop();
        check_hook_report(&out.stderr, tool, fs);
        for (op, count) in [("open", 2), ("write", 2), ("read", 1), ("fsync", 1)] {
            let hist = section(&out.stdout, &format!("operation = {op}"))
                .unwrap_or_else(|| panic!("no {op} histogram:\n{}", out.stdout));
            assert!(hist.contains(unit), "{unit}:\n{hist}");
            assert_eq!(total(hist), count, "{op} ({unit}):\n{}", out.stdout);
        }
    }
}

/// An interval with no operation prints what libbpf-tools' fsdist.c
/// prints then (`printf("\n")`, the `-T` time, then only the histograms
/// that counted something): a blank line and the time, no header, no empty
/// histogram, no more blank lines. The traced process only sleeps.
#[test]
fn ext4dist_prints_only_the_time_for_an_interval_without_operations() {
    if !bpfkit_testkit::privileged(
        "ext4dist_prints_only_the_time_for_an_interval_without_operations",
    ) {
        return;
    }
    let _serial = serial();
    let sleeper = ChildGuard::spawn(std::process::Command::new("sleep").arg("30"));
    let out = ToolRun::start(
        "ext4dist",
        &["-T", "-p", &sleeper.pid().to_string(), "1", "2"],
    )
    .finish();
    let lines: Vec<&str> = out.stdout.split('\n').collect();
    let is_time = |l: &str| {
        l.len() == 8
            && l.bytes().enumerate().all(|(i, b)| {
                if i % 3 == 2 {
                    b == b':'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    assert!(
        lines.len() == 5
            && lines[0].is_empty()
            && is_time(lines[1])
            && lines[2].is_empty()
            && is_time(lines[3])
            && lines[4].is_empty(),
        "{:?}",
        out.stdout
    );
}

#[test]
fn cachestat_counts_misses_hits_and_dirtied_pages() {
    if !bpfkit_testkit::privileged("cachestat_counts_misses_hits_and_dirtied_pages") {
        return;
    }
    let _serial = serial();
    let ops = FileOps::new(&unique("cachestat"));
    let run = ToolRun::start("cachestat", &[]);
    const PAGES: u64 = 256;
    ops.cache_misses_then_hits(PAGES as usize);
    let out = run.stop();
    // HITS MISSES DIRTIES HITRATIO(%), one row: the totals at the end.
    let table = rows(&out.stdout, "HITS");
    assert_eq!(table.len(), 1, "{}", out.stdout);
    let n: Vec<i64> = table[0]
        .iter()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{v} in {:?}", table[0]))
        })
        .collect();
    let (hits, misses, dirties, ratio) = (n[0], n[1], n[2], n[3]);
    // Other processes add to every count; ours alone reads the file twice
    // (2 * PAGES accesses), once after dropping it from the cache.
    assert!(misses >= PAGES as i64, "{}", out.stdout);
    assert!(hits + misses >= 2 * PAGES as i64, "{}", out.stdout);
    assert!(dirties >= 1, "{}", out.stdout);
    assert!((0..=100).contains(&ratio) || hits < 0, "{}", out.stdout);
}

#[test]
fn vfsstat_counts_reads_writes_fsyncs_opens_and_creates() {
    if !bpfkit_testkit::privileged("vfsstat_counts_reads_writes_fsyncs_opens_and_creates") {
        return;
    }
    let _serial = serial();
    let ops = FileOps::new(&unique("vfsstat"));
    let run = ToolRun::start("vfsstat", &[]);
    const TIMES: i64 = 10;
    for _ in 0..TIMES {
        ops.run();
    }
    let out = run.stop();
    // READ WRITE FSYNC OPEN CREATE, one row a second and one at the end;
    // other processes add to every count.
    let mut sums = [0i64; 5];
    for row in rows(&out.stdout, "READ") {
        if row[0] == "READ" {
            continue;
        }
        for (sum, v) in sums.iter_mut().zip(&row) {
            *sum += v
                .parse::<i64>()
                .unwrap_or_else(|_| panic!("{v} in {row:?}"));
        }
    }
    // Each FileOps::run: 1 read, 2 writes, 1 fsync, 2 opens, 1 create.
    let [reads, writes, fsyncs, opens, creates] = sums;
    assert!(reads >= TIMES, "{}", out.stdout);
    assert!(writes >= 2 * TIMES, "{}", out.stdout);
    assert!(fsyncs >= TIMES, "{}", out.stdout);
    assert!(opens >= 2 * TIMES, "{}", out.stdout);
    assert!(creates >= TIMES, "{}", out.stdout);
}

#[test]
fn filetop_counts_reads_and_writes_per_file() {
    if !bpfkit_testkit::privileged("filetop_counts_reads_and_writes_per_file") {
        return;
    }
    let _serial = serial();
    let ops = FileOps::new(&unique("filetop"));
    let me = me();
    // No interval: one table at the end, so each file has one row; every
    // row (this test process reads /proc too).
    let regular = ToolRun::start("filetop", &["-r", "1000", "-p", &me, "0"]);
    let all = ToolRun::start("filetop", &["-a", "-r", "1000", "-p", &me, "0"]);
    ops.run();
    // A pipe: a special file (T O), shown only with -a.
    let (mut reader, mut writer) = std::io::pipe().expect("pipe");
    std::io::Write::write_all(&mut writer, b"0123456789").expect("pipe write");
    let mut buf = [0u8; 10];
    std::io::Read::read_exact(&mut reader, &mut buf).expect("pipe read");
    let regular = regular.stop().stdout;
    let all = all.stop().stdout;
    // TID COMM READS WRITES R_Kb W_Kb T FILE
    let ours = |stdout: &str| -> Vec<Vec<String>> {
        rows(stdout, "TID")
            .into_iter()
            .filter(|r| r.last() == Some(&ops.name.as_str()))
            .map(|r| r[2..].iter().map(|s| s.to_string()).collect())
            .collect()
    };
    // FileOps::run: one read of 100 bytes, two writes of 1 MiB.
    let expected = vec![
        ["1", "2", "0", "2048", "R", &ops.name]
            .map(String::from)
            .to_vec(),
    ];
    assert_eq!(ours(&regular), expected, "{regular}");
    assert_eq!(ours(&all), expected, "{all}");
    // The pipe (T O) only with -a: one read and one write of 10 bytes,
    // by this thread.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() }.to_string();
    let pipe_rows = |stdout: &str| {
        rows(stdout, "TID")
            .into_iter()
            .filter(|r| r.get(6) == Some(&"O") && r[0] == tid)
            .map(|r| (r[2].to_string(), r[3].to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(pipe_rows(&regular), [], "{regular}");
    assert_eq!(pipe_rows(&all), [("1".into(), "1".into())], "{all}");
}

#[test]
fn filelife_reports_the_age_and_name_of_a_file_it_saw_created() {
    if !bpfkit_testkit::privileged("filelife_reports_the_age_and_name_of_a_file") {
        return;
    }
    let _serial = serial();
    let dir = common::TempDir::new("filelife");
    let name = unique("fl");
    let (born, kept) = (dir.file(&name), dir.file(&format!("{name}-kept")));
    // Existing before the run: created unseen, so its unlink is no event.
    let old = dir.file(&format!("{name}-old"));
    std::fs::write(&old, b"old").expect("creating the old file");
    let pid = std::process::id().to_string();
    let run = ToolRun::start("filelife", &["-p", &pid]);
    std::fs::write(&born, b"short-lived").expect("creating the file");
    std::fs::write(&kept, b"kept").expect("creating the kept file");
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::remove_file(&born).expect("unlinking the file");
    std::fs::remove_file(&old).expect("unlinking the old file");
    let out = run.stop();
    // TIME PID COMM AGE(s) FILE
    let rows = rows(&out.stdout, "TIME");
    assert_eq!(
        rows.len(),
        1,
        "only the file created and unlinked:\n{}",
        out.stdout
    );
    let row = &rows[0];
    assert_eq!(row[1], pid, "{}", out.stdout);
    assert_eq!(row[4], name, "{}", out.stdout);
    let age: f64 = row[3].parse().expect("AGE(s)");
    assert!((0.3..5.0).contains(&age), "lived 300 ms: {}", out.stdout);
}

#[test]
fn readahead_ages_the_pages_a_sequential_read_used() {
    if !bpfkit_testkit::privileged("readahead_ages_the_pages_a_sequential_read_used") {
        return;
    }
    let _serial = serial();
    let dir = common::TempDir::new("readahead");
    let path = dir.file(&unique("ra"));
    // 8 MiB (2048 pages), written, synced and dropped from the page cache.
    std::fs::write(&path, vec![7u8; 8 << 20]).expect("writing the file");
    let file = std::fs::File::open(&path).expect("opening the file");
    file.sync_all().expect("syncing the file");
    // SAFETY: posix_fadvise on an fd we own; it only drops clean cache.
    let dropped = unsafe {
        use std::os::fd::AsRawFd;
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED)
    };
    assert_eq!(dropped, 0, "dropping the file's page cache");
    let run = ToolRun::start("readahead", &[]);
    let data = std::fs::read(&path).expect("reading the file");
    assert_eq!(data.len(), 8 << 20);
    let out = run.stop();
    assert!(out.stdout.contains("msecs"), "{}", out.stdout);
    // The read used the pages readahead brought in: most of its 2048.
    let used: u64 = log2_buckets(&out.stdout).iter().map(|b| b.2).sum();
    assert!(used >= 1024, "{used} readahead pages used:\n{}", out.stdout);
    // libbpf-tools' line above the histogram, from the object's counters:
    // every used page was read ahead, and so was every unused one.
    let (unused, total) = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Readahead unused/total pages: "))
        .and_then(|counts| counts.split_once('/'))
        .map(|(u, t)| (u.parse::<u64>(), t.parse::<u64>()))
        .unwrap_or_else(|| panic!("no unused/total line:\n{}", out.stdout));
    let (unused, total) = (unused.expect("unused"), total.expect("total"));
    assert!(total >= used && unused <= total, "{}", out.stdout);
}
