//! `bpfkit btf list` and `bpfkit btf dump`, in bpftool's grammar.

use anyhow::{Context, Result, bail};
use bpfkit_btf::{Btf, TypeId, c, json, raw};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct BtfArgs {
    #[command(subcommand)]
    command: BtfCommand,
}

#[derive(Subcommand)]
enum BtfCommand {
    /// Every BTF object loaded in the kernel, with the programs and maps using it.
    #[command(visible_alias = "show")]
    List {
        /// JSON output, like `bpftool btf list -j`.
        #[arg(short, long)]
        json: bool,
    },
    /// Dump types of a BTF file, a loaded BTF object, or a map's or program's BTF.
    #[command(after_help = DUMP_EXAMPLES)]
    Dump {
        /// Where the BTF comes from.
        source: Source,
        /// A path (file), or an id or name (id, map, prog).
        what: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Raw)]
        format: Format,
        /// Only this type and what it needs (repeatable): `task_struct`,
        /// `struct sk_buff`, `union bpf_attr`, a typedef name.
        #[arg(short = 't', long = "type", value_name = "NAME")]
        types: Vec<String>,
        /// Base BTF for split BTF (kernel module files); default vmlinux.
        #[arg(long, value_name = "PATH")]
        base: Option<PathBuf>,
    },
}

const DUMP_EXAMPLES: &str = "EXAMPLES:
    bpfkit btf dump file /sys/kernel/btf/vmlinux --format c > vmlinux.h
    bpfkit btf dump file /sys/kernel/btf/vmlinux --format c --type task_struct
    bpfkit btf dump file examples/execsnoop.bpf.o
    bpfkit btf dump id 1 --format json --type 'struct pt_regs'
    bpfkit btf dump map events";

#[derive(Clone, Copy, ValueEnum)]
enum Source {
    File,
    Id,
    Map,
    Prog,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Raw,
    C,
    Json,
}

