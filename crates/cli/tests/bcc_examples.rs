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
//! | `trace '::sys_read (arg3 > 20000) "read %d bytes", arg3'` | [`trace_sys_functions_are_syscall_tracepoints`]: no kernel function sys_read since 4.17 (bcc fails on it): the syscall's tracepoint, as `SyS_NAME` |
//! | `trace ':c:malloc "size = %d", arg1'` | [`trace_malloc_sizes`] (with -p: system-wide, a busy machine's mallocs overflow the ring buffer) |
//! | `trace 'r:bash:readline "%s", retval'` | [`trace_bash_readline_returns_the_line`] (bash on script(1)'s terminal) |
//! | `trace 't:block:block_rq_complete "%d sectors", args->nr_sector'` | [`trace_block_rq_complete_sectors`] |
//! | `trace 'u:pthread:pthread_create "start addr = %llx", arg3'` | not run: Debian's glibc has no USDT notes (no .note.stapsdt in libc.so.6; libpthread.so.0 is a stub); one clear error |
//! | `trace 'p::SyS_nanosleep(struct timespec *ts) ...'` | one clear error: SyS_nanosleep is the syscall's tracepoint (as SyS_chown), whose arguments take no struct walks (`ts->tv_nsec`) |
//! | `trace -s LIBC,/bin/ping 'p:c:inet_pton' -U` | [`trace_inet_pton_with_symbol_files`] (this test's pid; a stripped binary named through `-s`: tests/trace_stacks.rs) |
//! | `argdist -H 'p::__kmalloc(u64 size):u64:size'` | kernel function (matrix) |
//! | `argdist -p 1005 -C 'p:c:malloc(size_t size):size_t:size:size==16'` | [`argdist_malloc_of_16_bytes`] (this test's pid) |
//! | `argdist -C 'r:c:gets():char*:$retval'` | not run: glibc 2.36 keeps gets only as a compat symbol nothing here calls; an untyped value made a string by its TYPE char* is [`argdist_several_specifiers_in_one_run`] (`p:c:write():char*:arg2`) |
//! | `argdist -H 'r::__vfs_read(...):size_t:$entry(count):$latency > 1000000'` | kernel function (matrix); `$entry(NAME)` and `$latency` with a filter on uprobes: [`argdist_latency_and_entry_arguments_of_usleep`] (and in trace's format: [`trace_latency_and_entry_arguments_of_usleep`]) |
//! | `argdist -p 1005 -C 'p:c:write(int fd):int:fd'` | [`argdist_writes_per_fd`] (this test's pid) |
//! | `argdist -p 1005 -H 'r:c:read()'` | [`argdist_read_return_histogram`] (this test's pid) |
//! | `argdist -H 'p:c:write(int fd, const void *buf, size_t count):size_t:count:fd==1'` | [`argdist_stdout_write_sizes`] |
//! | `argdist -C 'p:c:fork():int:$PID;fork per process'` | [`argdist_forks_per_process`] (`#label`: bcc's argdist.py splits the label at '#'; the man page's ';' is stale and fails in bcc too) |
//! | `argdist -H 't:block:block_rq_complete():u32:nr_sector'` | [`argdist_block_sectors_and_irqs`] |
//! | `argdist -C 't:irq:irq_handler_entry():int:irq'` | [`argdist_block_sectors_and_irqs`] |
//! | `argdist -C 'u:pthread:pthread_start():u64:arg2' -p 1337` | not run: no USDT notes in Debian's glibc |
//! | `argdist -H 'p:c:sleep(u32 seconds):u32:seconds' -H 'p:c:nanosleep(...):long:req->tv_nsec'` | [`argdist_two_histograms`]: the first as it is, with `usleep` as the second; a member of a user struct (`req->tv_nsec`) is one clear error ([`argdist_bad_specifiers_are_one_clear_error`]): members are read from kernel function arguments only |
//! | `argdist -p 2780 -z 120 -C 'p:c:write(int fd, char* buf, size_t len):char*:buf:fd==1'` | [`argdist_written_strings_counted`] (a pipe of this test's pid, not stdout); -z and -T: [`argdist_string_size_and_top`]; bcc's table: [`argdist_table_is_bcc_layout`] |
//! | `argdist -C 'p::__vfs_read(struct file *file, ...):char*,size_t:...'` | kernel function (matrix); a string and a number in one key here: [`argdist_several_specifiers_in_one_run`] |
//! | (issue 12) `argdist -C 't:syscalls:sys_enter_openat():char*:args->filename'` | [`argdist_opened_file_names_counted`] |
//! | (issue 12) several -C and -H with -i, -n, -c | [`argdist_several_specifiers_in_one_run`], [`argdist_intervals_print_every_specifier`] |
//! | `funccount 'vfs_*'`, `'tcp_send*'`, `-i 1`, `-d 10`, `-r '^vfs_.*'`, `-p 181`, `-c 1` over `vfs_*` | kernel functions (matrix) |
//! | `funccount t:sched:sched_fork` | [`funccount_forks`]: no such tracepoint in any kernel since 2.6.32's rename; `t:sched:sched_process_fork` instead |
//! | `funccount -p 185 u:node:gc*` | not run: no node here (USDT globs: tests/usdt_probes.rs) |
//! | `funccount c:malloc` | [`funccount_malloc`] |
//! | `stackcount submit_bio`, `-d`, `-K`, `-U`, `ip_output`, `-s`, `-sv`, `'tcp_send*'`, `-r`, `-Ti 5`, `-p 185 ip_output`, `-c 1 put_prev_entity` | kernel functions (matrix); `-c` (CPU): [`stackcount_counts_one_cpu`] |
//! | `stackcount -p 185 c:malloc` | [`stackcount_malloc_user_stacks`] (this test's pid) |
//! | `stackcount -p 185 u:pthread:pthread_create` | not run: no USDT notes in Debian's glibc |
//! | `stackcount t:sched:sched_switch` | [`stackcount_sched_switch`] |
//! | `funclatency do_sys_open`, `-u vfs_read`, `-m do_nanosleep`, `-mTi 5 vfs_read`, `-p 181 vfs_read`, `'vfs_fstat*'`, `-F 'vfs_fstat*'` | kernel functions (matrix) |
//! | `funclatency c:read` | [`funclatency_libc_read`] |
//! | `funclatency -i 2 -d 10 c:read` | [`funclatency_libc_read_intervals`] (`-i 1 -d 2`: shorter, same meaning) |
//! | (issue 12) `funclatency c:read*` | [`funclatency_libc_glob`] (one uprobe.multi link each way: Linux 6.6+) |
//!
//! bcc's docs/tutorial.md, "2. Observability with Generic Tools" (2.1
//! trace; 2.2 argdist and 2.3 funccount only link the `_example.txt`
//! files):
//!
//! | tutorial line | here |
//! |---|---|
//! | `trace.py 'p::SyS_chown "file = %s, ..."' 'p::SyS_fchown ...' 'p::SyS_lchown ...'` | [`tutorial_trace_chown_syscalls`], unchanged: `SyS_NAME` (the syscall functions before 4.17) is syscall NAME's tracepoint, no kprobes needed; also the matrix case `tutorial-chown` |
//! | `trace.py -p 1134138 't:sched:sched_switch (args->prev_state == TASK_STATE_MAX \|\| args->prev_state == 0)'` | [`tutorial_trace_switches_of_a_process_and_a_thread`]: TASK_STATE_MAX is a header macro, not in BTF: one clear error; with a number in its place (0x100, TASK_REPORT_MAX: what sched_switch reports for a preempted task since 4.14, where bcc's filter matches nothing) it runs |
//! | `trace.py -L 1134140 't:sched:sched_switch (...)'` | the same test, `-L` |
//! | `strace trace.py 'r:bash:readline "%s", retval'` | [`trace_bash_readline_returns_the_line`] |
//! | `trace.py 'r::uprobe_register "ret = %d", retval'` | kernel function: matrix case `tutorial-uprobe-ret` |
//! | `trace.py -I 'linux/fs.h' 'p::uprobe_register(struct inode *inode) "a_ops = %llx", inode->i_mapping->a_ops'` | kernel function: matrix case `tutorial-uprobe-aops` (`-I` is a note: types come from BTF) |
//!
//! The `_example.txt` files the tutorial links (tools/trace_example.txt,
//! argdist_example.txt, funccount_example.txt), where they differ from the
//! man pages above:
//!
//! | example | here |
//! |---|---|
//! | `trace 'p:c:open (STRCMP("test.txt", arg1)) "opening %s", arg1' -T` | [`trace_example_strcmp_filter`] (STRCMP is `==` on strings) |
//! | `trace 'r:c:read ((int)retval < 0) "read failed: %d", retval' 'r:c:write ((int)retval < 0) ...' -T` | [`trace_example_cast_in_filter`] (C casts, [`trace_casts_cut_and_extend`]) |
//! | `trace 'p:c:open(char *filename) "opening %s", filename'` | runs (signature names: tests/trace.rs) |
//! | `trace 't:block:block_rq_complete "sectors=%d", args->nr_sector' -T` | as the man page's [`trace_block_rq_complete_sectors`] |
//! | `trace 'u:pthread:pthread_create "%U", arg3' -T -C` | not run: no USDT notes in Debian's glibc (one clear error); `-C` (CPU column): [`trace_print_cpu_column`] |
//! | `trace 'u:ruby:method__entry "%s.%s", arg1, arg2' -p $(pidof irb) -T` | not run: no ruby here (USDT arguments: tests/usdt_probes.rs) |
//! | `trace 'sys_execve "%s", arg1'`, `'sys_read (arg3 > 20000) ...'`, `sys_open` | [`trace_sys_functions_are_syscall_tracepoints`] (`sys_NAME` is the syscall's tracepoint where BTF has no such function) |
//! | `trace 'do_sys_open "%s", arg2@user' -UK -f temp` / `-n out` / `-p 2740 ... -T`, `-U -a 'r::sys_futex "%d", retval'`, `'p::SyS_nanosleep(struct timespec *ts) "sleep for %lld ns", ts->tv_nsec'` | kernel functions (matrix; do_sys_open is do_sys_openat2 since 5.6); `-f` (message filter) and `-a` (addresses in stacks) are not supported; SyS_nanosleep's `ts->tv_nsec` walks a struct, which tracepoint arguments cannot (one clear error) |
//! | `trace -s LIBC,/bin/ping 'p:c:inet_pton' -U`, `trace.py 'sys_setsockopt(...)(... STRCMP("{0x6C, ...}", optval))' -U -M 1 --bin_cmp` | not run: `-s` and `--bin_cmp` are not supported |
//! | `argdist -c -C 'p:c:write():int:$PID#write per process' -n 2` | [`argdist_example_number_of_prints_without_interval`] (`-n` without `-i`: every second, as bcc) |
//! | `argdist -c -H 'p:c:write(int fd, void *buf, size_t len):size_t:len'`, `-c -H '...:len:fd==1'`, `-i 10 -c -H 'r:c:read()'`, `-p 2420 -c -C 'p:c:malloc(size_t size):size_t:size'` | run (the man page's tests above cover each form) |
//! | `argdist -C 't:net:net_dev_start_xmit():u16:args->protocol'` | runs |
//! | `argdist -H 'r:c:malloc(size_t size):u64:$latency/$entry(size);ns per byte' -n 1 -i 10`, `-c -H 'r:c:open(char *file):u64:$latency/1000:STRCMP("test.txt",$entry(file))'`, `-C 'r::__vfs_read():u32:$PID:$latency > 100000'` | the first runs (`$latency/$entry(size)`; the label after `#`, as bcc's argdist.py, not the stale `;`); the second is one clear error: `$entry()` keeps numbers, not strings (`$entry(file)` compared as a string); the third is a kernel function (matrix). `$latency`, `$entry()`: [`argdist_latency_and_entry_arguments_of_usleep`] |
//! | `argdist -C 't:syscalls:sys_exit_epoll_wait():char*:$COMM'`, `-i 10 -n 1 -C 'p:c:puts(char *str):char*:str'`, `-C 'r:c:gets():char*:(char*)$retval:$retval!=0'` | not run: string values: one clear error |
//! | `argdist -c -C 'p::__kmalloc(size_t size, gfp_t flags):gfp_t,size_t:flags,size'`, `-i 3 -n 2 -H 'p::__kmalloc(size_t size):size_t:size'` | kernel functions (matrix); two values in one specifier are not supported |
//! | `funccount -r 'c:(write|read)$'`, `funccount t:block:*` | run (as [`funccount_malloc`], tests/funccount_uprobes.rs) |
//! | `funccount u:pthread:*mutex* -p 1442` | not run: libpthread.so.0 has no USDT notes and no functions (glibc 2.34+ moved them to libc): one error naming both; `u:LIB:PROBE` on USDT: tests/usdt_probes.rs |
//! | `funccount -p 1442 contentions:*`, `/home/ubuntu/contentions:*` | not run: no such program here (a program's functions: tests/funccount_uprobes.rs) |
//! | `funccount 'vfs_*'`, `'tcp_*'`, `'*tcp*send*'`, `'*readdir*'`, `-i 1 'vfs_*'`, `-i 1 -d 5 vfs_read`, `-d 5 vfs_read`, `-i 1 -c 1 lapic_next_deadline` | kernel functions (matrix: `funccount-k`); `-c` (CPU): [`funccount_counts_one_cpu`] |

