//! `bpfkit prog`, `bpfkit map` and `bpfkit link` against objects the test
//! puts in the kernel itself: a running `bpfkit run` of
//! crates/runtime/tests/bpf/kill.bpf.c (a hash map and a per-CPU array
//! with BTF, counting this process's kill() calls), and maps without BTF
//! that bpftool creates and pins. Ids, names, types and sizes are compared
//! with what `bpftool -j` says about the same objects.

mod common;

use common::{BPFKIT, Run, assert_no_repeated_cause, unique};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How many kill(own pid, 0) calls the test makes.
const KILLS: u64 = 3;

fn bpfkit(args: &[&str]) -> Output {
    Command::new(BPFKIT)
        .args(args)
        .output()
        .expect("running bpfkit")
}

fn ok_json(program: &str, args: &[&str]) -> Value {
    let text = common::output(program, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{program} {args:?}: {e}\n{text}"))
}

fn bpfkit_json(args: &[&str]) -> Value {
    ok_json(BPFKIT, args)
}

/// The error of a command that must fail: one `bpfkit:` line, no panic.
fn failure(args: &[&str]) -> String {
    let out = bpfkit(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    assert!(stderr.starts_with("bpfkit: "), "{args:?}:\n{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: not one line:\n{stderr}"
    );
    assert_no_repeated_cause(&stderr);
    stderr
}

/// `members` of two JSON objects must be equal.
fn assert_same(ours: &Value, bpftool: &Value, members: &[&str]) {
    for m in members {
        assert_eq!(
            ours[m], bpftool[m],
            "'{m}' differs:\nbpfkit:  {ours}\nbpftool: {bpftool}"
        );
    }
}

fn object(test: &str) -> Option<(PathBuf, PathBuf)> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let bpftool = bpfkit_testkit::peer_tool(test, "bpftool")?;
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/kill.bpf.c");
    let object =
        bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    Some((object, bpftool))
}

/// Calls kill(own pid, 0) `n` times, moving this thread from CPU to CPU
/// between calls, so that per-CPU counts land on more than one CPU (and
/// a dump that showed one CPU's copy instead of the sum would differ).
fn kill_self_times(n: u64) {
    let cpus = bpfkit_sys::possible_cpus().expect("possible cpus");
    let size = size_of::<libc::cpu_set_t>();
    // SAFETY: an all-zero cpu_set_t is the empty set; sched_getaffinity
    // writes this thread's mask into it.
    let mut before: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut before) }, 0);
    for i in 0..n {
        // SAFETY: as above; CPU_SET writes inside the set. A CPU that is
        // possible but offline refuses, and the thread stays where it is.
        unsafe {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(i as usize % cpus, &mut one);
            libc::sched_setaffinity(0, size, &one);
        }
        // SAFETY: signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(libc::getpid(), 0) };
        assert_eq!(rc, 0);
    }
    // SAFETY: restores the mask read above.
    assert_eq!(unsafe { libc::sched_setaffinity(0, size, &before) }, 0);
}

/// The one element of `list` (a JSON array) whose `key` is `value`.
fn only<'v>(list: &'v Value, key: &str, value: &Value) -> &'v Value {
    let found: Vec<&Value> = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .filter(|e| e[key] == *value)
        .collect();
    assert_eq!(found.len(), 1, "{key} = {value} in {list}");
    found[0]
}

fn holds(row: &Value, pid: u32) -> bool {
    row["pids"].as_array().is_some_and(|pids| {
        pids.iter()
            .any(|p| p["pid"] == pid && p["comm"] == "bpfkit")
    })
}

#[test]
fn programs_maps_and_links_of_a_run_match_bpftool_and_decode() {
    let test = "programs_maps_and_links_of_a_run_match_bpftool_and_decode";
    let Some((object, bpftool)) = object(test) else {
        return;
    };
    let me = std::process::id().to_string();
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", &me]);
    run.wait_attached(&["count_kill"]);
    // Run counts are kept while someone holds a stats fd (off again when
    // it closes, also if the test fails).
    let stats = bpfkit_sys::enable_stats().expect("BPF_ENABLE_STATS");
    kill_self_times(KILLS);

    // The program, found by name among everything loaded (other runs of
    // this object may be loaded too: ours is the one our run holds).
    let progs = bpfkit_json(&["prog", "show", "name", "count_kill", "-j"]);
    let prog = progs
        .as_array()
        .expect("an array for a name")
        .iter()
        .find(|p| holds(p, run.pid()))
        .unwrap_or_else(|| panic!("no count_kill held by {}: {progs}", run.pid()))
        .clone();
    let prog_id = prog["id"].as_u64().expect("id").to_string();
    let theirs = ok_json(
        bpftool.to_str().unwrap(),
        &["-j", "prog", "show", "id", &prog_id],
    );
    assert_same(
        &prog,
        &theirs,
        &[
            "id",
            "type",
            "name",
            "tag",
            "gpl_compatible",
            "loaded_at",
            "uid",
            "bytes_xlated",
            "jited",
            "bytes_jited",
            "map_ids",
            "btf_id",
        ],
    );
    // `id N` names one program: one object, as bpftool prints it; the
    // same by tag.
    let by_id = bpfkit_json(&["prog", "show", "id", &prog_id, "-j"]);
    assert_same(&by_id, &prog, &["id", "name", "tag", "map_ids"]);
    let tag = prog["tag"].as_str().expect("tag");
    let by_tag = bpfkit_json(&["prog", "show", "tag", tag, "-j"]);
    only(&by_tag, "id", &prog["id"]);
    // Every kill() on the machine runs the program; ours are among them.
    let run_cnt = by_id["run_cnt"]
        .as_u64()
        .unwrap_or_else(|| panic!("no run_cnt: {by_id}"));
    assert!(run_cnt >= KILLS, "{by_id}");
    assert!(
        by_id["run_time_ns"].as_u64().is_some_and(|ns| ns > 0),
        "{by_id}"
    );
    let theirs_later = ok_json(
        bpftool.to_str().unwrap(),
        &["-j", "prog", "show", "id", &prog_id],
    );
    assert!(
        theirs_later["run_cnt"].as_u64() >= Some(run_cnt),
        "{theirs_later}"
    );
    drop(stats);
    // A pinned program is found through its pin.
    let pin = Pin(PathBuf::from(format!(
        "/sys/fs/bpf/{}",
        unique("inspect-prog")
    )));
    common::output(
        bpftool.to_str().unwrap(),
        &["prog", "pin", "id", &prog_id, pin.path()],
    );
    let pinned = bpfkit_json(&["prog", "show", "pinned", pin.path(), "-j"]);
    assert_eq!(pinned["id"], prog["id"], "{pinned}");
    drop(pin);
    let table = common::output(BPFKIT, &["prog", "show", "id", &prog_id]);
    assert!(
        table.contains(&format!("{}/bpfkit", run.pid())) && table.contains("count_kill"),
        "{table}"
    );

    // Its maps, each as bpftool shows it.
    let mut by_name = std::collections::BTreeMap::new();
    for id in prog["map_ids"].as_array().expect("map_ids") {
        let id = id.as_u64().expect("map id").to_string();
        let ours = bpfkit_json(&["map", "show", "id", &id, "-j"]);
        let theirs = ok_json(bpftool.to_str().unwrap(), &["-j", "map", "show", "id", &id]);
        assert_same(
            &ours,
            &theirs,
            &[
                "id",
                "type",
                "name",
                "flags",
                "bytes_key",
                "bytes_value",
                "max_entries",
            ],
        );
        assert_eq!(
            ours["btf_id"],
            theirs.get("btf_id").cloned().unwrap_or(0.into())
        );
        assert!(holds(&ours, run.pid()), "{ours}");
        by_name.insert(ours["name"].as_str().unwrap().to_string(), id);
    }
    let kills = &by_name["kills"];
    let calls = &by_name["kill_calls"];

    // The hash map, decoded through its BTF: signal 0 was sent KILLS times.
    let dump = bpfkit_json(&["map", "dump", "id", kills, "-j"]);
    assert_eq!(
        dump["entries"],
        serde_json::json!([{"key": 0, "value": KILLS}]),
        "{dump}"
    );
    let text = common::output(BPFKIT, &["map", "dump", "id", kills]);
    let row: Vec<&str> = text
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["0", &KILLS.to_string()], "{text}");
    let looked_up = bpfkit_json(&[
        "map", "lookup", "id", kills, "key", "0", "0", "0", "0", "-j",
    ]);
    assert_eq!(looked_up["entries"][0]["value"], KILLS, "{looked_up}");
    let missing = failure(&[
        "map", "lookup", "id", kills, "key", "hex", "2a", "0", "0", "0",
    ]);
    assert!(
        missing.contains("no entry with key 2a 00 00 00"),
        "{missing}"
    );
    // One word is JSON for the key's BTF type (a u32 here); bytes are
    // counted.
    let decoded = bpfkit_json(&["map", "lookup", "id", kills, "key", "0", "-j"]);
    assert_eq!(decoded["entries"][0]["value"], KILLS, "{decoded}");
    let short = failure(&["map", "lookup", "id", kills, "key", "hex", "1"]);
    assert!(
        short.contains("the key is 1 bytes, the map's keys are 4"),
        "{short}"
    );

    // The per-CPU array: summed by default, each CPU with --percpu.
    let summed = bpfkit_json(&["map", "dump", "id", calls, "-j"]);
    assert_eq!(
        summed["entries"],
        serde_json::json!([{"key": 0, "value": KILLS}]),
        "{summed}"
    );
    let each = bpfkit_json(&["map", "dump", "id", calls, "--percpu", "-j"]);
    let values = each["entries"][0]["values"].as_array().expect("values");
    assert_eq!(
        values.len(),
        bpfkit_sys::possible_cpus().expect("cpus"),
        "{each}"
    );
    let counts: Vec<u64> = values
        .iter()
        .map(|v| v["value"].as_u64().expect("u64"))
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), KILLS, "{each}");
    if counts.len() > 1 {
        // kill_self_times moved between CPUs: the sum is of several copies.
        assert!(counts.iter().filter(|&&c| c > 0).count() > 1, "{each}");
    }
    for (cpu, v) in values.iter().enumerate() {
        assert_eq!(v["cpu"], cpu, "{each}");
    }

    // The link that attaches the program.
    let links = bpfkit_json(&["link", "list", "-j"]);
    let link = only(&links, "prog_id", &prog["id"]).clone();
    assert_eq!(link["type"], "perf_event", "{link}");
    assert_eq!(link["tracepoint"], "sys_enter_kill", "{link}");
    assert!(holds(&link, run.pid()), "{link}");
    let link_id = link["id"].as_u64().expect("link id").to_string();
    let theirs = ok_json(
        bpftool.to_str().unwrap(),
        &["-j", "link", "show", "id", &link_id],
    );
    assert_same(&link, &theirs, &["id", "type", "prog_id"]);
    let shown = bpfkit_json(&["link", "show", "id", &link_id, "-j"]);
    assert_same(&shown, &link, &["id", "type", "prog_id", "tracepoint"]);

    run.stop();
    let gone = failure(&["prog", "show", "id", &prog_id]);
    assert!(
        gone.contains(&format!("no program with id {prog_id}")),
        "{gone}"
    );
}

