//! The TCP tools on real connections: between two scratch network
//! namespaces joined by a veth pair (link-local addresses), and over
//! loopback (IPv4 and IPv6) in the root namespace.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use common::netns::NetPair;
use common::session::{Event, Global, Session};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const TCP_ESTABLISHED: i32 = 1;
const TCP_SYN_SENT: i32 = 2;
const TCP_CLOSE: i32 = 7;
const TCP_LAST_ACK: i32 = 9;

/// What the client sends and the server answers.
const REQUEST: usize = 10_000;
const REPLY: usize = 5_000;

/// An address field of an event (`bpfkit_ip_addr_t`, family in `af`).
fn addr(e: &Event, member: &str) -> IpAddr {
    let b = e.bytes(member, 16);
    match e.u16("af") {
        AF_INET => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        _ => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes"))),
    }
}

/// tcplife's byte counts (tcp_sock's bytes_acked and bytes_received, as
/// libbpf-tools) count sequence space: the data plus one for SYN and one
/// for FIN where the socket sent or received them.
fn check_bytes(e: &Event, sent: usize, received: usize) {
    let (tx, rx) = (e.u64("tx_b") as usize, e.u64("rx_b") as usize);
    assert!((sent..=sent + 2).contains(&tx), "tx_b {tx} for {sent} sent");
    assert!(
        (received..=received + 2).contains(&rx),
        "rx_b {rx} for {received} received"
    );
}

/// Listens on `ip`; answers one connection: reads the request to its end,
/// writes the reply, closes. Sends the port it listens on.
fn serve_once(ip: IpAddr, port_tx: mpsc::Sender<u16>) -> usize {
    let listener = TcpListener::bind((ip, 0)).expect("bind");
    port_tx
        .send(listener.local_addr().expect("local addr").port())
        .expect("port");
    answer(&listener)
}

/// Answers one connection to `listener` as [`serve_once`] describes.
fn answer(listener: &TcpListener) -> usize {
    let (mut conn, _) = listener.accept().expect("accept");
    let mut request = Vec::new();
    conn.read_to_end(&mut request).expect("read request");
    conn.write_all(&[b'r'; REPLY]).expect("write reply");
    request.len()
}

/// Sends the request, half-closes, reads the reply to its end.
fn request(server: SocketAddr) -> usize {
    let mut conn = TcpStream::connect_timeout(&server, Duration::from_secs(5)).expect("connect");
    conn.write_all(&[b'q'; REQUEST]).expect("write request");
    conn.shutdown(Shutdown::Write).expect("half-close");
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).expect("read reply");
    reply.len()
}

/// The TCP tools the exchange should show, started before it.
struct Tools {
    connect: Session,
    connlat: Session,
    life: Session,
    states: Session,
}

impl Tools {
    fn start() -> Tools {
        Tools {
            connect: Session::start("tcpconnect", None, &[]),
            connlat: Session::start("tcpconnlat", None, &[]),
            life: Session::start("tcplife", None, &[]),
            states: Session::start("tcpstates", None, &[]),
        }
    }

