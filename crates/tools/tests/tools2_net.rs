//! The packet tools on a veth pair between two scratch namespaces: UDP
//! datagrams of a known size, so that drops and byte counts are exact.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::process::Command;
use std::time::Duration;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{HashMap, MapData};
use common::netns::NetPair;
use common::session::{Session, poll};

const PAYLOAD: usize = 100;
/// Ethernet + IPv4 + UDP headers: what tc counts besides the payload.
const HEADERS: u64 = 14 + 20 + 8;
const IPPROTO_UDP: u8 = 17;

/// A UDP socket in namespace `ns`, bound to `addr`.
fn udp_socket(pair: &NetPair, ns: &str, addr: Ipv4Addr) -> UdpSocket {
    let socket = pair
        .run(ns, move || UdpSocket::bind((addr, 0)))
        .expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    socket
}

/// A UDP socket in namespace `ns` on a link-local IPv6 address of `dev`.
fn udp6_socket(pair: &NetPair, ns: &str, dev: &str, addr: Ipv6Addr) -> UdpSocket {
    let dev = std::ffi::CString::new(dev).expect("name");
    let socket = pair
        .run(ns, move || {
            // SAFETY: a valid NUL-terminated interface name.
            let scope = unsafe { libc::if_nametoindex(dev.as_ptr()) };
            UdpSocket::bind(SocketAddrV6::new(addr, 0, 0, scope))
        })
        .expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    socket
}

/// Adds a link-local IPv6 address (no duplicate detection, usable at once).
fn add_ipv6(ns: &str, dev: &str, addr: Ipv6Addr) {
    let status = Command::new("ip")
        .args([
            "-n",
            ns,
            "-6",
            "addr",
            "add",
            &format!("{addr}/64"),
            "dev",
            dev,
            "nodad",
        ])
        .status()
        .expect("ip");
    assert!(status.success(), "adding {addr}");
}

/// Sends one datagram; whether `to` received it (within the timeout).
fn delivered(from: &UdpSocket, to: &UdpSocket) -> bool {
    let dest: SocketAddr = to.local_addr().expect("addr");
    from.send_to(&[7u8; PAYLOAD], dest).expect("send");
    let mut buf = [0u8; 2 * PAYLOAD];
    to.recv_from(&mut buf).is_ok_and(|(n, _)| n == PAYLOAD)
}

