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
    let s = Session::start(
        "tcpconnect",
        None,
        &[
            ("do_count", Global::U8(1)),
            ("filter_port", Global::U16(port)),
        ],
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