    /// Checks what the tools reported about one request/reply exchange
    /// from `client` to `server`.
    fn check_exchange(&mut self, client: IpAddr, server: SocketAddr, af: u16) {
        let me = std::process::id();
        let to_server =
            |e: &Event| e.u16("dport") == server.port() && addr(e, "daddr") == server.ip();

        let connect = self.connect.wait_event(to_server);
        assert_eq!(connect.u16("af"), af);
        assert_eq!(addr(&connect, "saddr"), client);
        assert_eq!(connect.u32("pid"), me, "the connecting process");
        assert!(!connect.str("task").is_empty());

        let connlat = self.connlat.wait_event(to_server);
        assert_eq!(connlat.u32("tgid"), me);
        assert!(
            connlat.u64("delta_us") < 10_000_000,
            "a handshake on one machine is quick"
        );

        // Both ends close: the client with the request sent, the server
        // with the reply sent.
        let client_end = self.life.wait_event(to_server);
        check_bytes(&client_end, REQUEST, REPLY);
        assert_eq!(client_end.u32("pid"), me);
        assert_eq!(addr(&client_end, "saddr"), client);
        let server_end = self
            .life
            .wait_event(|e| e.u16("sport") == server.port() && addr(e, "saddr") == server.ip());
        check_bytes(&server_end, REPLY, REQUEST);

        let established = self.states.wait_event(|e| {
            to_server(e)
                && e.i32("oldstate") == TCP_SYN_SENT
                && e.i32("newstate") == TCP_ESTABLISHED
        });
        assert_ne!(established.u64("skaddr"), 0);
        self.states.wait_event(|e| {
            e.u16("sport") == server.port()
                && e.i32("oldstate") == TCP_LAST_ACK
                && e.i32("newstate") == TCP_CLOSE
        });
    }
}

/// Runs one exchange on threads in the given namespaces (or here, `None`).
fn exchange(pair: Option<&NetPair>, server_ip: IpAddr) -> SocketAddr {
    let (port_tx, port_rx) = mpsc::channel();
    let server = match pair {
        Some(p) => p.within(&p.b, move || serve_once(server_ip, port_tx)),
        None => std::thread::spawn(move || serve_once(server_ip, port_tx)),
    };
    let port = port_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server port");
    let addr = SocketAddr::new(server_ip, port);
    let client = match pair {
        Some(p) => p.within(&p.a, move || request(addr)),
        None => std::thread::spawn(move || request(addr)),
    };
    assert_eq!(client.join().expect("client"), REPLY);
    assert_eq!(server.join().expect("server"), REQUEST);
    addr
}

#[test]
fn tcp_tools_follow_a_connection_between_namespaces() {
    if !bpfkit_testkit::privileged("tcp_tools_follow_a_connection_between_namespaces") {
        return;
    }
    let pair = NetPair::new("tcp");
    let mut tools = Tools::start();
    // RTT samples of the client's socket only, per local address.
    let rtt = Session::start(
        "tcprtt",
        None,
        &[
            (
                "targ_saddr",
                Global::U32(u32::from_ne_bytes(pair.addr_a.octets())),
            ),
            ("targ_laddr_hist", Global::U8(1)),
        ],
    );
    let server = exchange(Some(&pair), IpAddr::V4(pair.addr_b));
    // RTT samples come from segments received on an established socket; a
    // single short exchange now and then gives none (FIN and reply
    // together), so make two more.
    for _ in 0..2 {
        exchange(Some(&pair), IpAddr::V4(pair.addr_b));
    }
    tools.check_exchange(IpAddr::V4(pair.addr_a), server, AF_INET);

    // struct hist_key {laddr, raddr, af, pad}: 12 bytes; struct hist: 128.
    let slots_at = rtt.info.offset_of("hist", "slots");
    let hists = rtt.hash_values::<[u8; 12], 128>("hists", |rows| !rows.is_empty());
    assert_eq!(hists.len(), 1, "one histogram: the client's address");
    let (key, value) = &hists[0];
    assert_eq!(key[..4], pair.addr_a.octets());
    let samples: u32 = value[slots_at..slots_at + 27 * 4]
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
        .sum();
    assert!(
        samples > 0,
        "the reply was received on an established socket"
    );
}