pub fn run(args: BtfArgs) -> Result<ExitCode> {
    match args.command {
        BtfCommand::List { json } => list(json)?,
        BtfCommand::Dump {
            source,
            what,
            format,
            types,
            base,
        } => dump(source, &what, format, &types, base.as_deref())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list(json: bool) -> Result<()> {
    let entries = bpfkit_sys::btf_list().context("listing kernel BTF objects")?;
    write_list(&entries, json).context("writing output")
}

fn write_list(entries: &[bpfkit_sys::BtfListEntry], json: bool) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    if json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                let mut row = serde_json::json!({
                    "id": e.id, "size": e.size, "prog_ids": e.prog_ids,
                    "map_ids": e.map_ids, "kernel": e.kernel_btf,
                });
                if !e.name.is_empty() {
                    row["name"] = e.name.clone().into();
                }
                row
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
    } else {
        for e in entries {
            let name = if e.name.is_empty() {
                "<anon>".to_string()
            } else {
                format!("[{}]", e.name)
            };
            write!(out, "{}: name {name}  size {}B", e.id, e.size)?;
            write_ids(&mut out, "prog_ids", &e.prog_ids)?;
            write_ids(&mut out, "map_ids", &e.map_ids)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_ids(out: &mut impl Write, label: &str, ids: &[u32]) -> std::io::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = ids.iter().map(u32::to_string).collect();
    write!(out, "  {label} {}", list.join(","))
}

fn dump(
    source: Source,
    what: &str,
    format: Format,
    types: &[String],
    base: Option<&Path>,
) -> Result<()> {
    let (btf, default_roots) = match source {
        Source::File => (btf_from_file(Path::new(what), base)?, None),
        Source::Id => (btf_from_kernel(parse_id(what, "BTF")?)?, None),
        Source::Map => map_btf(what)?,
        Source::Prog => prog_btf(what)?,
    };
    let roots = if types.is_empty() {
        default_roots
    } else {
        Some(c::find_roots(&btf, types)?)
    };
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match format {
        Format::Raw => raw::dump_raw(&btf, roots.as_deref(), &mut out)?,
        Format::Json => json::dump_json(&btf, roots.as_deref(), &mut out)?,
        Format::C => {
            let opts = match roots {
                Some(r) => c::CDumpOptions::for_roots(r),
                None => c::CDumpOptions::default(),
            };
            c::dump_c(&btf, &opts, &mut out)?;
        }
    }
    match out.flush() {
        // `bpfkit btf dump ... | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing output"),
    }
}

/// A raw BTF file or an ELF object; module BTF under /sys/kernel/btf is split
/// on vmlinux unless `--base` names another base.
fn btf_from_file(path: &Path, base: Option<&Path>) -> Result<Btf> {
    let is_module = path.parent() == Some(Path::new("/sys/kernel/btf"))
        && path.file_name().is_some_and(|n| n != "vmlinux");
    let base = match base {
        Some(b) => Some(b.to_path_buf()),
        None if is_module => Some(PathBuf::from(bpfkit_btf::VMLINUX_PATH)),
        None => None,
    };
    let context = || format!("reading BTF from {}", path.display());
    match base {
        Some(base) => {
            let base = Arc::new(
                Btf::from_file(&base).with_context(|| format!("base {}", base.display()))?,
            );
            let data = bpfkit_btf::read_input_file(path).with_context(context)?;
            Btf::parse_split(&data, base).with_context(context)
        }
        None => Btf::from_any_file(path).with_context(context),
    }
}

pub(crate) fn btf_from_kernel(id: u32) -> Result<Btf> {
    let data = bpfkit_sys::btf_data(id).with_context(|| format!("reading BTF object {id}"))?;
    let fd = bpfkit_sys::btf_fd_by_id(id)?;
    let info = bpfkit_sys::btf_info(fd.as_fd())?;
    if info.kernel_btf && info.name != "vmlinux" {
        let base = Arc::new(Btf::vmlinux()?);
        return Btf::parse_split(&data, base).with_context(|| format!("BTF object {id}"));
    }
    Btf::parse(&data).with_context(|| format!("BTF object {id}"))
}

fn parse_id(text: &str, what: &str) -> Result<u32> {
    text.parse()
        .with_context(|| format!("'{text}' is not a {what} id"))
}

/// A map by id or name; its BTF, with the key and value types as roots.
fn map_btf(what: &str) -> Result<(Btf, Option<Vec<TypeId>>)> {
    let info = find_object(
        what,
        "map",
        bpfkit_sys::map_ids,
        |id| {
            let fd = bpfkit_sys::map_fd_by_id(id)?;
            bpfkit_sys::map_info(fd.as_fd())
        },
        |i| (i.id, i.name.clone()),
    )?;
    if info.btf_id == 0 {
        bail!("map {} ({}) has no BTF", info.id, info.name);
    }
    let roots: Vec<TypeId> = [info.btf_key_type_id, info.btf_value_type_id]
        .into_iter()
        .filter(|&t| t != 0)
        .collect();
    let roots = (!roots.is_empty()).then_some(roots);
    Ok((btf_from_kernel(info.btf_id)?, roots))
}

fn prog_btf(what: &str) -> Result<(Btf, Option<Vec<TypeId>>)> {
    let info = find_object(
        what,
        "program",
        bpfkit_sys::prog_ids,
        |id| {
            let fd = bpfkit_sys::prog_fd_by_id(id)?;
            bpfkit_sys::prog_info(fd.as_fd())
        },
        |i| (i.id, i.name.clone()),
    )?;
    if info.btf_id == 0 {
        bail!("program {} ({}) has no BTF", info.id, info.name);
    }
    Ok((btf_from_kernel(info.btf_id)?, None))
}

/// Finds a loaded map or program by numeric id or by (unique) name.
fn find_object<I>(
    what: &str,
    kind: &str,
    ids: fn() -> bpfkit_sys::Result<Vec<u32>>,
    info: impl Fn(u32) -> bpfkit_sys::Result<I>,
    key: impl Fn(&I) -> (u32, String),
) -> Result<I> {
    if let Ok(id) = what.parse::<u32>() {
        return info(id).with_context(|| format!("no {kind} with id {id}"));
    }
    let mut found: Vec<I> = ids()?
        .into_iter()
        .filter_map(|id| info(id).ok())
        .filter(|i| key(i).1 == what)
        .collect();
    match found.len() {
        0 => bail!("no loaded {kind} is named '{what}'"),
        1 => Ok(found.remove(0)),
        n => {
            let ids: Vec<String> = found.iter().map(|i| key(i).0.to_string()).collect();
            bail!(
                "{n} loaded {kind}s are named '{what}' (ids {}); give an id",
                ids.join(", ")
            )
        }
    }
}
