//! Port lists through the command line: `tcpconnect -P A,B`, `tcplife -L`
//! / `-D`, `tcpstates -D` on real loopback connections (the listed ports
//! are shown, an unlisted one is not), the same list set generically with
//! `bpfkit run OBJ --filter-ports A,B`, the errors for bad lists, and
//! tcpretrans `-l`, which needs kprobes or fentry.

mod common;

use bpfkit_testkit::privileged;
use common::{BPFKIT, Run, events};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;

const TCP_CLOSE: u64 = 7;

/// Three loopback listeners: the lists name the first two, not the third.
struct Ports {
    listeners: [TcpListener; 3],
    /// `A,B`, as the flags take them.
    list: String,
    /// The second listed port: its event comes last.
    last: u64,
}

impl Ports {
    fn new() -> Ports {
        let bind = || TcpListener::bind("127.0.0.1:0").expect("bind");
        let listeners = [bind(), bind(), bind()];
        let [a, b, _] = &listeners;
        Ports {
            list: format!("{},{}", port_of(a), port_of(b)),
            last: port_of(b),
            listeners,
        }
    }
}

fn port_of(listener: &TcpListener) -> u64 {
    u64::from(listener.local_addr().expect("addr").port())
}

/// A request/reply exchange with `listener`, both ends closed at the end.
fn exchange(listener: &TcpListener) {
    std::thread::scope(|scope| {
        let server = scope.spawn(|| {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut request = Vec::new();
            conn.read_to_end(&mut request).expect("read request");
            conn.write_all(b"reply").expect("write reply");
        });
        let mut conn = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        conn.write_all(b"request").expect("write request");
        conn.shutdown(Shutdown::Write).expect("half-close");
        let mut reply = Vec::new();
        conn.read_to_end(&mut reply).expect("read reply");
        server.join().expect("server");
    });
}

/// Runs `run` (started, not yet attached; its events come from
/// `inet_sock_set_state`) over exchanges with the unlisted port first, then
/// the listed ones, waits for the event of the last listed port in `field`
/// for which `also` holds, and checks that every event shows a listed port
/// in `field`. Events come in order, so one let through for the unlisted
/// port would come before the last one.
fn check_listed(mut run: Run, field: &str, ports: &Ports, also: impl Fn(&Value) -> bool) {
    run.wait_attached(&["inet_sock_set_state"]);
    let [a, b, c] = &ports.listeners;
    for listener in [c, a, b] {
        exchange(listener);
    }
    run.wait_for("the last listed port's event", |r| {
        r["type"] == "event" && r["data"][field] == ports.last && also(&r["data"])
    });
    let finished = run.stop();
    let listed = [port_of(a), port_of(b)];
    let mut seen = Vec::new();
    for event in events(&finished.records, "events") {
        let port = event["data"][field].as_u64().expect("port");
        assert!(
            listed.contains(&port),
            "{field} {port} is not listed: {event}"
        );
        seen.push(port);
    }
    for port in listed {
        assert!(seen.contains(&port), "no event for port {port}");
    }
}

#[test]
fn tcpconnect_shows_only_the_listed_ports() {
    if !privileged("tcpconnect_shows_only_the_listed_ports") {
        return;
    }
    let ports = Ports::new();
    let run = Run::start_tool("tcpconnect", &["-P", &ports.list]);
    check_listed(run, "dport", &ports, |_| true);
}

#[test]
fn tcplife_shows_only_the_listed_local_and_remote_ports() {
    if !privileged("tcplife_shows_only_the_listed_local_and_remote_ports") {
        return;
    }
    let ports = Ports::new();
    // -D: the clients' sockets; -L: the servers'.
    for (flag, field) in [("-D", "dport"), ("-L", "sport")] {
        let run = Run::start_tool("tcplife", &[flag, &ports.list]);
        check_listed(run, field, &ports, |_| true);
    }
}

