//! Map snapshots and clearing, `.bss` globals, uprobes and bpf_printk.

mod common;

use std::ops::ControlFlow;
use std::process::Command;
use std::time::Duration;

use bpfkit_runtime::{
    EventHandler, ExitReason, LoadOptions, Maps, RunOptions, Session, StopHandle,
};
use common::{assert_unloaded, build, global_u64, setup, tgid_param};

fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a child we own.
    let rc = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

fn u64_at(bytes: &[u8]) -> u64 {
    u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"))
}

#[test]
fn kill_counts_show_in_map_snapshots() {
    let Some(clang) = setup("kill_counts_show_in_map_snapshots") else {
        return;
    };
    let object = build(&clang, "kill");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    let session = Session::load(&object, &opts).expect("load");
    let ids = session.program_ids();

    let mut child = Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    kill(child.id(), 0);
    kill(child.id(), libc::SIGUSR1);
    let _ = child.wait();

    let maps = session.maps();
    let kills = maps.snapshot("kills").expect("snapshot");
    let count_of = |sig: i32| {
        kills
            .entries
            .iter()
            .find(|(k, _)| k[..] == (sig as u32).to_ne_bytes())
            .map(|(_, v)| u64_at(v))
    };
    assert_eq!(count_of(0), Some(1), "{kills:?}");
    assert_eq!(count_of(libc::SIGUSR1), Some(1), "{kills:?}");

    let calls = maps.snapshot("kill_calls").expect("per-cpu snapshot");
    assert!(calls.per_cpu);
    let (_, value) = &calls.entries[0];
    assert_eq!(calls.cpu_values(value).count(), calls.cpus);
    assert_eq!(u64_at(&calls.sum_u64_fields(value, &[0])), 2);
    assert_eq!(global_u64(&session, "total_kills"), 2);

    clear_empties(&maps);
    drop(session);
    assert_unloaded(&ids);
}

fn clear_empties(maps: &Maps) {
    maps.clear("kills").expect("clear hash");
    assert!(maps.snapshot("kills").expect("snapshot").entries.is_empty());
    maps.clear("kill_calls").expect("clear per-cpu array");
    let calls = maps.snapshot("kill_calls").expect("snapshot");
    assert!(calls.entries[0].1.iter().all(|&b| b == 0));
    let e = maps.snapshot("no_such_map").unwrap_err().to_string();
    assert!(e.contains("no_such_map"), "{e}");
}

/// Waits for our printk line, then stops the run.
struct WaitForPrintk {
    marker: String,
    lines: Vec<String>,
    stop: StopHandle,
}

impl EventHandler for WaitForPrintk {
    fn on_event(&mut self, _map: &str, _data: &[u8]) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn on_printk(&mut self, line: &str) {
        if line.contains(&self.marker) {
            self.lines.push(line.to_string());
            self.stop.stop();
        }
    }
}

#[test]
fn uprobe_on_libc_counts_calls_and_prints() {
    let Some(clang) = setup("uprobe_on_libc_counts_calls_and_prints") else {
        return;
    };
    let object = build(&clang, "uprobe");
    assert!(object.uses_printk);
    let me = std::process::id();
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(me)]);
    let mut session = Session::load(&object, &opts).expect("load");
    let ids = session.program_ids();
    let hook = &session.attachments()[0].hook;
    assert!(
        hook.starts_with("uprobe:/") && hook.contains("libc.so") && hook.ends_with(":getpid"),
        "{hook}"
    );

    // Call getpid() from another thread while the run reads trace_pipe.
    let caller = std::thread::spawn(|| {
        for _ in 0..50 {
            // SAFETY: getpid has no preconditions.
            unsafe { libc::getpid() };
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let mut handler = WaitForPrintk {
        marker: format!("bpfkit-runtime-test getpid {me}"),
        lines: Vec::new(),
        stop: session.stop_handle(),
    };
    let run = RunOptions {
        duration: Some(Duration::from_secs(20)),
        handle_signals: false,
        ..RunOptions::default()
    };
    let summary = session.run(&run, &mut handler).expect("run");
    caller.join().expect("caller");
    assert_eq!(summary.exit, ExitReason::Stopped, "{summary:?}");
    assert!(!handler.lines.is_empty());
    assert!(global_u64(&session, "getpid_calls") >= 1);
    drop(session);
    assert_unloaded(&ids);
}

#[test]
fn session_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Session>();
}