mod common;

use bpfkit_testkit::privileged;
use common::{BOUND, BPFKIT, Run, TempDir, map_counts};
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
    let mut cause = Some(cause);
    trace_to_file_until(
        args,
        move || cause.take().into_iter().for_each(|c| c()),
        &[],
    )
}

/// [`trace_to_file`], calling `cause` again every half second until the
/// output holds every text of `until`: a system-wide probe on a busy
/// machine (every malloc) fills the ring buffer, and the events that find
/// it full are not sent.
fn trace_to_file_until(args: &[&str], mut cause: impl FnMut(), until: &[&str]) -> (String, u32) {
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
    let mut next_cause = Instant::now() + Duration::from_millis(500);
    while !until.is_empty() {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        if until.iter().all(|needle| text.contains(needle)) || Instant::now() > deadline {
            break;
        }
        if Instant::now() > next_cause {
            cause();
            next_cause = Instant::now() + Duration::from_millis(500);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
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
    let (text, bpfkit) = trace_to_file_until(
        &[r#":c:malloc "size = %d", arg1"#],
        || {
            bcc_examples_malloc(12345, 7);
            std::thread::sleep(Duration::from_millis(200));
        },
        &[r#""message":"size = 12345""#],
    );
    let pid_field = format!("\"pid\":{bpfkit},");
    let own = text.lines().filter(|l| l.contains(&pid_field)).count();
    assert_eq!(own, 0, "bpfkit's own mallocs traced");
    let lost: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""type":"lost"#))
        .collect();
    assert!(
        text.contains(r#""message":"size = 12345""#),
        "ours not seen; {} events, lost: {lost:?}",
        text.lines().count()
    );
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

/// Each string written `times` times into `fd` with libc's write, its
/// length without the NUL that follows it in memory (so that a probe
/// reading `buf` as a C string sees exactly the string).
fn write_strings(fd: i32, strings: &[(&str, usize)]) {
    for (text, times) in strings {
        let c = std::ffi::CString::new(*text).expect("no NUL inside");
        for _ in 0..*times {
            // SAFETY: c holds text.len() bytes (and a NUL).
            let wrote = unsafe { libc::write(fd, c.as_ptr().cast(), text.len()) };
            assert_eq!(wrote, text.len() as isize, "write");
        }
    }
}

/// argdist -p 2780 -z 120 -C 'p:c:write(int fd, char* buf, size_t len):char*:buf:fd==1'
/// (into a pipe of this test instead of stdout): each string written is
/// a key, counted exactly.
#[test]
fn argdist_written_strings_counted() {
    if !privileged("argdist_written_strings_counted") {
        return;
    }
    let (r, w) = pipe();
    let pid = std::process::id().to_string();
    let spec = format!("p:c:write(int fd, char* buf, size_t len):char*:buf:fd=={w}");
    let run = Run::start_tool_attached("argdist", &["-p", &pid, "-z", "120", "-C", &spec]);
    write_strings(w, &[("argdist-alpha", 3), ("argdist-beta", 2)]);
    let counted = map_counts(&run.stop().records, "counts");
    close(r);
    close(w);
    assert_eq!(
        counted,
        [
            (Value::from("argdist-alpha"), 3),
            (Value::from("argdist-beta"), 2)
        ]
    );
}

/// argdist -C 't:syscalls:sys_enter_openat():char*:args->filename': a
/// syscall tracepoint's user string as the key.
#[test]
fn argdist_opened_file_names_counted() {
    if !privileged("argdist_opened_file_names_counted") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-C",
            "t:syscalls:sys_enter_openat():char*:args->filename",
        ],
    );
    let dir = TempDir::new("argdist-open");
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for path in [&one, &two, &one] {
        // Missing files: the syscall is made all the same.
        assert!(std::fs::File::open(path).is_err(), "{path:?} exists");
    }
    let counted = map_counts(&run.stop().records, "counts");
    let ours: Vec<&(Value, u64)> = counted
        .iter()
        .filter(|(key, _)| {
            key.as_str()
                .is_some_and(|k| k.starts_with(&*dir.path().to_string_lossy()))
        })
        .collect();
    let name = |p: &std::path::Path| Value::from(p.to_string_lossy().to_string());
    assert_eq!(ours, [&(name(&one), 2), &(name(&two), 1)], "{counted:?}");
}

/// Several specifiers in one run, one object: a string and a number
/// together as the key (`char*,size_t:buf,count`), the man page's
/// `int,size_t:fd,count`, an untyped argument made a string by its TYPE
/// (`p:c:write():char*:arg2`), and a histogram of the lengths.
#[test]
fn argdist_several_specifiers_in_one_run() {
    if !privileged("argdist_several_specifiers_in_one_run") {
        return;
    }
    let (r, w) = pipe();
    let pid = std::process::id().to_string();
    let sig = "p:c:write(int fd, char *buf, size_t count)";
    let string_and_length = format!("{sig}:char*,size_t:buf,count:fd=={w}");
    let fd_and_length = format!("{sig}:int,size_t:fd,count:fd=={w}");
    let untyped = format!("p:c:write():char*:arg2:arg1=={w}");
    let lengths = format!("{sig}:size_t:count:fd=={w}");
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-C",
            &string_and_length,
            "-H",
            &lengths,
            "-C",
            &fd_and_length,
            "-C",
            &untyped,
        ],
    );
    write_strings(w, &[("argdist-alpha", 3), ("argdist-beta", 2)]);
    let records = run.stop().records;
    close(r);
    close(w);
    let key = |text: &str, count: usize| serde_json::json!({"buf": text, "count": count});
    assert_eq!(
        map_counts(&records, "counts"),
        [(key("argdist-alpha", 13), 3), (key("argdist-beta", 12), 2)]
    );
    let key = |count: usize| serde_json::json!({"fd": w, "count": count});
    assert_eq!(
        map_counts(&records, "counts_2"),
        [(key(12), 2), (key(13), 3)]
    );
    assert_eq!(
        map_counts(&records, "counts_3"),
        [
            (Value::from("argdist-alpha"), 3),
            (Value::from("argdist-beta"), 2)
        ]
    );
    // Lengths 12 and 13 are both in 8..15.
    assert_eq!(buckets(&records), [(8, 5)]);
}

/// argdist -H 'p:c:sleep(u32 seconds):u32:seconds' -H 'p:c:usleep(u32 usec):u32:usec':
/// two histograms in one run, each of its own calls.
#[test]
fn argdist_two_histograms() {
    if !privileged("argdist_two_histograms") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-H",
            "p:c:sleep(u32 seconds):u32:seconds",
            "-H",
            "p:c:usleep(u32 usec):u32:usec",
        ],
    );
    for _ in 0..2 {
        // SAFETY: sleep has no preconditions.
        unsafe { libc::sleep(0) };
    }
    for _ in 0..3 {
        // SAFETY: usleep has no preconditions.
        unsafe { libc::usleep(100) };
    }
    let records = run.stop().records;
    let of = |map: &str| {
        let hist: Vec<Value> = records
            .iter()
            .filter(|r| r["type"] == "hist" && r["map"] == map)
            .cloned()
            .collect();
        buckets(&hist)
    };
    assert_eq!(of("hist"), [(0, 2)], "{records:?}");
    assert_eq!(of("hist_2"), [(64, 3)], "{records:?}");
}

