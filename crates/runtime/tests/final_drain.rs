//! A run that ends (stop, duration) hands out every record already in the
//! buffers, not only one read budget's worth of them.

mod common;

use common::getpgid::CountTgid;
use common::{build, global_u64, setup, tgid_param};
use std::time::Duration;

use bpfkit_runtime::{ExitReason, LoadOptions, RunOptions, Session};

/// More records than three read budgets (the first drain, the ready ring,
/// the final drain) wait in the ring buffer when the run begins, with the
/// stop already requested: every one of them must be handed out.
#[test]
fn a_stopped_run_hands_out_every_buffered_record() {
    let Some(clang) = setup("a_stopped_run_hands_out_every_buffered_record") else {
        return;
    };
    const CALLS: u64 = 20_000;
    let object = build(&clang, "getpgid");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    let mut session = Session::load(&object, &opts).expect("load");
    for _ in 0..CALLS {
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
    }
    session.stop_handle().stop();
    let mut handler = CountTgid {
        tgid: std::process::id(),
        events: 0,
        lost: 0,
    };
    let run = RunOptions {
        duration: Some(Duration::from_secs(60)),
        handle_signals: false,
        ..RunOptions::default()
    };
    let summary = session.run(&run, &mut handler).expect("run");
    assert_eq!(summary.exit, ExitReason::Stopped, "{summary:?}");
    let dropped = global_u64(&session, "dropped");
    assert_eq!(dropped, 0, "the 8 MiB ring holds {CALLS} records");
    assert_eq!(handler.events, CALLS, "records left in the ring at the end");
}