/// Our xlated text in bpftool 7.1's spelling: it predates the verifier's
/// per-CPU address move (6.10), which it prints as a plain move.
fn as_bpftool_7_1(ours: &str) -> String {
    let mut text = ours.to_string();
    while let Some(start) = text.find("&(void __percpu *)(") {
        let inner = start + "&(void __percpu *)(".len();
        let Some(len) = text[inner..].find(')') else {
            break;
        };
        let reg = text[inner..inner + len].to_string();
        text.replace_range(start..inner + len + 1, &reg);
    }
    text
}

/// `prog dump xlated` of program `id`, text and JSON, equals bpftool's.
fn assert_xlated_like_bpftool(bpftool: &Path, id: &str) -> Value {
    let tool = bpftool.to_str().unwrap();
    let ours = common::output(BPFKIT, &["prog", "dump", "xlated", "id", id]);
    let theirs = common::output(tool, &["prog", "dump", "xlated", "id", id]);
    assert_eq!(as_bpftool_7_1(&ours), theirs, "bpfkit:\n{ours}");
    let ours = bpfkit_json(&["prog", "dump", "xlated", "id", id, "-j"]);
    let theirs = ok_json(tool, &["-j", "prog", "dump", "xlated", "id", id]);
    let ours_old = serde_json::from_str::<Value>(&as_bpftool_7_1(&ours.to_string())).unwrap();
    assert_eq!(ours_old, theirs, "bpfkit: {ours}");
    ours
}

#[test]
fn xlated_dumps_match_bpftool() {
    let test = "xlated_dumps_match_bpftool";
    let Some((object, bpftool)) = object(test) else {
        return;
    };
    let me = std::process::id().to_string();
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", &me]);
    run.wait_attached(&["count_kill"]);
    let progs = bpfkit_json(&["prog", "show", "name", "count_kill", "-j"]);
    let prog = progs
        .as_array()
        .expect("an array for a name")
        .iter()
        .find(|p| holds(p, run.pid()))
        .unwrap_or_else(|| panic!("no count_kill held by {}: {progs}", run.pid()));
    let id = prog["id"].to_string();
    let dump = assert_xlated_like_bpftool(&bpftool, &id);
    // What kill.bpf.c does, in the kernel's words: the signature from BTF,
    // its helper call named through kallsyms, its maps by id.
    let insns = dump.as_array().expect("an array");
    assert_eq!(
        insns[0]["proto"], "int count_kill(struct syscall_enter * ctx)",
        "{dump}"
    );
    let text = dump.to_string();
    assert!(text.contains("call bpf_get_current_pid_tgid#"), "{text}");
    for map in prog["map_ids"].as_array().expect("map ids") {
        assert!(text.contains(&format!("map[id:{map}]")), "{map}: {text}");
    }
    assert_eq!(insns.last().unwrap()["disasm"], "(95) exit", "{dump}");
    // The same program by its pin.
    let pin = Pin(PathBuf::from(format!("/sys/fs/bpf/{}", unique("xlated"))));
    common::output(BPFKIT, &["prog", "pin", "id", &id, pin.path()]);
    let pinned = bpfkit_json(&["prog", "dump", "xlated", "pinned", pin.path(), "-j"]);
    assert_eq!(pinned, dump);
    drop(pin);
    run.stop();

    // A program libbpf loaded keeps its source text in the line info:
    // libbpf-tools' syscount, whose programs run for every syscall.
    let Some(syscount) = bpfkit_testkit::peer_tool(test, "syscount") else {
        return;
    };
    let _serial = common::serial();
    let child = Child(
        Command::new(syscount)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting syscount"),
    );
    let id = wait_for_held_prog(child.0.id(), "sys_exit");
    let dump = assert_xlated_like_bpftool(&bpftool, &id);
    let sources: Vec<&str> = dump
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|i| i["src"].as_str())
        .collect();
    assert!(
        sources
            .iter()
            .any(|s| s.contains("bpf_get_current_pid_tgid()")),
        "{dump}"
    );
}

