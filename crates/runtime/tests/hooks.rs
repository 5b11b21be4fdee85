//! raw_tp, tp_btf, perf_event (every CPU) and socket filter programs attach
//! and run.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bpfkit_runtime::{LoadOptions, Session};
use common::{assert_unloaded, build, global_u64, setup, tgid_param};

/// The names of the programs `session` attached, in attach order.
fn attached_programs(session: &Session) -> Vec<&str> {
    session
        .attachments()
        .iter()
        .map(|a| a.program.as_str())
        .collect()
}

/// Does `work` until global `name` is non-zero (bounded: a hook that never
/// fires fails the test rather than hanging it).
fn wait_for(session: &Session, name: &str, mut work: impl FnMut()) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        work();
        let value = global_u64(session, name);
        if value > 0 {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stayed 0");
    }
}

#[test]
fn raw_tp_tp_btf_perf_event_and_socket_programs_run() {
    let Some(clang) = setup("raw_tp_tp_btf_perf_event_and_socket_programs_run") else {
        return;
    };
    let object = build(&clang, "hooks");
    let mut opts = LoadOptions {
        iface: Some("lo".into()),
        ..LoadOptions::default()
    };
    opts.params.extend([tgid_param(std::process::id())]);
    let session = Session::load(&object, &opts).expect("load");
    let ids = session.program_ids();
    let hooks: Vec<&str> = session
        .attachments()
        .iter()
        .map(|a| a.hook.as_str())
        .collect();
    println!("{hooks:#?}");
    assert_eq!(hooks[0], "raw_tracepoint sys_exit");
    assert_eq!(hooks[1], "tp_btf sys_enter");
    assert!(
        hooks[2].starts_with("perf_event cpu-clock at 99 Hz on "),
        "{}",
        hooks[2]
    );
    assert!(hooks[3].contains("lo"), "{}", hooks[3]);

    let syscall = || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    };
    wait_for(&session, "raw_tp_hits", syscall);
    wait_for(&session, "tp_btf_hits", syscall);
    let spin = || {
        let until = Instant::now() + Duration::from_millis(50);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    };
    wait_for(&session, "perf_samples", spin);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    let to = socket.local_addr().expect("address");
    wait_for(&session, "socket_packets", || {
        socket.send_to(b"bpfkit", to).expect("send");
    });
    drop(session);
    assert_unloaded(&ids);
}

/// tp_btf, raw_tp and tp programs for one event are twins: the best kind
/// is attached, alone (attaching all counted every syscall three times),
/// and the others are skipped with a note that names it.
#[test]
fn only_the_best_twin_is_attached() {
    let Some(clang) = setup("only_the_best_twin_is_attached") else {
        return;
    };
    let object = build(&clang, "twins");
    let counters = ["tp_btf_hits", "raw_tp_hits", "tp_hits"];
    let programs = ["btf_sys_enter", "raw_sys_enter", "tp_sys_enter"];
    // With the better twins disabled, the next one is chosen.
    for chosen in 0..programs.len() {
        let mut opts = LoadOptions::default();
        opts.params.extend([tgid_param(std::process::id())]);
        opts.disabled
            .extend(programs[..chosen].iter().map(|p| p.to_string()));
        let session = Session::load(&object, &opts).expect("load");
        let attached = attached_programs(&session);
        assert_eq!(attached, [programs[chosen]]);
        for skipped in session.skipped().iter().filter(|s| s.reason != "disabled") {
            assert!(
                skipped
                    .reason
                    .contains(&format!("twin of {}", programs[chosen])),
                "{skipped:?}"
            );
            assert!(skipped.routine, "{skipped:?}");
        }
        assert_eq!(session.skipped().len(), programs.len() - 1);
        let ids = session.program_ids();
        wait_for(&session, counters[chosen], || {
            // SAFETY: getppid has no preconditions.
            unsafe { libc::getppid() };
        });
        for (i, counter) in counters.iter().enumerate() {
            if i != chosen {
                assert_eq!(global_u64(&session, counter), 0, "{counter} counted too");
            }
        }
        drop(session);
        assert_unloaded(&ids);
    }
}

