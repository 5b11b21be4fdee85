//! End-to-end tests of the built-in tools tcpaccept, bindsnoop, solisten,
//! capable, tcpdrop, tcpsynbl, tcptracer, tcptop and gethostlatency: run `bpfkit TOOL -p OURPID ...` against the running kernel,
//! cause known events from this process (accepts over loopback IPv4 and
//! IPv6, binds with known options and ports, listens with a known backlog,
//! a capability check denied to a thread that gave up root, a SYN to a
//! closed port across a veth pair, connections left in a listener's accept
//! queue) and check the decoded rows field by
//! field.
//!
//! gethostlatency is compared with libbpf-tools' on the same resolver
//! calls. None of the other libbpf-tools originals runs here (they
//! need kprobes or fentry: bindsnoop, solisten, capable; libbpf-tools has
//! no tcpaccept; tcpsynbl, tcptracer and tcptop need kprobes too); bpftrace's tcpdrop.bt runs but shows only drops of
//! packets that have a socket, which a SYN to a closed port has not.

mod common;

use common::tool::{Gated, Peer, ToolRun, log2_buckets, peer_test, rows, section};
use common::workloads::{listen_with_backlog, lower_nice_as_nobody};
use common::{ADDR_A, Run, VethPair, serial};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;

fn me() -> String {
    std::process::id().to_string()
}

/// This thread's comm (what the kernel reports for our syscalls).
fn comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .expect("our comm")
        .trim()
        .to_string()
}

/// Accepts one connection to `listener`; (client address, listener address).
fn accept_one(listener: &TcpListener) -> (SocketAddr, SocketAddr) {
    let local = listener.local_addr().expect("listener address");
    let client = TcpStream::connect(local).expect("connecting");
    let (_server, peer) = listener.accept().expect("accepting");
    drop(client);
    (peer, local)
}

#[test]
fn tcpaccept_shows_both_ends_of_each_accepted_connection() {
    if !bpfkit_testkit::privileged("tcpaccept_shows_both_ends_of_each_accepted_connection") {
        return;
    }
    let _serial = serial();
    let v4 = TcpListener::bind("127.0.0.1:0").expect("listening on 127.0.0.1");
    let v6 = TcpListener::bind("[::1]:0").ok();
    let run = ToolRun::start("tcpaccept", &["-p", &me()]);
    let mut accepted = vec![("4", accept_one(&v4))];
    if let Some(v6) = &v6 {
        accepted.push(("6", accept_one(v6)));
    }
    let out = run.stop();
    // PID COMM IP RADDR RPORT LADDR LPORT
    let shown = rows(&out.stdout, "PID");
    for (ip, (remote, local)) in accepted {
        let want = [
            me(),
            comm(),
            ip.to_string(),
            remote.ip().to_string(),
            remote.port().to_string(),
            local.ip().to_string(),
            local.port().to_string(),
        ];
        assert!(
            shown.iter().any(|r| r[..] == want),
            "no row {want:?}:\n{}",
            out.stdout
        );
    }
    assert!(shown.iter().all(|r| r[0] == me()), "{}", out.stdout);
}

#[test]
fn tcpaccept_port_and_family_filters_keep_only_those_connections() {
    if !bpfkit_testkit::privileged("tcpaccept_port_and_family_filters_keep_only_those_connections")
    {
        return;
    }
    let _serial = serial();
    let wanted = TcpListener::bind("127.0.0.1:0").expect("listening");
    let other = TcpListener::bind("127.0.0.1:0").expect("listening");
    let port = wanted.local_addr().expect("address").port().to_string();
    let by_port = ToolRun::start("tcpaccept", &["-p", &me(), "-P", &port]);
    let v6_only = ToolRun::start("tcpaccept", &["-p", &me(), "-6"]);
    accept_one(&wanted);
    accept_one(&other);
    let by_port = by_port.stop();
    let lports: Vec<_> = rows(&by_port.stdout, "PID")
        .iter()
        .map(|r| r[6].to_string())
        .collect();
    assert_eq!(lports, [port], "{}", by_port.stdout);
    let v6_only = v6_only.stop();
    assert!(
        rows(&v6_only.stdout, "PID").is_empty(),
        "{}",
        v6_only.stdout
    );
}

