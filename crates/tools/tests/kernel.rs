//! The kernel halves in the running kernel: every tool's best usable variant
//! passes the verifier and attaches, kprobe variants pass the verifier, and
//! the tools report what the tests themselves cause (an exec, an open, a
//! signal, a mount, disk reads...). Loaded with aya directly: the generic
//! runtime lives in another crate. Dropping the `Ebpf` detaches and unloads
//! everything, also when a test fails.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use aya::maps::{CgroupArray, MapData};
use aya::programs::KProbe;
use bpfkit_object::Hook;
use bpfkit_testkit::unique;
use common::session::{Global, Session, attach_variant, load};
use common::working_variant;

#[test]
fn every_tool_attaches_its_best_usable_variant() {
    if !bpfkit_testkit::privileged("every_tool_attaches_its_best_usable_variant") {
        return;
    }
    for spec in bpfkit_tools::all() {
        let (mut ebpf, info) = load(spec.name, &[]);
        let variant = working_variant(spec, &info).expect("a working variant");
        // XDP and tc programs need an interface: tools2_net attaches them.
        if variant
            .programs
            .iter()
            .any(|p| matches!(info.hook(p), Hook::Xdp | Hook::Tc { .. }))
        {
            continue;
        }
        attach_variant(&mut ebpf, &info, variant).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
    }
}

/// kprobes cannot attach here, but their programs must still pass the verifier.
#[test]
fn kprobe_variants_pass_the_verifier() {
    if !bpfkit_testkit::privileged("kprobe_variants_pass_the_verifier") {
        return;
    }
    let mut checked = 0;
    for spec in bpfkit_tools::all() {
        let (mut ebpf, info) = load(spec.name, &[]);
        for variant in spec.variants {
            for name in variant.programs {
                if !matches!(info.hook(name), Hook::Kprobe { .. }) {
                    continue;
                }
                let p: &mut KProbe = ebpf
                    .program_mut(name)
                    .expect("program")
                    .try_into()
                    .expect("kprobe");
                p.load()
                    .unwrap_or_else(|e| panic!("{}: {name}: {e}", spec.name));
                checked += 1;
            }
        }
    }
    // biosnoop and oomkill one each, tcpconnect 4, tcpconnlat 3, tcprtt 1,
    // tcpretrans 1 (-l), tcpaccept 1, capable 2, tcpsynbl 2, tcptracer 1,
    // tcptop 2; the file system tools 8 per file system (read, write, open
    // and fsync entry and return): fsslower and fsdist 5 file systems each,
    // their ext4/xfs/btrfs aliases one each: 128.
    assert_eq!(checked, 19 + 128);
}

#[test]
fn execsnoop_reports_an_exec_with_its_arguments() {
    if !bpfkit_testkit::privileged("execsnoop_reports_an_exec_with_its_arguments") {
        return;
    }
    let mut s = Session::start("execsnoop", None, &[]);
    let marker = unique("execsnoop");
    let status = Command::new("/bin/echo")
        .arg(&marker)
        .stdout(Stdio::null())
        .status()
        .expect("echo");
    assert!(status.success());
    let event = s.wait_event(|e| e.has_arg(&marker));
    assert_eq!(event.str("comm"), "echo");
    assert_eq!(event.u32("ppid"), std::process::id());
    assert_eq!(event.i32("retval"), 0);
    assert_eq!(event.i32("args_count"), 2);
    assert_eq!(event.args(), format!("/bin/echo\0{marker}\0").as_bytes());
}

#[test]
fn execsnoop_reports_failed_execs_with_include_failed() {
    if !bpfkit_testkit::privileged("execsnoop_reports_failed_execs_with_include_failed") {
        return;
    }
    let mut s = Session::start("execsnoop", None, &[("include_failed", Global::U8(1))]);
    let path = format!("/nonexistent/{}", unique("execsnoop-x"));
    assert!(Command::new(&path).status().is_err());
    let event = s.wait_event(|e| e.str("args") == path);
    assert_eq!(event.i32("retval"), -libc::ENOENT);
}

