//! A record written after attach but before the run loop waits (the window
//! in which `bpfkit trace` reports "attached" and a user acts on it) is read
//! by the run's first drain; it must reach the handler's `on_batch_end`
//! (where printers flush) right away, not with the next record or at exit.
//! (Its own binary: no other test of it calls getpgid, so no later record
//! can hide a missing flush.)

mod common;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use bpfkit_runtime::{EventHandler, ExitReason, LoadOptions, RunOptions, Session};
use common::{assert_unloaded, build, setup, tgid_param};

/// How long the run may take at most; the flush must come well before.
const RUN_BOUND: Duration = Duration::from_secs(3);

/// Holds events back like a buffered printer, and ends the run at the
/// first batch end that has one to hand on.
#[derive(Default)]
struct BufferedPrinter {
    buffered: u64,
    flushed_at: Option<Instant>,
}

impl EventHandler for BufferedPrinter {
    fn on_event(&mut self, _map: &str, _data: &[u8]) -> ControlFlow<()> {
        self.buffered += 1;
        ControlFlow::Continue(())
    }

    fn on_batch_end(&mut self) -> ControlFlow<()> {
        if self.buffered == 0 {
            return ControlFlow::Continue(());
        }
        self.flushed_at.get_or_insert_with(Instant::now);
        ControlFlow::Break(())
    }
}

#[test]
fn a_record_written_before_the_run_is_flushed_without_a_later_one() {
    let Some(clang) = setup("a_record_written_before_the_run_is_flushed_without_a_later_one")
    else {
        return;
    };
    let object = build(&clang, "getpgid");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    // Several rounds: each loads, writes one record, runs.
    for round in 0..3 {
        let mut session = Session::load(&object, &opts).expect("load");
        // Attached by now: this record is in the ring before the run
        // registers the ring with epoll, so no wakeup will announce it.
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
        let mut printer = BufferedPrinter::default();
        let run = RunOptions {
            duration: Some(RUN_BOUND),
            handle_signals: false,
            ..RunOptions::default()
        };
        let start = Instant::now();
        let summary = session.run(&run, &mut printer).expect("run");
        assert_eq!(summary.events, 1, "round {round}: {summary:?}");
        // Without a batch end after the first drain the record waits for a
        // later one that never comes: flushed only when the duration ends.
        let flushed_after = printer.flushed_at.expect("flushed") - start;
        assert!(
            flushed_after < RUN_BOUND / 2,
            "round {round}: flushed only after {flushed_after:?}"
        );
        assert_eq!(
            summary.exit,
            ExitReason::Handler,
            "round {round}: {summary:?}"
        );
        let ids = session.program_ids();
        drop(session);
        assert_unloaded(&ids);
    }
}
