//! `bpfkit run` failures: one clear `bpfkit:` message, a non-zero exit, no
//! panic, and nothing left in the kernel.

mod common;

use bpfkit_testkit::privileged;
use common::{BPFKIT, TempDir, assert_no_repeated_cause, example, serial};
use std::process::{Command, Output};

fn bpfkit_run(args: &[&str]) -> Output {
    Command::new(BPFKIT)
        .arg("run")
        .args(args)
        .output()
        .expect("running bpfkit")
}

/// Checks a failed run and returns its error message.
fn failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "expected a failure; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    assert!(
        stderr.starts_with("bpfkit:"),
        "error not reported as 'bpfkit: ...':\n{stderr}"
    );
    assert_no_repeated_cause(&stderr);
    stderr
}

#[test]
fn garbage_file_is_a_one_line_error() {
    let dir = TempDir::new("errors");
    let path = dir.path().join("garbage.bpf.o");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&path, bytes).expect("writing the garbage file");
    let out = bpfkit_run(&[path.to_str().unwrap()]);
    let err = failure(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("garbage.bpf.o"), "names the file: {err}");
}

#[test]
fn missing_file_names_it() {
    let out = bpfkit_run(&["/nonexistent/bpfkit-missing.bpf.o"]);
    let err = failure(&out);
    assert!(err.contains("/nonexistent/bpfkit-missing.bpf.o"), "{err}");
}

