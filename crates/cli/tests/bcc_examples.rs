//! Every EXAMPLES line of bcc's man pages for trace(8), argdist(8),
//! funccount(8), stackcount(8) and funclatency(8) (bcc master,
//! man/man8/*.8), run by bpfkit on events the test causes, where this
//! kernel and machine can run it (tracepoints, uprobes, USDT).
//!
//! Kernel functions (`p::FUNC`, a bare `vfs_*`) need kprobes or fentry,
//! which this kernel lacks: those examples are the kernel-matrix cases
//! (6.1/6.12 VMs, `scripts/kernel-matrix`), and here give one clear error
//! (tests/trace.rs `kernel_function_probes_without_kprobes_or_fentry_are_one_line`).
//!
//! | man page line | here |
//! |---|---|
//! | `trace '::do_sys_open "%s", arg2@user'` | kernel function (matrix) |
//! | `trace '::sys_read (arg3 > 20000) "read %d bytes", arg3'` | kernel function (matrix) |
//! | `trace ':c:malloc "size = %d", arg1'` | [`trace_malloc_sizes`] (with -p: system-wide, a busy machine's mallocs overflow the ring buffer) |
//! | `trace 'r:bash:readline "%s", retval'` | [`trace_bash_readline_returns_the_line`] (bash on script(1)'s terminal) |
//! | `trace 't:block:block_rq_complete "%d sectors", args->nr_sector'` | [`trace_block_rq_complete_sectors`] |
//! | `trace 'u:pthread:pthread_create "start addr = %llx", arg3'` | not run: Debian's glibc has no USDT notes (no .note.stapsdt in libc.so.6; libpthread.so.0 is a stub); one clear error |
//! | `trace 'p::SyS_nanosleep(struct timespec *ts) ...'` | kernel function (matrix) |
//! | `trace -s LIBC,/bin/ping 'p:c:inet_pton' -U` | [`trace_inet_pton_with_symbol_files`] (this test's pid; a stripped binary named through `-s`: tests/trace_stacks.rs) |
//! | `argdist -H 'p::__kmalloc(u64 size):u64:size'` | kernel function (matrix) |
//! | `argdist -p 1005 -C 'p:c:malloc(size_t size):size_t:size:size==16'` | [`argdist_malloc_of_16_bytes`] (this test's pid) |
//! | `argdist -C 'r:c:gets():char*:$retval'` | not run: a string value (see -z below); and glibc 2.36 keeps gets only as a compat symbol nothing here calls |
//! | `argdist -H 'r::__vfs_read(...):size_t:$entry(count):$latency > 1000000'` | kernel function (matrix) |
//! | `argdist -p 1005 -C 'p:c:write(int fd):int:fd'` | [`argdist_writes_per_fd`] (this test's pid) |
//! | `argdist -p 1005 -H 'r:c:read()'` | [`argdist_read_return_histogram`] (this test's pid) |
//! | `argdist -H 'p:c:write(int fd, const void *buf, size_t count):size_t:count:fd==1'` | [`argdist_stdout_write_sizes`] |
//! | `argdist -C 'p:c:fork():int:$PID;fork per process'` | [`argdist_forks_per_process`] (`#label`: bcc's argdist.py splits the label at '#'; the man page's ';' is stale and fails in bcc too) |
//! | `argdist -H 't:block:block_rq_complete():u32:nr_sector'` | [`argdist_block_sectors_and_irqs`] |
//! | `argdist -C 't:irq:irq_handler_entry():int:irq'` | [`argdist_block_sectors_and_irqs`] |
//! | `argdist -C 'u:pthread:pthread_start():u64:arg2' -p 1337` | not run: no USDT notes in Debian's glibc |
//! | `argdist -H 'p:c:sleep(u32 seconds):u32:seconds' -H 'p:c:nanosleep(...):long:req->tv_nsec'` | not run: one specifier per run is supported (a second -H is one clear error) |
//! | `argdist -p 2780 -z 120 -C 'p:c:write(int fd, char* buf, size_t len):char*:buf:fd==1'` | not run: string values (and `-z`) are not supported: one clear error, [`argdist_string_values_are_one_clear_error`] |
//! | `argdist -C 'p::__vfs_read(struct file *file, ...):char*,size_t:...'` | kernel function (matrix) |
//! | `funccount 'vfs_*'`, `'tcp_send*'`, `-i 1`, `-d 10`, `-r '^vfs_.*'`, `-p 181`, `-c 1` over `vfs_*` | kernel functions (matrix) |
//! | `funccount t:sched:sched_fork` | [`funccount_forks`]: no such tracepoint in any kernel since 2.6.32's rename; `t:sched:sched_process_fork` instead |
//! | `funccount -p 185 u:node:gc*` | not run: no node here (USDT globs: tests/usdt_probes.rs) |
//! | `funccount c:malloc` | [`funccount_malloc`] |
//! | `stackcount submit_bio`, `-d`, `-K`, `-U`, `ip_output`, `-s`, `-sv`, `'tcp_send*'`, `-r`, `-Ti 5`, `-p 185 ip_output`, `-c 1 put_prev_entity` | kernel functions (matrix) |
//! | `stackcount -p 185 c:malloc` | [`stackcount_malloc_user_stacks`] (this test's pid) |
//! | `stackcount -p 185 u:pthread:pthread_create` | not run: no USDT notes in Debian's glibc |
//! | `stackcount t:sched:sched_switch` | [`stackcount_sched_switch`] |
//! | `funclatency do_sys_open`, `-u vfs_read`, `-m do_nanosleep`, `-mTi 5 vfs_read`, `-p 181 vfs_read`, `'vfs_fstat*'`, `-F 'vfs_fstat*'` | kernel functions (matrix) |
//! | `funclatency c:read` | [`funclatency_libc_read`] |
//! | `funclatency -i 2 -d 10 c:read` | [`funclatency_libc_read_intervals`] (`-i 1 -d 2`: shorter, same meaning) |
//! | (issue 12) `funclatency c:read*` | [`funclatency_libc_glob`] (one uprobe.multi link each way: Linux 6.6+) |

