//! `bpfkit trace`: probes compiled with no compiler, on events the tests
//! cause themselves (a chown to a known uid, opens of a known file).

mod common;

use bpfkit_testkit::privileged;
use common::{BOUND, BPFKIT, Run, TempDir, events, map_counts};
use std::ffi::CString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `fchownat(AT_FDCWD, path, uid, gid, 0)`, the call `chown(1)` makes.
fn fchownat(path: &std::path::Path, uid: u32, gid: u32) {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in a temp path");
    // SAFETY: a valid C string; fchownat has no other preconditions.
    let rc = unsafe { libc::fchownat(libc::AT_FDCWD, c.as_ptr(), uid, gid, 0) };
    assert_eq!(rc, 0, "fchownat {}", path.display());
}

/// A uid no other test or engineer uses at the same time.
fn test_uid() -> u32 {
    40000 + (std::process::id() % 20000)
}

#[test]
fn chown_to_a_known_uid_passes_the_filter_and_others_do_not() {
    if !privileged("chown_to_a_known_uid_passes_the_filter_and_others_do_not") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("owned", "");
    let uid = test_uid();
    let probe = format!(
        "t:syscalls:sys_enter_fchownat (args->user == {uid} || args->user == {}) \"%s %d %d\", args->filename, args->user, args->group",
        uid + 2
    );
    let pid = std::process::id().to_string();
    let mut run = Run::start_tool_attached("trace", &["-p", &pid, &probe]);
    // uid + 1 is filtered out; it is sent first, so its absence is known
    // once the record of a later call arrives.
    fchownat(&file, uid + 1, 7);
    fchownat(&file, uid, 77);
    // Called once: the program is attached, and what it records right
    // after the attached report is printed without waiting for more.
    fchownat(&file, uid + 2, 777);
    let last = run.wait_for("the chown to uid + 2", |r| r["data"]["user"] == uid + 2);
    let finished = run.stop();
    let chowns: Vec<_> = events(&finished.records, "events").collect();
    let users: Vec<_> = chowns.iter().map(|e| e["data"]["user"].clone()).collect();
    assert_eq!(users, [uid, uid + 2], "{chowns:?}");
    let first = &chowns[0]["data"];
    assert_eq!(first["filename"], file.to_str().unwrap());
    assert_eq!(first["group"], 77);
    assert_eq!(first["probe"], "sys_enter_fchownat");
    assert_eq!(first["pid"], std::process::id());
    assert_eq!(last["data"]["group"], 777);
}

#[test]
fn string_filter_matches_the_whole_string_only() {
    if !privileged("string_filter_matches_the_whole_string_only") {
        return;
    }
    let dir = TempDir::new("trace");
    let wanted = dir.write("wanted", "");
    let longer = dir.write("wanted2", "");
    let probe = format!(
        "t:syscalls:sys_enter_openat (args->filename == \"{}\" && $comm != \"no-such-task\") \"%s\", args->filename",
        wanted.display()
    );
    let pid = std::process::id().to_string();
    let mut run = Run::start_tool_attached("trace", &["-p", &pid, &probe]);
    // A name the literal is a prefix of must not match.
    std::fs::read(&longer).expect("reading the longer name");
    // Once, as in the chown test.
    std::fs::read(&wanted).expect("reading the wanted file");
    run.wait_for("the open of the wanted file", |r| r["type"] == "event");
    let finished = run.stop();
    let names: Vec<_> = events(&finished.records, "events")
        .map(|e| e["data"]["filename"].clone())
        .collect();
    assert_eq!(names, [wanted.to_str().unwrap()]);
}