/// `prog dump jited`: count_kill's x86-64 code under its signature and
/// kernel symbol, its helper call named; libbpf-tools' syscount (built
/// with its source text) shows the same source lines as the xlated dump.
#[test]
fn jited_dumps_disassemble_the_image_with_source_lines() {
    let test = "jited_dumps_disassemble_the_image_with_source_lines";
    let Some((object, _)) = object(test) else {
        return;
    };
    let me = std::process::id().to_string();
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", &me]);
    run.wait_attached(&["count_kill"]);
    let progs = bpfkit_json(&["prog", "show", "name", "count_kill", "-j"]);
    let prog = progs
        .as_array()
        .expect("an array for a name")
        .iter()
        .find(|p| holds(p, run.pid()))
        .unwrap_or_else(|| panic!("no count_kill held by {}: {progs}", run.pid()))
        .clone();
    let id = prog["id"].to_string();
    let dump = bpfkit_json(&["prog", "dump", "jited", "id", &id, "-j"]);
    let insns = dump.as_array().expect("an array");
    assert_eq!(
        insns[0]["proto"], "int count_kill(struct syscall_enter * ctx)",
        "{dump}"
    );
    let tag = prog["tag"].as_str().expect("tag");
    assert_eq!(insns[0]["symbol"], format!("bpf_prog_{tag}_count_kill"));
    assert!(
        insns
            .iter()
            .any(|i| i["disasm"] == "call bpf_get_current_pid_tgid"),
        "{dump}"
    );
    // Offsets grow from 0 and stay inside the image the kernel reports.
    let pcs: Vec<u64> = insns
        .iter()
        .map(|i| {
            let pc = i["pc"].as_str().expect("pc");
            u64::from_str_radix(pc.trim_start_matches("0x"), 16).expect("hex pc")
        })
        .collect();
    assert_eq!(pcs[0], 0);
    assert!(pcs.windows(2).all(|w| w[0] < w[1]), "{pcs:?}");
    assert!(pcs.last() < prog["bytes_jited"].as_u64().as_ref(), "{dump}");
    let text = common::output(BPFKIT, &["prog", "dump", "jited", "id", &id]);
    assert!(
        text.starts_with(&format!(
            "int count_kill(struct syscall_enter * ctx):\nbpf_prog_{tag}_count_kill:\n"
        )),
        "{text}"
    );
    assert!(text.contains("\tcall bpf_get_current_pid_tgid\n"), "{text}");
    run.stop();

    let Some(syscount) = bpfkit_testkit::peer_tool(test, "syscount") else {
        return;
    };
    let _serial = common::serial();
    let child = Child(
        Command::new(syscount)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting syscount"),
    );
    let id = wait_for_held_prog(child.0.id(), "sys_exit");
    let sources = |kind: &str| -> std::collections::BTreeSet<String> {
        let dump = bpfkit_json(&["prog", "dump", kind, "id", &id, "-j"]);
        let rows = dump.as_array().expect("an array").clone();
        rows.iter()
            .flat_map(|row| match &row["src"] {
                Value::String(s) => vec![s.clone()],
                Value::Array(all) => all
                    .iter()
                    .filter_map(|s| s.as_str())
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    let (jited, xlated) = (sources("jited"), sources("xlated"));
    assert!(
        jited
            .iter()
            .any(|s| s.contains("bpf_get_current_pid_tgid()")),
        "{jited:?}"
    );
    assert!(
        jited.is_subset(&xlated),
        "{jited:?}\nnot all in\n{xlated:?}"
    );
}

/// The id of program `name` once process `pid` holds it.
fn wait_for_held_prog(pid: u32, name: &str) -> String {
    let deadline = std::time::Instant::now() + common::BOUND;
    loop {
        let progs = bpfkit_json(&["prog", "list", "-j"]);
        let found = progs
            .as_array()
            .expect("an array")
            .iter()
            .find(|p| p["name"] == name && holds_pid(p, pid));
        if let Some(prog) = found {
            return prog["id"].to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} loaded no {name}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn holds_pid(row: &Value, pid: u32) -> bool {
    row["pids"]
        .as_array()
        .is_some_and(|pids| pids.iter().any(|p| p["pid"] == pid))
}

/// A pin under /sys/fs/bpf, removed when dropped (also when the test fails).
struct Pin(PathBuf);

impl Pin {
    fn create(bpftool: &Path, spec: &str) -> Pin {
        let path = PathBuf::from(format!("/sys/fs/bpf/{}", unique("inspect")));
        let mut args = vec!["map", "create", path.to_str().unwrap()];
        args.extend(spec.split_whitespace());
        common::output(bpftool.to_str().unwrap(), &args);
        Pin(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn maps_without_btf_dump_as_hex_like_bpftool() {
    let test = "maps_without_btf_dump_as_hex_like_bpftool";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let tool = bpftool.to_str().unwrap();
    let hash = Pin::create(&bpftool, "type hash key 4 value 8 entries 16 name nobtf");
    let percpu = Pin::create(
        &bpftool,
        "type percpu_hash key 4 value 4 entries 4 name nobtf_pc",
    );
    for (pin, value) in [(&hash, "2 0 0 0 0 0 0 7"), (&percpu, "5 0 0 9")] {
        let mut args = vec![
            "map",
            "update",
            "pinned",
            pin.path(),
            "key",
            "1",
            "0",
            "0",
            "0",
        ];
        args.push("value");
        args.extend(value.split_whitespace());
        common::output(tool, &args);
    }
    for pin in [&hash, &percpu] {
        let ours = bpfkit_json(&["map", "show", "pinned", pin.path(), "-j"]);
        let theirs = ok_json(tool, &["-j", "map", "show", "pinned", pin.path()]);
        assert_same(
            &ours,
            &theirs,
            &[
                "id",
                "type",
                "name",
                "flags",
                "bytes_key",
                "bytes_value",
                "max_entries",
            ],
        );
        assert_eq!(ours["btf_id"], 0, "{ours}");
        let dump = bpfkit_json(&["map", "dump", "pinned", pin.path(), "-j"]);
        let theirs = ok_json(tool, &["-j", "map", "dump", "pinned", pin.path()]);
        assert_eq!(dump["entries"], theirs, "bpfkit: {dump}");
        // The same map by id and by name.
        let id = ours["id"].as_u64().unwrap().to_string();
        let by_id = bpfkit_json(&["map", "dump", "id", &id, "-j"]);
        assert_eq!(by_id["entries"], theirs);
        let listed = bpfkit_json(&["map", "list", "-j"]);
        only(&listed, "id", &ours["id"]);
    }
    // The text form is bpftool's, byte for byte.
    let text = common::output(BPFKIT, &["map", "dump", "pinned", hash.path()]);
    assert_eq!(
        text,
        common::output(tool, &["map", "dump", "pinned", hash.path()])
    );
    assert_eq!(
        text,
        "key: 01 00 00 00  value: 02 00 00 00 00 00 00 07\nFound 1 element\n"
    );
    let looked_up = common::output(
        BPFKIT,
        &[
            "map",
            "lookup",
            "pinned",
            hash.path(),
            "key",
            "hex",
            "01",
            "00",
            "00",
            "00",
        ],
    );
    assert_eq!(
        looked_up,
        "key: 01 00 00 00  value: 02 00 00 00 00 00 00 07\n"
    );
}

#[test]
fn histogram_values_dump_as_log2_histograms() {
    let test = "histogram_values_dump_as_log2_histograms";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/inspect_hist.bpf.c");
    let Some(object) =
        bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))
    else {
        return;
    };
    let me = std::process::id().to_string();
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", &me]);
    run.wait_attached(&["hist_kill_by_signal_number"]);
    // The kernel keeps 15 bytes of the name; the full one comes from BTF,
    // as bpftool shows it, and finds the program.
    let progs = bpfkit_json(&["prog", "show", "name", "hist_kill_by_signal_number", "-j"]);
    let prog = progs
        .as_array()
        .expect("an array for a name")
        .iter()
        .find(|p| holds(p, run.pid()))
        .unwrap_or_else(|| panic!("our program not found by its full name: {progs}"));
    if let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") {
        let id = prog["id"].to_string();
        let theirs = ok_json(
            bpftool.to_str().unwrap(),
            &["-j", "prog", "show", "id", &id],
        );
        assert_same(prog, &theirs, &["id", "name"]);
    }
    kill_self_times(KILLS);
    // Signal 3 to a pid that cannot exist: the call fails, the
    // tracepoint still sees it, slot 3 (8 -> 15).
    // SAFETY: kill has no memory preconditions; no process has this pid.
    unsafe { libc::kill(i32::MAX, libc::SIGQUIT) };
    let id = held_map(run.pid(), "sig_hist");
    let hist = bpfkit_json(&["map", "dump", "id", &id, "-j"]);
    assert_eq!(hist["type"], "hist", "{hist}");
    let counts: Vec<u64> = hist["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, [KILLS, 0, 0, 1], "{hist}");
    let text = common::output(BPFKIT, &["map", "dump", "id", &id]);
    assert!(text.contains("0 -> 1          : 3        |****"), "{text}");
    assert!(text.contains("8 -> 15         : 1        |*"), "{text}");
    run.stop();
}

/// The id of map `name` that process `pid` holds.
fn held_map(pid: u32, name: &str) -> String {
    let held = bpfkit_sys::Holders::scan_proc();
    held.maps
        .iter()
        .filter(|(_, holders)| holders.iter().any(|h| h.pid == pid))
        .map(|(id, _)| id.to_string())
        .find(|id| bpfkit_json(&["map", "show", "id", id, "-j"])["name"] == name)
        .unwrap_or_else(|| panic!("{pid} holds no map {name}"))
}

/// `struct stats` of inspect_update.bpf.c as the kernel stores it.
fn stats_bytes(count: u64, comm: &str, err: i32, state: u32) -> Vec<u8> {
    let mut bytes = count.to_le_bytes().to_vec();
    let mut name = [0u8; 16];
    name[..comm.len()].copy_from_slice(comm.as_bytes());
    bytes.extend(name);
    bytes.extend(err.to_le_bytes());
    bytes.extend(state.to_le_bytes());
    bytes
}

#[test]
fn map_updates_and_deletes_are_what_the_program_sees() {
    let test = "map_updates_and_deletes_are_what_the_program_sees";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let tool = bpftool.to_str().unwrap();
    let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/inspect_update.bpf.c");
    let Some(object) =
        bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))
    else {
        return;
    };
    let me = std::process::id().to_string();
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", &me]);
    run.wait_attached(&["count_signals"]);
    let id = held_map(run.pid(), "stats");
    let map = |args: &[&str]| {
        let mut all = vec!["map", args[0], "id", &id];
        all.extend(&args[1..]);
        all.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let run_ok = |args: &[&str]| {
        let args = map(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::output(BPFKIT, &args)
    };
    let run_err = |args: &[&str]| {
        let args = map(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        failure(&args)
    };

    // A decoded key and value, through the map's BTF: the bytes bpftool
    // reads back are the C struct's.
    let value = r#"{"count": 100, "comm": "bash", "err": -2, "state": "BUSY"}"#;
    run_ok(&["update", "key", "0", "value", value]);
    let theirs = ok_json(
        tool,
        &["-j", "map", "lookup", "id", &id, "key", "0", "0", "0", "0"],
    );
    let expected: Vec<String> = stats_bytes(100, "bash", -2, 1)
        .iter()
        .map(|b| format!("{b:#04x}"))
        .collect();
    assert_eq!(theirs["value"], serde_json::json!(expected), "{theirs}");
    // The program adds to what we wrote: the kernel sees our entry.
    kill_self_times(KILLS);
    let ours = bpfkit_json(
        &map(&["lookup", "key", "0", "-j"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        ours["entries"][0]["value"],
        serde_json::json!({"count": 100 + KILLS, "comm": "bash", "err": -2, "state": "BUSY"}),
        "{ours}"
    );
    let exists = run_err(&["update", "key", "0", "value", "{}", "noexist"]);
    assert!(exists.contains("the key exists"), "{exists}");
    // Bytes like bpftool's; `exist` needs the entry.
    let missing = run_err(&[
        "update", "key", "hex", "01", "00", "00", "00", "value", "{}", "exist",
    ]);
    assert!(missing.contains("no entry with that key"), "{missing}");
    let hex: Vec<String> = stats_bytes(5, "sh", 0, 0)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut args = vec!["update", "key", "1", "0", "0", "0", "value", "hex"];
    args.extend(hex.iter().map(String::as_str));
    run_ok(&args);
    // SAFETY: kill has no memory preconditions; SIGHUP (1) to a pid that
    // cannot exist fails, the tracepoint still sees it.
    unsafe { libc::kill(i32::MAX, libc::SIGHUP) };
    let one = bpfkit_json(
        &map(&["lookup", "key", "1", "-j"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(one["entries"][0]["value"]["count"], 6, "{one}");
    assert_eq!(one["entries"][0]["value"]["comm"], "sh", "{one}");

    // Deleted: gone for bpftool, and the program no longer counts it.
    run_ok(&["delete", "key", "0"]);
    kill_self_times(1);
    let dump = ok_json(tool, &["-j", "map", "dump", "id", &id]);
    assert_eq!(dump.as_array().map(Vec::len), Some(1), "{dump}");
    let again = run_err(&["delete", "key", "0"]);
    assert!(again.contains("no entry with key 00 00 00 00"), "{again}");

    // Values that do not fit the type are refused before the kernel.
    for (value, says) in [
        (r#"{"count": -1}"#, "at .count: -1 does not fit"),
        (r#"{"nope": 1}"#, "no member 'nope' in stats"),
        (
            r#"{"comm": "a name longer than 16"}"#,
            "longer than the 16 chars",
        ),
        ("1", "expected an object"),
    ] {
        let err = run_err(&["update", "key", "2", "value", value]);
        assert!(err.contains(says), "{value}: {err}");
    }
    let short = run_err(&["update", "key", "hex", "01", "value", "{}"]);
    assert!(
        short.contains("the key is 1 bytes, the map's keys are 4"),
        "{short}"
    );

    // Pinned by bpfkit, seen by bpftool; updated through the pin.
    let pin = Pin(PathBuf::from(format!("/sys/fs/bpf/{}", unique("map-pin"))));
    run_ok(&["pin", pin.path()]);
    let shown = ok_json(tool, &["-j", "map", "show", "pinned", pin.path()]);
    assert_eq!(shown["id"].to_string(), id, "{shown}");
    common::output(
        BPFKIT,
        &[
            "map",
            "update",
            "pinned",
            pin.path(),
            "key",
            "3",
            "value",
            r#"{"count": 9}"#,
        ],
    );
    let three = bpfkit_json(&["map", "lookup", "pinned", pin.path(), "key", "3", "-j"]);
    assert_eq!(three["entries"][0]["value"]["count"], 9, "{three}");
    let taken = run_err(&["pin", pin.path()]);
    assert!(taken.contains("pinning map"), "{taken}");
    drop(pin);
    run.stop();
}

/// The UDP count of xdp_count's map, read while the run holds it.
fn udp_packets(map: &str) -> u64 {
    let dump = bpfkit_json(&["map", "dump", "id", map, "-j"]);
    dump["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["key"] == 17)
        .map_or(0, |e| e["value"].as_u64().expect("a count"))
}

#[test]
fn an_xdp_link_is_pinned_and_detached() {
    let test = "an_xdp_link_is_pinned_and_detached";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let tool = bpftool.to_str().unwrap();
    let pair = common::VethPair::create();
    let example = common::example("xdp_count.bpf.o");
    let mut run = Run::start_in_netns(&pair.ns_a, &example, &["--iface", &pair.dev_a]);
    run.wait_attached(&["xdp_count"]);
    let links = bpfkit_json(&["link", "list", "-j"]);
    let link = links
        .as_array()
        .expect("an array")
        .iter()
        .find(|l| l["type"] == "xdp" && holds(l, run.pid()))
        .unwrap_or_else(|| panic!("no xdp link held by {}: {links}", run.pid()));
    let id = link["id"].to_string();
    assert_ne!(link["ifindex"], 0, "{link}");
    // The kernel keeps 15 bytes of a map's name.
    let map = held_map(run.pid(), "packets_by_prot");

    let pin = Pin(PathBuf::from(format!("/sys/fs/bpf/{}", unique("link-pin"))));
    common::output(BPFKIT, &["link", "pin", "id", &id, pin.path()]);
    let theirs = ok_json(tool, &["-j", "link", "show", "pinned", pin.path()]);
    assert_eq!(theirs["id"].to_string(), id, "{theirs}");
    let pinned = bpfkit_json(&["link", "show", "pinned", pin.path(), "-j"]);
    assert_eq!(pinned["id"].to_string(), id, "{pinned}");

    for _ in 0..KILLS {
        pair.send_udp_to_a();
    }
    let before = udp_packets(&map);
    assert!(before >= KILLS, "{before} UDP packets counted");
    assert!(pair.hooks_on_a().contains("xdp"), "{}", pair.hooks_on_a());
    // Detached through its pin: the program no longer sees packets, the
    // device has no XDP program, the link (still held) points nowhere.
    common::output(BPFKIT, &["link", "detach", "pinned", pin.path()]);
    assert!(!pair.hooks_on_a().contains("xdp"), "{}", pair.hooks_on_a());
    for _ in 0..KILLS {
        pair.send_udp_to_a();
    }
    assert_eq!(udp_packets(&map), before);
    let shown = bpfkit_json(&["link", "show", "id", &id, "-j"]);
    assert_eq!(shown["ifindex"], 0, "{shown}");
    // bpftool 7.1 shows no ifindex for XDP links.
    let theirs = ok_json(tool, &["-j", "link", "show", "id", &id]);
    assert_same(&shown, &theirs, &["id", "type", "prog_id"]);
    drop(pin);
    run.stop();
    assert!(pair.hooks_on_a().trim().is_empty(), "{}", pair.hooks_on_a());

    // A tracepoint's perf_event link has no detach in the kernel.
    let Some((object, _)) = object(test) else {
        return;
    };
    let mut run = Run::start(&object.to_string_lossy(), &["--target_tgid", "1"]);
    run.wait_attached(&["count_kill"]);
    let links = bpfkit_json(&["link", "list", "-j"]);
    let link = links
        .as_array()
        .expect("an array")
        .iter()
        .find(|l| holds(l, run.pid()))
        .unwrap_or_else(|| panic!("no link held by {}: {links}", run.pid()));
    let err = failure(&["link", "detach", "id", &link["id"].to_string()]);
    assert!(err.contains("cannot be detached"), "{err}");
    run.stop();
}

/// `bpfkit ARGS` inside network namespace `ns`.
fn in_netns(ns: &str, program: &str, args: &[&str]) -> String {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend(args);
    common::output("ip", &all)
}

#[test]
fn net_shows_xdp_clsact_filters_and_tcx_links_like_bpftool() {
    let test = "net_shows_xdp_clsact_filters_and_tcx_links_like_bpftool";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let Some(tc) = bpfkit_testkit::peer_tool(test, "tc") else {
        return;
    };
    let (tool, tc) = (bpftool.to_str().unwrap(), tc.to_str().unwrap());
    let pair = common::VethPair::create();
    let (ns, dev) = (pair.ns_a.as_str(), pair.dev_a.as_str());
    // XDP through netlink (no link), a clsact filter tc loaded, and a tcx
    // link bpfkit run holds, all on the same device.
    let xdp = common::example("xdp_count.bpf.o");
    common::ip(&format!("-n {ns} link set dev {dev} xdp obj {xdp} sec xdp"));
    let tc_object = common::example("tc_ingress.bpf.o");
    in_netns(ns, tc, &["qdisc", "add", "dev", dev, "clsact"]);
    in_netns(
        ns,
        tc,
        &[
            "filter", "add", "dev", dev, "ingress", "bpf", "da", "obj", &tc_object, "sec", "tc",
        ],
    );
    // Its printk output is not what this test is about (and trace_pipe
    // may be another reader's).
    let mut run = Run::start_in_netns(ns, &tc_object, &["--iface", dev, "--no-printk"]);
    run.wait_attached(&["tc_ingress"]);

    let ours: Value = serde_json::from_str(&in_netns(ns, BPFKIT, &["net", "-j"])).expect("JSON");
    let theirs: Value = serde_json::from_str(&in_netns(ns, tool, &["-j", "net"])).expect("JSON");
    let (ours, theirs) = (&ours[0], &theirs[0]);
    assert_eq!(
        ours["xdp"], theirs["xdp"],
        "bpfkit: {ours}\nbpftool: {theirs}"
    );
    assert_eq!(ours["xdp"][0]["mode"], "driver", "{ours}");
    assert_eq!(ours["flow_dissector"], theirs["flow_dissector"]);
    let rows = |kind: &str| -> Vec<Value> {
        ours["tc"]
            .as_array()
            .expect("tc rows")
            .iter()
            .filter(|r| r["kind"].as_str().is_some_and(|k| k.starts_with(kind)))
            .cloned()
            .collect()
    };
    // bpftool 7.1 knows clsact filters only; ours are the same rows.
    assert_eq!(
        Value::Array(rows("clsact/")),
        theirs["tc"],
        "bpfkit: {ours}"
    );
    assert_eq!(theirs["tc"][0]["kind"], "clsact/ingress", "{theirs}");
    let tcx = rows("tcx/");
    assert_eq!(tcx.len(), 1, "{ours}");
    let links = bpfkit_json(&["link", "list", "-j"]);
    let link = links
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["type"] == "tcx" && holds(l, run.pid()))
        .unwrap_or_else(|| panic!("no tcx link held by the run: {links}"));
    assert_eq!(tcx[0]["kind"], "tcx/ingress", "{ours}");
    assert_eq!(tcx[0]["link_id"], link["id"], "{ours}");
    assert_eq!(tcx[0]["prog_id"], link["prog_id"], "{ours}");
    assert_eq!(tcx[0]["name"], "tc_ingress", "{ours}");
    assert_eq!(tcx[0]["devname"], dev, "{ours}");

    // The text form has bpftool's lines, and one more for the tcx link.
    let text = in_netns(ns, BPFKIT, &["net", "show", "dev", dev]);
    for line in in_netns(ns, tool, &["net", "show", "dev", dev]).lines() {
        assert!(text.lines().any(|l| l == line), "no '{line}' in:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "tcx/ingress tc_ingress prog_id {}",
            link["prog_id"]
        )),
        "{text}"
    );
    run.stop();
    let after: Value = serde_json::from_str(&in_netns(ns, BPFKIT, &["net", "-j"])).expect("JSON");
    assert!(
        !after[0]["tc"].to_string().contains("tcx/"),
        "tcx link left after the run: {after}"
    );
    let err = failure(&["net", "dev", "bpfkit-no-such-dev"]);
    assert!(
        err.contains("no device named 'bpfkit-no-such-dev'"),
        "{err}"
    );
}

/// A network namespace of the test's own (deleted on drop, taking its
/// devices along).
struct OwnNetns(String);

impl OwnNetns {
    fn create() -> OwnNetns {
        let ns = OwnNetns(unique("nk"));
        common::ip(&format!("netns add {}", ns.0));
        ns
    }

    /// Runs `f` on a thread that has joined this namespace: a thread's
    /// network namespace is its own, so the test's others stay put.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        use std::os::fd::AsRawFd;
        let path = format!("/var/run/netns/{}", self.0);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let ns = std::fs::File::open(&path).expect("the namespace's file");
                    // SAFETY: plain setns(2) on an fd that stays open.
                    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                    f()
                })
                .join()
                .expect("the namespace's thread")
        })
    }
}

impl Drop for OwnNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A loaded tc program (`return -1`: NETKIT_NEXT, TC_ACT_UNSPEC) named
/// `name`, for hook `attach_type`.
fn tc_program(name: &str, attach_type: u32) -> std::os::fd::OwnedFd {
    // r0 = -1 (NETKIT_NEXT); exit.
    let insns = [
        0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x95, 0, 0, 0, 0, 0, 0, 0,
    ];
    let load = bpfkit_sys::ProgLoad {
        name,
        prog_type: bpfkit_sys::prog_type::SCHED_CLS,
        expected_attach_type: attach_type,
        attach_btf_id: 0,
        flags: 0,
        insns: &insns,
        license: c"GPL",
    };
    bpfkit_sys::prog_load(&load).unwrap_or_else(|e| panic!("loading {name}: {e:?}"))
}

/// Kernels without CONFIG_NETKIT (this VM's) skip it; it runs on Debian's
/// 6.12 with `scripts/vm-test 6.12 inspect net_shows_programs_on_netkit`.
#[test]
fn net_shows_programs_on_netkit_devices() {
    use bpfkit_sys::attach_type::{NETKIT_PEER, NETKIT_PRIMARY};
    use std::os::fd::AsFd;
    let test = "net_shows_programs_on_netkit_devices";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let ns = OwnNetns::create();
    let tag = std::process::id() % 100_000;
    let (primary, peer) = (format!("nk{tag}p"), format!("nk{tag}q"));
    // Both programs go on through the primary's ifindex, in the namespace
    // the pair lives in.
    let Some((ifindex, links)) = ns.run(|| {
        match bpfkit_sys::netkit_pair_create(&primary, &peer) {
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                eprintln!("skipping {test}: this kernel has no netkit devices (6.7+)");
                return None;
            }
            other => other.expect("creating a netkit pair"),
        }
        let devices = bpfkit_sys::net_devices().expect("devices");
        let dev = devices.iter().find(|d| d.name == primary).expect("primary");
        let links: Vec<_> = [("nk_primary", NETKIT_PRIMARY), ("nk_peer", NETKIT_PEER)]
            .into_iter()
            .map(|(name, at)| {
                let prog = tc_program(name, at);
                bpfkit_sys::device_link_create(prog.as_fd(), dev.ifindex, at)
                    .unwrap_or_else(|e| panic!("netkit link of {name}: {e:?}"))
            })
            .collect();
        Some((dev.ifindex, links))
    }) else {
        return;
    };
    let info = |i: usize| bpfkit_sys::link_info(links[i].as_fd()).expect("link info");
    let (primary_link, peer_link) = (info(0), info(1));

    let ours: Value = serde_json::from_str(&in_netns(&ns.0, BPFKIT, &["net", "-j"])).expect("JSON");
    let rows = &ours[0]["tc"];
    for (kind, name, link) in [
        ("netkit/primary", "nk_primary", &primary_link),
        ("netkit/peer", "nk_peer", &peer_link),
    ] {
        let row = only(rows, "kind", &Value::from(kind));
        // Like bpftool, peer programs are listed under the primary.
        assert_eq!(row["devname"], primary.as_str(), "{ours}");
        assert_eq!(row["ifindex"], ifindex, "{ours}");
        assert_eq!(row["name"], name, "{ours}");
        assert_eq!(row["prog_id"], link.prog_id, "{ours}");
        assert_eq!(row["link_id"], link.id, "{ours}");
    }
    let text = in_netns(&ns.0, BPFKIT, &["net", "show", "dev", &primary]);
    let line = format!(
        "{primary}({ifindex}) netkit/primary nk_primary prog_id {} link_id {}",
        primary_link.prog_id, primary_link.id
    );
    assert!(text.lines().any(|l| l == line), "no '{line}' in:\n{text}");
    // The peer end itself has no hooks of its own to list.
    let peer_text = in_netns(&ns.0, BPFKIT, &["net", "show", "dev", &peer]);
    assert!(!peer_text.contains("netkit/"), "{peer_text}");

    drop(links);
    let after: Value =
        serde_json::from_str(&in_netns(&ns.0, BPFKIT, &["net", "-j"])).expect("JSON");
    assert!(
        !after[0]["tc"].to_string().contains("netkit/"),
        "netkit links left: {after}"
    );
    let name = ns.0.clone();
    drop(ns);
    let left = common::ip("netns list");
    assert!(
        !left
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name.as_str())),
        "{left}"
    );
    let err = failure(&["link", "show", "id", &primary_link.id.to_string()]);
    assert!(!err.is_empty(), "link {} still there", primary_link.id);
}

/// The rows of `bpfkit perf -j` (or bpftool's) of process `pid`.
fn perf_rows(rows: &Value, pid: u32) -> Vec<Value> {
    rows.as_array()
        .expect("an array")
        .iter()
        .filter(|r| r["pid"] == pid)
        .cloned()
        .collect()
}

/// The one link process `pid` holds.
fn held_link(pid: u32) -> Value {
    let links = bpfkit_json(&["link", "list", "-j"]);
    let held: Vec<&Value> = links
        .as_array()
        .expect("links")
        .iter()
        .filter(|l| holds_pid(l, pid))
        .collect();
    assert_eq!(held.len(), 1, "links of {pid}: {links}");
    held[0].clone()
}

#[test]
fn perf_shows_tracepoints_and_uprobes_by_process_and_fd() {
    let test = "perf_shows_tracepoints_and_uprobes_by_process_and_fd";
    let Some((object, bpftool)) = object(test) else {
        return;
    };
    let tool = bpftool.to_str().unwrap();
    // A tracepoint and a uretprobe, each through a perf event link.
    let mut tracepoint = Run::start(&object.to_string_lossy(), &["--target_tgid", "1"]);
    tracepoint.wait_attached(&["count_kill"]);
    let readline = common::example("bashreadline.bpf.o");
    let mut uprobe = Run::start(&readline, &["--no-printk"]);
    uprobe.wait_attached(&["printret"]);
    let rows = bpfkit_json(&["perf", "-j"]);
    for (run, fd_type) in [(&tracepoint, "tracepoint"), (&uprobe, "uretprobe")] {
        let link = held_link(run.pid());
        let ours = perf_rows(&rows, run.pid());
        assert_eq!(ours.len(), 1, "{rows}");
        let row = &ours[0];
        assert_eq!(row["fd_type"], fd_type, "{row}");
        assert_eq!(row["link_id"], link["id"], "{row} {link}");
        assert_eq!(row["prog_id"], link["prog_id"], "{row} {link}");
        let fd = row["fd"].as_u64().expect("fd");
        let target = std::fs::read_link(format!("/proc/{}/fd/{fd}", run.pid())).expect("fd");
        assert_eq!(target.to_string_lossy(), "anon_inode:bpf_link");
        if fd_type == "tracepoint" {
            assert_eq!(row["tracepoint"], "sys_enter_kill", "{row}");
        } else {
            assert_eq!(row["filename"], link["file"], "{row} {link}");
            assert_eq!(row["offset"], link["offset"], "{row} {link}");
            assert!(
                row["filename"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("bash")),
                "{row}"
            );
        }
    }
    let text = common::output(BPFKIT, &["perf"]);
    let line = format!("pid {}  fd ", tracepoint.pid());
    assert!(
        text.lines()
            .any(|l| l.starts_with(&line) && l.contains("tracepoint  sys_enter_kill  link_id")),
        "{text}"
    );
    tracepoint.stop();
    uprobe.stop();

    // A process that keeps the perf event fd itself (libbpf does): the
    // rows bpftool shows for it are ours, plus its links.
    let Some(syscount) = bpfkit_testkit::peer_tool(test, "syscount") else {
        return;
    };
    let _serial = common::serial();
    let child = Child(
        Command::new(syscount)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting syscount"),
    );
    wait_for_held_prog(child.0.id(), "sys_exit");
    let theirs = perf_rows(&ok_json(tool, &["-j", "perf"]), child.0.id());
    assert!(!theirs.is_empty(), "bpftool shows nothing of syscount");
    let ours = perf_rows(&bpfkit_json(&["perf", "-j"]), child.0.id());
    for row in &theirs {
        assert!(ours.contains(row), "bpftool's {row} not in {ours:?}");
    }
}

/// A cgroup v2 directory with inspect_cgroup.bpf.c's two programs,
/// loaded and pinned by bpftool and attached to it; all of it detached,
/// removed and unpinned on drop.
struct AttachedCgroup {
    bpftool: PathBuf,
    dir: PathBuf,
    pins: PathBuf,
}

impl AttachedCgroup {
    fn create(test: &str, bpftool: &Path) -> Option<AttachedCgroup> {
        let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
        let Some(root) = mounts.lines().find_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(words[1]))
        }) else {
            eprintln!("skipping {test}: no cgroup2 mount");
            return None;
        };
        let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/inspect_cgroup.bpf.c");
        let object = bpfkit_testkit::build_bpf_object(
            test,
            &source,
            Path::new(env!("CARGO_TARGET_TMPDIR")),
        )?;
        let cgroup = AttachedCgroup {
            bpftool: bpftool.to_path_buf(),
            dir: root.join(unique("inspect-cg")),
            pins: PathBuf::from(format!("/sys/fs/bpf/{}", unique("inspect-cg"))),
        };
        std::fs::create_dir(&cgroup.dir).expect("creating a cgroup");
        cgroup.bpftool(&[
            "prog",
            "loadall",
            object.to_str().unwrap(),
            cgroup.pins.to_str().unwrap(),
        ]);
        cgroup.bpftool(&[
            "cgroup",
            "attach",
            cgroup.dir(),
            "ingress",
            "pinned",
            &cgroup.pin("pass_ingress"),
            "multi",
        ]);
        cgroup.bpftool(&[
            "cgroup",
            "attach",
            cgroup.dir(),
            "sock_create",
            "pinned",
            &cgroup.pin("pass_sock_create"),
        ]);
        Some(cgroup)
    }

    fn dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn pin(&self, program: &str) -> String {
        self.pins.join(program).to_string_lossy().into_owned()
    }

    fn bpftool(&self, args: &[&str]) -> String {
        common::output(self.bpftool.to_str().unwrap(), args)
    }
}

impl Drop for AttachedCgroup {
    fn drop(&mut self) {
        for (hook, program) in [
            ("ingress", "pass_ingress"),
            ("sock_create", "pass_sock_create"),
        ] {
            let _ = Command::new(&self.bpftool)
                .args([
                    "cgroup",
                    "detach",
                    self.dir(),
                    hook,
                    "pinned",
                    &self.pin(program),
                ])
                .output();
        }
        let _ = std::fs::remove_dir(&self.dir);
        let _ = std::fs::remove_dir_all(&self.pins);
    }
}

#[test]
fn cgroup_tree_shows_the_programs_of_a_cgroup_like_bpftool() {
    let test = "cgroup_tree_shows_the_programs_of_a_cgroup_like_bpftool";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let Some(cgroup) = AttachedCgroup::create(test, &bpftool) else {
        return;
    };
    let tool = bpftool.to_str().unwrap();
    let ours = bpfkit_json(&["cgroup", "tree", cgroup.dir(), "-j"]);
    let theirs = ok_json(tool, &["-j", "cgroup", "tree", cgroup.dir()]);
    assert_eq!(ours, theirs);
    let programs = &ours[0]["programs"];
    assert_eq!(programs[0]["attach_type"], "cgroup_inet_ingress", "{ours}");
    assert_eq!(programs[0]["attach_flags"], "multi", "{ours}");
    // The kernel keeps 15 bytes of the name; the full one is from BTF.
    assert_eq!(programs[1]["name"], "pass_sock_create", "{ours}");
    let shown = bpfkit_json(&["cgroup", "show", cgroup.dir(), "-j"]);
    assert_eq!(
        shown,
        ok_json(tool, &["-j", "cgroup", "show", cgroup.dir()])
    );
    // The whole hierarchy includes our cgroup (others' may be there too).
    let all = bpfkit_json(&["cgroup", "tree", "-j"]);
    only(&all, "cgroup", &Value::from(cgroup.dir()));
    let text = common::output(BPFKIT, &["cgroup", "tree", cgroup.dir()]);
    assert!(text.starts_with(&format!("{}\n", cgroup.dir())), "{text}");
    assert!(
        text.contains("cgroup_inet_sock_create") && text.contains("pass_ingress"),
        "{text}"
    );
    drop(cgroup);
    let err = failure(&["cgroup", "show", "/nonexistent-cgroup"]);
    assert!(err.contains("is not a cgroup directory"), "{err}");
}

/// `name` → `available` of one section of `bpfkit feature -j`.
fn availability(doc: &Value, section: &str) -> std::collections::BTreeMap<String, bool> {
    doc[section]
        .as_array()
        .unwrap_or_else(|| panic!("no {section}: {doc}"))
        .iter()
        .map(|p| {
            assert!(p["since"].as_str().is_some_and(|s| s.contains('.')), "{p}");
            (
                p["name"].as_str().unwrap().to_string(),
                p["available"] == true,
            )
        })
        .collect()
}

#[test]
fn feature_probes_agree_with_bpftool_and_with_what_attaches() {
    let test = "feature_probes_agree_with_bpftool_and_with_what_attaches";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let ours = bpfkit_json(&["feature", "-j"]);
    let theirs = ok_json(
        bpftool.to_str().unwrap(),
        &["-j", "feature", "probe", "kernel"],
    );
    // Every program and map type bpftool 7.1 knows, found the same way.
    for (section, suffix) in [("program_types", "prog_type"), ("map_types", "map_type")] {
        let ours = availability(&ours, section);
        let known = theirs[section].as_object().expect("bpftool section");
        assert!(known.len() > 25, "{known:?}");
        for (key, available) in known {
            let name = key
                .strip_prefix("have_")
                .and_then(|k| k.strip_suffix(&format!("_{suffix}")))
                .expect("bpftool's key");
            assert_eq!(
                ours.get(name),
                Some(&(available == true)),
                "{section} {name}: bpftool says {available}"
            );
        }
    }
    // Facts, against what bpfkit can attach here: a kprobe example
    // attaches exactly when kprobes are there; tcx and ring buffers are
    // used by the other tests of this file and the tools.
    let facts = availability(&ours, "facts");
    let kprobe = Command::new(BPFKIT)
        .args([
            "run",
            &common::example("unlink_kprobe.bpf.o"),
            "--duration",
            "0",
            "--no-printk",
        ])
        .output()
        .expect("running bpfkit");
    let attached = String::from_utf8_lossy(&kprobe.stdout).contains("attached")
        || String::from_utf8_lossy(&kprobe.stderr).contains("attached");
    assert_eq!(
        facts["kprobes"],
        kprobe.status.success() && attached,
        "kprobe run: {kprobe:?}"
    );
    for always in ["tracepoints", "ringbuf", "btf_vmlinux", "uprobes"] {
        assert!(facts[always], "{always}: {ours}");
    }
    let (release, tcx_kernel) = {
        let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut parts = r
            .trim()
            .split(['.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (r, v >= (6, 6))
    };
    assert_eq!(facts["tcx"], tcx_kernel, "{release}: {ours}");

    // Helpers by program type: the verifier's own rules.
    let xdp = bpfkit_json(&["feature", "helpers", "xdp", "-j"]);
    let has = |doc: &Value, helper: &str| {
        doc["available_helpers"]
            .as_array()
            .expect("helpers")
            .iter()
            .any(|h| h == helper)
    };
    assert!(
        has(&xdp, "bpf_redirect") && has(&xdp, "bpf_xdp_adjust_head"),
        "{xdp}"
    );
    assert!(!has(&xdp, "bpf_d_path"), "{xdp}");
    let tp = bpfkit_json(&["feature", "helpers", "tracepoint", "-j"]);
    assert!(
        has(&tp, "bpf_get_current_pid_tgid") && !has(&tp, "bpf_redirect"),
        "{tp}"
    );

    // Tools: what `bpfkit tools` says, as JSON with the reasons.
    let tools = bpfkit_json(&["feature", "tools", "-j"]);
    let listed = common::output(BPFKIT, &["tools"]);
    for tool in tools.as_array().expect("tools") {
        let name = tool["tool"].as_str().unwrap();
        let line = listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in:\n{listed}"));
        let hook = line.split_whitespace().nth(1).unwrap();
        match tool["hook"].as_str() {
            Some(ours) => assert_eq!(ours, hook, "{tool}"),
            None => {
                assert_eq!(hook, "-", "{tool}");
                let why = tool["why_not"].as_str().expect("a reason");
                assert!(line.contains(why), "{why} not in '{line}'");
            }
        }
    }
}

/// Calls sched_getattr(2) `per_sec` times a second on a thread until
/// dropped, at fixed deadlines (a late call is made up at once), so that
/// any whole second sees `per_sec` calls.
struct Driver {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Driver {
    fn start(per_sec: u32) -> Driver {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let step = std::time::Duration::from_secs(1) / per_sec;
            let mut next = std::time::Instant::now();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: invalid arguments (a NULL buffer) make the call
                // fail with EINVAL after the tracepoint fired; nothing is
                // written.
                unsafe { libc::syscall(libc::SYS_sched_getattr, 0, 0usize, 0, 0) };
                next += step;
                let now = std::time::Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                }
            }
        });
        Driver {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stats_enabled() -> String {
    std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled")
        .expect("bpf_stats_enabled")
        .trim()
        .to_string()
}

/// The top test's program, loaded by a run; skips like `object`.
fn top_target(test: &str) -> Option<Run> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/inspect_top.bpf.c");
    let object =
        bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    let mut run = Run::start(&object.to_string_lossy(), &["--no-printk"]);
    run.wait_attached(&["top_target"]);
    Some(run)
}

/// Calls per second the top tests drive.
const RATE: u32 = 200;

#[test]
fn top_keeps_one_holders_iterator_for_the_run() {
    let test = "top_keeps_one_holders_iterator_for_the_run";
    let _serial = common::serial();
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    // New programs keep coming, so every refresh looks for holders again;
    // the iterator is used whatever the number of processes.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let text = std::thread::scope(|scope| {
        let churn = scope.spawn(|| {
            let mut loaded = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                loaded.push(tc_program("top_churn", 0));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            loaded.len()
        });
        let out = Command::new(BPFKIT)
            .args(["top", "-b", "-j", "-n", "4", "-d", "0.3"])
            .env("BPFKIT_HOLDERS_ITERATOR_FROM", "0")
            .output()
            .expect("bpfkit top");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(churn.join().expect("churn") > 4, "too few new programs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    let samples: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(samples.len(), 4, "{text}");
    let ids_named = |sample: &Value, name: &str| -> Vec<u64> {
        sample["programs"]
            .as_array()
            .expect("programs")
            .iter()
            .filter(|p| p["name"] == name)
            .filter_map(|p| p["id"].as_u64())
            .collect()
    };
    // The refreshes did see new programs...
    let churned = |i: usize| ids_named(&samples[i], "top_churn").len();
    assert!(churned(3) > churned(0), "no new programs seen: {text}");
    // ...and the iterator loaded for the first one is the only one: the
    // same program in every later sample.
    let iterators: std::collections::BTreeSet<u64> = samples
        .iter()
        .flat_map(|s| ids_named(s, "bpfkit_holders"))
        .collect();
    assert_eq!(iterators.len(), 1, "iterator ids {iterators:?}: {text}");
    for sample in &samples[1..] {
        assert_eq!(ids_named(sample, "bpfkit_holders").len(), 1, "{sample}");
    }
}

#[test]
fn top_batch_shows_the_rate_a_program_runs_at() {
    let test = "top_batch_shows_the_rate_a_program_runs_at";
    // Each `bpfkit top` holds a stats fd: one top test at a time.
    let _serial = common::serial();
    let Some(run) = top_target(test) else {
        return;
    };
    let before = stats_enabled();
    let driver = Driver::start(RATE);
    let text = common::output(BPFKIT, &["top", "-b", "-n", "3", "-d", "1", "-j"]);
    drop(driver);
    let samples: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(samples.len(), 3, "{text}");
    for sample in &samples {
        let interval = sample["interval_s"].as_f64().expect("interval");
        assert!((0.9..2.0).contains(&interval), "{sample}");
        let ours = only(&sample["programs"], "name", &Value::from("top_target"));
        let rate = ours["runs_per_sec"].as_f64().expect("runs/s");
        let expected = f64::from(RATE);
        assert!(
            (rate - expected).abs() <= expected * 0.1,
            "{rate} runs/s, driven at {RATE}: {ours}"
        );
        assert!(ours["avg_ns"].as_f64().is_some_and(|ns| ns > 0.0), "{ours}");
        assert!(
            ours["pids"]
                .as_str()
                .is_some_and(|p| p.contains(&run.pid().to_string())),
            "{ours}"
        );
    }
    // The text form: one table per sample, with the filter applied.
    let text = common::output(
        BPFKIT,
        &["top", "-b", "-n", "1", "-d", "0.2", "--filter", "top_tar"],
    );
    assert!(text.starts_with("bpfkit top: 1 programs"), "{text}");
    assert!(
        text.lines()
            .nth(2)
            .is_some_and(|l| l.contains("top_target")),
        "{text}"
    );
    // Stats were ours only while top ran.
    assert_eq!(stats_enabled(), before);
    run.stop();
}

/// Whether a process other than `except` holds a BPF_ENABLE_STATS fd.
fn other_stats_holder(except: u32) -> Option<u32> {
    let procs = std::fs::read_dir("/proc").ok()?;
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != except)
        .find(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|t| t.to_string_lossy() == "anon_inode:bpf-stats")
                })
            })
        })
}