/// A bind of `socket` to `addr` by hand (std binds at creation).
fn bind(fd: i32, addr: &libc::sockaddr_in) -> i32 {
    // SAFETY: a valid sockaddr_in and its length.
    unsafe {
        libc::bind(
            fd,
            (addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(addr) as libc::socklen_t,
        )
    }
}

#[test]
fn bindsnoop_shows_protocol_options_assigned_port_and_failures() {
    if !bpfkit_testkit::privileged("bindsnoop_shows_protocol_options_assigned_port_and_failures") {
        return;
    }
    let _serial = serial();
    let all = ToolRun::start("bindsnoop", &["-p", &me(), "-x"]);
    let succeeded = ToolRun::start("bindsnoop", &["-p", &me()]);
    // UDP to port 0: the kernel assigns one, which bindsnoop must show.
    let udp = UdpSocket::bind("127.0.0.1:0").expect("binding UDP");
    let udp_port = udp.local_addr().expect("address").port().to_string();
    // TCP with SO_REUSEADDR (std sets it), then the same port again: EADDRINUSE.
    let tcp = TcpListener::bind("127.0.0.1:0").expect("binding TCP");
    let tcp_port = tcp.local_addr().expect("address").port();
    // SAFETY: socket(2) without memory preconditions; closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    let taken = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: tcp_port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    assert_eq!(bind(fd, &taken), -1);
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    let tcp_port = tcp_port.to_string();
    let (all, succeeded) = (all.stop(), succeeded.stop());
    // PID COMM RET PROTO OPTS IF PORT ADDR
    let rows_all = rows(&all.stdout, "PID");
    let row = |ret: &str, proto: &str, opts: &str, port: &str| {
        [
            me(),
            comm(),
            ret.into(),
            proto.into(),
            opts.into(),
            "0".into(),
            port.into(),
        ]
        .into_iter()
        .chain(["127.0.0.1".to_string()])
        .collect::<Vec<_>>()
    };
    for want in [
        row("0", "UDP", ".....", &udp_port),
        row("0", "TCP", "...R.", &tcp_port),
        row("-98", "TCP", ".....", &tcp_port),
    ] {
        assert!(
            rows_all.iter().any(|r| r[..] == want[..]),
            "no row {want:?}:\n{}",
            all.stdout
        );
    }
    // Without -x, the failed bind is left out.
    let rows_ok = rows(&succeeded.stdout, "PID");
    assert!(rows_ok.iter().all(|r| r[2] == "0"), "{}", succeeded.stdout);
    assert_eq!(rows_ok.len(), 2, "{}", succeeded.stdout);
}

#[test]
fn solisten_shows_backlog_family_port_and_address() {
    if !bpfkit_testkit::privileged("solisten_shows_backlog_family_port_and_address") {
        return;
    }
    let _serial = serial();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let run = ToolRun::start("solisten", &["-p", &me()]);
    let v4 = listen_with_backlog(port, 7);
    // std listens with a backlog of 128.
    let v6 = TcpListener::bind("[::1]:0").ok();
    let out = run.stop();
    drop(v4);
    // PID COMM RET BACKLOG PROTO PORT ADDR
    let shown = rows(&out.stdout, "PID");
    let want = [
        &me(),
        &comm(),
        "0",
        "7",
        "TCPv4",
        &port.to_string(),
        "127.0.0.1",
    ];
    assert!(
        shown.iter().any(|r| r[..] == want),
        "no row {want:?}:\n{}",
        out.stdout
    );
    if let Some(v6) = v6 {
        let port6 = v6.local_addr().expect("address").port().to_string();
        let want = [&me(), &comm(), "0", "128", "TCPv6", port6.as_str(), "::1"];
        assert!(
            shown.iter().any(|r| r[..] == want),
            "no row {want:?}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn capable_shows_a_check_denied_to_a_thread_without_root() {
    if !bpfkit_testkit::privileged("capable_shows_a_check_denied_to_a_thread_without_root") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("capable", &["-p", &me(), "-x"]);
    let worker = thread::Builder::new()
        .name("bkcapck".into())
        .spawn(|| {
            lower_nice_as_nobody();
            // SAFETY: gettid has no preconditions.
            unsafe { libc::syscall(libc::SYS_gettid) }.to_string()
        })
        .expect("spawning the thread");
    let tid = worker.join().expect("the thread");
    let out = run.stop();
    // TIME UID PID TID COMM CAP NAME AUDIT VERDICT INSETID
    let shown = rows(&out.stdout, "TIME");
    let denied: Vec<_> = shown
        .iter()
        .filter(|r| r[3] == tid && r[5] == "23")
        .collect();
    assert!(
        !denied.is_empty(),
        "no CAP_SYS_NICE check of {tid}:\n{}",
        out.stdout
    );
    for row in denied {
        assert_eq!(
            row[1..9],
            [
                "65534",
                &me(),
                &tid,
                "bkcapck",
                "23",
                "CAP_SYS_NICE",
                row[7],
                "deny"
            ],
            "{row:?}"
        );
        // Without kprobes the tracepoint cannot tell AUDIT and INSETID.
        assert!(["0", "1", "-"].contains(&row[7]) && ["0", "1", "-"].contains(&row[9]));
    }
    assert!(shown.iter().all(|r| r[2] == me()), "{}", out.stdout);
}

#[test]
fn capable_stacks_show_where_each_check_came_from() {
    if !bpfkit_testkit::privileged("capable_stacks_show_where_each_check_came_from") {
        return;
    }
    let _serial = serial();
    let run = ToolRun::start("capable", &["-p", &me(), "-x", "-K", "-U"]);
    let worker = thread::Builder::new()
        .name("bkcapst".into())
        .spawn(|| {
            lower_nice_as_nobody();
            // SAFETY: gettid has no preconditions.
            unsafe { libc::syscall(libc::SYS_gettid) }.to_string()
        })
        .expect("spawning the thread");
    let tid = worker.join().expect("the thread");
    let out = run.stop();
    let lines: Vec<&str> = out.stdout.lines().collect();
    // TIME UID PID TID COMM CAP ...: the thread's CAP_SYS_NICE check.
    let row = lines
        .iter()
        .position(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.get(3) == Some(&tid.as_str()) && cells.get(5) == Some(&"23")
        })
        .unwrap_or_else(|| panic!("no CAP_SYS_NICE check of {tid}:\n{}", out.stdout));
    // Its frames, up to the next row: kernel ones (the syscall the check
    // came from), then user ones (libc's setpriority wrapper).
    let frames: Vec<&str> = lines[row + 1..]
        .iter()
        .take_while(|l| l.starts_with("    "))
        .map(|l| l.trim())
        .collect();
    let kernel = frames.iter().position(|f| f.contains("sys_setpriority+0x"));
    let user = frames
        .iter()
        .position(|f| f.contains("setpriority+0x") && !f.contains("sys_setpriority"));
    assert!(
        matches!((kernel, user), (Some(k), Some(u)) if k < u),
        "{frames:?}\n{}",
        out.stdout
    );
}

/// `--json`: the same check's stacks are members `kernel` and `user`,
/// arrays of frame names (as `stack` records and `trace -K`/`-U`), not
/// only the addresses in `data`.
#[test]
fn capable_json_stacks_are_frame_names() {
    if !bpfkit_testkit::privileged("capable_json_stacks_are_frame_names") {
        return;
    }
    let mut run = Run::start_tool_attached("capable", &["-p", &me(), "-x", "-K", "-U"]);
    let worker = thread::Builder::new()
        .name("bkcapjs".into())
        .spawn(|| {
            lower_nice_as_nobody();
            // SAFETY: gettid has no preconditions.
            unsafe { libc::syscall(libc::SYS_gettid) }
        })
        .expect("spawning the thread");
    let tid = worker.join().expect("the thread");
    let event = run.wait_for("the thread's CAP_SYS_NICE check", |r| {
        r["type"] == "event" && r["data"]["tid"] == tid && r["data"]["cap"] == 23
    });
    run.stop();
    let frames = |key: &str| -> Vec<String> {
        event[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} frames: {event}"))
            .iter()
            .map(|f| {
                f.as_str()
                    .unwrap_or_else(|| panic!("{f} is no name"))
                    .to_string()
            })
            .collect()
    };
    // The kernel's syscall, then libc's setpriority wrapper (glibc's
    // `__GI_setpriority`).
    assert!(
        frames("kernel")
            .iter()
            .any(|f| f.ends_with("sys_setpriority")),
        "{event}"
    );
    assert!(
        frames("user").iter().any(|f| f.ends_with("setpriority")),
        "{event}"
    );
}

#[test]
fn tcpdrop_names_the_reason_a_syn_to_a_closed_port_is_dropped() {
    if !bpfkit_testkit::privileged("tcpdrop_names_the_reason_a_syn_to_a_closed_port_is_dropped") {
        return;
    }
    let _serial = serial();
    let pair = VethPair::create();
    let run = ToolRun::start("tcpdrop", &["-4"]);
    // From b to a closed port on a: a drops the SYN (no socket) and resets.
    let connect = format!("exec 3<>/dev/tcp/{ADDR_A}/9");
    let refused = std::process::Command::new("ip")
        .args(["netns", "exec", &pair.ns_b, "bash", "-c", &connect])
        .output()
        .expect("running bash in the namespace");
    assert!(
        !refused.status.success(),
        "connecting to a closed port worked"
    );
    let out = run.stop();
    // TIME PID COMM IP SADDR SPORT DADDR DPORT STATE FLAGS REASON; PID and
    // COMM are whichever task the softirq interrupted.
    let shown = rows(&out.stdout, "TIME");
    let drops: Vec<_> = shown
        .iter()
        .filter(|r| r.len() >= 11 && r[r.len() - 7] == "169.254.77.2")
        .map(|r| &r[r.len() - 8..])
        .collect();
    assert!(
        !drops.is_empty(),
        "no drop from 169.254.77.2:\n{}",
        out.stdout
    );
    for row in drops {
        // IP SADDR SPORT DADDR DPORT STATE FLAGS (SYN) REASON
        assert_eq!(row[0], "4", "{row:?}");
        assert_eq!(
            row[3..],
            [ADDR_A, "9", "UNKNOWN", "0x2", "SKB_DROP_REASON_NO_SOCKET"][..]
        );
    }
}

#[test]
fn tcpsynbl_counts_the_accept_backlog_at_each_handshake() {
    if !bpfkit_testkit::privileged("tcpsynbl_counts_the_accept_backlog_at_each_handshake") {
        return;
    }
    let _serial = serial();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let run = ToolRun::start("tcpsynbl", &["-4"]);
    // A backlog limit no other listener here has; nothing is accepted, so
    // the four handshakes find 0, 1, 2 and 3 connections queued.
    let listener = listen_with_backlog(port, 11);
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let client = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
            // The handshake completes on the server side before connect()
            // returns over loopback; wait for it anyway.
            thread::sleep(std::time::Duration::from_millis(20));
            client
        })
        .collect();
    let out = run.stop();
    drop((clients, listener));
    let hist = section(&out.stdout, "backlog_max = 11")
        .unwrap_or_else(|| panic!("no histogram for backlog_max = 11:\n{}", out.stdout));
    let counted: Vec<_> = log2_buckets(hist)
        .into_iter()
        .filter(|&(_, _, n)| n > 0)
        .collect();
    assert_eq!(counted, [(0, 1, 2), (2, 3, 2)], "{}", out.stdout);
}