#[test]
fn unknown_section_name_is_named() {
    let Some(clang) = bpfkit_testkit::clang("unknown_section_name_is_named") else {
        return;
    };
    let dir = TempDir::new("errors");
    let src = dir.path().join("bogus.bpf.c");
    let obj = dir.path().join("bogus.bpf.o");
    std::fs::write(
        &src,
        "#define SEC(n) __attribute__((section(n), used))\n\
         SEC(\"bogus/thing\") int prog(void *ctx) { return 0; }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .expect("writing the source");
    let built = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .expect("running clang");
    assert!(built.success());
    let out = bpfkit_run(&[obj.to_str().unwrap(), "-d", "1s"]);
    let err = failure(&out);
    assert!(err.contains("bogus/thing"), "names the section: {err}");
    assert!(err.contains("prog"), "names the program: {err}");
}

#[test]
fn source_that_does_not_compile_shows_clang_and_then_bpfkit() {
    if bpfkit_testkit::clang("source_that_does_not_compile_shows_clang_and_then_bpfkit").is_none() {
        return;
    }
    let dir = TempDir::new("errors");
    let src = dir.path().join("broken.bpf.c");
    std::fs::write(&src, "int broken(void) { return undeclared_thing; }\n").expect("source");
    let out = bpfkit_run(&[src.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // clang's own diagnostic first, then bpfkit's one-line summary.
    assert!(stderr.contains("undeclared_thing"), "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("bpfkit: "), "{stderr}");
    assert!(last.contains("broken.bpf.c"), "{stderr}");
}

#[test]
fn attach_to_a_missing_tracepoint_names_it() {
    if !privileged("attach_to_a_missing_tracepoint_names_it") {
        return;
    }
    let _serial = serial();
    let before = bpfkit_sys::prog_ids().expect("prog ids");
    let out = bpfkit_run(&[
        &example("execsnoop.bpf.o"),
        "--attach",
        "tracepoint__syscalls__sys_enter_execve=syscalls:sys_enter_bpfkit_nonexistent",
        "-d",
        "1s",
    ]);
    let err = failure(&out);
    assert!(
        err.contains("syscalls:sys_enter_bpfkit_nonexistent"),
        "{err}"
    );
    assert!(
        err.contains("tracepoint__syscalls__sys_enter_execve"),
        "{err}"
    );
    assert_no_new_programs_named(
        &before,
        &[
            "tracepoint__syscalls__sys_enter_execve",
            "tracepoint__syscalls__sys_exit_execve",
        ],
    );
}

#[test]
fn attach_for_an_unknown_program_lists_the_programs() {
    let out = bpfkit_run(&[&example("execsnoop.bpf.o"), "--attach", "nope=syscalls:x"]);
    let err = failure(&out);
    assert!(err.contains("'nope'"), "{err}");
    assert!(
        err.contains("tracepoint__syscalls__sys_enter_execve"),
        "{err}"
    );
}

#[test]
fn kprobe_on_a_kernel_without_kprobes_explains_and_unloads() {
    if !privileged("kprobe_on_a_kernel_without_kprobes_explains_and_unloads") {
        return;
    }
    let _serial = serial();
    let before = bpfkit_sys::prog_ids().expect("prog ids");
    let out = bpfkit_run(&[&example("unlink_kprobe.bpf.o"), "-d", "1s"]);
    let err = failure(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one message: {err}");
    assert!(err.contains("kprobe"), "{err}");
    assert!(err.contains("CONFIG_KPROBE_EVENTS"), "{err}");
    assert_no_new_programs_named(&before, &["do_unlinkat", "do_unlinkat_exit"]);
}

/// No program with one of `names` loaded since `before` is still there
/// (freeing after the last fd closes is deferred: wait, bounded).
fn assert_no_new_programs_named(before: &[u32], names: &[&str]) {
    let deadline = std::time::Instant::now() + common::BOUND;
    loop {
        let left: Vec<String> = bpfkit_sys::prog_ids()
            .expect("prog ids")
            .into_iter()
            .filter(|id| !before.contains(id))
            .filter_map(|id| {
                let fd = bpfkit_sys::prog_fd_by_id(id).ok()?;
                let info = bpfkit_sys::prog_info(std::os::fd::AsFd::as_fd(&fd)).ok()?;
                // The kernel keeps 15 bytes of a program's name.
                names
                    .iter()
                    .any(|n| n.starts_with(&info.name) && !info.name.is_empty())
                    .then(|| format!("{} (id {id})", info.name))
            })
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "programs left loaded after a failed run: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Attach targets that cannot work: one `bpfkit:` line naming the program
/// and the target, and nothing left loaded.
#[test]
fn impossible_attach_targets_are_named() {
    if !privileged("impossible_attach_targets_are_named") {
        return;
    }
    let cases: [(&str, &[&str], &[&str], &str); 4] = [
        ("xdp_count.bpf.o", &[], &["xdp_count"], "--iface"),
        (
            "xdp_count.bpf.o",
            &["--iface", "bpfkit-nodev0"],
            &["xdp_count"],
            "bpfkit-nodev0",
        ),
        (
            "bashreadline.bpf.o",
            &["--attach", "printret=/bin/bash:bpfkit_no_such_function"],
            &["printret"],
            "bpfkit_no_such_function",
        ),
        (
            "bashreadline.bpf.o",
            &["--attach", "printret=/nonexistent/bpfkit-bin:readline"],
            &["printret"],
            "/nonexistent/bpfkit-bin",
        ),
    ];
    let _serial = serial();
    for (object, args, programs, named) in cases {
        let before = bpfkit_sys::prog_ids().expect("prog ids");
        let mut all = vec![example(object)];
        all.extend(args.iter().map(|a| a.to_string()));
        all.extend(["-d".to_string(), "1s".to_string()]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let err = failure(&bpfkit_run(&all));
        assert_eq!(err.trim_end().lines().count(), 1, "one message: {err}");
        assert!(err.contains(named), "{object} {args:?}: {err}");
        assert!(err.contains(programs[0]), "{object} {args:?}: {err}");
        assert_no_new_programs_named(&before, programs);
    }
}

#[test]
fn bad_duration_is_rejected() {
    let out = bpfkit_run(&[&example("execsnoop.bpf.o"), "-d", "abc"]);
    let err = failure(&out);
    assert!(err.contains("'abc' is not a duration"), "{err}");
}

#[test]
fn non_numeric_parameter_is_rejected() {
    let out = bpfkit_run(&[&example("bootstrap.bpf.o"), "--min_duration_ns", "abc"]);
    let err = failure(&out);
    assert!(err.contains("--min_duration_ns"), "{err}");
    assert!(err.contains("abc"), "{err}");
}

#[test]
fn out_of_range_parameter_is_rejected() {
    let out = bpfkit_run(&[&example("runqlat.bpf.o"), "--targ_tgid", "4294967296"]);
    let err = failure(&out);
    assert!(err.contains("--targ_tgid"), "{err}");
    assert!(err.contains("out of range"), "{err}");
    let out = bpfkit_run(&[&example("bootstrap.bpf.o"), "--min_duration_ns=-5"]);
    let err = failure(&out);
    assert!(err.contains("out of range"), "{err}");
}

#[test]
fn pid_parameter_rejects_a_non_number() {
    let out = bpfkit_run(&[&example("opensnoop.bpf.o"), "--targ_pid", "abc"]);
    let err = failure(&out);
    assert!(err.contains("--targ_pid"), "{err}");
    assert!(err.contains("abc"), "{err}");
}

#[test]
fn help_after_the_object_lists_its_options_and_parameters() {
    let out = bpfkit_run(&[&example("execsnoop.bpf.o"), "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--output",
        "--duration",
        "--max-events",
        "--interval",
        "--iface",
        "--attach",
        "--disable",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    assert!(
        help.contains("tracepoint__syscalls__sys_enter_execve"),
        "{help}"
    );

    let out = bpfkit_run(&[&example("bootstrap.bpf.o"), "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--min_duration_ns"), "{help}");
}

#[test]
fn help_of_an_object_with_a_pid_parameter() {
    let out = bpfkit_run(&[&example("opensnoop.bpf.o"), "--help"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--targ_pid"), "{help}");
    assert!(help.contains("-p"), "{help}");
}

/// bpfkit run as `nobody` (setpriv, as root), from a directory anyone may
/// read.
fn as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BPFKIT])
        .args(args)
        .current_dir("/")
        .output()
        .expect("running setpriv")
}

/// tracefs is root's alone: to anyone else every tracepoint looks missing,
/// and the error must say permission, not "no tracepoint".
#[test]
fn unprivileged_user_is_told_permission() {
    if !privileged("unprivileged_user_is_told_permission") {
        return;
    }
    let execsnoop = example("execsnoop.bpf.o");
    for args in [&["execsnoop"][..], &["run", &execsnoop, "-d", "1s"]] {
        let err = failure(&as_nobody(args));
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("permission denied"), "{args:?}: {err}");
        assert!(!err.contains("no tracepoint"), "{args:?}: {err}");
    }
}

/// Without CAP_PERFMON (and CAP_SYS_ADMIN, which implies it) the verifier
/// refuses packet pointer arithmetic: the error names the capability
/// instead of showing the verifier log.
#[test]
fn missing_cap_perfmon_is_named() {
    if !privileged("missing_cap_perfmon_is_named") {
        return;
    }
    let _serial = serial();
    for tool in ["xdpfilter", "tcpktstat"] {
        let out = Command::new("setpriv")
            .args([
                "--inh-caps=-perfmon,-sys_admin",
                "--bounding-set=-perfmon,-sys_admin",
                BPFKIT,
                tool,
                "-i",
                "lo",
                "1",
                "1",
            ])
            .output()
            .expect("running setpriv");
        let err = failure(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{tool}: {err}");
        assert!(err.contains("lacks CAP_PERFMON"), "{tool}: {err}");
    }
}

/// `bpfkit ARGS` with at most 2 GiB of address space and 20 s: a run that
/// reads without bound fails here (allocation failure or the time limit)
/// instead of exhausting the machine.
fn bpfkit_bounded(args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    const LIMIT_BYTES: libc::rlim_t = 2 << 30;
    let mut command = Command::new(BPFKIT);
    command
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT_BYTES,
                rlim_max: LIMIT_BYTES,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("running bpfkit");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("waiting for bpfkit").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bpfkit {args:?} still running after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
        .wait_with_output()
        .expect("collecting bpfkit's output")
}

#[test]
fn device_files_are_refused_by_name() {
    for args in [
        &["run", "/dev/zero"][..],
        &["btf", "dump", "file", "/dev/zero"],
    ] {
        let err = failure(&bpfkit_bounded(args));
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("/dev/zero: is a character device, not a regular file"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn cgroup_option_that_is_not_a_cgroup_is_named() {
    if !privileged("cgroup_option_that_is_not_a_cgroup_is_named") {
        return;
    }
    let dir = TempDir::new("errors");
    let path = dir.path().to_string_lossy().into_owned();
    let out = Command::new(BPFKIT)
        .args(["execsnoop", "-c", &path])
        .output()
        .expect("running bpfkit");
    let err = failure(&out);
    assert!(
        err.contains(&format!("{path} is not a cgroup v2 directory")),
        "{err}"
    );
}

/// Errors whose text already includes their source's (`"{what}: {source}"`)
/// printed the source a second time.
#[test]
fn causes_are_said_once() {
    let out = bpfkit_run(&["/nonexistent/bpfkit-missing.bpf.c"]);
    let err = failure(&out);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    if !privileged("causes_are_said_once") {
        return;
    }
    let out = Command::new(BPFKIT)
        .args(["btf", "dump", "id", "4000000000"])
        .output()
        .expect("running bpfkit");
    let err = failure(&out);
    assert!(err.contains("BPF_BTF_GET_FD_BY_ID"), "{err}");
}

#[test]
fn oversized_files_are_refused_with_the_limit() {
    let dir = TempDir::new("oversized");
    let path = dir.path().join("huge.bpf.o");
    // Sparse: one byte over the limit costs no disk.
    let file = std::fs::File::create(&path).expect("creating the sparse file");
    file.set_len(bpfkit_btf::MAX_INPUT_FILE_LEN + 1)
        .expect("sizing the sparse file");
    let path = path.to_str().expect("temp path is UTF-8");
    for args in [&["run", path][..], &["btf", "dump", "file", path]] {
        let err = failure(&bpfkit_bounded(args));
        assert!(err.contains(path), "names the file: {err}");
        assert!(
            err.contains("268435457 bytes, over bpfkit's limit of 268435456 bytes (256 MiB)"),
            "{args:?}: {err}"
        );
    }
}