/// `hits` rows of xdpfilter: struct rule (24 bytes) → struct traffic.
fn hits(s: &Session) -> Vec<([u8; 24], [u8; 16])> {
    let map = s.ebpf.map("hits").expect("hits");
    let hits: HashMap<&MapData, [u8; 24], [u8; 16]> = HashMap::try_from(map).expect("hash");
    hits.iter().filter_map(Result::ok).collect()
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[test]
fn xdpfilter_drops_a_source_prefix_and_a_port_and_counts_them() {
    if !bpfkit_testkit::privileged("xdpfilter_drops_a_source_prefix_and_a_port_and_counts_them") {
        return;
    }
    let pair = NetPair::new("xdp");
    let mut s = Session::loaded("xdpfilter", &[]);
    let veth_b = pair.veth_b.clone();
    s = pair.run(&pair.b, move || {
        s.attach_net("xdp", &veth_b);
        s
    });
    let tx = udp_socket(&pair, &pair.a, pair.addr_a);
    let rx = udp_socket(&pair, &pair.b, pair.addr_b);
    assert!(delivered(&tx, &rx), "no rule: delivered");

    // Drop A's /24 (the prefix, not the exact address).
    {
        let map = s.ebpf.map_mut("drop_v4").expect("drop_v4");
        let mut trie: LpmTrie<&mut MapData, [u8; 4], u32> =
            LpmTrie::try_from(map).expect("lpm trie");
        let octets = pair.addr_a.octets();
        let prefix = [octets[0], octets[1], octets[2], 0];
        trie.insert(&Key::new(24, prefix), 24, 0).expect("insert");
    }
    assert!(!delivered(&tx, &rx), "dropped by prefix");
    assert!(!delivered(&tx, &rx), "dropped by prefix");
    let addr_at = s.info.offset_of("rule", "addr");
    let plen_at = s.info.offset_of("rule", "prefixlen");
    let rows = hits(&s);
    assert_eq!(rows.len(), 1, "one rule matched");
    let (rule, traffic) = &rows[0];
    let octets = pair.addr_a.octets();
    assert_eq!(
        rule[addr_at..addr_at + 4],
        [octets[0], octets[1], octets[2], 0]
    );
    assert_eq!(rule[plen_at], 24);
    assert_eq!(u64_at(traffic, 0), 2, "two datagrams dropped");
    // XDP sees the frame without its Ethernet FCS: headers + payload.
    assert_eq!(u64_at(traffic, 8), 2 * (HEADERS + PAYLOAD as u64));

    // Now by protocol and destination port instead.
    {
        let map = s.ebpf.map_mut("drop_v4").expect("drop_v4");
        let mut trie: LpmTrie<&mut MapData, [u8; 4], u32> =
            LpmTrie::try_from(map).expect("lpm trie");
        let prefix = [octets[0], octets[1], octets[2], 0];
        trie.remove(&Key::new(24, prefix)).expect("remove");
    }
    assert!(delivered(&tx, &rx), "rule removed: delivered");
    let port = rx.local_addr().expect("addr").port();
    {
        let map = s.ebpf.map_mut("drop_ports").expect("drop_ports");
        let mut ports: HashMap<&mut MapData, [u8; 4], u32> = HashMap::try_from(map).expect("hash");
        let [lo, hi] = port.to_ne_bytes();
        ports
            .insert([IPPROTO_UDP, 0, lo, hi], 1, 0)
            .expect("insert");
    }
    assert!(!delivered(&tx, &rx), "dropped by port");
    let proto_at = s.info.offset_of("rule", "proto");
    let port_at = s.info.offset_of("rule", "port");
    let rows = hits(&s);
    let (rule, traffic) = rows
        .iter()
        .find(|(r, _)| r[proto_at] == IPPROTO_UDP)
        .expect("the port rule matched");
    assert_eq!(u16::from_ne_bytes([rule[port_at], rule[port_at + 1]]), port);
    assert_eq!(u64_at(traffic, 0), 1);
}

#[test]
fn tcpktstat_counts_packets_and_bytes_per_direction_and_peer() {
    if !bpfkit_testkit::privileged("tcpktstat_counts_packets_and_bytes_per_direction_and_peer") {
        return;
    }
    let pair = NetPair::new("tcx");
    let mut s = Session::loaded("tcpktstat", &[]);
    let veth_a = pair.veth_a.clone();
    s = pair.run(&pair.a, move || {
        s.attach_net("tc", &veth_a);
        s
    });
    let a = udp_socket(&pair, &pair.a, pair.addr_a);
    let b = udp_socket(&pair, &pair.b, pair.addr_b);
    for _ in 0..3 {
        assert!(delivered(&a, &b));
    }
    for _ in 0..2 {
        assert!(delivered(&b, &a));
    }

    // struct flow_key: raddr[16], af, proto, dir: 20 bytes; struct traffic.
    let (proto_at, dir_at) = (
        s.info.offset_of("flow_key", "proto"),
        s.info.offset_of("flow_key", "dir"),
    );
    let count = |dir: u8| -> (u64, u64) {
        let map = s.ebpf.map("stats").expect("stats");
        let stats: HashMap<&MapData, [u8; 20], [u8; 16]> = HashMap::try_from(map).expect("hash");
        stats
            .iter()
            .filter_map(Result::ok)
            .filter(|(k, _)| {
                k[proto_at] == IPPROTO_UDP && k[dir_at] == dir && k[..4] == pair.addr_b.octets()
            })
            .map(|(_, v)| (u64_at(&v, 0), u64_at(&v, 8)))
            .fold((0, 0), |(p, b), (vp, vb)| (p + vp, b + vb))
    };
    let datagram = HEADERS + PAYLOAD as u64;
    poll(|| (count(1) == (3, 3 * datagram)).then_some(()));
    assert_eq!(count(1), (3, 3 * datagram), "out: to B");
    assert_eq!(count(0), (2, 2 * datagram), "in: from B");
}

#[test]
fn xdpfilter_drops_an_ipv6_source_prefix() {
    if !bpfkit_testkit::privileged("xdpfilter_drops_an_ipv6_source_prefix") {
        return;
    }
    let pair = NetPair::new("xdp6");
    let addr_a: Ipv6Addr = "fe80::b:1:1".parse().expect("address");
    let addr_b: Ipv6Addr = "fe80::b:1:2".parse().expect("address");
    add_ipv6(&pair.a, &pair.veth_a, addr_a);
    add_ipv6(&pair.b, &pair.veth_b, addr_b);
    let mut s = Session::loaded("xdpfilter", &[]);
    let veth_b = pair.veth_b.clone();
    s = pair.run(&pair.b, move || {
        s.attach_net("xdp", &veth_b);
        s
    });
    let tx = udp6_socket(&pair, &pair.a, &pair.veth_a, addr_a);
    let rx = udp6_socket(&pair, &pair.b, &pair.veth_b, addr_b);
    assert!(delivered(&tx, &rx), "no rule: delivered");

    // fe80::b:1:0/112 holds A's address.
    let mut prefix = addr_a.octets();
    prefix[14..].fill(0);
    {
        let map = s.ebpf.map_mut("drop_v6").expect("drop_v6");
        let mut trie: LpmTrie<&mut MapData, [u8; 16], u32> =
            LpmTrie::try_from(map).expect("lpm trie");
        trie.insert(&Key::new(112, prefix), 112, 0).expect("insert");
    }
    assert!(!delivered(&tx, &rx), "dropped by prefix");
    assert!(!delivered(&tx, &rx), "dropped by prefix");

    let (addr_at, af_at, plen_at) = (
        s.info.offset_of("rule", "addr"),
        s.info.offset_of("rule", "af"),
        s.info.offset_of("rule", "prefixlen"),
    );
    let rows = hits(&s);
    assert_eq!(rows.len(), 1, "one rule matched");
    let (rule, traffic) = &rows[0];
    assert_eq!(
        rule[addr_at..addr_at + 16],
        prefix,
        "the address, masked to the prefix"
    );
    assert_eq!(
        u16::from_ne_bytes([rule[af_at], rule[af_at + 1]]),
        10,
        "AF_INET6"
    );
    assert_eq!(rule[plen_at], 112);
    // Neighbour discovery from A's address may be dropped too.
    assert!(u64_at(traffic, 0) >= 2, "both datagrams dropped");
}
