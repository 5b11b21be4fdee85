//! Which byte order a port is in: the member's type says (`__be16` is
//! network order), a name alone means host order. libbpf-tools' tcplife and
//! tcpstates send host-order `__u16 sport`, which bpfkit printed as 47001
//! byte-swapped (39351).

mod common;

use common::Run;

#[test]
fn ports_print_in_the_order_their_type_says() {
    if !bpfkit_testkit::privileged("ports_print_in_the_order_their_type_says") {
        return;
    }
    if bpfkit_testkit::clang("ports_print_in_the_order_their_type_says").is_none() {
        return;
    }
    let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/port_order.bpf.c");
    let pid = std::process::id().to_string();
    let mut run = Run::start(&source.to_string_lossy(), &["--target_tgid", &pid]);
    run.wait_attached(&["on_getppid"]);
    let event = run.wait_retriggering(
        "an event of the test's getppid",
        |r| r["type"] == "event",
        || {
            // SAFETY: getppid has no preconditions.
            unsafe { libc::getppid() };
        },
    );
    let data = &event["data"];
    for port in ["sport", "dport", "remote_port"] {
        assert_eq!(data[port], 47001, "{port}: {event}");
    }
    run.stop();
}