/// This test's `usleep(us)` calls: 20 ms three times, 3 ms twice, each
/// well inside its log2 bucket of nanoseconds (16.7-33.5 ms, 2.1-4.2 ms)
/// whatever the timer slack and probe overhead add.
fn sleep_known_times() {
    for us in [20_000, 3_000, 20_000, 3_000, 20_000] {
        // SAFETY: usleep has no preconditions.
        unsafe { libc::usleep(us) };
    }
}

/// The issue's `argdist -H 'r:c:usleep(unsigned int us):u64:$latency'`, with
/// `-C ...:$entry(us)` and the filter `$latency > 5000000` (bcc's
/// `$latency > 1000000` of `r::__vfs_read`) in the same run: each call's
/// time in its bucket, the calls counted per argument as it was at entry,
/// and only the long ones kept by the filter.
#[test]
fn argdist_latency_and_entry_arguments_of_usleep() {
    if !privileged("argdist_latency_and_entry_arguments_of_usleep") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-p",
            &pid,
            "-C",
            "r:c:usleep(unsigned int us):u32:$entry(us)",
            "-C",
            "r:c:usleep(unsigned int us):u32:$entry(us):$latency > 5000000",
            "-H",
            "r:c:usleep(unsigned int us):u64:$latency",
        ],
    );
    sleep_known_times();
    let records = run.stop().records;
    // Sorted by the key's text.
    let per_argument = [(Value::from(20000), 3), (Value::from(3000), 2)];
    assert_eq!(map_counts(&records, "counts"), per_argument, "{records:?}");
    let long_ones = [(Value::from(20000), 3)];
    assert_eq!(map_counts(&records, "counts_2"), long_ones, "{records:?}");
    assert_eq!(
        buckets(&records),
        [(1 << 21, 2), (1 << 24, 3)],
        "{records:?}"
    );
}

