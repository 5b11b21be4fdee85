//! `bpfkit tcpconnlat` on a handshake known to be slow: an XDP program
//! (crates/tools/tests/data/drop_first_syn.bpf.c, built here) on the
//! server's end of a veth pair drops the first SYN to the test port, so
//! the client's TCP sends it again after its initial retransmission
//! timeout of one second. That connect's latency must be at least the
//! timeout (the bound is TCP's, not bpfkit's speed); the next connect,
//! whose SYN passes, is not slowed.
//!
//! Both namespaces, and with them the veth pair and its XDP program, are
//! deleted on drop, also when the test fails.

mod common;

use common::{ADDR_A, Run, VethPair};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The port whose first SYN the XDP program drops (its DROP_PORT).
const DROP_PORT: u16 = 47110;
/// Linux's initial SYN retransmission timeout (TCP_TIMEOUT_INIT), less
/// some slack for timer granularity.
const SLOW_US: u64 = 900_000;

/// Builds the SYN dropper; `None` (skip) without clang.
fn build_dropper(test: &str) -> Option<PathBuf> {
    let source = bpfkit_testkit::repo_path("crates/tools/tests/data/drop_first_syn.bpf.c");
    bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// Runs `f` on a thread inside network namespace `ns`: sockets it makes
/// belong there.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on a valid namespace fd; only this thread moves.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("thread in the namespace")
    })
}

/// The latencies (`delta_us`) of the connects to the drop port, in order.
fn latencies(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r["type"] == "event" && r["data"]["dport"] == DROP_PORT)
        .map(|r| r["data"]["delta_us"].as_u64().expect("delta_us"))
        .collect()
}

#[test]
fn tcpconnlat_measures_a_handshake_slowed_by_a_dropped_syn() {
    let test = "tcpconnlat_measures_a_handshake_slowed_by_a_dropped_syn";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(dropper) = build_dropper(test) else {
        return;
    };
    let pair = VethPair::create();
    let dropper = dropper.to_string_lossy();
    common::ip(&format!(
        "-n {} link set dev {} xdp obj {dropper} sec xdp",
        pair.ns_a, pair.dev_a
    ));
    let server = SocketAddr::from((ADDR_A.parse::<Ipv4Addr>().expect("ADDR_A"), DROP_PORT));
    // Connects complete in the listener's backlog; nobody needs to accept.
    let _listener = in_netns(&pair.ns_a, || TcpListener::bind(server).expect("listening"));

    let me = std::process::id().to_string();
    let mut run = Run::start_tool_attached("tcpconnlat", &["-p", &me]);
    for _ in 0..2 {
        in_netns(&pair.ns_b, || {
            drop(TcpStream::connect(server).expect("connecting"))
        });
    }
    run.wait_until("two connects", |seen| latencies(seen).len() == 2);
    let records = run.stop().records;
    let [slow, normal] = latencies(&records)[..] else {
        panic!("two connects to port {DROP_PORT}: {records:?}");
    };
    assert!(
        slow >= SLOW_US,
        "the connect whose first SYN was dropped waited for the retransmission: {slow} us"
    );
    // Without a dropped SYN no timer is involved: only a machine stalled
    // for as long as the retransmission timeout could make it as slow.
    assert!(normal < SLOW_US, "the next connect: {normal} us");
}