/// A twin that passes every check made before loading but fails here (the
/// verifier rejects the tp_btf one; on 6.1 a fentry twin fails to attach
/// with ENOTSUPP) gives way to the next kind: the raw_tp twin is attached
/// and counts, and the skipped note says why the better one lost. Before,
/// the load failed with the tp_btf program's error.
#[test]
fn a_twin_that_fails_here_falls_back_to_the_next_kind() {
    let Some(clang) = setup("a_twin_that_fails_here_falls_back_to_the_next_kind") else {
        return;
    };
    let object = build(&clang, "twin_fallback");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    let session = Session::load(&object, &opts).expect("load falls back to the raw_tp twin");
    assert_eq!(attached_programs(&session), ["raw_sys_enter"]);
    let [skipped] = session.skipped() else {
        panic!("one program skipped: {:?}", session.skipped());
    };
    assert_eq!(skipped.program, "btf_sys_enter");
    assert!(
        skipped
            .reason
            .contains("twin of raw_sys_enter (raw_tracepoint:sys_enter)")
            && skipped.reason.ends_with(
                "tp_btf:sys_enter does not work on this kernel: program 'btf_sys_enter' \
                 (tp_btf/sys_enter) was rejected by the kernel verifier"
            ),
        "{skipped:?}"
    );
    let ids = session.program_ids();
    assert_eq!(ids.len(), 1, "only the twin that works is loaded");
    wait_for(&session, "raw_tp_hits", || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    });
    assert_eq!(global_u64(&session, "tp_btf_hits"), 0);
    drop(session);
    assert_unloaded(&ids);
}

/// A SEC() name without a readable target used to reject the whole object:
/// now the rest attaches, the program is skipped with a note, and
/// `--attach PROG=TARGET` gives it a target.
#[test]
fn programs_without_a_target_are_skipped_until_given_one() {
    let Some(clang) = setup("programs_without_a_target_are_skipped_until_given_one") else {
        return;
    };
    let object = build(&clang, "untargeted");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    let getppid = || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    };
    let session = Session::load(&object, &opts).expect("load");
    let attached = attached_programs(&session);
    assert_eq!(attached, ["on_getppid"]);
    let skipped: Vec<(&str, &str)> = session
        .skipped()
        .iter()
        .map(|s| (s.program.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for (program, reason) in &skipped {
        assert!(
            reason.contains(&format!("--attach {program}=TARGET")),
            "{reason}"
        );
    }
    assert!(
        skipped[0].1.contains("SEC(\"uprobe/do_handshake\")"),
        "{skipped:?}"
    );
    wait_for(&session, "tp_hits", getppid);
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);

    opts.attach_overrides
        .insert("on_handshake".into(), "libc:getppid".into());
    let session = Session::load(&object, &opts).expect("load with --attach");
    let attached = attached_programs(&session);
    assert_eq!(attached, ["on_getppid", "on_handshake"]);
    wait_for(&session, "uprobe_hits", getppid);
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);
}

/// `iter/task` loads, attaches as an iterator, and each read runs it: the
/// lines name the test's own threads.
#[test]
fn iterators_run_when_read() {
    let Some(clang) = setup("iterators_run_when_read") else {
        return;
    };
    let object = build(&clang, "iter");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    let mut session = Session::load(&object, &opts).expect("load");
    assert_eq!(session.iterators(), ["dump_task"]);
    let me = std::process::id();
    for _ in 0..2 {
        let texts = session.read_iterators().expect("read");
        assert_eq!(texts.len(), 1);
        let text = String::from_utf8_lossy(&texts[0].1).into_owned();
        assert!(text.contains(&format!("task {me} of {me}\n")), "{text}");
        assert!(
            text.lines().all(|l| l.ends_with(&format!(" of {me}"))),
            "{text}"
        );
    }
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);
}
