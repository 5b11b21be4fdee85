//! `bpfkit prog [list|show] [id N | name NAME | tag TAG | pinned PATH]`:
//! every program loaded in the kernel, bpftool's grammar; `prog dump
//! xlated` (in prog_dump.rs), `prog dump jited` (prog_jited.rs) and `prog pin`.

use anyhow::{Context, Result};
use bpfkit_output::clock::{WallClock, now_unix_ns};
use bpfkit_sys::{Holders, ProgInfo};
use clap::Args;
use serde_json::json;
use std::os::fd::AsFd;
use std::process::ExitCode;

use super::inspect::{self, JsonArgs, Selector};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit prog
    bpfkit prog show id 42 -p
    bpfkit prog show name handle_exec
    bpfkit prog show pinned /sys/fs/bpf/myprog
    bpfkit prog dump xlated id 42
    bpfkit prog dump xlated name handle_exec -j
    bpfkit prog dump jited id 42
    bpfkit prog pin id 42 /sys/fs/bpf/myprog")]
pub struct ProgArgs {
    /// `[list|show] [id N | name NAME | tag TAG | pinned PATH]`, or
    /// `dump xlated|jited PROG`, `pin PROG FILE`
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    #[command(flatten)]
    json: JsonArgs,
}

pub const SELECTORS: &[&str] = &["id", "name", "tag", "pinned"];

