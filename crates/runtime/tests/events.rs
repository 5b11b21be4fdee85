//! Ring buffer and perf buffer events, `const volatile` parameters, and the
//! reader's throughput.

mod common;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::process::Command;
use std::time::Duration;

use bpfkit_runtime::{EventHandler, ExitReason, LoadOptions, RunOptions, Session};
use common::{assert_unloaded, build, global_u64, pins, setup, tgid_param};

/// `struct event` of exec.bpf.c: pid, pad, comm[16], filename[64].
fn exec_event(data: &[u8]) -> Option<(u32, String)> {
    let pid = u32::from_ne_bytes(data.get(..4)?.try_into().ok()?);
    let name = data.get(24..88)?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Some((pid, String::from_utf8_lossy(&name[..end]).into_owned()))
}

/// Collects exec events of one pid and stops once both maps delivered one.
struct FindPid {
    pid: u32,
    seen: HashMap<String, String>,
}

impl EventHandler for FindPid {
    fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()> {
        if let Some((pid, file)) = exec_event(data)
            && pid == self.pid
        {
            self.seen.insert(map.to_string(), file);
        }
        if self.seen.len() == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[test]
fn exec_events_arrive_through_ring_and_perf_buffers() {
    let Some(clang) = setup("exec_events_arrive_through_ring_and_perf_buffers") else {
        return;
    };
    let object = build(&clang, "exec");
    let pins_before = pins();
    let mut session = Session::load(&object, &LoadOptions::default()).expect("load");
    let ids = session.program_ids();
    let hooks: Vec<String> = session.attachments().iter().map(|a| a.hook.clone()).collect();
    assert_eq!(hooks, ["tracepoint syscalls:sys_enter_execve"; 2]);
    let mut events = session.event_maps();
    events.sort();
    assert_eq!(events, ["pb", "rb"]);

    let child = Command::new("/bin/true").spawn().expect("spawn /bin/true");
    let pid = child.id();
    let status = child.wait_with_output().expect("wait").status;
    assert!(status.success());

    let mut handler = FindPid {
        pid,
        seen: HashMap::new(),
    };
    let opts = RunOptions {
        duration: Some(Duration::from_secs(20)),
        handle_signals: false,
        ..RunOptions::default()
    };
    let summary = session.run(&opts, &mut handler).expect("run");
    assert_eq!(summary.exit, ExitReason::Handler, "{summary:?}, seen {:?}", handler.seen);
    assert_eq!(handler.seen.get("rb").map(String::as_str), Some("/bin/true"));
    assert_eq!(handler.seen.get("pb").map(String::as_str), Some("/bin/true"));
    assert!(global_u64(&session, "execs") >= 1);
    drop(session);
    assert_unloaded(&ids);
    assert_eq!(pins(), pins_before);
}

/// Counts getpgid events of one tgid.
struct CountTgid {
    tgid: u32,
    events: u64,
    lost: u64,
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
        println!("producer: {:.0} getpgid/s", n as f64 / t.elapsed().as_secs_f64());
        stop.stop();
    })
}

fn run_getpgid(
    clang: &std::path::Path,
    target: u32,
    perf: bool,
    n: u64,
) -> (CountTgid, Session, Duration) {
    let object = build(clang, "getpgid");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(target)]);
    opts.params.insert("use_perf".into(), vec![perf as u8]);
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

#[test]
fn parameter_selects_the_process() {
    let Some(clang) = setup("parameter_selects_the_process") else {
        return;
    };
    let me = std::process::id();
    let (seen, session, _) = run_getpgid(&clang, me, false, 100);
    assert_eq!(seen.events, 100);
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);

    // pid 1 never calls getpgid from our process: nothing of ours arrives.
    let (seen, session, _) = run_getpgid(&clang, 1, false, 100);
    assert_eq!(seen.events, 0);
    drop(session);
}

/// Events per second through the reader (printed, not asserted). Set
/// BPFKIT_BENCH_EVENTS for a longer run.
#[test]
fn reader_throughput() {
    let Some(clang) = setup("reader_throughput") else {
        return;
    };
    let n: u64 = std::env::var("BPFKIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    // Perf buffers wake the reader once per record: far slower, fewer calls.
    for (perf, kind, n) in [(false, "ring buffer", n), (true, "perf buffer", n / 10)] {
        let (seen, session, elapsed) = run_getpgid(&clang, std::process::id(), perf, n);
        let secs = elapsed.as_secs_f64();
        let dropped = global_u64(&session, "dropped");
        println!(
            "{kind}: {} events in {secs:.3}s = {:.0} events/s (kernel dropped {dropped}, lost {})",
            seen.events,
            seen.events as f64 / secs,
            seen.lost
        );
        // Every call either arrived or was counted as dropped by the program.
        assert_eq!(seen.events + dropped, n);
    }
}

