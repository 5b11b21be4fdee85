//! XDP and tc programs on a veth pair whose peer lives in a temporary
//! network namespace; the counters go up after a ping.

mod common;

use std::process::Command;

use bpfkit_runtime::{LoadOptions, Session};
use common::{assert_unloaded, build, global_u64, setup};

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// veth `host` ↔ peer (in netns `ns`), 10.213.x.1 ↔ 10.213.x.2; deleted on drop.
struct VethPair {
    host: String,
    ns: String,
    host_addr: String,
}

impl VethPair {
    /// `n` tells apart the pairs of tests that run at the same time.
    fn create(n: u32) -> VethPair {
        let id = (std::process::id() % 100) * 2 + n + 10;
        let pair = VethPair {
            host: format!("bkrt{id}a"),
            ns: format!("bpfkit-rt-{id}"),
            host_addr: format!("10.213.{id}.1"),
        };
        let peer = format!("bkrt{id}b");
        let host_addr = format!("{}/24", pair.host_addr);
        let peer_cidr = format!("10.213.{id}.2/24");
        let ok = ip(&["netns", "add", &pair.ns])
            && ip(&[
                "link", "add", &pair.host, "type", "veth", "peer", "name", &peer,
            ])
            && ip(&["link", "set", &peer, "netns", &pair.ns])
            && ip(&["addr", "add", &host_addr, "dev", &pair.host])
            && ip(&["link", "set", &pair.host, "up"])
            && ip(&["-n", &pair.ns, "addr", "add", &peer_cidr, "dev", &peer])
            && ip(&["-n", &pair.ns, "link", "set", &peer, "up"]);
        assert!(ok, "setting up the veth pair failed");
        pair
    }

    /// Three UDP datagrams from the namespace to the host side (after an
    /// ARP exchange): all arrive on the host veth's ingress. (No ping here:
    /// bash's /dev/udp is always there.)
    fn send_from_peer(&self) -> bool {
        let script = format!(
            "for i in 1 2 3; do echo bpfkit > /dev/udp/{}/9; done",
            self.host_addr
        );
        Command::new("ip")
            .args(["netns", "exec", &self.ns, "bash", "-c", &script])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn tc_state(&self) -> String {
        let out = |args: &[&str]| {
            Command::new("tc")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        out(&["filter", "show", "dev", &self.host, "ingress"])
            + &out(&["qdisc", "show", "dev", &self.host])
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

#[test]
fn xdp_and_tc_count_packets_on_a_veth() {
    count_packets("xdp_and_tc_count_packets_on_a_veth", false);
}

#[test]
fn tc_through_a_clsact_qdisc_that_is_removed_again() {
    count_packets("tc_through_a_clsact_qdisc_that_is_removed_again", true);
}

fn count_packets(test: &str, force_clsact: bool) {
    let Some(clang) = setup(test) else {
        return;
    };
    let object = build(&clang, "net");
    let veth = VethPair::create(force_clsact as u32);
    let tc_before = veth.tc_state();
    let opts = LoadOptions {
        iface: Some(veth.host.clone()),
        force_clsact,
        ..LoadOptions::default()
    };
    let session = Session::load(&object, &opts).expect("load");
    let ids = session.program_ids();
    let tc_hook = &session.attachments()[1].hook;
    let expected = if force_clsact {
        "clsact filter"
    } else {
        "tcx link"
    };
    assert!(tc_hook.contains(expected), "{tc_hook}");
    if force_clsact {
        assert!(veth.tc_state().contains("count_tc"), "{}", veth.tc_state());
    }
    assert!(
        veth.send_from_peer(),
        "sending through the veth pair failed"
    );
    assert!(global_u64(&session, "xdp_packets") >= 3);
    assert!(global_u64(&session, "tc_packets") >= 3);
    drop(session);
    assert_unloaded(&ids);
    assert_eq!(veth.tc_state(), tc_before);
}

#[test]
fn xdp_without_interface_is_a_usage_error() {
    let Some(clang) = setup("xdp_without_interface_is_a_usage_error") else {
        return;
    };
    let object = build(&clang, "net");
    let e = Session::load(&object, &LoadOptions::default())
        .err()
        .expect("must fail")
        .to_string();
    assert!(e.contains("--iface"), "{e}");
    let opts = LoadOptions {
        iface: Some("nosuchif0".into()),
        ..LoadOptions::default()
    };
    let e = Session::load(&object, &opts)
        .err()
        .expect("must fail")
        .to_string();
    assert!(e.contains("no network interface 'nosuchif0'"), "{e}");
}
