//! `bpfkit run` options on committed examples: --max-events, --disable,
//! --attach, -i, -T in JSON, and the table output; and the lost records of
//! a program's ring buffer drop counter.

mod common;

use bpfkit_testkit::privileged;
use common::{BPFKIT, ChildGuard, Held, Run, events, example, serial, unique};
use std::process::{Command, Stdio};

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory preconditions; `pid` is an unreaped child.
    let rc = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

fn sleeper() -> ChildGuard {
    ChildGuard::spawn(Command::new("/bin/sleep").arg("60"))
}

const EXEC_ENTER: &str = "tracepoint__syscalls__sys_enter_execve";
const EXEC_EXIT: &str = "tracepoint__syscalls__sys_exit_execve";
const KILL_PROG: &str = "tracepoint__syscalls__sys_enter_kill";

/// `bpfkit run kill.bpf.o ARGS`, attached: its map `killed` counts the
/// kill()s of each target.
fn start_kill(args: &[&str]) -> Run {
    let mut run = Run::start(&example("kill.bpf.o"), args);
    run.wait_attached(&[KILL_PROG]);
    run
}

/// The entry of `key` in a map print, if `record` is one and has it.
fn entry_of(record: &serde_json::Value, key: u32) -> Option<&serde_json::Value> {
    if record["type"] != "map" {
        return None;
    }
    let entries = record["entries"].as_array()?;
    entries.iter().find(|e| e["key"] == key)
}

#[test]
fn max_events_ends_the_run_after_that_many() {
    if !privileged("max_events_ends_the_run_after_that_many") {
        return;
    }
    let mut run = Run::start(&example("execsnoop.bpf.o"), &["--max-events", "2"]);
    run.wait_attached(&[EXEC_ENTER, EXEC_EXIT]);
    // An exec makes two events; other processes may add more.
    let mut child = ChildGuard::spawn(Command::new("/bin/true").arg(unique("max")));
    child.wait();
    let done = run.finish();
    assert_eq!(
        events(&done.records, "events").count(),
        2,
        "{:?}",
        done.records
    );
    let exit = done.records.last().expect("records");
    assert_eq!(exit["reason"], "max-events", "{exit}");
}

#[test]
fn disabled_program_is_neither_loaded_nor_attached() {
    if !privileged("disabled_program_is_neither_loaded_nor_attached") {
        return;
    }
    let mut run = Run::start(&example("execsnoop.bpf.o"), &["--disable", EXEC_EXIT]);
    run.wait_attached(&[EXEC_ENTER]);
    let mut child = ChildGuard::spawn(Command::new("/bin/true").arg(unique("disable")));
    let pid = child.pid();
    child.wait();
    run.wait_for("execve entry", |r| {
        r["type"] == "event" && r["data"]["pid"] == pid && r["data"]["is_exit"] == false
    });
    let done = run.stop();
    let attached: Vec<_> = done
        .records
        .iter()
        .filter(|r| r["type"] == "attached")
        .collect();
    assert_eq!(attached.len(), 1, "{attached:?}");
    let exits: Vec<_> = events(&done.records, "events")
        .filter(|r| r["data"]["is_exit"] == true)
        .collect();
    assert!(
        exits.is_empty(),
        "events of the disabled program: {exits:?}"
    );
}