mod common;

use bpfkit_testkit::privileged;
use common::{BOUND, BPFKIT, Run, TempDir};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `(key, count)` of every entry of the `counts` map record (argdist -C,
/// funccount), keys as text.
fn counts(records: &[Value]) -> Vec<(String, u64)> {
    let map = records
        .iter()
        .find(|r| r["type"] == "map" && r["map"] == "counts")
        .unwrap_or_else(|| panic!("no counts: {records:?}"));
    map["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let key = match &e["key"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, e["value"]["count"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// `(low, count)` of the non-empty buckets of every `hist` record.
fn buckets(records: &[Value]) -> Vec<(u64, u64)> {
    let hists: Vec<&Value> = records.iter().filter(|r| r["type"] == "hist").collect();
    assert!(!hists.is_empty(), "no histogram: {records:?}");
    hists
        .iter()
        .flat_map(|h| h["buckets"].as_array().expect("buckets").iter())
        .filter(|b| b["count"].as_u64().unwrap_or(0) > 0)
        .map(|b| {
            (
                b["low"].as_u64().unwrap_or(0),
                b["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The count of the log2 bucket that holds `value`.
fn bucket_of(buckets: &[(u64, u64)], value: u64) -> u64 {
    let low = if value < 2 {
        0
    } else {
        1 << (63 - value.leading_zeros())
    };
    buckets
        .iter()
        .filter(|(l, _)| *l == low)
        .map(|(_, c)| c)
        .sum()
}

/// `malloc(size)` and `free`, `times` times, through libc (not Rust's
/// allocator, which may cache).
#[inline(never)]
fn bcc_examples_malloc(size: usize, times: usize) {
    for _ in 0..times {
        // SAFETY: malloc/free of a block this loop owns.
        unsafe { libc::free(libc::malloc(size)) };
    }
}

/// A pipe: `(read end, write end)`.
fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    (fds[0], fds[1])
}

fn close(fd: i32) {
    // SAFETY: fd is a descriptor this test opened.
    unsafe { libc::close(fd) };
}

/// `times` writes of `len` bytes into a pipe, each read back whole.
fn pipe_round_trips(len: usize, times: usize) -> i32 {
    let (r, w) = pipe();
    let buf = vec![b'x'; len];
    let mut back = vec![0u8; len];
    for _ in 0..times {
        // SAFETY: buf and back hold len bytes.
        let wrote = unsafe { libc::write(w, buf.as_ptr().cast(), len) };
        assert_eq!(wrote, len as isize, "write");
        // SAFETY: as above.
        let read = unsafe { libc::read(r, back.as_mut_ptr().cast(), len) };
        assert_eq!(read, len as isize, "read");
    }
    close(r);
    close(w);
    w
}

/// `times` fork()s whose children exit at once, reaped.
fn fork_and_reap(times: usize) {
    for _ in 0..times {
        // SAFETY: the child only calls _exit, which is async-signal-safe.
        let child = unsafe { libc::fork() };
        assert!(child >= 0, "fork");
        if child == 0 {
            // SAFETY: see above.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: child is ours, status a valid out-pointer.
        unsafe { libc::waitpid(child, &mut status, 0) };
    }
}

/// Block I/O on the disk under the temp dir: a file written and fsync'd.
fn write_to_disk(dir: &TempDir) {
    for round in 0..4 {
        let path = dir.path().join(format!("block-{round}"));
        let mut file = std::fs::File::create(&path).expect("creating a file");
        file.write_all(&vec![round as u8; 64 * 1024])
            .expect("writing the file");
        file.sync_all().expect("fsync");
    }
}

/// Runs `bpfkit trace --json ARGS` with its output in a file (a pipe read
/// by this process would feed back: each line read mallocs, each malloc a
/// line), calls `cause` once it is attached, stops it with SIGINT and
/// returns `(output, bpfkit's pid)`.
fn trace_to_file(args: &[&str], cause: impl FnOnce()) -> (String, u32) {
    let _serial = common::serial();
    let dir = TempDir::new("bcc-examples");
    let out_path = dir.path().join("trace.json");
    let out = std::fs::File::create(&out_path).expect("creating the output file");
    let child = Command::new(BPFKIT)
        .args(["trace", "--json"])
        .args(args)
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning bpfkit trace");
    let deadline = Instant::now() + BOUND;
    while !std::fs::read_to_string(&out_path)
        .unwrap_or_default()
        .contains(r#""type":"attached""#)
    {
        assert!(Instant::now() < deadline, "bpfkit trace attached nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    cause();
    let bpfkit = child.id();
    // SAFETY: kill of our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(bpfkit as i32, libc::SIGINT) }, 0);
    let output = child.wait_with_output().expect("waiting for bpfkit trace");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out_path).expect("reading the output");
    assert!(
        text.ends_with("{\"type\":\"exit\",\"reason\":\"signal\",\"code\":0}\n"),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
    (text, bpfkit)
}

/// trace ':c:malloc "size = %d", arg1': every malloc of a size no one else
/// asks for is one line with its size.
#[test]
fn trace_malloc_sizes() {
    if !privileged("trace_malloc_sizes") {
        return;
    }
    let pid = std::process::id().to_string();
    // -p: system-wide, every malloc of the machine's compilers is an event,
    // and on a busy machine the ring buffer drops some of ours.
    let (text, _) = trace_to_file(&["-p", &pid, r#":c:malloc "size = %d", arg1"#], || {
        bcc_examples_malloc(12345, 7)
    });
    let ours = text
        .lines()
        .filter(|l| l.contains(r#""message":"size = 12345""#))
        .count();
    assert_eq!(ours, 7, "{}", &text[text.len().saturating_sub(2000)..]);
}

/// trace -s LIBC,/bin/ping 'p:c:inet_pton' -U: the user stack of this
/// test's inet_pton call, with libc (the file this process maps) and ping
/// (mapped by no one here: unused) as symbol files.
#[test]
fn trace_inet_pton_with_symbol_files() {
    if !privileged("trace_inet_pton_with_symbol_files") {
        return;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").expect("own maps");
    let Some(libc_path) = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libc.so.6"))
    else {
        eprintln!("skipped: this process maps no libc.so.6");
        return;
    };
    let mut files = libc_path.to_string();
    if std::path::Path::new("/bin/ping").exists() {
        files.push_str(",/bin/ping");
    }
    let pid = std::process::id().to_string();
    let (text, _) = trace_to_file(&["-p", &pid, "-s", &files, "-U", "p:c:inet_pton"], || {
        let address = std::ffi::CString::new("192.0.2.7").expect("no NUL");
        let mut out = [0u8; 4];
        unsafe extern "C" {
            // libc's (the libc crate does not declare it).
            fn inet_pton(
                af: libc::c_int,
                src: *const libc::c_char,
                dst: *mut libc::c_void,
            ) -> libc::c_int;
        }
        // SAFETY: a NUL-terminated string and a 4-byte buffer for AF_INET.
        let ok = unsafe { inet_pton(libc::AF_INET, address.as_ptr(), out.as_mut_ptr().cast()) };
        assert_eq!((ok, out), (1, [192, 0, 2, 7]));
    });
    let event: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["type"] == "event")
        .unwrap_or_else(|| panic!("no inet_pton event: {text}"));
    let user = event["user"].as_array().cloned().unwrap_or_default();
    assert!(
        user.first()
            .and_then(Value::as_str)
            .is_some_and(|f| f.contains("inet_pton")),
        "{event}"
    );
}

/// The same probe system-wide never shows bpfkit itself: printing a line
/// mallocs, and each of its mallocs was a line, without end.
#[test]
fn trace_system_wide_malloc_leaves_bpfkit_out() {
    if !privileged("trace_system_wide_malloc_leaves_bpfkit_out") {
        return;
    }
    let (text, bpfkit) = trace_to_file(&[r#":c:malloc "size = %d", arg1"#], || {
        bcc_examples_malloc(12345, 7);
        std::thread::sleep(Duration::from_millis(200));
    });
    let pid_field = format!("\"pid\":{bpfkit},");
    let own = text.lines().filter(|l| l.contains(&pid_field)).count();
    assert_eq!(own, 0, "bpfkit's own mallocs traced");
    assert!(text.contains(r#""message":"size = 12345""#), "ours seen");
}

/// trace 't:block:block_rq_complete "%d sectors", args->nr_sector'.
#[test]
fn trace_block_rq_complete_sectors() {
    if !privileged("trace_block_rq_complete_sectors") {
        return;
    }
    let dir = TempDir::new("bcc-examples");
    let mut run = Run::start_tool_attached(
        "trace",
        &[r#"t:block:block_rq_complete "%d sectors", args->nr_sector"#],
    );
    let event = run.wait_retriggering(
        "a completed block request",
        |r| {
            r["type"] == "event"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.ends_with(" sectors"))
        },
        || write_to_disk(&dir),
    );
    let message = event["message"].as_str().unwrap_or_default();
    let sectors: u64 = message
        .trim_end_matches(" sectors")
        .parse()
        .unwrap_or_else(|_| panic!("not a number of sectors: {event}"));
    assert!(sectors > 0, "{event}");
    run.stop();
}

/// argdist -p PID -C 'p:c:malloc(size_t size):size_t:size:size==16': only
/// the size 16 is counted, at least as often as this test asked for it.
#[test]
fn argdist_malloc_of_16_bytes() {
    if !privileged("argdist_malloc_of_16_bytes") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-C",
            "p:c:malloc(size_t size):size_t:size:size==16",
        ],
    );
    bcc_examples_malloc(16, 1000);
    bcc_examples_malloc(17, 1000);
    let counted = counts(&run.stop().records);
    assert_eq!(counted.len(), 1, "only size 16 passes: {counted:?}");
    assert_eq!(counted[0].0, "16", "{counted:?}");
    assert!(counted[0].1 >= 1000, "{counted:?}");
}

/// argdist -p PID -C 'p:c:write(int fd):int:fd': this test's writes into
/// one pipe, counted under its descriptor.
#[test]
fn argdist_writes_per_fd() {
    if !privileged("argdist_writes_per_fd") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("argdist", &["-p", &pid, "-C", "p:c:write(int fd):int:fd"]);
    let fd = pipe_round_trips(10, 9);
    let counted = counts(&run.stop().records);
    let ours = counted.iter().find(|(k, _)| *k == fd.to_string());
    assert_eq!(ours.map(|(_, c)| *c), Some(9), "fd {fd}: {counted:?}");
}

/// argdist -p PID -H 'r:c:read()': with no TYPE:EXPR, bcc histograms a
/// return probe's return value; reads of 100 bytes land in 64..127.
#[test]
fn argdist_read_return_histogram() {
    if !privileged("argdist_read_return_histogram") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("argdist", &["-p", &pid, "-H", "r:c:read()"]);
    pipe_round_trips(100, 11);
    let finished = run.stop();
    let hist = finished.records.iter().find(|r| r["type"] == "hist");
    assert!(
        hist.is_some_and(|h| h["unit"] == "$retval"),
        "labelled $retval: {hist:?}"
    );
    let buckets = buckets(&finished.records);
    assert!(bucket_of(&buckets, 100) >= 11, "{buckets:?}");
}

/// argdist -H 'p:c:write(int fd, const void *buf, size_t count):size_t:count:fd==1':
/// dd's writes of 3000 bytes to its stdout.
#[test]
fn argdist_stdout_write_sizes() {
    if !privileged("argdist_stdout_write_sizes") {
        return;
    }
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-H",
            "p:c:write(int fd, const void *buf, size_t count):size_t:count:fd==1",
        ],
    );
    let status = Command::new("dd")
        .args(["if=/dev/zero", "bs=3000", "count=5", "status=none"])
        .stdout(Stdio::null())
        .status()
        .expect("running dd");
    assert!(status.success(), "dd: {status}");
    let buckets = buckets(&run.stop().records);
    assert!(bucket_of(&buckets, 3000) >= 5, "{buckets:?}");
}

/// argdist -C 'p:c:fork():int:$PID#fork per process': forks counted per
/// process, under the label.
#[test]
fn argdist_forks_per_process() {
    if !privileged("argdist_forks_per_process") {
        return;
    }
    let run = Run::start_tool_attached("argdist", &["-C", "p:c:fork():int:$PID#fork per process"]);
    fork_and_reap(3);
    let finished = run.stop();
    let counted = counts(&finished.records);
    let pid = std::process::id().to_string();
    assert!(
        counted.contains(&(pid.clone(), 3)),
        "3 forks of {pid}: {counted:?}"
    );
}

/// argdist -H 't:block:block_rq_complete():u32:nr_sector' and
/// argdist -C 't:irq:irq_handler_entry():int:irq': the disk's requests and
/// the interrupts that complete them.
#[test]
fn argdist_block_sectors_and_irqs() {
    if !privileged("argdist_block_sectors_and_irqs") {
        return;
    }
    let dir = TempDir::new("bcc-examples");
    let run = Run::start_tool_attached(
        "argdist",
        &["-H", "t:block:block_rq_complete():u32:nr_sector"],
    );
    write_to_disk(&dir);
    let buckets = buckets(&run.stop().records);
    assert!(buckets.iter().any(|(low, _)| *low > 0), "{buckets:?}");

    let run = Run::start_tool_attached("argdist", &["-C", "t:irq:irq_handler_entry():int:irq"]);
    write_to_disk(&dir);
    let counted = counts(&run.stop().records);
    assert!(
        counted
            .iter()
            .all(|(irq, c)| irq.parse::<u32>().is_ok() && *c > 0),
        "{counted:?}"
    );
    assert!(!counted.is_empty(), "no interrupt after block I/O");
}

/// argdist -p 2780 -z 120 -C 'p:c:write(int fd, char* buf, size_t len):char*:buf:fd==1':
/// string values are not supported (nor -z, their length): one error that
/// says what is, and a non-zero exit.
#[test]
fn argdist_string_values_are_one_clear_error() {
    let out = Command::new(BPFKIT)
        .args([
            "argdist",
            "-C",
            "p:c:write(int fd, char* buf, size_t len):char*:buf:fd==1",
        ])
        .output()
        .expect("running bpfkit argdist");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("bpfkit: ") && stderr.contains("string values are not supported"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// funccount t:sched:sched_process_fork (the man page's sched_fork
/// tracepoint does not exist): at least this test's forks.
#[test]
fn funccount_forks() {
    if !privileged("funccount_forks") {
        return;
    }
    let run = Run::start_tool_attached("funccount", &["t:sched:sched_process_fork"]);
    fork_and_reap(4);
    let counted = counts(&run.stop().records);
    assert!(
        counted
            .iter()
            .any(|(name, c)| name.contains("sched_process_fork") && *c >= 4),
        "{counted:?}"
    );
}

/// funccount c:malloc: at least this test's calls.
#[test]
fn funccount_malloc() {
    if !privileged("funccount_malloc") {
        return;
    }
    let run = Run::start_tool_attached("funccount", &["c:malloc"]);
    bcc_examples_malloc(32, 500);
    let counted = counts(&run.stop().records);
    assert!(
        counted
            .iter()
            .any(|(name, c)| name == "malloc" && *c >= 500),
        "{counted:?}"
    );
}

/// stackcount -p PID c:malloc: bcc counts kernel and user stacks unless
/// -K or -U says one; a user function's hits have user stacks.
#[test]
fn stackcount_malloc_user_stacks() {
    if !privileged("stackcount_malloc_user_stacks") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("stackcount", &["-p", &pid, "c:malloc"]);
    bcc_examples_malloc(48, 50);
    let finished = run.stop();
    // Frame-pointer walks from a function's first instruction skip its
    // caller, so only the innermost frame is certain: malloc itself.
    let ours: u64 = finished
        .records
        .iter()
        .filter(|s| s["type"] == "stack" && s["pid"] == std::process::id())
        .filter(|s| {
            s["user"]
                .as_array()
                .and_then(|frames| frames.first())
                .and_then(Value::as_str)
                .is_some_and(|f| f.ends_with("malloc"))
        })
        .map(|s| s["weight"].as_u64().unwrap_or(0))
        .sum();
    assert!(ours >= 50, "{:?}", finished.records);
}

/// stackcount t:sched:sched_switch: this test's sleeps switch out through
/// the scheduler.
#[test]
fn stackcount_sched_switch() {
    if !privileged("stackcount_sched_switch") {
        return;
    }
    let run = Run::start_tool_attached("stackcount", &["t:sched:sched_switch"]);
    for _ in 0..5 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let finished = run.stop();
    let through_schedule = finished.records.iter().any(|s| {
        s["type"] == "stack"
            && s["kernel"].as_array().is_some_and(|frames| {
                frames
                    .iter()
                    .any(|f| f.as_str().is_some_and(|f| f.contains("schedule")))
            })
    });
    assert!(through_schedule, "{:?}", finished.records);
}

/// funclatency c:read: at least this test's reads in the histogram.
#[test]
fn funclatency_libc_read() {
    if !privileged("funclatency_libc_read") {
        return;
    }
    let run = Run::start_tool_attached("funclatency", &["c:read"]);
    pipe_round_trips(8, 13);
    let buckets = buckets(&run.stop().records);
    let total: u64 = buckets.iter().map(|(_, c)| c).sum();
    assert!(total >= 13, "{buckets:?}");
}

/// funclatency -i 1 -d 2 c:read: histograms every interval, and the run
/// ends by itself.
#[test]
fn funclatency_libc_read_intervals() {
    if !privileged("funclatency_libc_read_intervals") {
        return;
    }
    let run = Run::start_tool_attached("funclatency", &["-i", "1", "-d", "2", "c:read"]);
    pipe_round_trips(8, 13);
    let finished = run.finish();
    let hists = finished
        .records
        .iter()
        .filter(|r| r["type"] == "hist")
        .count();
    assert!(hists >= 1, "{:?}", finished.records);
    let total: u64 = buckets(&finished.records).iter().map(|(_, c)| c).sum();
    assert!(total >= 13, "{:?}", finished.records);
}

/// The issue's `funclatency c:read*` (bcc's man page times `'vfs_fstat*'`,
/// a kernel glob): every libc function that matches, in one histogram.
#[test]
fn funclatency_libc_glob() {
    if !privileged("funclatency_libc_glob") {
        return;
    }
    let dir = TempDir::new("bcc-examples");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("target", &link).expect("creating a symlink");
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached("funclatency", &["-p", &pid, "c:readlink*"]);
    // 3 readlink (std's read_link) and 3 readlinkat: both match.
    for _ in 0..3 {
        std::fs::read_link(&link).expect("readlink");
    }
    let path = std::ffi::CString::new(link.as_os_str().as_encoded_bytes()).expect("a C path");
    let mut buf = [0u8; 64];
    for _ in 0..3 {
        // SAFETY: a NUL-terminated path and a buffer of buf.len() bytes.
        let n = unsafe {
            libc::readlinkat(
                libc::AT_FDCWD,
                path.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        assert_eq!(n, 6, "readlinkat");
    }
    let buckets = buckets(&run.stop().records);
    let total: u64 = buckets.iter().map(|(_, c)| c).sum();
    assert_eq!(total, 6, "{buckets:?}");
}

/// argdist's -n COUNT and -c (bcc's options, in its usage text): two
/// prints, then the run ends; with -c the second still holds the calls
/// made before the first (without it, each print starts from zero).
#[test]
fn argdist_number_of_prints_and_cumulative() {
    if !privileged("argdist_number_of_prints_and_cumulative") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-i",
            "1",
            "-n",
            "2",
            "-c",
            "-C",
            "p:c:getppid():int:$PID",
        ],
    );
    for _ in 0..4 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    let finished = run.finish();
    let prints: Vec<&Value> = finished
        .records
        .iter()
        .filter(|r| r["type"] == "map" && r["map"] == "counts")
        .collect();
    assert_eq!(prints.len(), 2, "{:?}", finished.records);
    for print in prints {
        let counted = counts(std::slice::from_ref(print));
        assert_eq!(counted, [(pid.clone(), 4)], "{print}");
    }
}

/// trace 'r:bash:readline "%s", retval': a line typed into an interactive
/// bash (on a terminal that script(1) gives it) is the string readline
/// returns. An untyped return value printed with %s is a string, as bcc.
#[test]
fn trace_bash_readline_returns_the_line() {
    if !privileged("trace_bash_readline_returns_the_line") {
        return;
    }
    if !std::path::Path::new("/usr/bin/script").exists() {
        eprintln!("skipping trace_bash_readline_returns_the_line: no script(1)");
        return;
    }
    let mut run = Run::start_tool_attached("trace", &[r#"r:bash:readline "%s", retval"#]);
    let mut shell = Command::new("script")
        .args(["-qc", "bash --norc --noprofile -i", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning script");
    let mut input = shell.stdin.take().expect("script's stdin");
    input
        .write_all(b"echo bcc-readline-line\nexit\n")
        .expect("typing into bash");
    drop(input);
    let line = run.wait_for("readline's line", |r| {
        r["type"] == "event" && r["message"] == "echo bcc-readline-line"
    });
    assert_eq!(line["data"]["comm"], "bash", "{line}");
    let _ = shell.wait();
    run.stop();
}

/// bcc's `-I HEADER` (trace_example.txt, argdist's usage) is accepted with
/// a note, as nothing is compiled; an entry specifier with no TYPE:EXPR
/// counts calls (bcc's value 1).
#[test]
fn include_headers_are_a_note_and_entry_specifiers_count_calls() {
    if !privileged("include_headers_are_a_note_and_entry_specifiers_count_calls") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &["-I", "linux/sched.h", "-p", &pid, "-C", "p:c:getppid()"],
    );
    for _ in 0..3 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    let finished = run.stop();
    assert_eq!(counts(&finished.records), [("1".to_string(), 3)]);
    assert!(
        finished.stderr.contains("-I linux/sched.h ignored"),
        "{}",
        finished.stderr
    );
}
