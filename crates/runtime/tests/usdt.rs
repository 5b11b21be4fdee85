//! USDT probes: `SEC("usdt/...")` programs written against libbpf's
//! `usdt.bpf.h`, on a test program with a `<sys/sdt.h>` probe whose
//! arguments the test knows (tests/bpf/usdt.bpf.c, usdt_target.c).

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use bpfkit_runtime::{EventHandler, LoadOptions, RunOptions, Session};
use common::{TempDir, assert_unloaded, build, setup, tgid_param};

const TICKS: i64 = 4;

/// `struct tick` of usdt.bpf.c.
#[derive(Debug, PartialEq, Eq)]
struct Tick {
    arg_cnt: u32,
    ret: i32,
    args: [i64; 3],
    cookie: u64,
}

fn tick(data: &[u8]) -> Option<Tick> {
    let u32_at = |o: usize| Some(u32::from_ne_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let i64_at = |o: usize| Some(i64::from_ne_bytes(data.get(o..o + 8)?.try_into().ok()?));
    Some(Tick {
        arg_cnt: u32_at(0)?,
        ret: u32_at(4)? as i32,
        args: [i64_at(8)?, i64_at(16)?, i64_at(24)?],
        cookie: i64_at(32)? as u64,
    })
}

struct Collect(Vec<Tick>);

impl EventHandler for Collect {
    fn on_event(&mut self, _map: &str, data: &[u8]) -> ControlFlow<()> {
        self.0.push(tick(data).expect("a whole struct tick"));
        ControlFlow::Continue(())
    }
}

/// The USDT test program `name` (usdt_target, or usdt_target_sema with a
/// semaphore), built with the `<sys/sdt.h>` of systemtap-sdt-dev (skipped
/// without it, outside CI).
fn usdt_target(test: &str, dir: &TempDir, name: &str) -> Option<PathBuf> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/bpf/{name}.c"));
    bpfkit_testkit::build_usdt_program(test, &source, dir.path())
}

#[test]
fn usdt_arguments_reach_the_program() {
    arguments_reach_the_program("usdt_arguments_reach_the_program", "usdt_target", None);
}

/// A probe with a semaphore fires only once bpfkit raised the semaphore in
/// the traced process (`--pid`).
#[test]
fn usdt_semaphores_are_raised_in_the_traced_process() {
    arguments_reach_the_program(
        "usdt_semaphores_are_raised_in_the_traced_process",
        "usdt_target_sema",
        Some(()),
    );
}

fn arguments_reach_the_program(test: &str, target: &str, with_pid: Option<()>) {
    let Some(clang) = setup(test) else {
        return;
    };
    let dir = TempDir::new(test);
    let Some(binary) = usdt_target(test, &dir, target) else {
        return;
    };
    let object = build(&clang, "usdt");
    let mut child = Command::new(&binary)
        .arg(TICKS.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn usdt_target");
    let probe = format!("{}:bpfkit_test:tick", binary.display());
    let opts = LoadOptions {
        params: HashMap::from([tgid_param(child.id())]),
        attach_overrides: HashMap::from([("on_tick".to_string(), probe)]),
        pid: with_pid.map(|()| child.id()),
        ..LoadOptions::default()
    };
    let mut session = Session::load(&object, &opts).expect("load");
    let ids = session.program_ids();
    let hooks: Vec<&str> = session
        .attachments()
        .iter()
        .map(|a| a.hook.as_str())
        .collect();
    assert_eq!(
        hooks,
        [format!(
            "usdt {}:bpfkit_test:tick (1 site)",
            binary.display()
        )]
    );
    // Attached: let the probe fire.
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"g").expect("start usdt_target");
    drop(stdin);
    assert!(child.wait().expect("wait").success());

    let run = RunOptions {
        duration: Some(Duration::from_secs(5)),
        max_events: Some(TICKS as u64),
        handle_signals: false,
        ..RunOptions::default()
    };
    let mut seen = Collect(Vec::new());
    session.run(&run, &mut seen).expect("run");
    let expected: Vec<Tick> = (0..TICKS)
        .map(|i| Tick {
            arg_cnt: 3,
            ret: 0,
            args: [i, -5_000_000_000, -7],
            cookie: 0,
        })
        .collect();
    assert_eq!(seen.0, expected);
    drop(session);
    assert_unloaded(&ids);
}

#[test]
fn usdt_errors_name_the_probe_and_what_exists() {
    let test = "usdt_errors_name_the_probe_and_what_exists";
    let Some(clang) = setup(test) else {
        return;
    };
    let dir = TempDir::new(test);
    let (Some(binary), Some(with_semaphore)) = (
        usdt_target(test, &dir, "usdt_target"),
        usdt_target(test, &dir, "usdt_target_sema"),
    ) else {
        return;
    };
    let object = build(&clang, "usdt");
    let load = |probe: String| {
        let opts = LoadOptions {
            attach_overrides: HashMap::from([("on_tick".to_string(), probe)]),
            ..LoadOptions::default()
        };
        match Session::load(&object, &opts) {
            Ok(_) => panic!("loading should fail"),
            Err(e) => e.to_string(),
        }
    };
    let e = load(format!("{}:bpfkit_test:nosuch", binary.display()));
    assert!(
        e.contains("no USDT probe bpfkit_test:nosuch") && e.contains("it has: bpfkit_test:tick"),
        "{e}"
    );
    let e = load("/bin/true:p:n".to_string());
    assert!(e.contains("has no USDT probes"), "{e}");
    let e = load("no-such-binary-here:p:n".to_string());
    assert!(
        e.contains("no binary or library 'no-such-binary-here'"),
        "{e}"
    );
    let e = load(format!("{}:bpfkit_test:tick", with_semaphore.display()));
    assert!(
        e.contains("guarded by a semaphore") && e.contains("--pid"),
        "{e}"
    );
    let e = load("missing_parts".to_string());
    assert!(e.contains("expected BINARY:PROVIDER:NAME"), "{e}");
}