#[test]
fn attach_override_moves_a_program_to_another_tracepoint() {
    if !privileged("attach_override_moves_a_program_to_another_tracepoint") {
        return;
    }
    // tkill(2) has the same first argument as kill(2): the target.
    let mut run = start_kill(&["--attach", &format!("{KILL_PROG}=syscalls:sys_enter_tkill")]);
    let attached = run.wait_for("attached", |r| r["type"] == "attached");
    assert_eq!(
        attached["hook"], "tracepoint syscalls:sys_enter_tkill",
        "{attached}"
    );
    let mut tkilled = sleeper();
    let mut killed = sleeper();
    // A single-threaded child: its pid is its only thread id.
    // SAFETY: plain syscall with integer arguments.
    let rc = unsafe { libc::syscall(libc::SYS_tkill, tkilled.pid() as libc::c_long, 0) };
    assert_eq!(rc, 0, "tkill");
    signal(killed.pid(), 0);
    let done = run.stop();
    let dump = done
        .records
        .iter()
        .find(|r| r["type"] == "map" && r["map"] == "killed")
        .unwrap_or_else(|| panic!("no dump of 'killed': {:?}", done.records));
    let keys: Vec<_> = dump["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["key"].clone())
        .collect();
    assert!(keys.contains(&tkilled.pid().into()), "{dump}");
    assert!(
        !keys.contains(&killed.pid().into()),
        "kill() counted: {dump}"
    );
    tkilled.0.kill().ok();
    killed.0.kill().ok();
}

#[test]
fn interval_prints_maps_while_running() {
    if !privileged("interval_prints_maps_while_running") {
        return;
    }
    let mut run = start_kill(&["-i", "200ms"]);
    let child = sleeper();
    let target = child.pid();
    signal(target, 0);
    let print = run.wait_for("an interval print with the target", |r| {
        r["map"] == "killed" && entry_of(r, target).is_some_and(|e| e["value"] == 1)
    });
    assert_eq!(print["map"], "killed");
    let done = run.stop();
    let prints = done
        .records
        .iter()
        .filter(|r| r["type"] == "map" && r["map"] == "killed")
        .count();
    // At least the interval print and the one at exit.
    assert!(prints >= 2, "{:?}", done.records);
}

#[test]
fn clear_makes_interval_prints_deltas() {
    if !privileged("clear_makes_interval_prints_deltas") {
        return;
    }
    let mut run = start_kill(&["-i", "200ms", "--clear"]);
    let child = sleeper();
    let target = child.pid();
    let count_of = |r: &serde_json::Value| -> Option<u64> {
        if r["map"] != "killed" {
            return None;
        }
        entry_of(r, target)?["value"].as_u64()
    };
    signal(target, 0);
    let first = run.wait_for("the first print of the target", |r| count_of(r).is_some());
    assert_eq!(count_of(&first), Some(1), "{first}");
    // Signals until the target shows again: cleared after the first print,
    // it can no longer count every signal sent.
    let mut sent = 1;
    let later = run.wait_next_retriggering(
        "a later print of the target",
        |r| count_of(r).is_some(),
        || {
            signal(target, 0);
            sent += 1;
        },
    );
    let count = count_of(&later).expect("count");
    assert!(
        count < sent,
        "{count} of {sent} signals: not cleared? {later}"
    );
    run.stop();
}

#[test]
fn table_output_prints_the_map_at_exit() {
    if !privileged("table_output_prints_the_map_at_exit") {
        return;
    }
    let _serial = serial();
    let mut bpfkit = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(["run", &example("kill.bpf.o")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // A table shows no `attached` records: the link in bpfkit's fd table
    // says the program is attached.
    Held::wait_for_link(bpfkit.pid());
    let child = sleeper();
    signal(child.pid(), 0);
    signal(child.pid(), 0);
    signal(bpfkit.pid(), libc::SIGINT);
    let out = bpfkit.wait_with_output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("killed:"), "{table}");
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&child.pid().to_string()))
        .unwrap_or_else(|| panic!("no row for {}:\n{table}", child.pid()));
    assert_eq!(row.split_whitespace().nth(1), Some("2"), "{row}");
}