#[test]
fn execsnoop_cuts_arguments_at_max_args() {
    if !bpfkit_testkit::privileged("execsnoop_cuts_arguments_at_max_args") {
        return;
    }
    let mut s = Session::start("execsnoop", None, &[("max_args", Global::I32(3))]);
    let marker = unique("execsnoop-max");
    let status = Command::new("/bin/echo")
        .args([marker.as_str(), "b", "c", "d"])
        .stdout(Stdio::null())
        .status()
        .expect("echo");
    assert!(status.success());
    let event = s.wait_event(|e| e.has_arg(&marker));
    // max_args + 1: more arguments than shown.
    assert_eq!(event.i32("args_count"), 4);
    assert_eq!(event.args(), format!("/bin/echo\0{marker}\0b\0").as_bytes());
}

/// A scratch cgroup (v2), removed on drop.
struct ScratchCgroup(std::path::PathBuf);

impl Drop for ScratchCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn execsnoop_cgroup_filter_keeps_only_that_cgroup() {
    if !bpfkit_testkit::privileged("execsnoop_cgroup_filter_keeps_only_that_cgroup") {
        return;
    }
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    let cgroup = ScratchCgroup(unified.join(unique("cg")));
    if let Err(e) = std::fs::create_dir(&cgroup.0) {
        eprintln!(
            "skipping execsnoop_cgroup_filter_keeps_only_that_cgroup: no cgroup v2 at {unified:?}: {e}"
        );
        return;
    }
    let mut s = Session::start("execsnoop", None, &[("filter_cg", Global::U8(1))]);
    let dir = std::fs::File::open(&cgroup.0).expect("cgroup directory");
    let map = s.ebpf.map_mut("cgroup_map").expect("cgroup_map");
    let mut cgroups: CgroupArray<&mut MapData> = CgroupArray::try_from(map).expect("cgroup array");
    cgroups.set(0, dir, 0).expect("cgroup fd into cgroup_map");

