//! `bpfkit cgroup tree [ROOT]` and `bpfkit cgroup show CGROUP`: programs
//! attached to cgroups (cgroup v2), like bpftool's: every cgroup under
//! ROOT (the cgroup2 mount by default) that has programs, each program
//! with its attach type and flags.

use anyhow::{Context, Result, bail};
use bpfkit_sys::attach_type;
use clap::Args;
use serde_json::{Value, json};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::inspect::{self, JsonArgs};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit cgroup tree
    bpfkit cgroup tree /sys/fs/cgroup/system.slice -p
    bpfkit cgroup show /sys/fs/cgroup/user.slice")]
pub struct CgroupArgs {
    /// `tree [ROOT]` or `show CGROUP`
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    #[command(flatten)]
    json: JsonArgs,
}

/// Deeper trees are cut here (cgroup v2 allows much less in practice).
const MAX_DEPTH: usize = 64;

pub fn run(args: CgroupArgs) -> Result<ExitCode> {
    let (action, rest) = match args.words.split_first() {
        Some((action, rest)) if action == "tree" || action == "show" => (action.as_str(), rest),
        Some((word, _)) => bail!("expected 'tree [ROOT]' or 'show CGROUP', not '{word}'"),
        None => ("tree", &args.words[..]),
    };
    let path = match (action, rest) {
        ("tree", []) => cgroup2_root()?,
        (_, [path]) => PathBuf::from(path),
        (_, []) => bail!("'cgroup show' needs a cgroup directory"),
        (_, [_, word, ..]) => bail!("unexpected '{word}' after the cgroup"),
    };
    if !path.is_dir() {
        bail!("{} is not a cgroup directory", path.display());
    }
    if action == "show" {
        let programs = attached(&path)?;
        if args.json.is_json() {
            return args
                .json
                .write(&Value::Array(programs.iter().map(Prog::json).collect()))
                .map(|()| ExitCode::SUCCESS);
        }
        crate::out::stdout(table(&programs))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut cgroups = Vec::new();
    walk(&path, 0, &mut cgroups)?;
    if args.json.is_json() {
        let rows = cgroups
            .iter()
            .map(|(path, progs)| {
                json!({"cgroup": path.to_string_lossy(), "programs": progs.iter().map(Prog::json).collect::<Vec<_>>()})
            })
            .collect();
        args.json.write(&Value::Array(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for (path, progs) in &cgroups {
        text.push_str(&format!("{}\n", path.display()));
        for line in table(progs).lines().skip(1) {
            text.push_str(&format!("    {line}\n"));
        }
    }
    crate::out::stdout(text)?;
    Ok(ExitCode::SUCCESS)
}

/// Where cgroup2 is mounted (from /proc/self/mounts).
fn cgroup2_root() -> Result<PathBuf> {
    let mounts =
        std::fs::read_to_string("/proc/self/mounts").context("reading /proc/self/mounts")?;
    mounts
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            let (_, dir, fs) = (words.next()?, words.next()?, words.next()?);
            (fs == "cgroup2").then(|| PathBuf::from(dir))
        })
        .context("no cgroup2 file system is mounted; give the root directory")
}

/// One program attached to a cgroup.
struct Prog {
    id: u32,
    attach_type: &'static str,
    attach_flags: u32,
    name: String,
    /// The kernel function an `lsm_cgroup` program is attached to.
    attach_btf: (u32, u32),
}

impl Prog {
    fn flags_text(&self) -> String {
        match self.attach_flags {
            0 => String::new(),
            1 => "override".into(),
            2 => "multi".into(),
            other => other.to_string(),
        }
    }

    fn json(&self) -> Value {
        let (obj, id) = self.attach_btf;
        json!({
            "id": self.id,
            "attach_type": self.attach_type,
            "attach_flags": self.flags_text(),
            "name": self.name,
            "attach_btf_name": attach_btf_name(obj, id),
            "attach_btf_obj_id": obj,
            "attach_btf_id": id,
        })
    }
}

fn table(progs: &[Prog]) -> String {
    let rows: Vec<Vec<String>> = progs
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.attach_type.to_string(),
                p.flags_text(),
                p.name.clone(),
            ]
        })
        .collect();
    inspect::table(&["ID", "ATTACH_TYPE", "FLAGS", "NAME"], &rows)
}

/// Cgroups under `dir` (itself first) with the programs attached to each;
/// those with none are left out, as bpftool does.
fn walk(dir: &Path, depth: usize, found: &mut Vec<(PathBuf, Vec<Prog>)>) -> Result<()> {
    let programs = attached(dir)?;
    if !programs.is_empty() {
        found.push((dir.to_path_buf(), programs));
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    // A cgroup removed meanwhile is skipped.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut children: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    for child in children {
        walk(&child, depth + 1, found)?;
    }
    Ok(())
}

/// The programs attached to cgroup `dir`, by attach type.
fn attached(dir: &Path) -> Result<Vec<Prog>> {
    let cgroup = match std::fs::File::open(dir) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("opening cgroup {}", dir.display())),
    };
    let fd = cgroup.as_fd().as_raw_fd() as u32;
    let mut progs = Vec::new();
    for &(at, name) in attach_type::CGROUP {
        let found = bpfkit_sys::prog_query(fd, at)
            .with_context(|| format!("querying {name} programs of {}", dir.display()))?;
        for id in found.prog_ids {
            // A program detached meanwhile is left out.
            let Some(prog) = super::prog::by_id(id) else {
                continue;
            };
            progs.push(Prog {
                id,
                attach_type: name,
                attach_flags: found.attach_flags,
                name: prog.name,
                attach_btf: (prog.info.attach_btf_obj_id, prog.info.attach_btf_id),
            });
        }
    }
    Ok(progs)
}

/// The name of BTF type `id` of BTF object `obj` ("" for none).
fn attach_btf_name(obj: u32, id: u32) -> String {
    if obj == 0 || id == 0 {
        return String::new();
    }
    super::btf::btf_from_kernel(obj)
        .map(|btf| btf.name_of(id).to_string())
        .unwrap_or_default()
}
