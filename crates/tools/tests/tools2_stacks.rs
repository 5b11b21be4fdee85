//! The stack tools on a program built for the test (tests/data/
//! stacks_target.c): profile finds its busy loop, offcputime its sleeps,
//! memleak the bytes it leaks, each symbolized with bpfkit-symbolize; the
//! profile also becomes folded stacks and an SVG flame graph.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use aya::maps::{MapData, StackTraceMap};
use bpfkit_symbolize::{StackSample, Symbolizer, flamegraph, merge_folded};
use common::session::{Global, Session};

/// The target program, built and running in `mode`; `None` (skip)
/// without root or clang.
fn start_target(test: &str, mode: &str) -> Option<Child> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stacks_target.c");
    let binary =
        bpfkit_testkit::build_program(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    Some(Child(
        Command::new(binary)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("target program"),
    ))
}

/// A child process, killed on drop.
struct Child(std::process::Child);

impl Child {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The instruction pointers of stack `id` (innermost first); empty for a
/// stack that was not collected (negative id).
fn stack(s: &Session, id: i32) -> Vec<u64> {
    let Ok(id) = u32::try_from(id) else {
        return Vec::new();
    };
    let map = s.ebpf.map("stack_traces").expect("stack_traces");
    let traces: StackTraceMap<&MapData> = StackTraceMap::try_from(map).expect("stack trace map");
    traces
        .get(&id, 0)
        .map(|t| t.frames().iter().map(|f| f.ip).collect())
        .unwrap_or_default()
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    i32_at(bytes, at) as u32
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[test]
fn profile_finds_the_busy_loop_and_draws_it() {
    let Some(child) = start_target("profile_finds_the_busy_loop_and_draws_it", "busy") else {
        return;
    };
    let pid = child.pid();
    let mut pids = vec![0; 16];
    pids[0] = pid as i32;
    let s = Session::start(
        "profile",
        None,
        &[
            ("targ_pids", Global::I32s(pids)),
            ("targ_pids_len", Global::U32(1)),
        ],
    );
    let (pid_at, kstack_at, ustack_at) = (
        s.info.offset_of("key_t", "pid"),
        s.info.offset_of("key_t", "kern_stack_id"),
        s.info.offset_of("key_t", "user_stack_id"),
    );
    // struct key_t: pid, two stack ids, comm: 28 bytes; value: u64 samples.
    let rows = s.hash_values::<[u8; 28], 8>("counts", |rows| {
        rows.iter()
            .map(|(_, v)| u64::from_ne_bytes(*v))
            .sum::<u64>()
            >= 30
    });
    assert!(
        rows.iter().all(|(k, _)| u32_at(k, pid_at) == pid),
        "only the child"
    );

    let mut symbolizer = Symbolizer::new();
    let mut in_spin = 0;
    let mut total = 0;
    let mut lines = Vec::new();
    for (key, value) in &rows {
        let named = symbolizer.name(&StackSample {
            pid,
            comm: Some("stacks_target".into()),
            kernel_ips: stack(&s, i32_at(key, kstack_at)),
            user_ips: stack(&s, i32_at(key, ustack_at)),
            weight: u64::from_ne_bytes(*value),
        });
        if named.user.first().is_some_and(|f| f == "bpfkit_busy_spin") {
            in_spin += named.weight;
        }
        total += named.weight;
        lines.push(named.folded());
    }
    let folded = merge_folded(lines);
    assert!(
        in_spin * 2 > total,
        "the busy loop dominates: {in_spin} of {total} samples\n{}",
        folded.join("\n")
    );
    assert!(
        folded[0].starts_with("stacks_target;") && folded[0].contains(";main;bpfkit_busy_spin"),
        "the heaviest stack is main calling the loop: {folded:?}"
    );

    let mut svg = Vec::new();
    flamegraph(
        folded.iter().map(String::as_str),
        &mut svg,
        "profile",
        "samples",
    )
    .expect("flame graph");
    let svg = String::from_utf8(svg).expect("utf-8");
    assert!(svg.contains("<svg") && svg.contains("bpfkit_busy_spin"));
}

#[test]
fn offcputime_sums_the_sleeps_by_kernel_stack() {
    let Some(child) = start_target("offcputime_sums_the_sleeps_by_kernel_stack", "sleep") else {
        return;
    };
    let pid = child.pid();
    let s = Session::start(
        "offcputime",
        None,
        &[("targ_tgid", Global::I32(pid as i32))],
    );
    let (tgid_at, kstack_at) = (
        s.info.offset_of("key_t", "tgid"),
        s.info.offset_of("key_t", "kern_stack_id"),
    );
    // struct key_t: pid, tgid, two stack ids, comm: 32 bytes; val_t: u64.
    let rows = s.hash_values::<[u8; 32], 8>("info", |rows| {
        rows.iter()
            .any(|(k, v)| i32_at(k, kstack_at) >= 0 && u64::from_ne_bytes(*v) > 0)
    });
    assert!(
        rows.iter().all(|(k, _)| u32_at(k, tgid_at) == pid),
        "only the child"
    );
    let mut symbolizer = Symbolizer::new();
    let slept_in_nanosleep = rows.iter().any(|(k, _)| {
        symbolizer
            .kernel_frames(&stack(&s, i32_at(k, kstack_at)))
            .iter()
            .any(|f| f.contains("nanosleep"))
    });
    assert!(slept_in_nanosleep, "a kernel stack through nanosleep");
}

#[test]
fn memleak_reports_the_leaking_function_and_its_bytes() {
    let Some(mut child) =
        start_target("memleak_reports_the_leaking_function_and_its_bytes", "leak")
    else {
        return;
    };
    let pid = child.pid();
    let s = Session::start(
        "memleak",
        Some("uprobe"),
        &[("targ_tgid", Global::I32(pid as i32))],
    );
    let mut stdin = child.0.stdin.take().expect("stdin");
    stdin.write_all(b"g").expect("start leaking");
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("leaked");
    assert_eq!(line, "leaked\n");

    let (tgid_at, stack_at) = (
        s.info.offset_of("combined_key", "tgid"),
        s.info.offset_of("combined_key", "stack_id"),
    );
    let (size_at, count_at) = (
        s.info.offset_of("combined_alloc_info", "total_size"),
        s.info.offset_of("combined_alloc_info", "number_of_allocs"),
    );
    let leak = 8 * 4096;
    let rows = s.hash_values::<[u8; 24], 16>("combined_allocs", |rows| {
        rows.iter().any(|(_, v)| u64_at(v, size_at) == leak)
    });
    assert!(
        rows.iter().all(|(k, _)| u32_at(k, tgid_at) == pid),
        "only the child"
    );
    let (key, value) = rows
        .iter()
        .find(|(_, v)| u64_at(v, size_at) == leak)
        .expect("the leak");
    assert_eq!(u64_at(value, count_at), 8, "eight allocations");
    let mut symbolizer = Symbolizer::new();
    let mut first_frame = |key: &[u8; 24]| {
        symbolizer
            .user_frames(pid, &stack(&s, i32_at(key, stack_at)))
            .first()
            .cloned()
    };
    assert_eq!(first_frame(key).as_deref(), Some("bpfkit_leak_here"));
    // What bpfkit_no_leak allocated it freed: nothing outstanding.
    let freed = rows
        .iter()
        .find(|(k, _)| first_frame(k).as_deref() == Some("bpfkit_no_leak"))
        .expect("bpfkit_no_leak's stack");
    assert_eq!(
        (u64_at(&freed.1, size_at), u64_at(&freed.1, count_at)),
        (0, 0)
    );
    let _ = stdin.write_all(b"x");
}

#[test]
fn memleak_tracks_kernel_allocations() {
    if !bpfkit_testkit::privileged("memleak_tracks_kernel_allocations") {
        return;
    }
    let s = Session::start("memleak", None, &[]);
    let count_at = s.info.offset_of("combined_alloc_info", "number_of_allocs");
    // Any kernel activity allocates; opening files certainly does.
    s.hash_values::<[u8; 24], 16>("combined_allocs", |rows| {
        let _ = std::fs::read_dir("/proc/self/fd").map(|d| d.count());
        rows.iter().any(|(_, v)| u64_at(v, count_at) > 0)
    });
}
