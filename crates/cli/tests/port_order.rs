//! Which byte order a port is in: the member's type says (`__be16` is
//! network order), a name alone means host order. libbpf-tools' tcplife and
//! tcpstates send host-order `__u16 sport`, which bpfkit printed as 47001
//! byte-swapped (39351).

mod common;

use common::Run;
use std::net::{TcpListener, TcpStream};

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

/// tcpconnect's ports: `dport` copied from the kernel's `__be16 skc_dport`
/// into a plain `__u16` (network order, found by the data-flow analysis),
/// `sport` from `__u16 skc_num` (host order). Both print as the ports of
/// the test's own loopback connection.
#[test]
fn ports_copied_from_kernel_fields_print_in_the_order_the_flow_says() {
    let test = "ports_copied_from_kernel_fields_print_in_the_order_the_flow_says";
    if !bpfkit_testkit::privileged(test) || bpfkit_testkit::clang(test).is_none() {
        return;
    }
    let listener = listener_with_asymmetric_port();
    let port = listener.local_addr().expect("listener address").port();
    let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/port_flow.bpf.c");
    let mut run = Run::start(
        &source.to_string_lossy(),
        &["--target_port", &port.to_string()],
    );
    run.wait_attached(&["on_state"]);
    let client_ports = std::cell::RefCell::new(Vec::new());
    let event = run.wait_retriggering(
        "an event of the test's connection",
        |r| r["type"] == "event",
        || {
            let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect on loopback");
            let local = stream.local_addr().expect("client address").port();
            client_ports.borrow_mut().push(u64::from(local));
        },
    );
    let data = &event["data"];
    assert_eq!(data["dport"], u64::from(port), "dport: {event}");
    let sport = data["sport"].as_u64().expect("sport is a number");
    assert!(
        client_ports.borrow().contains(&sport),
        "sport {sport} is none of the client's ports {:?}: {event}",
        client_ports.borrow()
    );
    run.stop();
}

/// A loopback listener whose port reads differently byte-swapped, so that
/// a wrong byte order cannot pass unseen.
fn listener_with_asymmetric_port() -> TcpListener {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
        let port = listener.local_addr().expect("listener address").port();
        if port.swap_bytes() != port {
            return listener;
        }
    }
}