/// `$latency` and `$entry(NAME)` in a return probe's format and filter too
/// (`trace`): a message per long call, with its argument and its time.
#[test]
fn trace_latency_and_entry_arguments_of_usleep() {
    if !privileged("trace_latency_and_entry_arguments_of_usleep") {
        return;
    }
    let pid = std::process::id().to_string();
    let run = Run::start_tool_attached(
        "trace",
        &[
            "-p",
            &pid,
            r#"r:c:usleep(unsigned int us) ($entry(us) > 10000) "%u us: %u ns", $entry(us), $latency"#,
        ],
    );
    sleep_known_times();
    let records = run.stop().records;
    let messages: Vec<&str> = records
        .iter()
        .filter(|r| r["type"] == "event")
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert_eq!(messages.len(), 3, "{records:?}");
    for message in messages {
        let nanoseconds = message
            .strip_prefix("20000 us: ")
            .and_then(|ns| ns.strip_suffix(" ns"))
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("not '20000 us: N ns': {message}"));
        assert!((20_000_000..1 << 25).contains(&nanoseconds), "{message}");
    }
}

/// `$latency` and `$entry()` need a function's entry: on an entry probe or
/// a tracepoint they are one clear error, as an unknown argument is.
#[test]
fn latency_and_entry_outside_return_probes_are_one_clear_error() {
    for (specifier, says) in [
        (
            "p:c:usleep(unsigned int us):u64:$latency",
            "belong to r: probes",
        ),
        (
            "t:syscalls:sys_enter_nanosleep():u64:$entry(rqtp)",
            "belong to r: probes",
        ),
        (
            "r:c:usleep(unsigned int us):u64:$entry(nope)",
            "no field 'nope'",
        ),
        (
            "r:c:usleep(unsigned int us):u64:$entry(us",
            "')' to close $entry",
        ),
    ] {
        let out = Command::new(BPFKIT)
            .args(["argdist", "-H", specifier])
            .output()
            .expect("running bpfkit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{specifier}: {stderr}");
        assert!(stderr.contains(says), "{specifier}: {stderr}");
        assert!(!stderr.contains("panicked"), "{specifier}: {stderr}");
    }
}

