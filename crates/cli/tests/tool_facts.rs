//! Facts the built-in tools print, checked on events this test causes and,
//! where the libbpf-tools original runs here, against what it prints:
//! killsnoop/sigsnoop show a process-group target (`kill(-pgid)`) as the
//! negative number it is; sigsnoop's RESULT is the signal's errno (so `-x`
//! keeps signals with one); `tcprtt -e` labels each histogram with its
//! average; `tcpconnect -c`/`tcpretrans -c` print only their count table;
//! memleak names the allocating command next to its pid.
//!
//! Runs are serialized and filtered by pid, port or marker. Every `BOUND`
//! only keeps a broken run from hanging the suite.

mod common;

use common::serial;
use common::tool::{Peer, ToolRun, log2_buckets, peer_test};
use common::workloads::{SignalTarget, queue_with_errno, send_signal, tcp_exchange};
use std::net::TcpListener;

/// Rows (split on whitespace) whose TPID column, `from_end` columns before
/// the last, is `target`.
fn rows_to<'a>(stdout: &'a str, target: &str, from_end: usize) -> Vec<Vec<&'a str>> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() > from_end && r[r.len() - 1 - from_end] == target)
        .collect()
}

#[test]
fn a_process_group_target_is_negative() {
    if !bpfkit_testkit::privileged("a_process_group_target_is_negative") {
        return;
    }
    let _serial = serial();
    let leader = SignalTarget::new();
    let me = std::process::id().to_string();
    let group = (-leader.pid()).to_string();
    let killsnoop = ToolRun::start("killsnoop", &["-p", &me]);
    let sigsnoop = ToolRun::start("sigsnoop", &["-k", "-p", &me]);
    send_signal(-leader.pid(), libc::SIGWINCH);
    for (tool, out) in [
        ("killsnoop", killsnoop.stop()),
        ("sigsnoop", sigsnoop.stop()),
    ] {
        // ... TPID RESULT (sigsnoop: ... TPID TCOMM RESULT)
        let from_end = if tool == "sigsnoop" { 2 } else { 1 };
        let rows = rows_to(&out.stdout, &group, from_end);
        assert_eq!(
            rows.len(),
            1,
            "{tool}: no row with TPID {group}:\n{}",
            out.stdout
        );
        assert_eq!(rows[0][rows[0].len() - 1], "0", "{tool}: {:?}", rows[0]);
    }
}

#[test]
fn killsnoop_prints_a_process_group_as_libbpf_tools_does() {
    let Some((peer, _serial)) = peer_test(
        "killsnoop_prints_a_process_group_as_libbpf_tools_does",
        "sigsnoop",
    ) else {
        return;
    };
    let leader = SignalTarget::new();
    let me = std::process::id().to_string();
    let group = (-leader.pid()).to_string();
    // libbpf-tools' killsnoop is sigsnoop -k.
    let Some(mut theirs) = Peer::try_start(&peer, &["-k", "-p", &me], "PID") else {
        eprintln!("skipping: libbpf-tools' sigsnoop does not run here");
        return;
    };
    let ours = ToolRun::start("killsnoop", &["-p", &me]);
    theirs.wait_for(&group, || send_signal(-leader.pid(), libc::SIGWINCH));
    let theirs = theirs.stop();
    let ours = ours.stop();
    // Theirs (0.26): TIME PID COMM SIG TPID RESULT.
    assert!(!rows_to(&theirs, &group, 1).is_empty(), "{theirs}");
    assert!(
        !rows_to(&ours.stdout, &group, 1).is_empty(),
        "{}",
        ours.stdout
    );
}

/// What sigsnoop shows for two SIGWINCHes to a sleeper, one with si_errno
/// 42: RESULT is that errno, and -x keeps only the signal with one.
#[test]
fn sigsnoop_result_is_the_signals_errno() {
    if !bpfkit_testkit::privileged("sigsnoop_result_is_the_signals_errno") {
        return;
    }
    let _serial = serial();
    let target = SignalTarget::new();
    let tpid = target.pid().to_string();
    let me = std::process::id().to_string();
    let all = ToolRun::start("sigsnoop", &["-p", &me, "-s", "WINCH"]);
    let failed = ToolRun::start("sigsnoop", &["-x", "-p", &me, "-s", "WINCH"]);
    send_signal(target.pid(), libc::SIGWINCH);
    queue_with_errno(target.pid(), libc::SIGWINCH, 42);
    let (all, failed) = (all.stop(), failed.stop());
    let results = |stdout: &str| -> Vec<String> {
        // ... TPID TCOMM RESULT
        rows_to(stdout, &tpid, 2)
            .iter()
            .map(|r| r[r.len() - 1].to_string())
            .collect()
    };
    assert_eq!(results(&all.stdout), ["0", "42"], "{}", all.stdout);
    assert_eq!(results(&failed.stdout), ["42"], "{}", failed.stdout);
}

