//! `bpfkit link [list|show] [id N | pinned PATH]`: every BPF link in the
//! kernel with its program and what it is attached to; `link detach LINK`
//! and `link pin LINK FILE`.

use anyhow::{Context, Result};
use bpfkit_sys::{Holders, LinkDetail, LinkInfo, PerfEventLink};
use clap::Args;
use serde_json::json;
use std::os::fd::AsFd;
use std::process::ExitCode;

use super::inspect::{self, JsonArgs, Selector};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit link
    bpfkit link show id 12 -p
    bpfkit link pin id 12 /sys/fs/bpf/mylink
    bpfkit link detach id 12")]
pub struct LinkArgs {
    /// `[list|show] [id N | pinned PATH]`, `detach LINK`, `pin LINK FILE`
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    #[command(flatten)]
    json: JsonArgs,
}

pub fn run(args: LinkArgs) -> Result<ExitCode> {
    let actions = ["list", "show", "detach", "pin"];
    let (action, rest) = inspect::split_action(&args.words, &actions);
    let (selector, extra) = Selector::parse(rest, &["id", "pinned"])?;
    match action {
        "pin" => {
            let path = inspect::one_path(extra, "link pin")?;
            let (id, fd) = one_link(&selector)?;
            inspect::pin(&fd, std::path::Path::new(path), &format!("link {id}"))?;
            return Ok(ExitCode::SUCCESS);
        }
        _ if !extra.is_empty() => {
            anyhow::bail!("unexpected '{}' after the link selector", extra[0])
        }
        "detach" => {
            let (id, fd) = one_link(&selector)?;
            bpfkit_sys::link_detach(fd.as_fd()).map_err(|e| match e.errno() {
                Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) => anyhow::anyhow!(
                    "link {id}: links of this type cannot be detached (the kernel supports it for cgroup, netns, xdp, tcx, netkit, netfilter, struct_ops and sockmap links); remove its pins and end the process holding it"
                ),
                _ => anyhow::Error::new(e).context(format!("detaching link {id}")),
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let pinned = pinned_link;
    let mut links = Vec::new();
    for id in inspect::candidate_ids(&selector, bpfkit_sys::link_ids, pinned, "link")? {
        let info = inspect::gone(bpfkit_sys::link_fd_by_id(id))
            .and_then(|fd| fd.map(|fd| bpfkit_sys::link_info(fd.as_fd())).transpose())
            .with_context(|| format!("reading link {id}"))?;
        links.extend(info);
    }
    if links.is_empty() && selector.names_one() {
        return Err(inspect::not_found(&selector, "link"));
    }
    let holders = bpfkit_runtime::holders();
    if args.json.is_json() {
        let rows: Vec<_> = links.iter().map(|l| link_json(l, &holders)).collect();
        args.json.write_rows(&selector, rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = links
        .iter()
        .map(|l| {
            vec![
                l.id.to_string(),
                bpfkit_sys::link_type_name(l.link_type).to_string(),
                l.prog_id.to_string(),
                target_text(&l.detail),
                inspect::holders_cell(holders.links.get(&l.id)),
            ]
        })
        .collect();
    crate::out::stdout(inspect::table(
        &["ID", "TYPE", "PROG", "TARGET", "PIDS"],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn pinned_link(path: &std::path::Path) -> Result<u32> {
    inspect::pinned_id(path, "link", |fd| {
        bpfkit_sys::link_info(fd.as_fd()).map(|i| i.id)
    })
}

/// The one link `selector` names, opened.
fn one_link(selector: &Selector) -> Result<(u32, std::os::fd::OwnedFd)> {
    let id = match selector {
        Selector::Id(id) => *id,
        Selector::Pinned(path) => pinned_link(path)?,
        _ => anyhow::bail!("name the link: id N or pinned PATH"),
    };
    let fd = inspect::gone(bpfkit_sys::link_fd_by_id(id))
        .with_context(|| format!("opening link {id}"))?
        .ok_or_else(|| inspect::not_found(selector, "link"))?;
    Ok((id, fd))
}

/// What the link is attached to, in a few words.
fn target_text(detail: &LinkDetail) -> String {
    match detail {
        LinkDetail::RawTracepoint { tp_name } => format!("raw_tp {tp_name}"),
        LinkDetail::Tracing {
            attach_type,
            target_obj_id,
            target_btf_id,
        } => format!("attach_type {attach_type} btf {target_obj_id}:{target_btf_id}"),
        LinkDetail::Cgroup {
            cgroup_id,
            attach_type,
        } => format!("cgroup {cgroup_id} attach_type {attach_type}"),
        LinkDetail::Netns {
            netns_ino,
            attach_type,
        } => format!("netns {netns_ino} attach_type {attach_type}"),
        LinkDetail::Xdp { ifindex } => format!("ifindex {ifindex}"),
        LinkDetail::Tcx {
            ifindex,
            attach_type,
        }
        | LinkDetail::Netkit {
            ifindex,
            attach_type,
        } => format!("ifindex {ifindex} attach_type {attach_type}"),
        LinkDetail::PerfEvent(event) => match event {
            PerfEventLink::Uprobe {
                file_name,
                offset,
                retprobe,
                ..
            } => format!(
                "{} {file_name}+{offset:#x}",
                if *retprobe { "uretprobe" } else { "uprobe" }
            ),
            PerfEventLink::Kprobe {
                func_name,
                offset,
                retprobe,
                ..
            } => format!(
                "{} {func_name}+{offset:#x}",
                if *retprobe { "kretprobe" } else { "kprobe" }
            ),
            PerfEventLink::Tracepoint { tp_name, .. } => format!("tracepoint {tp_name}"),
            PerfEventLink::Event {
                event_type, config, ..
            } => format!("perf event type {event_type} config {config}"),
            PerfEventLink::Unknown(t) => format!("perf event kind {t}"),
        },
        LinkDetail::Other => "-".into(),
    }
}

fn link_json(l: &LinkInfo, holders: &Holders) -> serde_json::Value {
    let mut row = json!({
        "id": l.id,
        "type": bpfkit_sys::link_type_name(l.link_type),
        "prog_id": l.prog_id,
        "pids": inspect::holders_json(holders.links.get(&l.id)),
    });
    let extra = match &l.detail {
        LinkDetail::RawTracepoint { tp_name } => json!({"tp_name": tp_name}),
        LinkDetail::Xdp { ifindex } => json!({"ifindex": ifindex}),
        LinkDetail::Tcx {
            ifindex,
            attach_type,
        }
        | LinkDetail::Netkit {
            ifindex,
            attach_type,
        } => json!({"ifindex": ifindex, "attach_type": attach_type}),
        LinkDetail::PerfEvent(PerfEventLink::Tracepoint { tp_name, cookie }) => {
            json!({"event_type": "tracepoint", "tracepoint": tp_name, "cookie": cookie})
        }
        LinkDetail::PerfEvent(PerfEventLink::Uprobe {
            file_name,
            offset,
            cookie,
            retprobe,
        }) => json!({
            "event_type": if *retprobe { "uretprobe" } else { "uprobe" },
            "file": file_name, "offset": offset, "cookie": cookie,
        }),
        other => json!({"target": target_text(other)}),
    };
    if let (Some(row), serde_json::Value::Object(extra)) = (row.as_object_mut(), extra) {
        row.extend(extra);
    }
    row
}
