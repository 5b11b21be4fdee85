//! Event maps whose definition does not name the record type: bpfkit finds
//! it from the constant size the program passes to `bpf_ringbuf_reserve` /
//! `bpf_perf_event_output` (crates/runtime/tests/bpf/sentsize.bpf.c),
//! instead of asking for a `struct event` the program does not have.

mod common;

use common::{Run, events};

#[test]
fn record_types_found_from_the_size_sent() {
    let test = "record_types_found_from_the_size_sent";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    // `bpfkit run SRC.bpf.c` builds with bpfkit-build, which keeps the
    // program's own structs in BTF.
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/sentsize.bpf.c");
    let tgid = std::process::id();
    let tgid_text = tgid.to_string();
    let mut run = Run::start(&source.to_string_lossy(), &["--target_tgid", &tgid_text]);
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    let getpgid = || unsafe {
        libc::getpgid(0);
    };
    run.wait_retriggering(
        "the ring buffer record",
        |r| r["type"] == "event" && r["map"] == "ring" && r["data"]["tgid"] == tgid,
        getpgid,
    );
    run.wait_for("the perf buffer record", |r| {
        r["type"] == "event" && r["map"] == "samples" && r["data"]["tgid"] == tgid
    });
    let done = run.stop();
    let ring = events(&done.records, "ring").next().expect("ring record");
    assert!(ring["data"]["seq"].as_u64() >= Some(1), "{ring}");
    assert_eq!(ring["data"]["tag"], 0x5eed, "{ring}");
    let sample = events(&done.records, "samples")
        .next()
        .expect("perf record");
    assert_eq!(sample["data"]["kind"], 7, "{sample}");
}

/// A perf buffer's records sent with a size that is not a constant (a map
/// value trimmed to what was written, as libbpf-tools' ksnoop sends its
/// `struct trace`) decode as the value type of the map the record was
/// looked up in (crates/runtime/tests/bpf/sentvalue.bpf.c). Before, the run
/// failed: "cannot tell what records map 'traces' carries".
#[test]
fn record_type_found_from_the_map_value_sent() {
    let test = "record_type_found_from_the_map_value_sent";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let source = bpfkit_testkit::repo_path("crates/runtime/tests/bpf/sentvalue.bpf.c");
    let tgid = std::process::id();
    let tgid_text = tgid.to_string();
    let mut run = Run::start(&source.to_string_lossy(), &["--target_tgid", &tgid_text]);
    run.wait_attached(&["on_getpgid"]);
    // SAFETY: getpgid has no memory preconditions.
    let getpgid = || unsafe {
        libc::getpgid(0);
    };
    run.wait_retriggering(
        "the trimmed perf record",
        |r| r["type"] == "event" && r["map"] == "traces" && r["data"]["tgid"] == tgid,
        getpgid,
    );
    let done = run.stop();
    let trace = events(&done.records, "traces").next().expect("perf record");
    assert_eq!(trace["data"]["kind"], 9, "{trace}");
    assert_eq!(trace["data"]["buf"], "trimmed", "{trace}");
    let len = trace["data"]["len"].as_u64().expect("len decoded");
    assert!((8..40).contains(&len), "{trace}");
}