#[test]
fn tcptracer_shows_connect_accept_and_both_closes() {
    if !bpfkit_testkit::privileged("tcptracer_shows_connect_accept_and_both_closes") {
        return;
    }
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listening");
    let run = ToolRun::start("tcptracer", &["-p", &me()]);
    let client = TcpStream::connect(listener.local_addr().expect("address")).expect("connecting");
    let (server, _) = listener.accept().expect("accepting");
    let (client_port, server_port) = (
        client.local_addr().expect("address").port().to_string(),
        listener.local_addr().expect("address").port().to_string(),
    );
    drop(client);
    drop(server);
    let out = run.stop();
    // T PID COMM IP SADDR DADDR SPORT DPORT: each side's own address first.
    let shown = rows(&out.stdout, "T");
    let (me, comm, local) = (me(), comm(), "127.0.0.1".to_string());
    let row = |t: &str, sport: &str, dport: &str| {
        vec![
            t.to_string(),
            me.clone(),
            comm.clone(),
            "4".into(),
            local.clone(),
            local.clone(),
            sport.into(),
            dport.into(),
        ]
    };
    for want in [
        row("C", &client_port, &server_port),
        row("A", &server_port, &client_port),
        row("X", &client_port, &server_port),
        row("X", &server_port, &client_port),
    ] {
        assert!(
            shown.iter().any(|r| *r == want),
            "no row {want:?}:\n{}",
            out.stdout
        );
    }
}

