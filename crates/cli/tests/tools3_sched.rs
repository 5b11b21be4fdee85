//! End-to-end tests of the process, scheduler and block tools of issue 14:
//! syncsnoop, threadsnoop, pidpersec, cpudist, bitesize, biotop, biostacks,
//! wqlat, klockstat and offwaketime, on calls,
//! threads, forks, sleeps and loop-device reads this test causes, checked
//! by pid, tid, call name and histogram bucket. Where the libbpf-tools
//! original runs here (cpudist, bitesize), it watches the same workload.

mod common;

use common::TempDir;
use common::serial;
use common::tool::{Peer, ToolRun, log2_buckets, peer_test, rows, section};
use common::workloads::{LOCK_COMM, LoopDevice, contend_rename_mutex, run_ok};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::thread;
use std::time::Duration;

fn me() -> String {
    std::process::id().to_string()
}

fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

#[test]
fn syncsnoop_names_each_sync_call_of_this_process() {
    if !bpfkit_testkit::privileged("syncsnoop_names_each_sync_call_of_this_process") {
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("syncsnoop");
    let run = ToolRun::start("syncsnoop", &["-p", &me()]);
    let file = std::fs::File::create(dir.path().join("f")).expect("creating");
    let fd = file.as_raw_fd();
    // SAFETY: system calls on our own fd and our own anonymous mapping.
    unsafe {
        libc::sync();
        libc::syncfs(fd);
        libc::fsync(fd);
        libc::fdatasync(fd);
        libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        let page = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(page, libc::MAP_FAILED);
        libc::msync(page, 4096, libc::MS_SYNC);
        libc::munmap(page, 4096);
    }
    let out = run.stop();
    // TIME(s) COMM PID CALL; comm is this test's thread name.
    let calls: Vec<(&str, &str)> = rows(&out.stdout, "TIME(s)")
        .into_iter()
        .map(|r| (r[r.len() - 2], r[r.len() - 1]))
        .collect();
    let me = me();
    let expected = [
        "sync",
        "syncfs",
        "fsync",
        "fdatasync",
        "sync_file_range",
        "msync",
    ]
    .map(|call| (me.as_str(), call));
    assert_eq!(calls, expected, "{}", out.stdout);
}

#[test]
fn threadsnoop_shows_each_new_thread_of_this_process() {
    if !bpfkit_testkit::privileged("threadsnoop_shows_each_new_thread_of_this_process") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("threadsnoop", &["-p", &me()]);
    let tids: Vec<String> = (0..3)
        .map(|_| {
            thread::spawn(|| gettid().to_string())
                .join()
                .expect("thread")
        })
        .collect();
    let out = run.stop();
    // TIME(s) PID TID COMM
    let seen: Vec<(&str, &str)> = rows(&out.stdout, "TIME(s)")
        .into_iter()
        .map(|r| (r[1], r[2]))
        .collect();
    let me = me();
    let expected: Vec<(&str, &str)> = tids.iter().map(|t| (me.as_str(), t.as_str())).collect();
    assert_eq!(seen, expected, "{}", out.stdout);
}

#[test]
fn pidpersec_counts_forks() {
    if !bpfkit_testkit::privileged("pidpersec_counts_forks") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("pidpersec", &[]);
    const FORKS: u64 = 20;
    for _ in 0..FORKS {
        run_ok(&mut Command::new("/bin/true"));
    }
    let out = run.stop();
    // One count per interval (and one at the end); other processes fork
    // too, so at least ours.
    let counts: u64 = rows(&out.stdout, "PIDs/interval")
        .into_iter()
        .filter_map(|r| r[0].parse::<u64>().ok())
        .sum();
    assert!(counts >= FORKS, "{counts} forks counted:\n{}", out.stdout);
}

/// The count of a histogram's buckets whose range lies in `low..=high`.
fn count_in(hist: &str, low: u64, high: u64) -> u64 {
    log2_buckets(hist)
        .iter()
        .filter(|(l, h, _)| *l >= low && *h <= high)
        .map(|(_, _, n)| n)
        .sum()
}

/// A thread that sleeps 50 ms `n` times; its tid.
fn sleeper(n: usize) -> thread::JoinHandle<u32> {
    thread::spawn(move || {
        for _ in 0..n {
            thread::sleep(Duration::from_millis(50));
        }
        gettid()
    })
}

#[test]
fn cpudist_off_cpu_histogram_holds_each_sleep() {
    if !bpfkit_testkit::privileged("cpudist_off_cpu_histogram_holds_each_sleep") {
        return;
    }
    let _serial = serial();
    let off = ToolRun::start("cpudist", &["-O", "-L", "-p", &me()]);
    let on = ToolRun::start("cpudist", &["-L", "-p", &me()]);
    let tid = sleeper(10).join().expect("sleeper");
    let (off, on) = (off.stop(), on.stop());
    let label = |stdout: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("tid = {tid} ")))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no histogram of tid {tid}:\n{stdout}"))
    };
    // Off CPU: each 50 ms sleep at 32768 us or above (above 65535 when
    // the thread waits for a busy CPU after waking).
    let hist = section(&off.stdout, &label(&off.stdout)).expect("section");
    assert!(count_in(hist, 32768, u64::MAX) >= 10, "{}", off.stdout);
    // On CPU: it ran briefly between sleeps, never for 32 ms.
    let hist = section(&on.stdout, &label(&on.stdout)).expect("section");
    assert!(count_in(hist, 0, 32767) >= 10, "{}", on.stdout);
    assert_eq!(count_in(hist, 32768, u64::MAX), 0, "{}", on.stdout);
}