#[test]
fn tcpstates_shows_only_the_listed_remote_ports() {
    if !privileged("tcpstates_shows_only_the_listed_remote_ports") {
        return;
    }
    let ports = Ports::new();
    let run = Run::start_tool("tcpstates", &["-D", &ports.list]);
    check_listed(run, "dport", &ports, |e| e["newstate"] == TCP_CLOSE);
}

/// `bpfkit run OBJ --ARRAY A,B` sets any `const volatile` integer array,
/// and its `ARRAY_len` to the number of values.
#[test]
fn run_sets_an_array_parameter_and_its_length() {
    if !privileged("run_sets_an_array_parameter_and_its_length") {
        return;
    }
    let ports = Ports::new();
    let object = bpfkit_testkit::repo_path("crates/tools/bpf/tcpconnect.bpf.o");
    let kprobes = [
        "tcp_v4_connect",
        "tcp_v4_connect_ret",
        "tcp_v6_connect",
        "tcp_v6_connect_ret",
    ];
    let mut args = vec!["--filter-ports", &ports.list];
    for program in &kprobes {
        args.extend(["--disable", program]);
    }
    let run = Run::start(object.to_str().expect("utf-8 path"), &args);
    check_listed(run, "dport", &ports, |_| true);
}

/// `bpfkit ARGS...`, which must fail before loading anything; its stderr.
fn usage_error(args: &[&str]) -> String {
    let out = Command::new(BPFKIT).args(args).output().expect("bpfkit");
    assert!(!out.status.success(), "bpfkit {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_port_lists_are_refused_with_the_reason() {
    let too_many: Vec<String> = (1..=65).map(|p| p.to_string()).collect();
    let too_many = too_many.join(",");
    let cases: [(&[&str], &str); 5] = [
        (
            &["tcpconnect", "-P", &too_many],
            "--port: 65 values given; at most 64 fit",
        ),
        (
            &["tcplife", "-D", "80,http"],
            "--remoteport: 'http' is not an integer",
        ),
        (
            &["tcpstates", "-L", "22,70000"],
            "--localport: 70000 is out of range for a 16-bit unsigned integer (0..=65535)",
        ),
        (&["tcplife", "-L", "22,,80"], "value 2 is empty"),
        (
            &[
                "run",
                "crates/tools/bpf/tcpconnect.bpf.o",
                "--filter-ports",
                &too_many,
            ],
            "--filter_ports: 65 values given; at most 64 fit",
        ),
    ];
    for (args, wanted) in cases {
        let mut args = args.to_vec();
        let object = bpfkit_testkit::repo_path("crates/tools/bpf/tcpconnect.bpf.o");
        if args[0] == "run" {
            args[1] = object.to_str().expect("utf-8 path");
        }
        let stderr = usage_error(&args);
        assert!(stderr.contains(wanted), "bpfkit {args:?}:\n{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    }
}

/// tcpretrans -l traces tcp_send_loss_probe(), which has no tracepoint:
/// without kprobes and fentry it fails with one message saying so, and
/// runs where they exist.
#[test]
fn tcpretrans_lossprobe_needs_kprobes_or_fentry() {
    if !privileged("tcpretrans_lossprobe_needs_kprobes_or_fentry") {
        return;
    }
    let kernel = bpfkit_runtime::features::kernel();
    if kernel.kprobes || bpfkit_runtime::features::trampolines() {
        let mut run = Run::start_tool("tcpretrans", &["-l"]);
        run.wait_for("the loss probe program attached", |r| {
            r["type"] == "attached"
                && r["program"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("tcp_send_loss_probe"))
        });
        run.stop();
        return;
    }
    let stderr = usage_error(&["tcpretrans", "-l"]);
    assert_eq!(stderr.lines().count(), 1, "one message:\n{stderr}");
    for wanted in [
        "tcpretrans --lossprobe cannot run on this kernel",
        "tcp_send_loss_probe",
        "kprobes are not available (CONFIG_KPROBE_EVENTS)",
        "fentry/fexit do not load here",
    ] {
        assert!(stderr.contains(wanted), "no '{wanted}' in:\n{stderr}");
    }
}