#[test]
fn sigsnoop_failed_signals_are_those_libbpf_tools_shows() {
    let Some((peer, _serial)) = peer_test(
        "sigsnoop_failed_signals_are_those_libbpf_tools_shows",
        "sigsnoop",
    ) else {
        return;
    };
    let target = SignalTarget::new();
    let tpid = target.pid().to_string();
    let me = std::process::id().to_string();
    let Some(mut theirs) = Peer::try_start(&peer, &["-x", "-p", &me], "PID") else {
        eprintln!("skipping: libbpf-tools' sigsnoop does not run here");
        return;
    };
    let ours = ToolRun::start("sigsnoop", &["-x", "-p", &me]);
    send_signal(target.pid(), libc::SIGWINCH);
    theirs.wait_for(&tpid, || queue_with_errno(target.pid(), libc::SIGWINCH, 42));
    let theirs = theirs.stop();
    let ours = ours.stop();
    // Theirs (0.26): TIME PID COMM SIG TPID RESULT; ours also TCOMM before
    // RESULT, as libbpf-tools' sigsnoop since.
    let theirs: Vec<_> = rows_to(&theirs, &tpid, 1)
        .iter()
        .map(|r| r[r.len() - 1].to_string())
        .collect();
    let ours: Vec<_> = rows_to(&ours.stdout, &tpid, 2)
        .iter()
        .map(|r| r[r.len() - 1].to_string())
        .collect();
    assert!(
        !theirs.is_empty() && theirs.iter().all(|r| r == "42"),
        "{theirs:?}"
    );
    assert_eq!(
        ours[..],
        theirs[..ours.len().min(theirs.len())],
        "ours: {ours:?}"
    );
    assert!(!ours.is_empty());
}

#[test]
fn tcprtt_extension_labels_each_histogram_with_its_average() {
    if !bpfkit_testkit::privileged("tcprtt_extension_labels_each_histogram_with_its_average") {
        return;
    }
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port().to_string();
    let plain = ToolRun::start("tcprtt", &["-e", "-p", &port]);
    let by_local = ToolRun::start("tcprtt", &["-e", "-b", "-p", &port]);
    tcp_exchange(&listener);
    for (out, label) in [
        (plain.stop(), "AVG = "),
        (by_local.stop(), "Local Address = 127.0.0.1 AVG = "),
    ] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no '{label}' line:\n{}", out.stdout));
        let avg: u64 = line[label.len()..]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{line}"));
        // The average lies within the histogram's occupied buckets.
        let used: Vec<_> = log2_buckets(&out.stdout)
            .into_iter()
            .filter(|b| b.2 > 0)
            .collect();
        let (low, high) = (used[0].0, used[used.len() - 1].1);
        assert!(
            (low..=high).contains(&avg),
            "{avg} outside {low}..={high}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn count_modes_print_only_their_table() {
    if !bpfkit_testkit::privileged("count_modes_print_only_their_table") {
        return;
    }
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port().to_string();
    let connects = ToolRun::start("tcpconnect", &["-c", "-P", &port]);
    let retransmits = ToolRun::start("tcpretrans", &["-c"]);
    tcp_exchange(&listener);
    let connects = connects.stop().stdout;
    let retransmits = retransmits.stop().stdout;
    // The first line is the count table's header: no event header before it.
    let first = |text: &str| {
        text.lines()
            .find(|l| !l.trim().is_empty())
            .map(str::to_owned)
    };
    let header = first(&connects).unwrap_or_default();
    assert!(header.starts_with("LADDR"), "{connects}");
    // LADDR RADDR RPORT CONNECTS
    let row = ["127.0.0.1", "127.0.0.1", port.as_str(), "1"];
    assert!(
        connects
            .lines()
            .any(|l| l.split_whitespace().eq(row.iter().copied())),
        "{connects}"
    );
    if let Some(header) = first(&retransmits) {
        assert!(header.starts_with("LADDR"), "{retransmits}");
    }
}

#[test]
fn memleak_names_the_allocating_command() {
    if !bpfkit_testkit::privileged("memleak_names_the_allocating_command") {
        return;
    }
    let _serial = serial();
    let marker = format!("bkml{}", std::process::id() % 100_000);
    // A thread of our own, named (its comm) after the marker, allocating
    // in the kernel: each open file is a kmalloc'ed struct file.
    let run = ToolRun::start("memleak", &[]);
    let name = marker.clone();
    let files = std::thread::Builder::new()
        .name(marker.clone())
        .spawn(move || {
            (0..200)
                .filter_map(|_| std::fs::File::open("/proc/self/stat").ok())
                .collect::<Vec<_>>()
        })
        .expect("spawning the allocating thread")
        .join()
        .expect("the allocating thread");
    let out = run.stop();
    drop(files);
    // `\t-  COMM (PID)` under each stack.
    let wanted = format!("{name} ({})", std::process::id());
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with('-') && l.ends_with(&wanted)),
        "no stack of '{wanted}':\n{}",
        &out.stdout[..out.stdout.len().min(3000)]
    );
}

/// `-a`/`-A` take an address as libbpf-tools' tcprtt does: only sockets of
/// that local/remote address are counted.
#[test]
fn tcprtt_address_filters_take_dotted_quads() {
    if !bpfkit_testkit::privileged("tcprtt_address_filters_take_dotted_quads") {
        return;
    }
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port().to_string();
    let local = ToolRun::start("tcprtt", &["-b", "-p", &port, "-a", "127.0.0.1"]);
    let remote = ToolRun::start("tcprtt", &["-B", "-P", &port, "-A", "127.0.0.1"]);
    let elsewhere = ToolRun::start("tcprtt", &["-b", "-p", &port, "-a", "127.0.0.2"]);
    tcp_exchange(&listener);
    for (run, label) in [
        (local, "Local Address = 127.0.0.1"),
        (remote, "Remote Address = 127.0.0.1"),
    ] {
        let out = run.stop();
        assert!(out.stdout.contains(label), "no '{label}':\n{}", out.stdout);
    }
    let out = elsewhere.stop();
    assert!(!out.stdout.contains("Address"), "{}", out.stdout);
}