/// The run count the kernel keeps for program `id`.
fn run_cnt(id: u32) -> u64 {
    let fd = bpfkit_sys::prog_fd_by_id(id).expect("program");
    bpfkit_sys::prog_info(std::os::fd::AsFd::as_fd(&fd))
        .expect("info")
        .run_cnt
}

/// Calls sched_getattr(2) `n` times.
fn call_top_target(n: u32) {
    for _ in 0..n {
        // SAFETY: as in Driver: fails with EINVAL, writes nothing.
        unsafe { libc::syscall(libc::SYS_sched_getattr, 0, 0usize, 0, 0) };
    }
}

#[test]
fn top_stops_counting_when_killed() {
    let test = "top_stops_counting_when_killed";
    // Each `bpfkit top` holds a stats fd: one top test at a time.
    let _serial = common::serial();
    let Some(run) = top_target(test) else {
        return;
    };
    let before = stats_enabled();
    let progs = bpfkit_json(&["prog", "show", "name", "top_target", "-j"]);
    let id = progs
        .as_array()
        .expect("an array")
        .iter()
        .find(|p| holds(p, run.pid()))
        .and_then(|p| p["id"].as_u64())
        .expect("our top_target") as u32;
    let mut top = Command::new(BPFKIT)
        .args(["top", "-b", "-d", "0.2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starting bpfkit top");
    let mut first = String::new();
    let stdout = top.stdout.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first).unwrap();
    assert!(first.starts_with("bpfkit top"), "{first}");
    // Counting while top runs...
    let counted = run_cnt(id);
    call_top_target(50);
    assert!(run_cnt(id) >= counted + 50, "not counting while top runs");
    // ...and not after SIGKILL: the kernel closed top's stats fd.
    top.kill().unwrap();
    top.wait().unwrap();
    // Another process (a peer's `bpfkit top`, bpftop) may turn stats on at
    // any moment: the count only proves something when nobody held a stats
    // fd before and after it.
    let holder = || other_stats_holder(std::process::id());
    match holder() {
        Some(pid) => {
            eprintln!("skipping the after-SIGKILL count of {test}: process {pid} holds a stats fd")
        }
        None => {
            let stopped = run_cnt(id);
            call_top_target(50);
            let after = run_cnt(id);
            if let Some(pid) = holder() {
                eprintln!(
                    "skipping the after-SIGKILL count of {test}: process {pid} took a stats fd"
                );
            } else {
                assert_eq!(after, stopped, "still counting after top was killed");
            }
        }
    }
    assert_eq!(stats_enabled(), before, "kernel.bpf_stats_enabled changed");
    run.stop();
}