#[test]
fn cpudist_sees_what_libbpf_tools_cpudist_sees() {
    let test = "cpudist_sees_what_libbpf_tools_cpudist_sees";
    let Some((peer, _serial)) = peer_test(test, "cpudist") else {
        return;
    };
    let me = me();
    let ours = ToolRun::start("cpudist", &["-O", "-L", "-p", &me]);
    let theirs = Peer::start(&peer, &["-O", "-L", "-p", &me], "Tracing");
    let tid = sleeper(10).join().expect("sleeper");
    let ours = ours.stop().stdout;
    let theirs = theirs.stop();
    for (who, stdout) in [("ours", &ours), ("theirs", &theirs)] {
        let label = stdout
            .lines()
            .find(|l| l.starts_with(&format!("tid = {tid} ")))
            .unwrap_or_else(|| panic!("{who}: no histogram of tid {tid}:\n{stdout}"));
        let hist = section(stdout, label).expect("section");
        assert!(count_in(hist, 32768, u64::MAX) >= 10, "{who}:\n{stdout}");
    }
}

#[test]
fn bitesize_sizes_each_read_of_a_loop_device() {
    if !bpfkit_testkit::privileged("bitesize_sizes_each_read_of_a_loop_device") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let (out, _) = disk.watch_reads("bitesize", &["-c", "dd"], 16);
    // 4 KB direct reads: the 4 -> 7 Kbytes bucket, once each.
    let hist = section(&out.stdout, "Process Name = dd").expect("no dd histogram");
    assert_eq!(count_in(hist, 4, 7), 16, "{}", out.stdout);
    assert_eq!(log2_buckets(hist).iter().map(|b| b.2).sum::<u64>(), 16);
    // -c: no other process.
    assert_eq!(
        out.stdout.matches("Process Name = ").count(),
        1,
        "{}",
        out.stdout
    );
}

#[test]
fn bitesize_sees_what_libbpf_tools_bitesize_sees() {
    let test = "bitesize_sees_what_libbpf_tools_bitesize_sees";
    let Some((peer, _serial)) = peer_test(test, "bitesize") else {
        return;
    };
    let disk = LoopDevice::create();
    let args = ["-c", "dd", "-d", disk.name()];
    let ours = ToolRun::start("bitesize", &args);
    let theirs = Peer::start(&peer, &args, "Tracing");
    disk.direct_reads(16);
    let ours = ours.stop().stdout;
    let theirs = theirs.stop();
    for (who, stdout) in [("ours", &ours), ("theirs", &theirs)] {
        let hist = section(stdout, "Process Name = dd")
            .unwrap_or_else(|| panic!("{who}: no dd histogram:\n{stdout}"));
        assert_eq!(count_in(hist, 4, 7), 16, "{who}:\n{stdout}");
    }
}

