//! `.kconfig` and `.ksyms` externs, resolved as libbpf does: the values a
//! program reads (crates/runtime/tests/bpf/kconfig.bpf.c) are checked
//! against what this test reads itself from the kernel's release string,
//! config file and /proc/kallsyms.

mod common;

use common::{BPFKIT, Run, events};
use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

fn source(name: &str) -> String {
    bpfkit_testkit::repo_path(&format!("crates/runtime/tests/bpf/{name}"))
        .to_string_lossy()
        .into_owned()
}

/// Runs `file` with `--target_tgid` this process, causes a getpgid(), and
/// returns the first event.
fn first_event(file: &str) -> Value {
    let tgid_text = std::process::id().to_string();
    let mut run = Run::start(&source(file), &["--target_tgid", &tgid_text]);
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    let getpgid = || unsafe {
        libc::getpgid(0);
    };
    run.wait_retriggering("an event", |r| r["type"] == "event", getpgid);
    let done = run.stop();
    events(&done.records, "events")
        .next()
        .expect("an event")
        .clone()
}

/// KERNEL_VERSION(a, b, c) of the running kernel, read as libbpf reads it
/// (Ubuntu's signature and Debian's version string name the real release).
fn kernel_version() -> u32 {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let signature = read("/proc/version_signature");
    let version = read("/proc/sys/kernel/version");
    let release = read("/proc/sys/kernel/osrelease");
    let text = signature
        .split_whitespace()
        .nth(2)
        .or_else(|| version.split("Debian ").nth(1))
        .unwrap_or(&release);
    let numbers: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().expect("release numbers"))
        .collect();
    (numbers[0] << 16) + (numbers[1] << 8) + numbers[2].min(255)
}

fn kernel_config() -> HashMap<String, String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let text = Command::new("zcat")
        .arg("/proc/config.gz")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .or_else(|| std::fs::read_to_string(format!("/boot/config-{}", release.trim())).ok())
        .expect("a kernel config (/proc/config.gz or /boot/config-RELEASE)");
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn kallsyms_address(name: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/kallsyms")
        .ok()?
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[2] == name)
        .and_then(|f| u64::from_str_radix(f[0], 16).ok())
}

#[test]
fn kconfig_and_ksym_values_match_the_running_kernel() {
    let test = "kconfig_and_ksym_values_match_the_running_kernel";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let event = first_event("kconfig.bpf.c");
    let data = &event["data"];
    let version = kernel_version();
    assert_eq!(data["version"], version, "{event}");
    assert_eq!(data["bpf_cookie"], u8::from(version >= 0x050f00), "{event}");

    let config = kernel_config();
    let hz: u64 = config
        .get("CONFIG_HZ")
        .map_or(0, |v| v.parse().expect("CONFIG_HZ"));
    assert_eq!(data["hz"], hz, "{event}");
    let is_y = |k: &str| config.get(k).map(String::as_str) == Some("y");
    assert_eq!(
        data["bpf_syscall"],
        u8::from(is_y("CONFIG_BPF_SYSCALL")),
        "{event}"
    );
    let char_of = |k: &str| config.get(k).map_or(0, |v| v.as_bytes()[0]);
    assert_eq!(data["bpf_events"], char_of("CONFIG_BPF_EVENTS"), "{event}");
    assert_eq!(data["no_such_option"], 0, "{event}");

    if cfg!(target_arch = "x86_64") {
        let wrapper = kallsyms_address("__x64_sys_bpf").is_some();
        assert_eq!(data["syscall_wrapper"], u8::from(wrapper), "{event}");
    }
    let prog_put = kallsyms_address("bpf_prog_put").expect("bpf_prog_put in kallsyms");
    assert_eq!(data["prog_put"], prog_put.to_string(), "{event}");

    // bpf_task_from_pid() came with 6.2; when present the program called
    // it and found its own task.
    let has_kfunc = u8::from(version >= 0x060200);
    assert_eq!(data["has_kfunc"], has_kfunc, "{event}");
    assert_eq!(data["found_self"], u32::from(has_kfunc), "{event}");
    for missing in ["has_missing_kfunc", "has_missing_symbol", "has_missing_var"] {
        assert_eq!(data[missing], 0, "{missing}: {event}");
    }
}

#[test]
fn missing_strong_externs_are_named_in_one_line() {
    let test = "missing_strong_externs_are_named_in_one_line";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let out = Command::new(BPFKIT)
        .args(["run", &source("kconfig_missing.bpf.c"), "-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CONFIG_BPFKIT_NO_SUCH_OPTION (.kconfig)")
            && stderr.contains("bpfkit_no_such_kfunc (.ksyms)"),
        "{stderr}"
    );
}

/// A typed `__ksym` variable gets its kernel BTF id: the kernel then reads
/// it (with CONFIG_KALLSYMS_ALL) or says it cannot find its address
/// (without) — an unpatched ld_imm64 would instead be refused as a scalar
/// passed to bpf_this_cpu_ptr().
#[test]
fn typed_ksym_gets_its_kernel_btf_id() {
    let test = "typed_ksym_gets_its_kernel_btf_id";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    if kallsyms_address("bpf_prog_active").is_some() {
        let event = first_event("ksym_typed.bpf.c");
        assert!(event["data"]["prog_active"].as_i64() >= Some(1), "{event}");
        return;
    }
    let out = Command::new(BPFKIT)
        .args(["run", &source("ksym_typed.bpf.c"), "-d", "1s"])
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("failed to find the address for kernel symbol 'bpf_prog_active'"),
        "{stderr}"
    );
}