/// -z 4 keeps 4 characters of each string (bcc reads STRING_SIZE bytes),
/// so `alpha-one` and `alphabet` are one key; -T 1 shows only the most
/// frequent.
#[test]
fn argdist_string_size_and_top() {
    if !privileged("argdist_string_size_and_top") {
        return;
    }
    let (r, w) = pipe();
    let pid = std::process::id().to_string();
    let spec = format!("p:c:write(int fd, char *buf, size_t count):char*:buf:fd=={w}");
    let run = Run::start_tool_attached("argdist", &["-p", &pid, "-z", "4", "-T", "1", "-C", &spec]);
    write_strings(w, &[("alpha-one", 3), ("beta-two", 2), ("alphabet", 1)]);
    let counted = map_counts(&run.stop().records, "counts");
    close(r);
    close(w);
    assert_eq!(counted, [(Value::from("alph"), 4)]);
}

/// The table as bcc prints it: each count under its specifier, `COUNT
/// EVENT` and `EXPR = VALUE` pairs, the most frequent first.
#[test]
fn argdist_table_is_bcc_layout() {
    if !privileged("argdist_table_is_bcc_layout") {
        return;
    }
    let (r, w) = pipe();
    let pid = std::process::id().to_string();
    let sig = "p:c:write(int fd, char *buf, size_t count)";
    let strings = format!("{sig}:char*:buf:fd=={w}");
    let pairs = format!("{sig}:char*,size_t:buf,count:fd=={w}#writes");
    let run = common::tool::ToolRun::start("argdist", &["-p", &pid, "-C", &strings, "-C", &pairs]);
    write_strings(w, &[("argdist-alpha", 3), ("argdist-beta", 2)]);
    let out = run.stop();
    close(r);
    close(w);
    let first = format!(
        "{strings}\nCOUNT      EVENT\n3          buf = argdist-alpha\n2          buf = argdist-beta\n"
    );
    let second = "writes\nCOUNT      EVENT\n3          buf = argdist-alpha, count = 13\n\
                  2          buf = argdist-beta, count = 12\n";
    assert!(out.stdout.contains(&first), "{}", out.stdout);
    assert!(out.stdout.contains(second), "{}", out.stdout);
}