#[test]
fn wqlat_times_the_writeback_work_sync_queues() {
    if !bpfkit_testkit::privileged("wqlat_times_the_writeback_work_sync_queues") {
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("wqlat");
    let run = ToolRun::start("wqlat", &["-W"]);
    // Dirty data and sync(2): the flusher's work goes through the
    // "writeback" workqueue.
    std::fs::write(dir.path().join("f"), vec![1u8; 1 << 16]).expect("writing");
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    let out = run.stop();
    let hist = section(&out.stdout, "wqname = writeback")
        .unwrap_or_else(|| panic!("no writeback histogram:\n{}", out.stdout));
    assert!(hist.contains("usecs"), "{hist}");
    assert!(count_in(hist, 0, u64::MAX) >= 1, "{}", out.stdout);
}

#[test]
fn klockstat_shows_the_rename_mutex_this_process_contends_for() {
    if !bpfkit_testkit::privileged("klockstat_shows_the_rename_mutex_this_process_contends_for") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("klockstat", &["-p", &me()]);
    contend_rename_mutex(2_000);
    let out = run.stop();
    // LOCK TYPE COMM COUNT AVG MAX TOTAL: a mutex our movers waited for,
    // with consistent numbers.
    let table = rows(&out.stdout, "LOCK");
    let row = table
        .iter()
        .find(|r| r[1] == "mutex" && r[2] == LOCK_COMM)
        .unwrap_or_else(|| panic!("no contended mutex of {LOCK_COMM}:\n{}", out.stdout));
    let n: Vec<u64> = row[3..]
        .iter()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{v} in {row:?}")))
        .collect();
    let (count, avg, max, total) = (n[0], n[1], n[2], n[3]);
    assert!(row[0].starts_with("0xffff"), "a kernel address: {row:?}");
    assert!(
        count >= 1 && max <= total && avg == total / count,
        "{row:?}"
    );
    assert!(max >= avg, "{row:?}");
    // -p: only this process's waits.
    assert!(
        table
            .iter()
            .all(|r| r[2] == LOCK_COMM || r[2].starts_with("klockstat")),
        "{}",
        out.stdout
    );
}

#[test]
fn biotop_counts_the_reads_of_a_loop_device_by_dd() {
    if !bpfkit_testkit::privileged("biotop_counts_the_reads_of_a_loop_device_by_dd") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    // No interval: one table at the end; every row.
    let run = ToolRun::start("biotop", &["-r", "1000", "0"]);
    let dd = disk.direct_reads(16).to_string();
    let out = run.stop();
    // PID COMM D DISK I/O Kbytes AVGus: 16 reads of 4 KB by dd.
    let row = rows(&out.stdout, "PID")
        .into_iter()
        .find(|r| r.get(3) == Some(&disk.name()))
        .unwrap_or_else(|| panic!("no row of {}:\n{}", disk.name(), out.stdout));
    assert_eq!(
        row[..6],
        [dd.as_str(), "dd", "R", disk.name(), "16", "64"],
        "{row:?}"
    );
    assert!(row[6].parse::<u64>().is_ok(), "{row:?}");
}

#[test]
fn wakeuptime_blames_the_pipe_write_that_woke_a_reader() {
    if !bpfkit_testkit::privileged("wakeuptime_blames_the_pipe_write_that_woke_a_reader") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("wakeuptime", &["-f", "-p", &me()]);
    let (mut reader, mut writer) = std::io::pipe().expect("pipe");
    let sleeper = thread::Builder::new()
        .name("bkwake".into())
        .spawn(move || {
            let mut byte = [0u8];
            while std::io::Read::read(&mut reader, &mut byte).is_ok_and(|n| n > 0) {}
        })
        .expect("spawning the reader");
    for _ in 0..10 {
        thread::sleep(Duration::from_millis(20));
        std::io::Write::write_all(&mut writer, b"x").expect("waking the reader");
    }
    drop(writer);
    sleeper.join().expect("reader");
    let out = run.stop();
    // Folded: target;outer frames;...;inner frames weight(us). The reader
    // slept ~20 ms before each of the 10 writes woke it.
    let blocked: u64 = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("bkwake;") && l.contains("pipe_write"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(blocked >= 10 * 15_000, "{blocked} us:\n{}", out.stdout);
}

#[test]
fn biostacks_sums_direct_reads_on_the_stack_that_submitted_them() {
    if !bpfkit_testkit::privileged("biostacks_sums_direct_reads_on_the_stack_that_submitted_them") {
        return;
    }
    let _serial = serial();
    let disk = LoopDevice::create();
    let stacks = ToolRun::start("biostacks", &["-d", disk.name()]);
    let folded = ToolRun::start("biostacks", &["-d", disk.name(), "-f"]);
    let dd = disk.direct_reads(16);
    let (stacks, folded) = (stacks.stop(), folded.stop());
    // Per stack: its frames innermost first, `-  dd (PID)`, the total
    // latency (us) and `(16 ios)`: the 16 reads of 4 KiB all came from dd's
    // read(2) on the one stack through submit_bio.
    let owner = format!("dd ({dd})");
    let block = stacks
        .stdout
        .split("\n\n")
        .find(|b| b.contains(&owner))
        .unwrap_or_else(|| panic!("no stack of {owner}:\n{}", stacks.stdout));
    assert!(block.contains("submit_bio"), "{block}");
    assert!(block.trim_end().ends_with("(16 ios)"), "{block}");
    let lines: Vec<&str> = block.lines().collect();
    let total_us = lines[lines.len() - 2].trim().parse::<u64>();
    assert!(total_us.is_ok_and(|us| us > 0), "{block}");
    // Folded: dd;outer;...;submit_bio...;inner TOTAL_US.
    assert!(
        folded
            .stdout
            .lines()
            .any(|l| l.starts_with("dd;") && l.contains("submit_bio")),
        "{}",
        folded.stdout
    );
}

#[test]
fn offwaketime_pairs_a_pipe_reader_with_the_thread_that_wrote() {
    if !bpfkit_testkit::privileged("offwaketime_pairs_a_pipe_reader_with_the_thread_that_wrote") {
        return;
    }
    let _serial = serial();
    let folded = ToolRun::start("offwaketime", &["-f", "-p", &me()]);
    let stacks = ToolRun::start("offwaketime", &["-p", &me()]);
    let (mut reader, mut writer) = std::io::pipe().expect("pipe");
    let sleeper = thread::Builder::new()
        .name("bkoffw".into())
        .spawn(move || {
            let mut byte = [0u8];
            while std::io::Read::read(&mut reader, &mut byte).is_ok_and(|n| n > 0) {}
        })
        .expect("spawning the reader");
    let waker = thread::Builder::new()
        .name("bkwaker".into())
        .spawn(move || {
            for _ in 0..10 {
                thread::sleep(Duration::from_millis(20));
                std::io::Write::write_all(&mut writer, b"x").expect("waking the reader");
            }
        })
        .expect("spawning the writer");
    waker.join().expect("writer");
    sleeper.join().expect("reader");
    let (folded, stacks) = (folded.stop(), stacks.stop());
    // Folded, as bcc: target;its frames root first;--;the waker's frames
    // innermost first;waker BLOCKED_US. The reader slept ~20 ms before each
    // of the 10 writes woke it: about 200 ms, all blamed on bkwaker.
    let pairs: Vec<&str> = folded
        .stdout
        .lines()
        .filter(|l| l.starts_with("bkoffw;") && l.contains(";bkwaker "))
        .collect();
    // The last wakeup is the writer closing its end (pipe_release).
    let mut wrote = false;
    for pair in &pairs {
        let (target, waker) = pair.split_once(";--;").expect("a -- between the stacks");
        assert!(target.contains("pipe_read"), "{pair}");
        wrote |= waker.contains("pipe_write");
    }
    assert!(wrote, "no wakeup by pipe_write:\n{}", folded.stdout);
    let blocked: u64 = pairs
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        (10 * 15_000..2_000_000).contains(&blocked),
        "{blocked} us:\n{}",
        folded.stdout
    );
    // Indented: `waker:  bkwaker PID`, its frames, `--`, the reader's
    // frames, `target:  bkoffw PID` and the time.
    let pid = me();
    assert!(
        stacks.stdout.split("\n\n").any(|b| {
            b.contains(&format!("waker:           bkwaker {pid}"))
                && b.contains(&format!("target:          bkoffw {pid}"))
                && b.contains("pipe_write")
                && b.contains("pipe_read")
        }),
        "{}",
        stacks.stdout
    );
}
