//! `bpfkit run --iface` with the XDP and tc examples, on a veth pair between
//! two network namespaces the test creates (and always deletes).

mod common;

use bpfkit_testkit::privileged;
use common::{Run, VethPair, link_exists};
use serde_json::Value;

/// UDP datagrams the test sends from `b` to `a`.
const DATAGRAMS: u64 = 3;
const IPPROTO_UDP: u64 = 17;

fn map_record<'a>(records: &'a [Value], map: &str) -> Option<&'a Value> {
    // The last print: the dump at exit.
    records
        .iter()
        .rev()
        .find(|r| r["type"] == "map" && r["map"] == map)
}

fn entry_value(map: &Value, key: u64) -> Option<&Value> {
    map["entries"]
        .as_array()?
        .iter()
        .find(|e| e["key"] == key)
        .map(|e| &e["value"])
}

fn assert_cleaned_up(pair: VethPair) {
    let hooks = pair.hooks_on_a();
    assert!(hooks.trim().is_empty(), "left on {}: {hooks}", pair.dev_a);
    let (ns, dev_a, dev_b) = (pair.ns_a.clone(), pair.dev_a.clone(), pair.dev_b.clone());
    drop(pair);
    assert!(!link_exists(&ns, &dev_a), "{dev_a} still exists");
    assert!(!link_exists(&ns, &dev_b), "{dev_b} still exists");
}

#[test]
fn xdp_count_counts_udp_packets_by_protocol() {
    if !privileged("xdp_count_counts_udp_packets_by_protocol") {
        return;
    }
    let pair = VethPair::create();
    let example = common::example("xdp_count.bpf.o");
    let mut run = Run::start_in_netns(&pair.ns_a, &example, &["--iface", &pair.dev_a]);
    run.wait_attached(&["xdp_count"]);
    for _ in 0..DATAGRAMS {
        pair.send_udp_to_a();
    }
    let done = run.stop();
    let attached = &done.records[0];
    assert!(
        attached["hook"]
            .as_str()
            .is_some_and(|h| h.contains(&pair.dev_a)),
        "{attached}"
    );
    let map = map_record(&done.records, "packets_by_proto")
        .unwrap_or_else(|| panic!("no dump of packets_by_proto: {:?}", done.records));
    // Per-CPU counters, summed over CPUs by bpfkit.
    let udp = entry_value(map, IPPROTO_UDP).and_then(Value::as_u64);
    assert!(
        udp.is_some_and(|n| n >= DATAGRAMS),
        "UDP count {udp:?} < {DATAGRAMS}: {map}"
    );
    assert_cleaned_up(pair);
}

#[test]
fn tc_ingress_counts_packets_and_bytes() {
    if !privileged("tc_ingress_counts_packets_and_bytes") {
        return;
    }
    let pair = VethPair::create();
    let example = common::example("tc_ingress.bpf.o");
    let mut run = Run::start_in_netns(&pair.ns_a, &example, &["--iface", &pair.dev_a]);
    run.wait_attached(&["tc_ingress"]);
    for _ in 0..DATAGRAMS {
        pair.send_udp_to_a();
    }
    // "bpfkit\n" in UDP in IPv4: 7 + 8 + 20 bytes. Another trace_pipe
    // reader may take a line: send more until one reaches bpfkit.
    run.wait_retriggering(
        "printk of a datagram",
        |r| common::is_printk_with(r, "Got IP packet: tot_len: 35, ttl: 64"),
        || pair.send_udp_to_a(),
    );
    let done = run.stop();
    let map = map_record(&done.records, "ingress_stats")
        .unwrap_or_else(|| panic!("no dump of ingress_stats: {:?}", done.records));
    let stats = entry_value(map, 0).unwrap_or_else(|| panic!("no key 0: {map}"));
    let packets = stats["packets"].as_u64().unwrap_or(0);
    let bytes = stats["bytes"].as_u64().unwrap_or(0);
    assert!(packets >= DATAGRAMS, "{stats}");
    // At least an Ethernet + IPv4 + UDP header per datagram.
    assert!(bytes >= packets * 42, "{stats}");
    assert_cleaned_up(pair);
}
