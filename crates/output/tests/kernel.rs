//! End to end: a real program in the running kernel emits exec events into
//! a ring buffer; this test runs /bin/true and formats what arrives.

use aya::Ebpf;
use aya::maps::RingBuf;
use aya::programs::TracePoint;
use bpfkit_output::{EventFormatter, FormatOptions, Mode};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn build(clang: &std::path::Path) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let include = dir.join("../../include");
    let tmp = bpfkit_testkit::TempDir::new("output-exec");
    let out = tmp.file("exec.bpf.o");
    let status = Command::new(clang)
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(include.join("vmlinux"))
        .arg(dir.join("tests/data/exec.bpf.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run clang");
    assert!(status.success(), "clang failed");
    std::fs::read(&out).expect("read object")
}

/// Collects formatted lines until one is about `pid` (or the deadline).
fn lines_for_pid(
    rb: &mut RingBuf<&mut aya::maps::MapData>,
    f: &mut EventFormatter,
    pid: u32,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found = Vec::new();
    while Instant::now() < deadline {
        while let Some(item) = rb.next() {
            let line = String::from_utf8(f.format_event(&item).expect("format").to_vec()).unwrap();
            if line.contains(&format!("\"pid\":{pid},")) {
                found.push(line);
            }
        }
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    found
}

#[test]
fn exec_events_from_the_kernel_as_json() {
    if !bpfkit_testkit::privileged("exec_events_from_the_kernel_as_json") {
        return;
    }
    let Some(clang) = bpfkit_testkit::clang("exec_events_from_the_kernel_as_json") else {
        return;
    };
    let object = build(&clang);
    let btf = bpfkit_btf::elf::btf_from_elf(&object).expect("BTF of the object");
    let ty = btf
        .find_struct("exec_event")
        .expect("struct exec_event in BTF");
    let mut f = EventFormatter::new(
        &btf,
        ty,
        &FormatOptions {
            mode: Mode::Json,
            ..FormatOptions::default()
        },
    )
    .unwrap();

    // Dropping `bpf` detaches and unloads everything, also on panic.
    let mut bpf = Ebpf::load(&object).expect("load object");
    let prog: &mut TracePoint = bpf.program_mut("handle_exec").unwrap().try_into().unwrap();
    prog.load().expect("load program");
    prog.attach("sched", "sched_process_exec").expect("attach");
    let mut rb = RingBuf::try_from(bpf.map_mut("events").unwrap()).unwrap();

    let child = Command::new("/bin/true").spawn().expect("spawn /bin/true");
    let pid = child.id();
    let _ = child.wait_with_output();
    let lines = lines_for_pid(&mut rb, &mut f, pid);
    assert!(!lines.is_empty(), "no exec event for pid {pid}");
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["type"], "event");
    assert_eq!(v["map"], "events");
    assert_eq!(v["data"]["comm"], "true");
    assert_eq!(v["data"]["ret"], -2);
    assert_eq!(v["data"]["uid"], 0);
    // The raw monotonic timestamp stays a number in JSON...
    let ts = v["data"]["ts"].as_u64().expect("ts is a number");
    // ...and converts to wall-clock time close to now.
    let clock = bpfkit_output::clock::WallClock::now();
    let unix = clock.to_unix_ns(bpfkit_output::clock::KernelClock::Monotonic, ts);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128;
    assert!(
        (now - unix).abs() < 3600 * 1_000_000_000,
        "ts {ts} → {unix}, now {now}"
    );
}