/// (PID, COMM, HOST) of each gethostlatency row (TIME PID COMM LATms HOST),
/// sorted; the latency is checked to be a number of milliseconds.
fn lookups(stdout: &str) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = rows(stdout, "TIME")
        .iter()
        .filter(|r| r.len() == 5)
        .map(|r| {
            assert!(r[3].parse::<f64>().is_ok_and(|ms| ms >= 0.0), "{r:?}");
            (r[1].to_string(), r[2].to_string(), r[4].to_string())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn gethostlatency_times_the_lookups_libbpf_tools_sees() {
    let Some((peer, _serial)) = peer_test(
        "gethostlatency_times_the_lookups_libbpf_tools_sees",
        "gethostlatency",
    ) else {
        return;
    };
    // The first getent (getaddrinfo) is a child with its own pid, which -p
    // leaves out; the exec'd one (gethostbyname2, then getaddrinfo) keeps
    // the shell's pid.
    let gated = Gated::new("getent ahosts localhost; exec getent hosts localhost");
    let pid = gated.pid().to_string();
    let ours = ToolRun::start("gethostlatency", &["-p", &pid]);
    let theirs = Peer::start(&peer, &["-p", &pid], "HOST");
    assert!(gated.go().success(), "getent failed");
    let theirs = theirs.stop_after(|l| l.contains("localhost"), 2);
    let ours = ours.stop();
    let (ours, theirs) = (lookups(&ours.stdout), lookups(&theirs));
    assert!(ours.len() >= 2, "{ours:?}");
    assert!(
        ours.iter()
            .all(|(p, _, host)| *p == pid && host == "localhost"),
        "{ours:?}"
    );
    assert_eq!(ours, theirs);
}

#[test]
fn tcptop_counts_kilobytes_each_way_per_connection() {
    if !bpfkit_testkit::privileged("tcptop_counts_kilobytes_each_way_per_connection") {
        return;
    }
    use std::io::{Read, Write};
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listening");
    // One summary, printed at SIGINT: all the bytes in one row each.
    let run = ToolRun::start("tcptop", &["-p", &me(), "100"]);
    let mut client =
        TcpStream::connect(listener.local_addr().expect("address")).expect("connecting");
    let (mut server, _) = listener.accept().expect("accepting");
    let mut buf = vec![0u8; 300 * 1024];
    let echo = thread::spawn(move || {
        let mut got = vec![0u8; 300 * 1024];
        server.read_exact(&mut got).expect("receiving");
        server.write_all(&got[..10 * 1024]).expect("answering");
        server
    });
    client.write_all(&buf).expect("sending");
    client
        .read_exact(&mut buf[..10 * 1024])
        .expect("receiving the answer");
    let server = echo.join().expect("the server thread");
    let (cport, sport) = (
        client.local_addr().expect("address").port().to_string(),
        server.local_addr().expect("address").port().to_string(),
    );
    let out = run.stop();
    // PID COMM LADDR LPORT RADDR RPORT RX_KB TX_KB
    let shown = rows(&out.stdout, "PID");
    let row = |lport: &str, rport: &str, rx: &str, tx: &str| {
        [
            me(),
            comm(),
            "127.0.0.1".into(),
            lport.into(),
            "127.0.0.1".into(),
            rport.into(),
            rx.into(),
            tx.into(),
        ]
    };
    for want in [
        row(&cport, &sport, "10", "300"),
        row(&sport, &cport, "300", "10"),
    ] {
        // COMM: the sending thread's; the server side ran in another thread.
        assert!(
            shown
                .iter()
                .any(|r| r.len() == 8 && r[0] == want[0] && r[2..] == want[2..]),
            "no row {want:?}:\n{}",
            out.stdout
        );
    }
}

/// One loopback connection from this process carrying 3000 bytes one way,
/// closed by both ends; (client port, server port).
fn short_connection() -> (String, String) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("listening");
    let mut client =
        TcpStream::connect(listener.local_addr().expect("address")).expect("connecting");
    let (mut server, _) = listener.accept().expect("accepting");
    client.write_all(&[b'x'; 3000]).expect("sending");
    let mut buf = [0u8; 3000];
    server.read_exact(&mut buf).expect("receiving");
    let ports = (
        client.local_addr().expect("address").port().to_string(),
        server.local_addr().expect("address").port().to_string(),
    );
    drop((client, server));
    ports
}

/// Rows of `stdout` (after the header starting with `first`) that mention
/// `port` as a whole word, without their last column (MS: timing differs).
fn rows_with_port(stdout: &str, first: &str, port: &str) -> Vec<Vec<String>> {
    rows(stdout, first)
        .into_iter()
        .filter(|r| r.contains(&port))
        .map(|r| r[..r.len() - 1].iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn tcplife_and_tcpstates_print_what_libbpf_tools_prints() {
    let Some((life_peer, _serial)) = peer_test(
        "tcplife_and_tcpstates_print_what_libbpf_tools_prints",
        "tcplife",
    ) else {
        return;
    };
    let Some(states_peer) = bpfkit_testkit::peer_tool(
        "tcplife_and_tcpstates_print_what_libbpf_tools_prints",
        "tcpstates",
    ) else {
        return;
    };
    let me = me();
    let theirs_life = Peer::start(&life_peer, &["-p", &me], "PID");
    let theirs_states = Peer::start(&states_peer, &[], "SKADDR");
    let ours_life = ToolRun::start("tcplife", &["-p", &me]);
    let ours_states = ToolRun::start("tcpstates", &[]);
    let (cport, _) = short_connection();
    let theirs_life = theirs_life.stop_after(|l| l.contains(&cport), 2);
    let theirs_states = theirs_states.stop_after(|l| l.contains(&cport), 6);
    let (ours_life, ours_states) = (ours_life.stop(), ours_states.stop());
    // tcplife: PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB (2.93 and 0.00).
    let theirs = rows_with_port(&theirs_life, "PID", &cport);
    assert_eq!(theirs.len(), 2, "{theirs_life}");
    assert_eq!(rows_with_port(&ours_life.stdout, "PID", &cport), theirs);
    assert!(
        theirs.iter().any(|r| r[6..] == ["2.93", "0.00"]),
        "{theirs:?}"
    );
    // tcpstates: the same header words, and the same rows but for the
    // SKADDR prefix (0x) and COMM's width (libbpf-tools cuts it at 10).
    let header = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("SKADDR"))
            .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
    };
    assert_eq!(header(&ours_states.stdout), header(&theirs_states));
    let normalize = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|mut r| {
                r[0] = r[0].trim_start_matches("0x").to_string();
                r[2] = r[2].chars().take(10).collect();
                r
            })
            .collect()
    };
    let theirs = normalize(rows_with_port(&theirs_states, "SKADDR", &cport));
    assert!(theirs.len() >= 4, "{theirs_states}");
    assert_eq!(
        normalize(rows_with_port(&ours_states.stdout, "SKADDR", &cport)),
        theirs
    );
}

