//! A record written after attach but before the run loop waits (the window
//! in which `bpfkit trace` reports "attached" and a user acts on it) is read
//! by the run's first drain; it must reach the handler's `on_batch_end`
//! (where printers flush) right away, not with the next record or at exit.
//! And once it waits, a record among many discarded ones must reach it
//! without a later one. (Its own binary, tests one at a time: no other
//! getpgid caller may feed a program, or a later record hide a missing
//! flush.)

mod common;

use std::ops::ControlFlow;
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use bpfkit_runtime::{
    EventHandler, ExitReason, LoadOptions, PERF_FLUSH_INTERVAL, RunOptions, Session,
};
use common::{assert_unloaded, build, setup, tgid_param};

/// Tests of this binary one at a time (see above).
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
    let _serial = serial();
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

/// Hands each batch's markers on at the batch end, as a printer would.
struct MarkerSender {
    batch: Vec<u64>,
    sent: mpsc::Sender<u64>,
}

impl EventHandler for MarkerSender {
    fn on_event(&mut self, _map: &str, data: &[u8]) -> ControlFlow<()> {
        if let Some(bytes) = data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            self.batch.push(u64::from_ne_bytes(bytes));
        }
        ControlFlow::Continue(())
    }

    fn on_batch_end(&mut self) -> ControlFlow<()> {
        for marker in self.batch.drain(..) {
            // The producer is gone only after stopping the run.
            let _ = self.sent.send(marker);
        }
        ControlFlow::Continue(())
    }
}

/// `MARKER_BASE` of discards.bpf.c.
const MARKER_BASE: u64 = 0x5eed_0000;
const MARKERS: u64 = 300;
const MARKER_BOUND: Duration = Duration::from_secs(2);

/// Once the run loop waits: records every other process reserves and then
/// discards keep passing the reader (some still reserved when it looks),
/// and each submitted marker must still reach the handler within
/// `MARKER_BOUND`, the next marker being sent only after.
#[test]
fn each_marker_among_discarded_records_arrives_without_a_later_one() {
    let Some(clang) = setup("each_marker_among_discarded_records_arrives_without_a_later_one")
    else {
        return;
    };
    let _serial = serial();
    let object = build(&clang, "discards");
    let mut opts = LoadOptions::default();
    // SAFETY: gettid has no preconditions.
    let reader_tid = unsafe { libc::gettid() } as u32;
    opts.params.extend([
        tgid_param(std::process::id()),
        ("reader_tid".to_string(), reader_tid.to_ne_bytes().to_vec()),
    ]);
    let mut session = Session::load(&object, &opts).expect("load");
    let (sent, received) = mpsc::channel();
    let stop = session.stop_handle();
    let producer = std::thread::spawn(move || {
        let late = (0..MARKERS).find(|&n| !marker_arrives(MARKER_BASE + n, &received));
        stop.stop();
        late
    });
    let mut handler = MarkerSender {
        batch: Vec::new(),
        sent,
    };
    let run = RunOptions {
        duration: Some(Duration::from_secs(120)),
        handle_signals: false,
        ..RunOptions::default()
    };
    let summary = session.run(&run, &mut handler).expect("run");
    let late = producer.join().expect("producer");
    assert_eq!(
        late, None,
        "marker not handed on within {MARKER_BOUND:?}: {summary:?}"
    );
    assert_eq!(summary.exit, ExitReason::Stopped, "{summary:?}");
    assert_eq!(summary.events, MARKERS, "{summary:?}");
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);
}

/// Sends `marker` through getpgid and waits (bounded) until it comes back.
fn marker_arrives(marker: u64, received: &mpsc::Receiver<u64>) -> bool {
    // SAFETY: getpgid of a pid that does not exist just fails with ESRCH.
    unsafe { libc::syscall(libc::SYS_getpgid, marker as libc::c_long) };
    let deadline = Instant::now() + MARKER_BOUND;
    loop {
        match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(got) if got == marker => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

/// Notes when its first event came and when a batch end first followed.
#[derive(Default)]
struct EventToFlush {
    event_at: Option<Instant>,
    flushed_at: Option<Instant>,
}

impl EventHandler for EventToFlush {
    fn on_event(&mut self, _map: &str, _data: &[u8]) -> ControlFlow<()> {
        self.event_at.get_or_insert_with(Instant::now);
        ControlFlow::Continue(())
    }

    fn on_batch_end(&mut self) -> ControlFlow<()> {
        if self.event_at.is_none() {
            return ControlFlow::Continue(());
        }
        self.flushed_at.get_or_insert_with(Instant::now);
        ControlFlow::Break(())
    }
}

/// A perf buffer that wakes the reader only every 64 records is read by the
/// flush timer; what that read is flushed right away, not at the loop's
/// next wakeup (the next timer tick, `PERF_FLUSH_INTERVAL` later).
#[test]
fn a_record_read_by_the_perf_flush_timer_is_flushed_at_once() {
    let Some(clang) = setup("a_record_read_by_the_perf_flush_timer_is_flushed_at_once") else {
        return;
    };
    let _serial = serial();
    let object = build(&clang, "getpgid");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    opts.params.insert("use_perf".into(), vec![1]);
    opts.perf_wakeup_events = 64;
    let mut session = Session::load(&object, &opts).expect("load");
    // After the run's first drain, so that only the timer reads it.
    let producer = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
    });
    let mut handler = EventToFlush::default();
    let run = RunOptions {
        duration: Some(RUN_BOUND),
        handle_signals: false,
        ..RunOptions::default()
    };
    let summary = session.run(&run, &mut handler).expect("run");
    producer.join().expect("producer");
    assert_eq!(summary.exit, ExitReason::Handler, "{summary:?}");
    let event_at = handler.event_at.expect("the event");
    let waited = handler.flushed_at.expect("flushed") - event_at;
    assert!(
        waited < PERF_FLUSH_INTERVAL / 2,
        "flushed {waited:?} after the event"
    );
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);
}