/// What argdist cannot do is one error and exit status 1: a histogram of
/// strings, TYPEs that do not pair with the expressions, a TYPE char* on a
/// number, a key larger than a map key may be.
#[test]
fn argdist_bad_specifiers_are_one_clear_error() {
    let sig = "p:c:write(int fd, char* buf, size_t len)";
    for (args, wanted) in [
        (
            vec!["-H".to_string(), format!("{sig}:char*:buf")],
            "a histogram needs a number, not a string",
        ),
        (
            vec!["-C".to_string(), format!("{sig}:char*:buf,len")],
            "1 type(s) for 2 expression(s)",
        ),
        (
            vec!["-C".to_string(), format!("{sig}:char*:len")],
            "the TYPE is char* but this is a number",
        ),
        (
            vec!["-C".to_string(), format!("{sig}:int:buf")],
            "this is a string: give it the TYPE char*",
        ),
        (
            vec![
                "-z".into(),
                "600".into(),
                "-C".into(),
                format!("{sig}:char*:buf"),
            ],
            "a map key has at most 512",
        ),
        (
            vec![
                "-C".to_string(),
                format!("{sig}:size_t,size_t:len,len"),
                "-H".into(),
                format!("{sig}:size_t,size_t:len,len"),
            ],
            "a histogram takes one value",
        ),
    ] {
        let out = Command::new(BPFKIT)
            .arg("argdist")
            .args(&args)
            .output()
            .expect("running bpfkit argdist");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("bpfkit: ") && stderr.contains(wanted),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
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

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is an empty set; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: set is a valid cpu_set_t of `size` bytes.
    let got = unsafe { libc::sched_getaffinity(0, size, &mut set) };
    assert_eq!(got, 0, "sched_getaffinity");
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: cpu < CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// `times` getppid calls from a thread pinned to CPU `cpu`.
fn getppid_on_cpu(cpu: usize, times: usize) {
    std::thread::spawn(move || {
        // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET adds cpu.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: cpu < CPU_SETSIZE (it came from sched_getaffinity).
        unsafe { libc::CPU_SET(cpu, &mut set) };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: set is a valid cpu_set_t; 0 is this thread.
        let pinned = unsafe { libc::sched_setaffinity(0, size, &set) };
        assert_eq!(pinned, 0, "pinning to CPU {cpu}");
        for _ in 0..times {
            // SAFETY: getppid has no preconditions.
            unsafe { libc::getppid() };
        }
    })
    .join()
    .expect("the pinned thread");
}

/// bcc's `funccount -c CPU` (trace this CPU only): of getppid calls made
/// on two CPUs, only the chosen CPU's are counted; a CPU the machine cannot
/// have is one clear error.
#[test]
fn funccount_counts_one_cpu() {
    if !privileged("funccount_counts_one_cpu") {
        return;
    }
    let records = getppid_counted_on_one_cpu("funccount", 7);
    let counted = counts(&records);
    assert_eq!(counted, [("sys_enter_getppid".to_string(), 7)]);
}

/// bcc's `stackcount -c CPU`: as funccount's, the hits on that CPU only.
#[test]
fn stackcount_counts_one_cpu() {
    if !privileged("stackcount_counts_one_cpu") {
        return;
    }
    let records = getppid_counted_on_one_cpu("stackcount", 4);
    let hits: u64 = records
        .iter()
        .filter(|r| r["type"] == "stack")
        .filter_map(|r| r["weight"].as_u64())
        .sum();
    assert_eq!(hits, 4, "{records:?}");
}

/// `TOOL -p PID -c CPU t:syscalls:sys_enter_getppid` while this process
/// calls getppid `times` times on one CPU and 5 times on another (where it
/// may run on two); its records. A CPU the machine cannot have is one
/// clear error.
fn getppid_counted_on_one_cpu(tool: &str, times: usize) -> Vec<Value> {
    let cpus = allowed_cpus();
    let (chosen, other) = (cpus[cpus.len() - 1], cpus[0]);
    let pid = std::process::id().to_string();
    let cpu = chosen.to_string();
    let tracepoint = "t:syscalls:sys_enter_getppid";
    let run = Run::start_tool_attached(tool, &["-p", &pid, "-c", &cpu, tracepoint]);
    getppid_on_cpu(chosen, times);
    if other != chosen {
        getppid_on_cpu(other, 5);
    }
    let records = run.stop().records;
    let out = Command::new(BPFKIT)
        .args([tool, "-c", "100000", tracepoint])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("-c 100000: no such CPU"), "{stderr}");
    records
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

/// -i, -n and -c apply to every specifier: two prints of both maps, the
/// second (cumulative) still holding what came before the first.
#[test]
fn argdist_intervals_print_every_specifier() {
    if !privileged("argdist_intervals_print_every_specifier") {
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
            "-C",
            "p:c:getpgrp()",
        ],
    );
    for _ in 0..4 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
        // SAFETY: nor has getpgrp.
        unsafe { libc::getpgrp() };
    }
    let finished = run.finish();
    for (map, key) in [("counts", pid.clone()), ("counts_2", "1".to_string())] {
        let prints: Vec<&Value> = finished
            .records
            .iter()
            .filter(|r| r["type"] == "map" && r["map"] == map)
            .collect();
        assert_eq!(prints.len(), 2, "{map}: {:?}", finished.records);
        for print in prints {
            let counted = map_counts(std::slice::from_ref(print), map);
            assert_eq!(
                counted,
                [(Value::from(key.parse::<u64>().unwrap_or(0)), 4)],
                "{print}"
            );
        }
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

// bcc's docs/tutorial.md, "Observability with Generic Tools" (2.1 trace;
// 2.2 argdist and 2.3 funccount only point at the _example.txt files).

/// Tutorial 2.1, example 1, unchanged: `p::SyS_chown` and friends, the
/// syscall functions of kernels before 4.17, are the syscalls' entry
/// tracepoints (no kprobes needed), arguments `arg1`.. in their order. The
/// test makes one chown, fchown and lchown with owners no one else uses.
#[test]
fn tutorial_trace_chown_syscalls() {
    if !privileged("tutorial_trace_chown_syscalls") {
        return;
    }
    let dir = TempDir::new("bcc-tutorial");
    let file = dir.path().join("owned");
    let link = dir.path().join("owned-link");
    std::fs::write(&file, b"x").expect("creating the file");
    std::os::unix::fs::symlink(&file, &link).expect("linking the file");
    let mut run = Run::start_tool_attached(
        "trace",
        &[
            r#"p::SyS_chown "file = %s, to_uid = %d, to_gid = %d, from_uid = %d", arg1, arg2, arg3, $uid"#,
            r#"p::SyS_fchown "fd = %d, to_uid = %d, to_gid = %d, from_uid = %d", arg1, arg2, arg3, $uid"#,
            r#"p::SyS_lchown "file = %s, to_uid = %d, to_gid = %d, from_uid = %d", arg1, arg2, arg3, $uid"#,
        ],
    );
    let c_path = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL in the path")
    };
    let (file_c, link_c) = (c_path(&file), c_path(&link));
    let fd = std::fs::File::open(&file).expect("opening the file");
    use std::os::fd::AsRawFd;
    // SAFETY: valid NUL-terminated paths and an open descriptor.
    unsafe {
        assert_eq!(libc::chown(file_c.as_ptr(), 4241, 4251), 0);
        assert_eq!(libc::fchown(fd.as_raw_fd(), 4242, 4252), 0);
        assert_eq!(libc::lchown(link_c.as_ptr(), 4243, 4253), 0);
    }
    let ours = |seen: &[Value]| -> Vec<(String, String)> {
        seen.iter()
            .filter(|r| r["type"] == "event")
            .filter(|r| {
                r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("to_uid = 424"))
            })
            .map(|r| {
                (
                    r["data"]["probe"].as_str().unwrap_or("?").to_string(),
                    r["message"].as_str().unwrap_or("?").to_string(),
                )
            })
            .collect()
    };
    run.wait_until("the three chown calls", |seen| ours(seen).len() >= 3);
    let finished = run.stop();
    let uid = unsafe { libc::getuid() };
    assert_eq!(
        ours(&finished.records),
        [
            (
                "SyS_chown".to_string(),
                format!(
                    "file = {}, to_uid = 4241, to_gid = 4251, from_uid = {uid}",
                    file.display()
                )
            ),
            (
                "SyS_fchown".to_string(),
                format!(
                    "fd = {}, to_uid = 4242, to_gid = 4252, from_uid = {uid}",
                    fd.as_raw_fd()
                )
            ),
            (
                "SyS_lchown".to_string(),
                format!(
                    "file = {}, to_uid = 4243, to_gid = 4253, from_uid = {uid}",
                    link.display()
                )
            ),
        ]
    );
}

