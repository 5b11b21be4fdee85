//! `bpfkit net [list|show] [dev IF]`: programs attached to the network
//! devices of the current network namespace, in bpftool's layout: XDP
//! (any mode, link or not), tc filters on clsact hooks, tcx and netkit
//! programs and links (which bpftool 7.1 does not show; newer bpftool
//! shows them as `tcx/ingress`, `netkit/primary`... rows of `tc`), and the
//! flow dissector.

use anyhow::{Context, Result, bail};
use bpfkit_sys::{NetDevice, attach_type};
use clap::Args;
use serde_json::{Value, json};
use std::os::fd::{AsFd, AsRawFd};
use std::process::ExitCode;

use super::inspect::{self, JsonArgs};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit net
    bpfkit net show dev eth0 -p
    ip netns exec blue bpfkit net")]
pub struct NetArgs {
    /// `[list|show] [dev IF]`
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    #[command(flatten)]
    json: JsonArgs,
}

pub fn run(args: NetArgs) -> Result<ExitCode> {
    let (_, rest) = inspect::split_action(&args.words, &["list", "show"]);
    let wanted = match rest {
        [] => None,
        [dev, name] if dev == "dev" => Some(name.as_str()),
        [dev] if dev == "dev" => bail!("'dev' needs an interface name"),
        [word, ..] => bail!("expected 'dev IF', not '{word}'"),
    };
    let mut devices = bpfkit_sys::net_devices().context("listing network devices (rtnetlink)")?;
    if let Some(name) = wanted {
        devices.retain(|d| d.name == name);
        if devices.is_empty() {
            bail!("no device named '{name}' in this network namespace");
        }
    }
    let report = Report::collect(&devices, wanted.is_none())?;
    if args.json.is_json() {
        args.json.write(&json!([report.json()]))?;
    } else {
        crate::out::stdout(report.text())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of bpftool's `xdp:` or `tc:` section.
struct Row {
    devname: String,
    ifindex: u32,
    /// `driver`/`generic`/`offload` for XDP, `clsact/ingress` or
    /// `tcx/egress` for tc.
    kind: String,
    name: Option<String>,
    prog_id: u32,
    link_id: u32,
    /// tcx and netkit rows name the id `prog_id`, like newer bpftool.
    tcx: bool,
}

struct Report {
    xdp: Vec<Row>,
    tc: Vec<Row>,
    flow_dissector: Vec<u32>,
}

impl Report {
    fn collect(devices: &[NetDevice], whole_namespace: bool) -> Result<Report> {
        let mut report = Report {
            xdp: Vec::new(),
            tc: Vec::new(),
            flow_dissector: Vec::new(),
        };
        for dev in devices {
            report.add_device(dev)?;
        }
        if whole_namespace {
            let netns = std::fs::File::open("/proc/self/ns/net").context("opening this netns")?;
            report.flow_dissector = bpfkit_sys::prog_query(
                netns.as_fd().as_raw_fd() as u32,
                attach_type::FLOW_DISSECTOR,
            )
            .context("querying the flow dissector")?
            .prog_ids;
        }
        Ok(report)
    }

    fn add_device(&mut self, dev: &NetDevice) -> Result<()> {
        let row = |kind: &str, name: Option<String>, prog_id, link_id, tcx| Row {
            devname: dev.name.clone(),
            ifindex: dev.ifindex,
            kind: kind.to_string(),
            name,
            prog_id,
            link_id,
            tcx,
        };
        for (mode, id) in &dev.xdp {
            self.xdp.push(row(mode, None, *id, 0, false));
        }
        let filters = bpfkit_sys::tc_filters(dev.ifindex)
            .with_context(|| format!("listing tc filters of {}", dev.name))?;
        for f in filters {
            let kind = format!("clsact/{}", f.hook);
            self.tc.push(row(&kind, Some(f.name), f.prog_id, 0, false));
        }
        for (hook, at) in [
            ("tcx/ingress", attach_type::TCX_INGRESS),
            ("tcx/egress", attach_type::TCX_EGRESS),
            ("netkit/primary", attach_type::NETKIT_PRIMARY),
            ("netkit/peer", attach_type::NETKIT_PEER),
        ] {
            let attached = device_query(dev.ifindex, at)
                .with_context(|| format!("querying {hook} of {}", dev.name))?;
            for (prog, link) in attached.prog_ids.iter().zip(&attached.link_ids) {
                self.tc
                    .push(row(hook, prog_name(*prog), *prog, *link, true));
            }
        }
        Ok(())
    }

    fn json(&self) -> Value {
        let rows = |rows: &[Row]| -> Vec<Value> { rows.iter().map(Row::json).collect() };
        let dissectors: Vec<Value> = self
            .flow_dissector
            .iter()
            .map(|id| json!({"id": id}))
            .collect();
        json!({"xdp": rows(&self.xdp), "tc": rows(&self.tc), "flow_dissector": dissectors})
    }

    /// bpftool's text layout, section by section.
    fn text(&self) -> String {
        let mut out = String::from("xdp:\n");
        for row in &self.xdp {
            out.push_str(&row.text());
        }
        out.push_str("\ntc:\n");
        for row in &self.tc {
            out.push_str(&row.text());
        }
        out.push_str("\nflow_dissector:\n");
        for id in &self.flow_dissector {
            out.push_str(&format!("id {id}\n"));
        }
        out
    }
}

impl Row {
    fn json(&self) -> Value {
        let mut row = json!({
            "devname": self.devname,
            "ifindex": self.ifindex,
        });
        let key = if self.xdp_mode() { "mode" } else { "kind" };
        row[key] = json!(self.kind);
        if let Some(name) = &self.name {
            row["name"] = json!(name);
        }
        row[if self.tcx { "prog_id" } else { "id" }] = json!(self.prog_id);
        if self.link_id != 0 {
            row["link_id"] = json!(self.link_id);
        }
        row
    }

    fn xdp_mode(&self) -> bool {
        matches!(self.kind.as_str(), "driver" | "generic" | "offload")
    }

    fn text(&self) -> String {
        let mut line = format!("{}({}) {}", self.devname, self.ifindex, self.kind);
        if let Some(name) = &self.name {
            line.push_str(&format!(" {name}"));
        }
        if self.tcx {
            line.push_str(&format!(" prog_id {}", self.prog_id));
        } else {
            line.push_str(&format!(" id {}", self.prog_id));
        }
        if self.link_id != 0 {
            line.push_str(&format!(" link_id {}", self.link_id));
        }
        line + "\n"
    }
}

/// What is attached at tcx or netkit hook `attach_type` of `ifindex`.
/// Devices that are not netkit primaries have no netkit hooks: the
/// kernel says ENXIO (not netkit), EACCES (a pair's peer end, whose
/// programs are listed under its primary) or ENODEV (a peer gone).
fn device_query(ifindex: u32, attach_type: u32) -> bpfkit_sys::Result<bpfkit_sys::Attached> {
    match bpfkit_sys::prog_query(ifindex, attach_type) {
        Err(e) if matches!(e.errno(), Some(libc::ENXIO | libc::EACCES | libc::ENODEV)) => {
            Ok(bpfkit_sys::Attached::default())
        }
        other => other,
    }
}

/// The full name of program `id` (it may be gone already).
fn prog_name(id: u32) -> Option<String> {
    super::prog::by_id(id).map(|p| p.name)
}