/// The JSON events among a run's records.
fn json_events(records: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    records.iter().filter(|v| v["type"] == "event").collect()
}

#[test]
fn json_keeps_the_state_and_signal_names_next_to_the_numbers() {
    if !bpfkit_testkit::privileged("json_keeps_the_state_and_signal_names_next_to_the_numbers") {
        return;
    }
    // Run takes the serial turn itself, one run at a time.
    let states = Run::start_tool_attached("tcpstates", &[]);
    let (cport, _) = short_connection();
    let states = states.stop();
    let port: u64 = cport.parse().expect("a port");
    let established = json_events(&states.records)
        .into_iter()
        .find(|e| e["data"]["sport"] == port && e["data"]["newstate"] == 1)
        .unwrap_or_else(|| panic!("no ESTABLISHED of port {port}: {:?}", states.records));
    // SYN_SENT (2) -> ESTABLISHED (1): numbers in data, names in decoded
    // (not the `->` column's decoration).
    assert_eq!(established["data"]["oldstate"], 2);
    assert_eq!(established["decoded"]["oldstate"], "SYN_SENT");
    assert_eq!(established["decoded"]["newstate"], "ESTABLISHED");
    // Without -n sigsnoop's SIG column shows the number; JSON names it.
    let me = me();
    let signals = Run::start_tool_attached("sigsnoop", &["-p", &me, "-s", "WINCH"]);
    // SAFETY: SIGWINCH to ourselves, ignored by default.
    unsafe { libc::kill(std::process::id() as i32, libc::SIGWINCH) };
    let signals = signals.stop();
    let winch = json_events(&signals.records);
    assert!(!winch.is_empty(), "{:?}", signals.records);
    for e in winch {
        assert_eq!(e["data"]["sig"], libc::SIGWINCH);
        assert_eq!(e["decoded"]["sig"], "SIGWINCH", "{e}");
    }
}
