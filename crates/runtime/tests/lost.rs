//! A full perf buffer: the kernel's lost-record counts reach `on_lost` and
//! the run summary. (Its own binary: it calls getpgid in bulk.)

mod common;

use std::time::Duration;

use bpfkit_runtime::{LoadOptions, RunOptions, Session};
use common::getpgid::CountTgid;
use common::{build, global_u64, setup, tgid_param};

#[test]
fn perf_buffer_losses_are_reported() {
    let Some(clang) = setup("perf_buffer_losses_are_reported") else {
        return;
    };
    let object = build(&clang, "getpgid");
    let me = std::process::id();
    let mut opts = LoadOptions {
        perf_pages: 1,
        ..LoadOptions::default()
    };
    opts.params.extend([tgid_param(me)]);
    opts.params.insert("use_perf".into(), vec![1]);
    let mut session = Session::load(&object, &opts).expect("load");
    // All records on one CPU's buffer, so that the one call below reaches
    // the buffer that lost records.
    pin_to_cpu0();

    // Nobody reads yet: one page per CPU holds ~100 records of 10 000.
    let n = 10_000;
    for _ in 0..n {
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
    }
    session.stop_handle().stop();
    let mut handler = CountTgid {
        tgid: me,
        events: 0,
        lost: 0,
    };
    let run = RunOptions {
        duration: Some(Duration::from_secs(30)),
        handle_signals: false,
        ..RunOptions::default()
    };
    session.run(&run, &mut handler).expect("run");
    let dropped = global_u64(&session, "dropped");
    assert!(dropped > 0);
    assert_eq!(handler.events + dropped, n);

    // The kernel writes its lost-record note before the next record that
    // fits, so one more call makes the losses visible.
    // SAFETY: as above.
    unsafe { libc::getpgid(0) };
    session.stop_handle().stop();
    let summary = session.run(&run, &mut handler).expect("run");
    println!("{summary:?}, program saw {dropped} failed outputs");
    assert_eq!(handler.lost, dropped);
    assert_eq!(summary.lost.get("perf_events"), Some(&dropped));
}

fn pin_to_cpu0() {
    // SAFETY: cpu_set_t is plain data; this thread changes its own affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(rc, 0, "sched_setaffinity");
    }
}
