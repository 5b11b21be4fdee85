//! `bpfkit perf [list|show]`: BPF programs attached through perf events
//! (tracepoints, kprobes, uprobes) and raw tracepoints, by the process and
//! fd that hold them, like `bpftool perf`. bpftool 7.1 finds only perf
//! event fds; bpfkit also finds the BPF links that hold a perf event (the
//! process keeps the link, not the event) and names the link.

use anyhow::Result;
use bpfkit_sys::{LinkDetail, PerfEventLink, TaskFd};
use clap::Args;
use serde_json::{Value, json};
use std::os::fd::AsFd;
use std::process::ExitCode;

use super::inspect::{self, JsonArgs};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit perf
    bpfkit perf -p")]
pub struct PerfArgs {
    /// `[list|show]`
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    #[command(flatten)]
    json: JsonArgs,
}

pub fn run(args: PerfArgs) -> Result<ExitCode> {
    let (_, rest) = inspect::split_action(&args.words, &["list", "show"]);
    if let Some(word) = rest.first() {
        anyhow::bail!("unexpected '{word}' (perf takes no selector)");
    }
    let rows = scan();
    if args.json.is_json() {
        args.json
            .write(&Value::Array(rows.iter().map(Row::json).collect()))?;
    } else {
        crate::out::stdout(rows.iter().map(Row::text).collect::<String>())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One fd with a program attached through it.
struct Row {
    pid: u32,
    fd: u32,
    query: TaskFd,
    /// The BPF link the fd is, when it is one.
    link_id: Option<u32>,
}

const FD_TYPES: [&str; 6] = [
    "raw_tracepoint",
    "tracepoint",
    "kprobe",
    "kretprobe",
    "uprobe",
    "uretprobe",
];

impl Row {
    fn fd_type(&self) -> &'static str {
        FD_TYPES
            .get(self.query.fd_type as usize)
            .copied()
            .unwrap_or("unknown")
    }

    /// bpftool's members: the name under a key that depends on the type.
    fn json(&self) -> Value {
        let q = &self.query;
        let mut row = json!({
            "pid": self.pid,
            "fd": self.fd,
            "prog_id": q.prog_id,
            "fd_type": self.fd_type(),
        });
        match q.fd_type {
            0 | 1 => row["tracepoint"] = json!(q.name),
            2 | 3 if q.name.is_empty() => row["addr"] = json!(q.probe_addr),
            2 | 3 => {
                row["func"] = json!(q.name);
                row["offset"] = json!(q.probe_offset);
            }
            _ => {
                row["filename"] = json!(q.name);
                row["offset"] = json!(q.probe_offset);
            }
        }
        if let Some(link) = self.link_id {
            row["link_id"] = json!(link);
        }
        row
    }

    fn text(&self) -> String {
        let q = &self.query;
        let target = match q.fd_type {
            0 | 1 => q.name.clone(),
            2 | 3 if q.name.is_empty() => format!("{:#x}", q.probe_addr),
            2 | 3 => format!("func {}  offset {}", q.name, q.probe_offset),
            _ => format!("filename {}  offset {}", q.name, q.probe_offset),
        };
        let link = self
            .link_id
            .map(|id| format!("  link_id {id}"))
            .unwrap_or_default();
        format!(
            "pid {}  fd {}: prog_id {}  {}  {target}{link}\n",
            self.pid,
            self.fd,
            q.prog_id,
            self.fd_type()
        )
    }
}

/// Every process's perf event and BPF link fds, ascending by pid and fd.
fn scan() -> Vec<Row> {
    let mut rows = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return rows;
    };
    let mut pids: Vec<u32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut fds: Vec<u32> = fds
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        fds.sort_unstable();
        rows.extend(fds.into_iter().filter_map(|fd| row(pid, fd)));
    }
    rows
}

/// The row for fd `fd` of `pid`, if a program is attached through it.
fn row(pid: u32, fd: u32) -> Option<Row> {
    let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let target = target.to_string_lossy();
    match target.as_ref() {
        "anon_inode:[perf_event]" => {
            let query = bpfkit_sys::task_fd_query(pid, fd).ok()?;
            Some(Row {
                pid,
                fd,
                query,
                link_id: None,
            })
        }
        "anon_inode:bpf_link" => link_row(pid, fd),
        _ => None,
    }
}

/// A raw tracepoint link answers the query itself; a perf event link is
/// described by its link info.
fn link_row(pid: u32, fd: u32) -> Option<Row> {
    let fdinfo = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let link_id: u32 = fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("link_id:"))?
        .trim()
        .parse()
        .ok()?;
    if let Ok(query) = bpfkit_sys::task_fd_query(pid, fd) {
        return Some(Row {
            pid,
            fd,
            query,
            link_id: Some(link_id),
        });
    }
    let link_fd = bpfkit_sys::link_fd_by_id(link_id).ok()?;
    let info = bpfkit_sys::link_info(link_fd.as_fd()).ok()?;
    let LinkDetail::PerfEvent(event) = info.detail else {
        return None;
    };
    let (fd_type, name, probe_offset, probe_addr) = match event {
        PerfEventLink::Tracepoint { tp_name, .. } => (1, tp_name, 0, 0),
        PerfEventLink::Kprobe {
            func_name,
            offset,
            addr,
            retprobe,
        } => (2 + u32::from(retprobe), func_name, offset.into(), addr),
        PerfEventLink::Uprobe {
            file_name,
            offset,
            retprobe,
            ..
        } => (4 + u32::from(retprobe), file_name, offset.into(), 0),
        PerfEventLink::Event { .. } | PerfEventLink::Unknown(_) => return None,
    };
    Some(Row {
        pid,
        fd,
        query: TaskFd {
            prog_id: info.prog_id,
            fd_type,
            name,
            probe_offset,
            probe_addr,
        },
        link_id: Some(link_id),
    })
}