pub fn run(args: ProgArgs) -> Result<ExitCode> {
    let (action, rest) = inspect::split_action(&args.words, &["list", "show", "dump", "pin"]);
    if action == "dump" {
        super::prog_dump::dump(rest, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (selector, extra) = Selector::parse(rest, SELECTORS)?;
    if action == "pin" {
        let path = inspect::one_path(extra, "prog pin")?;
        let id = one(&selector)?.info.id;
        let fd = bpfkit_sys::prog_fd_by_id(id).with_context(|| format!("opening program {id}"))?;
        inspect::pin(&fd, std::path::Path::new(path), &format!("program {id}"))?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(word) = extra.first() {
        anyhow::bail!("unexpected '{word}' after the program selector");
    }
    let progs = select(&selector)?;
    if progs.is_empty() && selector.names_one() {
        return Err(inspect::not_found(&selector, "program"));
    }
    let holders = bpfkit_runtime::holders();
    if args.json.is_json() {
        let rows: Vec<_> = progs.iter().map(|p| prog_json(p, &holders)).collect();
        args.json.write_rows(&selector, rows)?;
    } else {
        crate::out::stdout(prog_table(&progs, &holders))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A loaded program and its full name.
pub struct Prog {
    pub info: ProgInfo,
    /// The name from BTF when the kernel cut it at 15 bytes.
    pub name: String,
}

/// The programs `selector` names, ascending by id.
pub fn select(selector: &Selector) -> Result<Vec<Prog>> {
    let pinned = |path: &std::path::Path| {
        inspect::pinned_id(path, "program", |fd| {
            bpfkit_sys::prog_info(fd.as_fd()).map(|i| i.id)
        })
    };
    let ids = inspect::candidate_ids(selector, bpfkit_sys::prog_ids, pinned, "program")?;
    let mut names = FullNames::default();
    let mut found = Vec::new();
    for id in ids {
        let info = inspect::gone(bpfkit_sys::prog_fd_by_id(id))
            .and_then(|fd| fd.map(|fd| bpfkit_sys::prog_info(fd.as_fd())).transpose())
            .with_context(|| format!("reading program {id}"))?;
        let Some(info) = info else { continue };
        let name = names.of(&info);
        let keep = match selector {
            Selector::Name(wanted) => info.name == *wanted || name == *wanted,
            Selector::Tag(tag) => info.tag_hex() == *tag,
            _ => true,
        };
        if keep {
            found.push(Prog { info, name });
        }
    }
    Ok(found)
}

/// Program `id` (with its full name), if it is still loaded.
pub fn by_id(id: u32) -> Option<Prog> {
    select(&Selector::Id(id)).ok()?.into_iter().next()
}

/// Exactly one program, for commands about one.
pub fn one(selector: &Selector) -> Result<Prog> {
    if *selector == Selector::All {
        anyhow::bail!("name the program: id N, name NAME, tag TAG or pinned PATH");
    }
    let mut progs = select(selector)?;
    match progs.len() {
        0 => Err(inspect::not_found(selector, "program")),
        1 => Ok(progs.remove(0)),
        n => {
            let ids: Vec<String> = progs.iter().map(|p| p.info.id.to_string()).collect();
            anyhow::bail!("{n} programs match (ids {}); give an id", ids.join(", "))
        }
    }
}

/// Full program names from BTF, each BTF object read and parsed once
/// (programs of one object share it).
#[derive(Default)]
struct FullNames {
    btfs: std::collections::HashMap<u32, Option<bpfkit_btf::Btf>>,
}

impl FullNames {
    fn of(&mut self, info: &ProgInfo) -> String {
        // Shorter names were not cut.
        if info.name.len() < 15 || info.btf_id == 0 || info.func_type_id == 0 {
            return info.name.clone();
        }
        let btf = self.btfs.entry(info.btf_id).or_insert_with(|| {
            bpfkit_sys::btf_data(info.btf_id)
                .ok()
                .and_then(|data| bpfkit_btf::Btf::parse(&data).ok())
        });
        btf.as_ref()
            .map(|btf| btf.name_of(info.func_type_id).to_string())
            .filter(|n| n.starts_with(&info.name))
            .unwrap_or_else(|| info.name.clone())
    }
}

/// Unix seconds of a CLOCK_BOOTTIME load time.
fn loaded_at_unix(info: &ProgInfo) -> i64 {
    let clock = WallClock::now();
    let ns = clock.to_unix_ns(bpfkit_output::clock::KernelClock::Boot, info.load_time);
    ns.min(now_unix_ns()).div_euclid(1_000_000_000) as i64
}

fn prog_json(prog: &Prog, holders: &Holders) -> serde_json::Value {
    let p = &prog.info;
    let mut row = json!({
        "id": p.id,
        "type": bpfkit_sys::prog_type_name(p.prog_type),
        "name": prog.name,
        "tag": p.tag_hex(),
        "gpl_compatible": p.gpl_compatible,
        "loaded_at": loaded_at_unix(p),
        "uid": p.created_by_uid,
        "bytes_xlated": p.xlated_prog_len,
        "jited": p.jited_prog_len > 0,
        "bytes_jited": p.jited_prog_len,
        "map_ids": p.map_ids,
        "btf_id": p.btf_id,
        "verified_insns": p.verified_insns,
        "pids": inspect::holders_json(holders.progs.get(&p.id)),
    });
    // bpftool shows the counters only when stats have counted something.
    if p.run_cnt > 0 || p.run_time_ns > 0 {
        row["run_time_ns"] = p.run_time_ns.into();
        row["run_cnt"] = p.run_cnt.into();
    }
    if p.recursion_misses > 0 {
        row["recursion_misses"] = p.recursion_misses.into();
    }
    row
}

fn prog_table(progs: &[Prog], holders: &Holders) -> String {
    let mut clock = WallClock::now();
    let rows: Vec<Vec<String>> = progs
        .iter()
        .map(|prog| {
            let p = &prog.info;
            let ids: Vec<String> = p.map_ids.iter().map(u32::to_string).collect();
            vec![
                p.id.to_string(),
                bpfkit_sys::prog_type_name(p.prog_type).to_string(),
                prog.name.clone(),
                p.tag_hex(),
                String::from_utf8_lossy(&clock.local_hms(loaded_at_unix(p))).into_owned(),
                p.created_by_uid.to_string(),
                p.xlated_prog_len.to_string(),
                p.jited_prog_len.to_string(),
                if ids.is_empty() {
                    "-".into()
                } else {
                    ids.join(",")
                },
                p.btf_id.to_string(),
                p.run_cnt.to_string(),
                p.run_time_ns.to_string(),
                inspect::holders_cell(holders.progs.get(&p.id)),
            ]
        })
        .collect();
    inspect::table(
        &[
            "ID", "TYPE", "NAME", "TAG", "LOADED", "UID", "XLATED", "JITED", "MAPS", "BTF",
            "RUN_CNT", "RUN_NS", "PIDS",
        ],
        &rows,
    )
}