#[test]
fn table_output_draws_a_histogram() {
    if !privileged("table_output_draws_a_histogram") {
        return;
    }
    let _serial = serial();
    // The scheduler always has work to measure; sleeps add some.
    let mut bpfkit = ChildGuard::spawn(
        Command::new(BPFKIT)
            .args(["run", &example("runqlat.bpf.o"), "-d", "1s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = bpfkit.wait_with_output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("hists:"), "{table}");
    assert!(table.contains("distribution"), "{table}");
    // Rows like "   4 -> 7    : 164   |****    |".
    let bars = table
        .lines()
        .filter(|l| l.contains(" -> ") && l.contains('|') && l.contains('*'))
        .count();
    assert!(bars > 0, "no histogram bars:\n{table}");
}

/// Checks the `-T` members of a JSON record: `time` is `HH:MM:SS` and
/// `timestamp` Unix seconds within ten minutes of now (no speed claim: a
/// bound that only catches a wrong clock or unit).
fn assert_time_members(record: &serde_json::Value) {
    let time = record["time"]
        .as_str()
        .unwrap_or_else(|| panic!("no time: {record}"));
    let parts: Vec<u32> = time
        .split(':')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("time {time:?}: {record}"))
        })
        .collect();
    assert!(
        time.len() == 8 && parts.len() == 3 && parts[0] < 24 && parts[1] < 60 && parts[2] < 61,
        "time {time:?}: {record}"
    );
    let stamp = record["timestamp"]
        .as_f64()
        .unwrap_or_else(|| panic!("no numeric timestamp: {record}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();
    assert!(
        (now - stamp).abs() < 600.0,
        "timestamp {stamp} vs now {now}: {record}"
    );
    // Same second as `time`, read in the local time zone (offsets are whole
    // minutes, so the seconds agree).
    assert_eq!(stamp as u64 % 60, parts[2] as u64 % 60, "{record}");
}

#[test]
fn timestamp_flag_puts_the_time_into_json_records() {
    if !privileged("timestamp_flag_puts_the_time_into_json_records") {
        return;
    }
    let mut run = Run::start(&example("execsnoop.bpf.o"), &["-T"]);
    run.wait_attached(&[EXEC_ENTER, EXEC_EXIT]);
    let mut child = ChildGuard::spawn(Command::new("/bin/true").arg(unique("time")));
    let pid = child.pid();
    child.wait();
    let event = run.wait_for("the exec event", |r| {
        r["type"] == "event" && r["data"]["pid"] == pid
    });
    assert_time_members(&event);
    assert!(event["data"].is_object(), "{event}");
    let done = run.stop();
    for record in &done.records {
        assert_time_members(record);
    }
}

#[test]
fn timestamp_flag_stamps_interval_map_records() {
    if !privileged("timestamp_flag_stamps_interval_map_records") {
        return;
    }
    let mut run = start_kill(&["-i", "200ms", "-T"]);
    let child = sleeper();
    let target = child.pid();
    signal(target, 0);
    let print = run.wait_for("an interval print with the target", |r| {
        entry_of(r, target).is_some()
    });
    assert_time_members(&print);
    assert_eq!(print["map"], "killed", "{print}");
    let done = run.stop();
    let maps: Vec<_> = done.records.iter().filter(|r| r["type"] == "map").collect();
    assert!(maps.len() >= 2, "{:?}", done.records);
    for record in maps {
        assert_time_members(record);
    }
}

#[test]
fn ring_buffer_drops_counted_by_the_program_are_lost_records() {
    let test = "ring_buffer_drops_counted_by_the_program_are_lost_records";
    if !privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    // A 4 KiB ring buffer and a `dropped` counter (built from source).
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/ringdrop.bpf.c");
    let me = std::process::id().to_string();
    let mut run = Run::start(&source.to_string_lossy(), &["--target_tgid", &me]);
    run.wait_attached(&["on_getpgid"]);
    // The reader stopped: one page holds ~50 of the records.
    signal(run.pid(), libc::SIGSTOP);
    let n = 1000;
    for _ in 0..n {
        // SAFETY: getpgid(0) has no preconditions.
        unsafe { libc::getpgid(0) };
    }
    signal(run.pid(), libc::SIGCONT);
    let first = run.wait_for("a lost record", |r| r["type"] == "lost");
    assert_eq!(first["map"], "events", "{first}");
    assert!(first.get("cpu").is_none(), "{first}");
    let done = run.stop();
    let lost: u64 = done
        .records
        .iter()
        .filter(|r| r["type"] == "lost" && r["total"] != true)
        .map(|r| r["count"].as_u64().expect("count"))
        .sum();
    let total = done
        .records
        .iter()
        .find(|r| r["type"] == "lost" && r["total"] == true)
        .unwrap_or_else(|| panic!("no total: {:?}", done.records));
    // The program's own count, printed with the globals at exit.
    let dropped = done
        .records
        .iter()
        .find(|r| r["type"] == "global" && r["name"] == "dropped")
        .and_then(|r| r["value"].as_u64())
        .unwrap_or_else(|| panic!("no global 'dropped': {:?}", done.records));
    assert!(dropped > 0, "a 4 KiB ring buffer took {n} records");
    assert_eq!(lost, dropped, "{:?}", done.records);
    assert_eq!(total["count"], dropped, "{total}");
    assert_eq!(events(&done.records, "events").count() as u64 + dropped, n);
}