/// Tutorial 2.1, example 2. Unchanged, its filter names `TASK_STATE_MAX`,
/// a macro of the kernel's headers that BTF does not carry: one clear
/// error saying so. (Since 4.14 sched_switch reports a preempted task as
/// TASK_REPORT_MAX, not TASK_RUNNING|TASK_STATE_MAX, so bcc's filter
/// keeps only `prev_state == 0` there too.) With a number in its place,
/// `-p PID` and `-L TID` keep the switches of that process or thread:
/// two threads of this test pinned to one CPU yield to each other, each
/// yield a switch away from a running task (prev_state 0).
#[test]
fn tutorial_trace_switches_of_a_process_and_a_thread() {
    if !privileged("tutorial_trace_switches_of_a_process_and_a_thread") {
        return;
    }
    // One bpfkit at a time: others' events would crowd this one's.
    let _serial = common::serial();
    const TUTORIAL: &str =
        "t:sched:sched_switch (args->prev_state == TASK_STATE_MAX || args->prev_state == 0)";
    let pid = std::process::id().to_string();
    let out = Command::new(BPFKIT)
        .args(["trace", "-p", &pid, TUTORIAL])
        .output()
        .expect("running bpfkit trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("'TASK_STATE_MAX' looks like a C macro"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        3,
        "one error, its probe, its caret: {stderr}"
    );

    let filter = TUTORIAL.replace("TASK_STATE_MAX", "0x100");
    for by_thread in [false, true] {
        let yielders = Yielders::start();
        let tid = yielders.tids[0];
        let (flag, target) = if by_thread {
            ("-L", tid.to_string())
        } else {
            ("-p", pid.clone())
        };
        // Output to a file: with -p this process, a pipe it reads would feed
        // its own reads back as switches.
        let (text, _) = trace_to_file(&[flag, &target, &filter], || yielders.go());
        let events: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["type"] == "event")
            .collect();
        assert!(events.len() >= 100, "{flag}: {} switches", events.len());
        for event in &events {
            assert_eq!(event["data"]["pid"], std::process::id(), "{event}");
            assert_eq!(event["data"]["probe"], "sched_switch", "{event}");
            if by_thread {
                assert_eq!(event["data"]["tid"], tid, "{event}");
            }
        }
    }
}