/// A tmux session running one command, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn start(command: &str) -> Tmux {
        let name = unique("bpfkit-top");
        common::output(
            "tmux",
            &[
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "150",
                "-y",
                "30",
                command,
            ],
        );
        Tmux(name)
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.0];
        args.extend(keys);
        common::output("tmux", &args);
    }

    /// Waits until the screen satisfies `ready`.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + common::BOUND;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {what} on:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn running(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.0])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

#[test]
fn top_full_screen_sorts_filters_pauses_and_quits_under_tmux() {
    let test = "top_full_screen_sorts_filters_pauses_and_quits_under_tmux";
    // Each `bpfkit top` holds a stats fd: one top test at a time.
    let _serial = common::serial();
    let Some(tmux) = bpfkit_testkit::peer_tool(test, "tmux") else {
        return;
    };
    let _ = tmux;
    let Some(run) = top_target(test) else {
        return;
    };
    let before = stats_enabled();
    let driver = Driver::start(RATE);
    let screen = Tmux::start(&format!("{BPFKIT} top -d 0.3"));
    let row = |s: &str| {
        s.lines()
            .any(|l| l.contains("top_target") && l.contains("tracepoint"))
    };
    let first = screen.wait_for("top_target row", |s| row(s) && s.contains("RUNS/S"));
    assert!(first.contains("sorted by cpu"), "{first}");
    assert!(first.contains("q quit"), "{first}");
    // Our program runs about RATE times a second.
    let shown = screen.wait_for("a rate near 200/s", |s| {
        s.lines().filter(|l| l.contains("top_target")).any(|l| {
            l.split_whitespace()
                .nth(3)
                .and_then(|r| r.parse::<f64>().ok())
                .is_some_and(|r| (r - f64::from(RATE)).abs() <= f64::from(RATE) * 0.2)
        })
    });
    assert!(row(&shown));
    screen.keys(&["s"]);
    screen.wait_for("sort by runs", |s| s.contains("sorted by runs"));
    screen.keys(&["p"]);
    screen.wait_for("pause", |s| s.contains("[PAUSED]"));
    screen.keys(&["p"]);
    screen.wait_for("resume", |s| !s.contains("[PAUSED]"));
    screen.keys(&["/", "n", "o", "-", "s", "u", "c", "h", "Enter"]);
    let filtered = screen.wait_for("the filter", |s| s.contains("filter 'no-such'"));
    assert!(!row(&filtered), "{filtered}");
    screen.keys(&["/", "t", "o", "p", "_", "t", "Enter"]);
    screen.wait_for("our row again", |s| row(s) && s.contains("filter 'top_t'"));
    screen.keys(&["q"]);
    let deadline = std::time::Instant::now() + common::BOUND;
    while screen.running() {
        assert!(
            std::time::Instant::now() < deadline,
            "top did not quit on q"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(driver);
    assert_eq!(stats_enabled(), before);
    run.stop();
}

/// Kills the peer tool when the test ends, also when it fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn global_sections_of_libbpf_objects_dump_by_variable() {
    let test = "global_sections_of_libbpf_objects_dump_by_variable";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    // libbpf-tools' syscount, loaded by libbpf: its `.rodata` map has BTF
    // whose value type is a DATASEC, and `-p PID` sets `filter_pid` in it.
    let Some(syscount) = bpfkit_testkit::peer_tool(test, "syscount") else {
        return;
    };
    // Killing syscount at the end is a kill() of this process, which the
    // other tests' programs count: not while one of them runs.
    let _serial = common::serial();
    let me = std::process::id();
    let child = Child(
        Command::new(syscount)
            .args(["-p", &me.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting syscount"),
    );
    let deadline = std::time::Instant::now() + common::BOUND;
    let rodata = loop {
        let held = bpfkit_sys::Holders::scan_proc();
        let found = held
            .maps
            .iter()
            .filter(|(_, holders)| holders.iter().any(|h| h.pid == child.0.id()))
            .map(|(id, _)| id.to_string())
            .find(|id| bpfkit_json(&["map", "show", "id", id, "-j"])["name"] == "syscount.rodata");
        if let Some(id) = found {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "syscount loaded no .rodata map"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let dump = bpfkit_json(&["map", "dump", "id", &rodata, "-j"]);
    assert_eq!(dump["map"], "syscount.rodata", "{dump}");
    assert_eq!(dump["globals"]["filter_pid"], me, "{dump}");
    assert_eq!(dump["globals"]["filter_failed"], false, "{dump}");
    let text = common::output(BPFKIT, &["map", "dump", "id", &rodata]);
    assert!(
        text.lines().any(|l| l == format!("filter_pid = {me}")),
        "{text}"
    );
}

#[test]
fn unknown_objects_and_bad_arguments_are_one_clear_error() {
    let test = "unknown_objects_and_bad_arguments_are_one_clear_error";
    // Argument errors need no kernel.
    for (args, says) in [
        (&["prog", "show", "id", "x"][..], "'x' is not an id"),
        (&["prog", "show", "id"][..], "'id' needs a value"),
        (
            &["map", "show", "tag", "ab"][..],
            "expected one of 'id', 'name', 'pinned'",
        ),
        (&["map", "dump"][..], "name the map"),
        (&["map", "lookup", "id", "1"][..], "needs 'key DATA'"),
        (
            &["map", "lookup", "id", "1", "key", "1", "256"][..],
            "'256' is not a byte",
        ),
        (
            &["link", "show", "name", "x"][..],
            "expected one of 'id', 'pinned'",
        ),
        (
            &["prog", "show", "id", "1", "extra"][..],
            "unexpected 'extra'",
        ),
        (&["prog", "dump"][..], "'prog dump' needs 'xlated'"),
        (
            &["map", "update", "id", "1"][..],
            "needs 'key DATA value DATA'",
        ),
        (
            &["map", "update", "id", "1", "key", "1"][..],
            "needs 'value DATA'",
        ),
        (
            &[
                "map",
                "update",
                "id",
                "1",
                "key",
                "1",
                "value",
                "2",
                "sometimes",
            ][..],
            "'sometimes' is not a byte",
        ),
        (&["map", "delete", "id", "1"][..], "needs 'key DATA'"),
        (
            &["map", "update", "id", "1", "key", "1", "x", "value", "2"][..],
            "'x' is not a byte",
        ),
        (&["map", "pin", "id", "1"][..], "needs a path"),
        (&["prog", "pin", "id", "1"][..], "needs a path"),
        (&["link", "detach"][..], "name the link"),
        (&["perf", "id", "1"][..], "perf takes no selector"),
        (&["net", "dev"][..], "'dev' needs an interface name"),
        (&["net", "eth0"][..], "expected 'dev IF'"),
        (
            &["cgroup", "list"][..],
            "expected 'tree [ROOT]' or 'show CGROUP'",
        ),
        (&["cgroup", "show"][..], "needs a cgroup directory"),
        (&["feature", "helpers"][..], "needs a program type"),
        (&["top", "-b", "-n", "0"][..], "-n must be at least 1"),
        (&["feature", "everything"][..], "expected 'probe'"),
        (
            &["link", "detach", "id", "1", "now"][..],
            "unexpected 'now'",
        ),
        (&["prog", "dump", "xlated"][..], "name the program"),
        (&["prog", "dump", "jited"][..], "name the program"),
        (
            &["prog", "dump", "source", "id", "1"][..],
            "expected 'xlated' or 'jited'",
        ),
        (
            &["prog", "dump", "xlated", "id", "1", "opcodes"][..],
            "unexpected 'opcodes'",
        ),
    ] {
        let err = failure(args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    // Ids are never reused below the next one, so u32::MAX is unused.
    let max = u32::MAX.to_string();
    for (args, says) in [
        (vec!["prog", "show", "id", &max], "no program with id"),
        (vec!["map", "show", "id", &max], "no map with id"),
        (vec!["map", "dump", "id", &max], "no map with id"),
        (vec!["link", "show", "id", &max], "no link with id"),
        (
            vec!["prog", "dump", "xlated", "id", &max],
            "no program with id",
        ),
        (
            vec!["prog", "dump", "jited", "id", &max],
            "no program with id",
        ),
        (
            vec!["prog", "show", "name", "no_such_prog_x"],
            "no loaded program is named",
        ),
        (
            vec!["map", "dump", "pinned", "/sys/fs/bpf/bpfkit-no-such-pin"],
            "opening pinned map",
        ),
    ] {
        let err = failure(&args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