    let outside = unique("cg-outside");
    let inside = unique("cg-inside");
    let status = Command::new("/bin/echo")
        .arg(&outside)
        .stdout(Stdio::null())
        .status();
    assert!(status.expect("echo").success());
    // The shell moves itself into the cgroup, then execs echo there.
    let procs = cgroup.0.join("cgroup.procs");
    let script = format!("echo $$ > {} && exec /bin/echo {inside}", procs.display());
    let status = Command::new("/bin/sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .status();
    assert!(status.expect("sh").success());

    // Events arrive in order: the outside exec would come first.
    let saw_outside = std::cell::Cell::new(false);
    s.wait_event(|e| {
        saw_outside.set(saw_outside.get() || e.has_arg(&outside));
        e.has_arg(&inside)
    });
    assert!(
        !saw_outside.get(),
        "an exec outside the cgroup was reported"
    );
}

#[test]
fn exitsnoop_reports_the_exit_code() {
    if !bpfkit_testkit::privileged("exitsnoop_reports_the_exit_code") {
        return;
    }
    let mut s = Session::start("exitsnoop", None, &[]);
    let child = Command::new("/bin/sh")
        .args(["-c", "exit 7"])
        .spawn()
        .expect("sh");
    let pid = child.id();
    let status = child.wait_with_output().expect("wait").status;
    assert_eq!(status.code(), Some(7));
    let event = s.wait_event(|e| e.u32("pid") == pid);
    assert_eq!(event.i32("exit_code"), 7);
    assert_eq!(event.i32("sig"), 0);
    assert_eq!(event.u32("ppid"), std::process::id());

    let mut child = Command::new("/bin/sleep").arg("30").spawn().expect("sleep");
    let pid = child.id();
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let event = s.wait_event(|e| e.u32("pid") == pid);
    assert_eq!(
        (event.i32("sig"), event.i32("exit_code")),
        (libc::SIGKILL, 0)
    );
}

#[test]
fn opensnoop_reports_a_failed_open_of_this_process() {
    if !bpfkit_testkit::privileged("opensnoop_reports_a_failed_open_of_this_process") {
        return;
    }
    let me = std::process::id() as i32;
    let mut s = Session::start("opensnoop", None, &[("targ_pid", Global::I32(me))]);
    let path = format!("/nonexistent/{}", unique("opensnoop"));
    assert!(std::fs::File::open(&path).is_err());
    let event = s.wait_event(|e| e.str("fname") == path);
    assert_eq!(event.i32("fd"), -1);
    assert_eq!(event.i32("err"), libc::ENOENT);
    assert_eq!(event.i32("pid"), me);
}

#[test]
fn statsnoop_reports_a_failed_stat() {
    if !bpfkit_testkit::privileged("statsnoop_reports_a_failed_stat") {
        return;
    }
    let mut s = Session::start("statsnoop", None, &[]);
    let path = format!("/nonexistent/{}", unique("statsnoop"));
    assert!(std::fs::metadata(&path).is_err());
    let event = s.wait_event(|e| e.str("pathname") == path);
    assert_eq!(event.i32("ret"), -1);
    assert_eq!(event.i32("err"), libc::ENOENT);
}

/// Kills a `sleep` child with SIGTERM and returns its pid.
fn kill_a_child() -> u32 {
    let mut child = Command::new("/bin/sleep").arg("30").spawn().expect("sleep");
    let pid = child.id();
    // SAFETY: kill has no memory preconditions; pid is our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let _ = child.wait();
    pid
}

fn check_signal_event(s: &mut Session, pid: u32) {
    let event = s.wait_event(|e| e.u32("tpid") == pid);
    assert_eq!(event.i32("sig"), libc::SIGTERM);
    assert_eq!(event.i32("ret"), 0);
    assert_eq!(event.u32("pid"), std::process::id());
}

#[test]
fn killsnoop_reports_kill() {
    if !bpfkit_testkit::privileged("killsnoop_reports_kill") {
        return;
    }
    let me = std::process::id();
    let mut s = Session::start("killsnoop", None, &[("filtered_pid", Global::U32(me))]);
    let pid = kill_a_child();
    check_signal_event(&mut s, pid);
}

#[test]
fn sigsnoop_reports_a_signal_in_both_modes() {
    if !bpfkit_testkit::privileged("sigsnoop_reports_a_signal_in_both_modes") {
        return;
    }
    for variant in ["tracepoint", "kill"] {
        let mut s = Session::start(
            "sigsnoop",
            Some(variant),
            &[("target_signal", Global::I32(libc::SIGTERM))],
        );
        let pid = kill_a_child();
        check_signal_event(&mut s, pid);
    }
}

/// Unmounts (if still mounted) and removes a scratch mount point.
struct MountPoint(std::path::PathBuf);

impl Drop for MountPoint {
    fn drop(&mut self) {
        if let Ok(c) = std::ffi::CString::new(self.0.as_os_str().as_encoded_bytes()) {
            // SAFETY: a valid NUL-terminated path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn mountsnoop_reports_mount_and_umount() {
    if !bpfkit_testkit::privileged("mountsnoop_reports_mount_and_umount") {
        return;
    }
    let me = std::process::id() as i32;
    let mut s = Session::start("mountsnoop", None, &[("target_pid", Global::I32(me))]);
    let dir = MountPoint(std::env::temp_dir().join(unique("mountsnoop")));
    std::fs::create_dir_all(&dir.0).expect("mount point");
    let target = dir.0.to_str().expect("utf-8 path").to_string();
    let c_target = std::ffi::CString::new(target.clone()).expect("path");
    // SAFETY: valid NUL-terminated strings; data may be NULL.
    let mounted = unsafe {
        libc::mount(
            c"bpfkit".as_ptr(),
            c_target.as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    assert_eq!(
        mounted,
        0,
        "mount tmpfs: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: as above.
    assert_eq!(unsafe { libc::umount2(c_target.as_ptr(), 0) }, 0);

    let mount = s.wait_event(|e| e.str("dest") == target && e.u32("op") == 0);
    assert_eq!(
        (mount.str("src"), mount.str("fs"), mount.i32("ret")),
        ("bpfkit".into(), "tmpfs".into(), 0)
    );
    let umount = s.wait_event(|e| e.str("dest") == target && e.u32("op") == 1);
    assert_eq!(umount.i32("ret"), 0);
}

#[test]
fn syscount_counts_this_process() {
    if !bpfkit_testkit::privileged("syscount_counts_this_process") {
        return;
    }
    let me = std::process::id();
    let s = Session::start(
        "syscount",
        None,
        &[
            ("filter_pid", Global::I32(me as i32)),
            ("count_by_process", Global::U8(1)),
            ("measure_latency", Global::U8(1)),
        ],
    );
    let count_at = s.info.offset_of("data_t", "count");
    let comm_at = s.info.offset_of("data_t", "comm");
    let rows = s.hash_values::<u32, 40>("data", |rows| {
        // Make some syscalls while waiting.
        let _ = std::fs::metadata("/");
        !rows.is_empty()
    });
    assert!(
        rows.iter().all(|(pid, _)| *pid == me),
        "only this process: {:?}",
        rows.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let value = &rows[0].1;
    assert!(u64::from_ne_bytes(value[count_at..count_at + 8].try_into().unwrap()) > 0);
    assert_ne!(value[comm_at], 0, "comm is filled in");
}

/// Sum of the u32 slots starting at byte `at` of `value`, `n` of them.
fn slot_sum(value: &[u8], at: usize, n: usize) -> u64 {
    value[at..at + 4 * n]
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes(c.try_into().unwrap()) as u64)
        .sum()
}

/// Makes the scheduler work: threads that sleep and wake up.
fn wake_threads() {
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| std::thread::sleep(Duration::from_millis(1))))
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[test]
fn runqlat_fills_one_histogram() {
    if !bpfkit_testkit::privileged("runqlat_fills_one_histogram") {
        return;
    }
    let s = Session::start("runqlat", None, &[]);
    let rows = s.hash_values::<u32, 120>("hists", |rows| {
        wake_threads();
        rows.iter().any(|(_, v)| slot_sum(v, 0, 26) > 0)
    });
    assert!(
        rows.iter().all(|(k, _)| *k == u32::MAX),
        "without -P/-L one histogram, key -1"
    );
}

#[test]
fn runqslower_reports_with_a_zero_threshold() {
    if !bpfkit_testkit::privileged("runqslower_reports_with_a_zero_threshold") {
        return;
    }
    // min_us = 0 reports every wait, also those under a microsecond.
    let mut s = Session::start("runqslower", None, &[("min_us", Global::U64(0))]);
    let event = s.wait_event(|e| {
        wake_threads();
        !e.str("task").is_empty()
    });
    assert!(event.u32("pid") > 0, "the idle task never waits");
}

#[test]
fn runqlen_samples_run_queues() {
    if !bpfkit_testkit::privileged("runqlen_samples_run_queues") {
        return;
    }
    let s = Session::start("runqlen", None, &[]);
    s.array_values::<128>("hists", |hists| {
        hists.first().is_some_and(|h| slot_sum(h, 0, 32) > 0)
    });
}

#[test]
fn softirqs_sums_time_per_vector() {
    if !bpfkit_testkit::privileged("softirqs_sums_time_per_vector") {
        return;
    }
    let s = Session::start("softirqs", None, &[]);
    let count_at = s.info.offset_of("info", "count");
    s.array_values::<104>("infos", |infos| {
        wake_threads();
        infos
            .iter()
            .any(|v| u64::from_ne_bytes(v[count_at..count_at + 8].try_into().unwrap()) > 0)
    });
}

/// What `direct_io` did.
struct DirectIo {
    /// The kernel dev_t of the file system, when it is a whole disk (block
    /// requests carry the disk's, not a partition's).
    whole_disk: Option<u32>,
    /// The process that read the file back.
    reader: u32,
}

/// Writes and reads back a scratch file with O_DIRECT, so that the I/O
/// reaches the disk.
fn direct_io() -> DirectIo {
    use std::os::unix::fs::MetadataExt;
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("bio"));
    let path = file.to_str().expect("utf-8 path");
    let dd = |args: &[&str]| {
        let mut child = Command::new("dd")
            .args(args)
            .stderr(Stdio::null())
            .spawn()
            .expect("dd");
        let pid = child.id();
        assert!(child.wait().expect("dd").success(), "dd {args:?}");
        pid
    };
    dd(&[
        "if=/dev/zero",
        &format!("of={path}"),
        "bs=4096",
        "count=8",
        "oflag=direct",
        "conv=fsync",
    ]);
    let reader = dd(&[
        &format!("if={path}"),
        "of=/dev/null",
        "bs=4096",
        "count=8",
        "iflag=direct",
    ]);
    let dev = std::fs::metadata(&file).expect("scratch file").dev();
    let _ = std::fs::remove_file(&file);
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let whole_disk =
        !std::path::Path::new(&format!("/sys/dev/block/{major}:{minor}/partition")).exists();
    DirectIo {
        whole_disk: whole_disk.then_some(major << 20 | minor),
        reader,
    }
}

#[test]
fn block_tools_see_direct_io() {
    if !bpfkit_testkit::privileged("block_tools_see_direct_io") {
        return;
    }
    let mut biosnoop = Session::start("biosnoop", None, &[]);
    let biolatency = Session::start("biolatency", None, &[("targ_per_disk", Global::U8(1))]);
    let biopattern = Session::start("biopattern", None, &[]);
    // Handlers are always counted (TOTAL_count), per CPU with per_cpu.
    let hardirqs = Session::start("hardirqs", None, &[("per_cpu", Global::U8(1))]);
    let io = direct_io();

    // dd's own start-up may read its binary (readahead, "RA"); the direct
    // reads of the file are single blocks.
    let event = biosnoop.wait_event(|e| {
        e.u32("pid") == io.reader && e.str("rwbs").starts_with('R') && !e.str("rwbs").contains('A')
    });
    assert_eq!(event.str("comm"), "dd");
    assert_eq!(event.u32("len"), 4096);
    assert!(event.u64("delta_ns") > 0, "completed after it was issued");
    let dev = event.u32("dev");
    assert_ne!(dev, 0);
    if let Some(expected) = io.whole_disk {
        assert_eq!(dev, expected, "dev_t as major << 20 | minor");
    }

    let hists = biolatency.hash_values::<[u8; 12], 108>("hists", |rows| !rows.is_empty());
    let dev_of = |k: &[u8; 12]| u32::from_ne_bytes(k[..4].try_into().unwrap());
    assert!(
        hists
            .iter()
            .any(|(k, v)| dev_of(k) == dev && slot_sum(v, 0, 27) > 0)
    );

    // The first completion only sets the position; later ones count bytes.
    let bytes_at = biopattern.info.offset_of("counter", "bytes");
    biopattern.hash_values::<u32, 24>("counters", |rows| {
        rows.iter()
            .any(|(k, v)| *k == dev && v[bytes_at..bytes_at + 8].iter().any(|&b| b != 0))
    });

    // Completions interrupt: some handler (virtio-blk's here) was counted,
    // under its name.
    let count_at = hardirqs.info.offset_of("info", "count");
    // struct irq_key { char name[32]; u32 cpu; }; struct info: count,
    // total_time, max_time, slots[20].
    let irqs = hardirqs.hash_values::<[u8; 36], 104>("infos", |rows| !rows.is_empty());
    assert!(
        irqs.iter().all(|(name, _)| name[0] != 0),
        "handlers have names"
    );
    assert!(
        irqs.iter()
            .any(|(_, v)| u64::from_ne_bytes(v[count_at..count_at + 8].try_into().unwrap()) > 0)
    );
}

#[test]
fn bashreadline_sees_an_interactive_line() {
    if !bpfkit_testkit::privileged("bashreadline_sees_an_interactive_line") {
        return;
    }
    let (Ok(_), Ok(_)) = (
        std::fs::metadata("/bin/bash"),
        std::fs::metadata("/usr/bin/script"),
    ) else {
        eprintln!("skipping bashreadline_sees_an_interactive_line: needs bash and script");
        return;
    };
    let mut s = Session::start("bashreadline", None, &[]);
    let line = format!("echo {}", unique("bashreadline"));
    // `script` gives bash a terminal, so that it reads with readline.
    let mut child = Command::new("/usr/bin/script")
        .args(["-qec", "/bin/bash --norc --noprofile -i", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = writeln!(stdin, "{line}\nexit");
    }
    let event = s.wait_event(|e| e.str("str") == line);
    assert!(event.u32("pid") > 0);
    let _ = child.wait();
}