/// The table as bcc prints it, with clang out of reach (an empty PATH):
/// nothing is compiled at run time.
#[test]
fn table_shows_pid_tid_comm_func_and_the_message_without_clang() {
    if !privileged("table_shows_pid_tid_comm_func_and_the_message_without_clang") {
        return;
    }
    let _serial = common::serial();
    let dir = TempDir::new("trace");
    let file = dir.write("owned", "");
    let uid = test_uid() + 5;
    let probe = format!(
        "t:syscalls:sys_enter_fchownat (args->user == {uid}) \"chown %s to %d\", args->filename, args->user"
    );
    let mut child = Command::new(BPFKIT)
        .args(["trace", "-M", "1", &probe])
        .env("PATH", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning bpfkit trace");
    // Until the program is attached the chowns go unseen: repeat them
    // until the first one is printed and -M 1 ends the run.
    let deadline = Instant::now() + BOUND;
    while child.try_wait().expect("polling bpfkit").is_none() {
        assert!(Instant::now() < deadline, "bpfkit trace -M 1 did not end");
        fchownat(&file, uid, 0);
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("bpfkit output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "TID", "COMM", "FUNC", "-"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    let pid = std::process::id().to_string();
    assert_eq!(row[0], pid, "{stdout}");
    assert_eq!(row[3], "sys_enter_fchownat", "{stdout}");
    let message = format!("chown {} to {uid}", file.display());
    assert!(lines[1].ends_with(&message), "{stdout}");
    assert_eq!(lines.len(), 2, "-M 1 shows one event: {stdout}");
}

/// Bad probes: one `bpfkit:` error that points at the column, exit 1.
#[test]
fn bad_probes_are_one_error_pointing_at_the_column() {
    if !privileged("bad_probes_are_one_error_pointing_at_the_column") {
        return;
    }
    let cases = [
        (
            "t:syscalls:sys_enter_openat (args->flags > ) \"%d\", args->flags",
            44,
            "expected an expression",
        ),
        (
            "t:syscalls:sys_enter_openat \"%d\", args->filenam",
            35,
            "no field 'filenam'",
        ),
        (
            "t:syscalls:sys_enter_openat \"%d\", args->filename",
            35,
            "print it with %s",
        ),
        (
            "t:syscalls:sys_enter_openat \"%s %s\", args->filename",
            29,
            "2 conversion(s) but 1",
        ),
        (
            "t:syscalls:sys_enter_openat (args->filename < \"a\")",
            30,
            "strings compare with == and != only",
        ),
        ("t:no_such_category:no_such_event", 1, "no tracepoint"),
        ("x:c:malloc", 1, "unknown probe type 'x'"),
    ];
    for (probe, column, message) in cases {
        let out = Command::new(BPFKIT)
            .args(["trace", probe])
            .output()
            .expect("running bpfkit trace");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{probe}: {stderr}");
        assert!(stderr.starts_with("bpfkit:"), "{probe}: {stderr}");
        assert!(!stderr.contains("panicked"), "{probe}: {stderr}");
        assert!(stderr.contains(message), "{probe}: {stderr}");
        assert!(
            stderr.contains(&format!("(column {column})")),
            "{probe}: {stderr}"
        );
        // The caret sits under the column.
        let caret = stderr.lines().last().unwrap_or_default();
        assert_eq!(caret.find('^'), Some(4 + column - 1), "{probe}: {stderr}");
    }
}

/// funccount: a known number of calls of one syscall by this process,
/// counted under the tracepoint's name; the other match stays out.
#[test]
fn funccount_counts_a_known_number_of_calls_per_tracepoint() {
    if !privileged("funccount_counts_a_known_number_of_calls_per_tracepoint") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("counted", "");
    let pid = std::process::id().to_string();
    // Every attached report comes after the last attach.
    let run = Run::start_tool_attached("funccount", &["-p", &pid, "t:syscalls:sys_enter_fchown*"]);
    const CALLS: u64 = 7;
    for _ in 0..CALLS {
        fchownat(&file, 0, 0);
    }
    let finished = run.stop();
    let map = finished
        .records
        .iter()
        .find(|r| r["type"] == "map" && r["map"] == "counts")
        .unwrap_or_else(|| panic!("no counts: {:?}", finished.records));
    assert_eq!(
        map["entries"],
        // `name`: the target as the pattern named it (BTF's enum key is an
        // identifier: `python_gc__start` for a USDT probe).
        serde_json::json!([{
            "key": "sys_enter_fchownat",
            "value": {"count": CALLS},
            "name": "sys_enter_fchownat"
        }]),
        "{map}"
    );
}

/// A libc function by bcc's short library name: arguments named and typed
/// by the signature on entry, the return value on return.
#[test]
fn libc_function_arguments_and_return_value() {
    if !privileged("libc_function_arguments_and_return_value") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("owned", "");
    let uid = test_uid() + 9;
    let entry = format!(
        "p:c:fchownat(int dirfd, const char *path, unsigned int owner, unsigned int group) (owner == {uid}) \"%s %u\", path, owner"
    );
    let pid = std::process::id().to_string();
    let ret = "r:c:fchownat ($tgid > 0) \"ret %d\", retval";
    let mut run = Run::start_tool_attached("trace", &["-p", &pid, &entry, ret]);
    fchownat(&file, uid, 0);
    let called = run.wait_for("the uprobe record", |r| {
        r["data"]["probe"] == "fchownat" && r["data"]["owner"] == uid
    });
    assert_eq!(called["data"]["path"], file.to_str().unwrap(), "{called}");
    let returned = run.wait_for("the uretprobe record", |r| r["data"]["retval"] == 0);
    assert_eq!(returned["data"]["pid"], std::process::id(), "{returned}");
    run.stop();
}

/// funclatency: every one of a known number of calls of a libc function by
/// this process lands in the histogram.
#[test]
fn funclatency_histogram_holds_every_call() {
    if !privileged("funclatency_histogram_holds_every_call") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("timed", "");
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("funclatency", &["-u", "-p", &pid, "c:fchownat"]);
    const CALLS: u64 = 9;
    for _ in 0..CALLS {
        fchownat(&file, 0, 0);
    }
    let finished = run.stop();
    let hist = finished
        .records
        .iter()
        .find(|r| r["type"] == "hist")
        .unwrap_or_else(|| panic!("no histogram: {:?}", finished.records));
    assert_eq!(hist["unit"], "usecs", "{hist}");
    let counted: u64 = hist["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counted, CALLS, "{hist}");
}

/// argdist -C: each distinct argument value counted. The map's key and
/// value carry BTF, which the kernel must accept (it refused a `char`
/// encoded SIGNED|CHAR, and the map with it).
#[test]
fn argdist_counts_each_argument_value() {
    if !privileged("argdist_counts_each_argument_value") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("owned", "");
    let uid = test_uid() + 11;
    let pid = std::process::id().to_string();
    let spec = format!(
        "p:c:fchownat(int dirfd, const char *path, unsigned int owner, unsigned int group):u32:owner:owner>={uid} && path!=\"/nonexistent\""
    );
    let run = Run::start_tool_attached("argdist", &["-p", &pid, "-C", &spec]);
    for owner in [uid, uid + 1, uid, uid + 1, uid] {
        fchownat(&file, owner, 0);
    }
    fchownat(&file, uid - 1, 0);
    let finished = run.stop();
    let mut counts: Vec<(u64, u64)> = map_counts(&finished.records, "counts")
        .into_iter()
        .map(|(key, count)| (key.as_u64().unwrap_or(0), count))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [(uid as u64, 3), (uid as u64 + 1, 2)],
        "{:?}",
        finished.records
    );
}

/// argdist -H: a log2 histogram of a tracepoint field; every value lands
/// in the bucket of its power of two.
#[test]
fn argdist_histogram_of_a_tracepoint_field() {
    if !privileged("argdist_histogram_of_a_tracepoint_field") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("owned", "");
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-H",
            "t:syscalls:sys_enter_fchownat():gid_t:args->group",
        ],
    );
    // Groups 64..127 fall in one bucket, 1024 in another.
    for group in [64, 100, 127, 1024] {
        fchownat(&file, 0, group);
    }
    let finished = run.stop();
    let hist = finished
        .records
        .iter()
        .find(|r| r["type"] == "hist")
        .unwrap_or_else(|| panic!("no histogram: {:?}", finished.records));
    let buckets: Vec<(u64, u64)> = hist["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .filter(|b| b["count"].as_u64() != Some(0))
        .map(|b| {
            (
                b["low"].as_u64().unwrap_or(0),
                b["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(buckets, [(64, 3), (1024, 1)], "{hist}");
}

/// stackcount: a known number of hits of a syscall tracepoint by this
/// process, under one symbolized kernel stack that enters through the
/// syscall path.
#[test]
fn stackcount_counts_hits_per_kernel_stack() {
    if !privileged("stackcount_counts_hits_per_kernel_stack") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("stacked", "");
    let pid = std::process::id().to_string();
    let run =
        Run::start_tool_attached("stackcount", &["-p", &pid, "t:syscalls:sys_enter_fchownat"]);
    const CALLS: u64 = 5;
    for _ in 0..CALLS {
        fchownat(&file, 0, 0);
    }
    let finished = run.stop();
    let stacks: Vec<_> = finished
        .records
        .iter()
        .filter(|r| r["type"] == "stack")
        .collect();
    let total: u64 = stacks
        .iter()
        .map(|s| s["weight"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, CALLS, "{stacks:?}");
    for stack in &stacks {
        assert_eq!(stack["pid"], std::process::id(), "{stack}");
        let kernel = stack["kernel"].as_array().expect("kernel frames");
        assert!(
            kernel
                .iter()
                .any(|f| f.as_str().is_some_and(|f| f.contains("syscall"))),
            "{stack}"
        );
    }
}

/// bcc's shorthand as its man page writes it: `LIB:FUNC` is an entry probe,
/// an untyped argument printed with `%s` is the string it points to, and
/// `%d` shows an `int` (the register's low half: AT_FDCWD is -100).
#[test]
fn bcc_shorthand_probe_with_untyped_string_argument() {
    if !privileged("bcc_shorthand_probe_with_untyped_string_argument") {
        return;
    }
    let dir = TempDir::new("trace");
    let file = dir.write("owned", "");
    let pid = std::process::id().to_string();
    let mut run =
        Run::start_tool_attached("trace", &["-p", &pid, "c:fchownat \"%d %s\", arg1, arg2"]);
    fchownat(&file, 0, 0);
    // Other tests of this process call fchownat too: this one's by its path.
    let record = run.wait_for("the fchownat record", |r| {
        r["data"]["arg2"] == file.to_str().unwrap()
    });
    run.stop();
    assert_eq!(record["data"]["arg2"], file.to_str().unwrap(), "{record}");
    // JSON keeps the register as it is; the table's %d shows the int.
    assert_eq!(record["data"]["arg1"], 0xffff_ff9c_u64, "{record}");
}

/// Kernel function probes on a kernel with neither kprobes nor BPF
/// trampolines (the CI machine): one line saying so and exit 1, from every
/// front end, before anything is loaded. Kernels with either run them in
/// the kernel matrix (scripts/matrix/cases: trace-k*, funccount-k...).
#[test]
fn kernel_function_probes_without_kprobes_or_fentry_are_one_line() {
    let name = "kernel_function_probes_without_kprobes_or_fentry_are_one_line";
    if !privileged(name) {
        return;
    }
    let features = bpfkit_runtime::features::kernel();
    if features.kprobes || bpfkit_runtime::features::trampolines() {
        eprintln!(
            "skipped {name}: this kernel has kprobes or fentry (the kernel matrix tests them)"
        );
        return;
    }
    let commands: [&[&str]; 9] = [
        &["trace", "p::do_unlinkat \"%d\", arg1"],
        &["trace", "r::vfs_read (retval > 0) \"%d\", retval"],
        &["trace", "do_unlinkat"],
        &["argdist", "-C", "p::vfs_read():size_t:count"],
        &["funccount", "vfs_*"],
        &["funccount", "p::vfs_read"],
        &["funclatency", "vfs_read"],
        &["funclatency", "-u", "p::vfs_read"],
        &["stackcount", "do_unlinkat"],
    ];
    for args in commands {
        let out = Command::new(BPFKIT)
            .args(args)
            .output()
            .expect("running bpfkit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        let probe = args.last().expect("a probe");
        assert_eq!(
            stderr,
            format!(
                "bpfkit: probe '{probe}': kernel function probes need kprobes or fentry; \
                 this kernel has neither\n"
            ),
            "{args:?}"
        );
    }
}

/// funccount prints its final counts before detaching: closing a
/// tracepoint's perf event costs the kernel a grace period (tens of ms
/// here), so the ~60 `sys_*_get*` tracepoints take seconds to detach, and
/// the counts (known numbers of getppid calls) come while bpfkit is still
/// detaching, not after. `--per-tracepoint`: counted by number through
/// raw_syscalls (the default on x86-64), two tracepoints detach too fast
/// to see this.
#[test]
fn funccount_prints_the_final_counts_before_detaching() {
    if !privileged("funccount_prints_the_final_counts_before_detaching") {
        return;
    }
    let pid = std::process::id();
    let mut run = Run::start_tool_attached(
        "funccount",
        &[
            "--per-tracepoint",
            "-p",
            &pid.to_string(),
            "t:syscalls:sys_*_get*",
        ],
    );
    const CALLS: u64 = 5;
    for _ in 0..CALLS {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    // SAFETY: kill has no memory preconditions; the pid is our unreaped child.
    assert_eq!(unsafe { libc::kill(run.pid() as i32, libc::SIGINT) }, 0);
    let counts = run.wait_for("the final counts", |r| {
        r["type"] == "map" && r["map"] == "counts"
    });
    // Its programs are still loaded: the perf events are being closed.
    let held = common::Held::of_process(run.pid());
    let entries = counts["entries"].as_array().cloned().unwrap_or_default();
    let count = |name: &str| {
        entries
            .iter()
            .find(|e| e["key"] == name)
            .map(|e| e["value"]["count"].clone())
    };
    assert_eq!(count("sys_enter_getppid"), Some(CALLS.into()), "{counts}");
    assert_eq!(count("sys_exit_getppid"), Some(CALLS.into()), "{counts}");
    assert!(
        !held.progs.is_empty(),
        "the counts came only after detaching: {counts}"
    );
    run.finish();
}