/// Two threads pinned to one CPU that, once released, call sched_yield
/// 2000 times each: every call switches to the other.
struct Yielders {
    tids: Vec<i64>,
    go: std::sync::mpsc::Sender<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Yielders {
    fn start() -> Yielders {
        let (go, release) = std::sync::mpsc::channel::<()>();
        let release = std::sync::Arc::new(std::sync::Mutex::new(release));
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let threads = (0..2)
            .map(|_| {
                let (release, tid_tx, barrier) = (release.clone(), tid_tx.clone(), barrier.clone());
                std::thread::spawn(move || {
                    // SAFETY: a zeroed cpu_set_t with CPU 0 set, for this thread.
                    unsafe {
                        let mut set: libc::cpu_set_t = std::mem::zeroed();
                        libc::CPU_SET(0, &mut set);
                        libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
                    }
                    // SAFETY: gettid has no preconditions.
                    tid_tx
                        .send(i64::from(unsafe { libc::gettid() }))
                        .expect("sending the tid");
                    let _ = release.lock().expect("the release channel").recv();
                    barrier.wait();
                    for _ in 0..2000 {
                        // SAFETY: sched_yield has no preconditions.
                        unsafe { libc::sched_yield() };
                    }
                })
            })
            .collect();
        let tids = (0..2).map(|_| tid_rx.recv().expect("a tid")).collect();
        Yielders { tids, go, threads }
    }

    /// Releases both threads and waits for them.
    fn go(self) {
        for _ in 0..2 {
            self.go.send(()).expect("releasing a thread");
        }
        for thread in self.threads {
            thread.join().expect("a yielding thread");
        }
    }
}

// bcc's tools/trace_example.txt and argdist_example.txt: the commands the
// tutorial points at, where they showed gaps.

/// `trace 'p:c:open (STRCMP("test.txt", arg1)) "opening %s", arg1' -T`:
/// bcc's STRCMP is string equality; only the open of test.txt is shown.
#[test]
fn trace_example_strcmp_filter() {
    if !privileged("trace_example_strcmp_filter") {
        return;
    }
    let open = |name: &std::ffi::CStr| {
        // SAFETY: a NUL-terminated path; the files do not exist (the probe
        // fires on entry all the same).
        let fd = unsafe { libc::open(name.as_ptr(), libc::O_RDONLY) };
        if fd >= 0 {
            close(fd);
        }
    };
    let (text, _) = trace_to_file(
        &[
            r#"p:c:open (STRCMP("test.txt", arg1)) "opening %s", arg1"#,
            "-T",
        ],
        || {
            open(c"other.txt");
            open(c"test.txt");
            open(c"test.txt.not");
        },
    );
    let pid = i64::from(std::process::id());
    let ours: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "event" && r["data"]["pid"] == pid)
        .map(|r| r["message"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(ours, ["opening test.txt"], "{text}");
}

/// `trace 'r:c:read ((int)retval < 0) "read failed: %d", retval'
/// 'r:c:write ((int)retval < 0) "write failed: %d", retval' -T`: C casts
/// in filters; a failed read and write of this test each one line.
#[test]
fn trace_example_cast_in_filter() {
    if !privileged("trace_example_cast_in_filter") {
        return;
    }
    let (text, _) = trace_to_file(
        &[
            r#"r:c:read ((int)retval < 0) "read failed: %d", retval"#,
            r#"r:c:write ((int)retval < 0) "write failed: %d", retval"#,
            "-T",
        ],
        || {
            let mut byte = [0u8; 1];
            // SAFETY: -1 is no descriptor: both fail with EBADF.
            unsafe {
                assert_eq!(libc::read(-1, byte.as_mut_ptr().cast(), 1), -1);
                assert_eq!(libc::write(-1, byte.as_ptr().cast(), 1), -1);
            }
        },
    );
    let pid = i64::from(std::process::id());
    let ours: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "event" && r["data"]["pid"] == pid)
        .map(|r| {
            (
                r["data"]["probe"].as_str().unwrap_or("?").to_string(),
                r["message"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    assert_eq!(
        ours,
        [
            ("read".to_string(), "read failed: -1".to_string()),
            ("write".to_string(), "write failed: -1".to_string())
        ],
        "{text}"
    );
}

/// Casts keep C's meaning: `(unsigned char)` cuts to the low byte,
/// `(short)` sign-extends 16 bits (65535 is -1).
#[test]
fn trace_casts_cut_and_extend() {
    if !privileged("trace_casts_cut_and_extend") {
        return;
    }
    let pid = std::process::id().to_string();
    let (text, _) = trace_to_file(
        &[
            "-p",
            &pid,
            r#"p:c:getpgid ((short)arg1 == -1) "%d %d", (unsigned char)arg1, (int)(short)arg1"#,
        ],
        || {
            // SAFETY: getpgid of no such process fails, nothing else.
            unsafe {
                libc::getpgid(65535);
                libc::getpgid(0x1ff);
            }
        },
    );
    let messages: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "event")
        .map(|r| r["message"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(messages, ["255 -1"], "{text}");
}

/// `argdist -c -C 'p:c:write():int:$PID#write per process' -n 2`: -n
/// without -i prints every second, as bcc's argdist, and stops after two.
#[test]
fn argdist_example_number_of_prints_without_interval() {
    if !privileged("argdist_example_number_of_prints_without_interval") {
        return;
    }
    let started = Instant::now();
    let run = Run::start_tool_attached(
        "argdist",
        &[
            "-c",
            "-C",
            "p:c:write():int:$PID#write per process",
            "-n",
            "2",
        ],
    );
    let finished = run.finish();
    let elapsed = started.elapsed();
    let maps = finished
        .records
        .iter()
        .filter(|r| r["type"] == "map")
        .count();
    assert_eq!(maps, 2, "{:?}", finished.records);
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
}

/// bcc trace's -C (--print_cpu): a CPU column before PID.
#[test]
fn trace_print_cpu_column() {
    if !privileged("trace_print_cpu_column") {
        return;
    }
    // One bpfkit at a time: others' events would crowd this one's.
    let _serial = common::serial();
    let pid = std::process::id().to_string();
    let child = Command::new(BPFKIT)
        .args(["trace", "-C", "-M", "1", "-d", "10s", "-p", &pid])
        .arg("t:syscalls:sys_enter_getppid")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning bpfkit trace");
    // getppid until bpfkit has its one event (-M 1) and ends.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let caller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::getppid() };
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let output = child.wait_with_output().expect("waiting for bpfkit trace");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    caller.join().expect("the getppid thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        header,
        ["CPU", "PID", "TID", "COMM", "FUNC", "-"],
        "{stdout}"
    );
    let row: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert!(row.len() >= 5 && row[0].parse::<u32>().is_ok(), "{stdout}");
    assert_eq!(row[1], pid, "{stdout}");
}

/// The man page's `trace '::sys_read (arg3 > 20000) "read %d bytes", arg3'`
/// and trace_example.txt's `trace 'sys_execve "%s", arg1'`: no x86-64
/// kernel has had `sys_NAME` functions since 4.17 (bcc fails on them), and
/// where BTF has none they are the syscalls' tracepoints, as `SyS_NAME`.
#[test]
fn trace_sys_functions_are_syscall_tracepoints() {
    if !privileged("trace_sys_functions_are_syscall_tracepoints") {
        return;
    }
    let pid = std::process::id();
    let (text, _) = trace_to_file_until(
        &[
            r#"::sys_read (arg3 > 20000) "read %d bytes", arg3"#,
            r#"sys_execve "%s", arg1"#,
        ],
        || {
            let zero = std::fs::File::open("/dev/zero").expect("opening /dev/zero");
            let mut buf = vec![0u8; 30001];
            use std::os::fd::AsRawFd;
            // SAFETY: a buffer of the length passed.
            let n = unsafe { libc::read(zero.as_raw_fd(), buf.as_mut_ptr().cast(), 30001) };
            assert_eq!(n, 30001);
            // SAFETY: as above, under the filter's 20000 bytes.
            unsafe { libc::read(zero.as_raw_fd(), buf.as_mut_ptr().cast(), 100) };
            let status = Command::new("/bin/true")
                .status()
                .expect("running /bin/true");
            assert!(status.success());
        },
        &[
            r#""message":"read 30001 bytes""#,
            r#""message":"/bin/true""#,
        ],
    );
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "event")
        .collect();
    let reads: Vec<&str> = events
        .iter()
        .filter(|r| r["data"]["pid"] == pid && r["data"]["probe"] == "sys_read")
        .filter_map(|r| r["message"].as_str())
        .collect();
    // Other tests of this binary may read big files meanwhile, and the
    // reads are made again until seen: ours are the 30001-byte reads, not
    // the 100-byte ones.
    let of = |m: &str| reads.iter().filter(|r| **r == m).count();
    assert!(of("read 30001 bytes") >= 1, "{text}");
    assert_eq!(of("read 100 bytes"), 0, "{text}");
    assert!(
        events
            .iter()
            .any(|r| r["data"]["probe"] == "sys_execve" && r["message"] == "/bin/true"),
        "{text}"
    );
    assert!(
        text.contains(r#""hook":"tracepoint syscalls:sys_enter_read""#),
        "{text}"
    );
}
