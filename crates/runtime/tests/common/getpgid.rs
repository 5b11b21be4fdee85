//! The getpgid program (getpgid.bpf.c): one event per getpgid() call of
//! the test process, read back and counted.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use bpfkit_runtime::{EventHandler, ExitReason, LoadOptions, RunOptions, Session};

use super::{build, tgid_param};

/// Counts getpgid events of one tgid.
pub struct CountTgid {
    pub tgid: u32,
    pub events: u64,
    pub lost: u64,
}

impl EventHandler for CountTgid {
    fn on_event(&mut self, _map: &str, data: &[u8]) -> ControlFlow<()> {
        if data.get(..4) == Some(&self.tgid.to_ne_bytes()[..]) {
            self.events += 1;
        }
        ControlFlow::Continue(())
    }

    fn on_lost(&mut self, _map: &str, _cpu: u32, count: u64) {
        self.lost += count;
    }
}

/// Calls getpgid `n` times on another thread, then stops the run.
fn produce_getpgid(session: &Session, n: u64) -> std::thread::JoinHandle<()> {
    let stop = session.stop_handle();
    std::thread::spawn(move || {
        let t = std::time::Instant::now();
        for _ in 0..n {
            // SAFETY: getpgid(0) has no preconditions.
            unsafe { libc::getpgid(0) };
        }
        println!(
            "producer: {:.0} getpgid/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
        stop.stop();
    })
}

/// Loads getpgid.bpf.c for process `target` (events through the ring
/// buffer, or with `perf_wakeup` through perf buffers that wake the reader
/// every that many records), calls getpgid `n` times and
/// reads until the producer is done. Returns the count, the session (for
/// its globals) and the run time.
pub fn run_getpgid(
    clang: &Path,
    target: u32,
    perf_wakeup: Option<u32>,
    n: u64,
) -> (CountTgid, Session, Duration) {
    let object = build(clang, "getpgid");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(target)]);
    opts.params
        .insert("use_perf".into(), vec![perf_wakeup.is_some() as u8]);
    opts.perf_wakeup_events = perf_wakeup.unwrap_or(1);
    let mut session = Session::load(&object, &opts).expect("load");
    let producer = produce_getpgid(&session, n);
    let mut handler = CountTgid {
        tgid: std::process::id(),
        events: 0,
        lost: 0,
    };
    let run = RunOptions {
        duration: Some(Duration::from_secs(600)),
        handle_signals: false,
        ..RunOptions::default()
    };
    let summary = session.run(&run, &mut handler).expect("run");
    producer.join().expect("producer");
    assert_eq!(summary.exit, ExitReason::Stopped, "{summary:?}");
    (handler, session, summary.elapsed)
}
