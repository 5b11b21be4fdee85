//! `bpfkit tcpretrans` end to end: a SYN to an address whose frames go
//! nowhere is retransmitted, and the table shows it as `R>` in SYN_SENT.

mod common;

use bpfkit_testkit::privileged;
use common::tool::ToolRun;
use common::{VethPair, ip};
use std::process::Command;

#[test]
fn tcpretrans_shows_a_syn_retransmit_in_its_table() {
    if !privileged("tcpretrans_shows_a_syn_retransmit_in_its_table") {
        return;
    }
    let pair = VethPair::create();
    // A permanent neighbour entry with a MAC nobody has: b's end drops
    // the frames and nothing answers, so the SYN is retransmitted after
    // the initial RTO (1 s), without waiting for ARP to fail.
    ip(&format!(
        "-n {} neigh replace 169.254.77.2 lladdr 02:00:5e:00:53:01 dev {} nud permanent",
        pair.ns_a, pair.dev_a
    ));
    let run = ToolRun::start("tcpretrans", &[]);
    let connect = "exec 3<>/dev/tcp/169.254.77.2/4242";
    let status = Command::new("timeout")
        .args([
            "2.5", "ip", "netns", "exec", &pair.ns_a, "bash", "-c", connect,
        ])
        .status()
        .expect("running bash");
    assert!(!status.success(), "nobody accepts the connection");
    let out = run.stop();
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains("169.254.77.2") && l.contains("4242"))
        .unwrap_or_else(|| panic!("no retransmit row:\n{}\n{}", out.stdout, out.stderr));
    assert!(row.contains("R>"), "{row}");
    assert!(row.contains("SYN_SENT"), "{row}");
    assert!(row.contains("169.254.77.1"), "{row}");
}
