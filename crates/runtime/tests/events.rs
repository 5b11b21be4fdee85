//! Ring buffer and perf buffer events, `const volatile` parameters, and the
//! reader's throughput.

mod common;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::process::Command;
use std::time::Duration;

use bpfkit_runtime::{EventHandler, ExitReason, LoadOptions, RunOptions, Session};
use common::getpgid::run_getpgid;
use common::{assert_unloaded, build, global_u64, pins, setup};

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
    exec_events("exec_events_arrive_through_ring_and_perf_buffers", 1);
}

/// A single record reaches the reader even though the perf buffer would
/// wake it only after 64: the flush timer reads it.
#[test]
fn exec_events_arrive_with_batched_perf_wakeups() {
    exec_events("exec_events_arrive_with_batched_perf_wakeups", 64);
}

fn exec_events(test: &str, perf_wakeup_events: u32) {
    let Some(clang) = setup(test) else {
        return;
    };
    let object = build(&clang, "exec");
    let pins_before = pins();
    let opts = LoadOptions {
        perf_wakeup_events,
        ..LoadOptions::default()
    };
    let mut session = Session::load(&object, &opts).expect("load");
    let ids = session.program_ids();
    let hooks: Vec<String> = session
        .attachments()
        .iter()
        .map(|a| a.hook.clone())
        .collect();
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
    assert_eq!(
        summary.exit,
        ExitReason::Handler,
        "{summary:?}, seen {:?}",
        handler.seen
    );
    assert_eq!(
        handler.seen.get("rb").map(String::as_str),
        Some("/bin/true")
    );
    assert_eq!(
        handler.seen.get("pb").map(String::as_str),
        Some("/bin/true")
    );
    assert!(global_u64(&session, "execs") >= 1);
    drop(session);
    assert_unloaded(&ids);
    assert_eq!(pins(), pins_before);
}

#[test]
fn parameter_selects_the_process() {
    let Some(clang) = setup("parameter_selects_the_process") else {
        return;
    };
    let me = std::process::id();
    let (seen, session, _) = run_getpgid(&clang, me, None, 100);
    assert_eq!(seen.events, 100);
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);

    // pid 1 never calls getpgid from our process: nothing of ours arrives.
    let (seen, session, _) = run_getpgid(&clang, 1, None, 100);
    assert_eq!(seen.events, 0);
    drop(session);
}