#[test]
fn tcp_tools_follow_loopback_connections_v4_and_v6() {
    if !bpfkit_testkit::privileged("tcp_tools_follow_loopback_connections_v4_and_v6") {
        return;
    }
    let mut tools = Tools::start();
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let server = exchange(None, v4);
    tools.check_exchange(v4, server, AF_INET);
    if std::fs::read_to_string("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
        .is_ok_and(|s| s.trim() == "0")
    {
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let server = exchange(None, v6);
        tools.check_exchange(v6, server, AF_INET6);
    }
}

#[test]
fn tcpconnect_counts_with_c_and_filters_by_port() {
    if !bpfkit_testkit::privileged("tcpconnect_counts_with_c_and_filters_by_port") {
        return;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let [ports, ports_len] = port_list("filter_ports", &[port]);
    let s = Session::start(
        "tcpconnect",
        None,
        &[("do_count", Global::U8(1)), ports, ports_len],
    );
    for _ in 0..3 {
        let _conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        let _ = listener.accept().expect("accept");
    }
    // Another port is filtered out.
    let other = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let _ = TcpStream::connect(other.local_addr().expect("addr")).expect("connect");

    let dport_at = s.info.offset_of("count_key", "dport");
    let rows = s.hash_values::<[u8; 38], 8>("counts", |rows| {
        rows.iter()
            .map(|(_, v)| u64::from_ne_bytes(*v))
            .sum::<u64>()
            >= 3
    });
    assert_eq!(rows.len(), 1, "one (saddr, daddr, dport)");
    let (key, value) = &rows[0];
    assert_eq!(u16::from_ne_bytes([key[dport_at], key[dport_at + 1]]), port);
    assert_eq!(u64::from_ne_bytes(*value), 3);
}

#[test]
fn tcpretrans_sees_syn_retransmits_to_a_silent_address() {
    if !bpfkit_testkit::privileged("tcpretrans_sees_syn_retransmits_to_a_silent_address") {
        return;
    }
    let pair = NetPair::new("rtx");
    let mut s = Session::start("tcpretrans", None, &[]);
    // Nobody answers ARP for `nobody`: the SYN is retransmitted after the
    // initial RTO (1 s) until connect gives up.
    let silent = SocketAddr::new(IpAddr::V4(pair.nobody), 4242);
    let client = pair.within(&pair.a, move || {
        TcpStream::connect_timeout(&silent, Duration::from_secs(3)).is_err()
    });
    let event = s.wait_event(|e| addr(e, "daddr") == silent.ip() && e.u16("dport") == 4242);
    assert_eq!(event.i32("state"), TCP_SYN_SENT);
    assert_eq!(event.u32("type"), 1, "RETRANSMIT (a loss probe is 2, TLP)");
    assert_eq!(addr(&event, "saddr"), IpAddr::V4(pair.addr_a));
    assert!(client.join().expect("client"), "nobody accepts");
}

#[test]
fn family_filters_keep_only_ipv6() {
    if !bpfkit_testkit::privileged("family_filters_keep_only_ipv6") {
        return;
    }
    if !std::fs::read_to_string("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
        .is_ok_and(|s| s.trim() == "0")
    {
        eprintln!("skipping family_filters_keep_only_ipv6: no IPv6 on lo");
        return;
    }
    let only_v6 = [("only_ipv6", Global::U8(1))];
    let mut life = Session::start("tcplife", None, &only_v6);
    let mut states = Session::start("tcpstates", None, &only_v6);
    // An IPv4 exchange first: events arrive in order, so any IPv4 event
    // would come before the IPv6 one.
    exchange(None, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let v6 = exchange(None, IpAddr::V6(Ipv6Addr::LOCALHOST));
    for session in [&mut life, &mut states] {
        let saw_v4 = std::cell::Cell::new(false);
        session.wait_event(|e| {
            saw_v4.set(saw_v4.get() || e.u16("af") != AF_INET6);
            e.u16("dport") == v6.port() && addr(e, "daddr") == v6.ip()
        });
        assert!(!saw_v4.get(), "an IPv4 connection was reported");
    }
}

/// `MAX_PORTS` of tcp.h: the length of every port list array.
const MAX_PORTS: usize = 64;

/// The two globals of a port list (`DEFINE_PORT_LIST(name)` in tcp.h), as
/// `bpfkit TOOL -P 80,443` sets them: the array and `name_len`.
fn port_list(name: &'static str, ports: &[u16]) -> [(&'static str, Global); 2] {
    let mut all = ports.to_vec();
    all.resize(MAX_PORTS, 0);
    let len: &'static str = Box::leak(format!("{name}_len").into_boxed_str());
    [
        (name, Global::U16s(all)),
        (len, Global::U32(ports.len() as u32)),
    ]
}

#[test]
fn tcpconnect_traces_only_the_listed_ports() {
    if !bpfkit_testkit::privileged("tcpconnect_traces_only_the_listed_ports") {
        return;
    }
    let ([a, b, c], listed) = listeners();
    let [ports, ports_len] = port_list("filter_ports", &listed);
    let mut s = Session::start("tcpconnect", None, &[ports, ports_len]);
    // The unlisted port first: an event for it would come before b's.
    for listener in [&c, &a, &b] {
        let _conn = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let _ = listener.accept().expect("accept");
    }
    for port in listed {
        wait_listed(&mut s, "dport", listed, port);
    }
}

/// Loopback listeners for the port list tests, and the ports the filters
/// list: the first two, not the third.
fn listeners() -> ([TcpListener; 3], [u16; 2]) {
    let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let listeners = [bind(), bind(), bind()];
    let listed = [port_of(&listeners[0]), port_of(&listeners[1])];
    (listeners, listed)
}

fn port_of(listener: &TcpListener) -> u16 {
    listener.local_addr().expect("addr").port()
}

/// One request/reply exchange with each listener, in the order given,
/// each finished before the next starts.
fn exchange_with_each(listeners: &[&TcpListener]) {
    std::thread::scope(|scope| {
        for listener in listeners {
            let server = scope.spawn(|| answer(listener));
            assert_eq!(request(listener.local_addr().expect("addr")), REPLY);
            assert_eq!(server.join().expect("server"), REQUEST);
        }
    });
}

/// Waits for an event for which `want` holds; every event read on the way
/// must pass `allowed` (the port filter under test).
fn wait_filtered(
    s: &mut Session,
    allowed: impl Fn(&Event) -> bool,
    want: impl Fn(&Event) -> bool,
) -> Event {
    s.wait_event(|e| {
        assert!(
            allowed(e),
            "{}: an event the port list excludes: sport {} dport {}",
            endpoints(e),
            e.u16("sport"),
            e.u16("dport")
        );
        want(e)
    })
}

/// Waits for the event whose `field` is `port`; every event read on the
/// way must show one of the `listed` ports there.
fn wait_listed(s: &mut Session, field: &str, listed: [u16; 2], port: u16) -> Event {
    wait_filtered(
        s,
        |e| listed.contains(&e.u16(field)),
        |e| e.u16(field) == port,
    )
}

fn endpoints(e: &Event) -> String {
    format!("{} -> {}", addr(e, "saddr"), addr(e, "daddr"))
}

#[test]
fn tcplife_and_tcpstates_trace_only_the_listed_ports() {
    if !bpfkit_testkit::privileged("tcplife_and_tcpstates_trace_only_the_listed_ports") {
        return;
    }
    let ([a, b, c], listed) = listeners();
    // -D: remote ports (the clients' sockets); -L: local ports (the
    // servers' sockets).
    let mut life_remote = Session::start("tcplife", None, &port_list("target_dports", &listed));
    let mut life_local = Session::start("tcplife", None, &port_list("target_sports", &listed));
    let mut states_remote = Session::start("tcpstates", None, &port_list("target_dports", &listed));
    // The unlisted port first: its events would come before the others.
    exchange_with_each(&[&c, &a, &b]);

    for port in listed {
        let client_end = wait_listed(&mut life_remote, "dport", listed, port);
        check_bytes(&client_end, REQUEST, REPLY);
        let server_end = wait_listed(&mut life_local, "sport", listed, port);
        check_bytes(&server_end, REPLY, REQUEST);
        wait_filtered(
            &mut states_remote,
            |e| listed.contains(&e.u16("dport")),
            |e| e.u16("dport") == port && e.i32("newstate") == TCP_CLOSE,
        );
    }
}
