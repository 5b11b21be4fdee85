//! `SEC("usdt/BINARY:PROVIDER:NAME")` programs, attached as libbpf does:
//! one uprobe per probe site, each with a spec id as its BPF cookie, and
//! the site's argument spec written at that id into libbpf's
//! `__bpf_usdt_specs` map, where `usdt.bpf.h`'s `bpf_usdt_arg()` reads it.
//!
//! The spec layout is read from the object's BTF (the header changed
//! between libbpf versions: 1.7 added scaled-index arguments in bitfields).

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use aya::programs::uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeScope};
use aya::programs::{Program, UProbe};
use bpfkit_btf::{Btf, Kind, TypeId};
use bpfkit_object::usdt::{UsdtArg, UsdtArgLocation, UsdtSite, parse_usdt_args, read_usdt_sites};
use bpfkit_object::{Object, UsdtTarget};

use crate::attach::{Attached, OwnedLink};
use crate::maps::Maps;
use crate::resolve::resolve_binary;

/// libbpf's map of argument specs, indexed by spec id.
pub(crate) const SPECS_MAP: &str = "__bpf_usdt_specs";

/// `enum __bpf_usdt_arg_type`.
const ARG_CONST: u64 = 0;
const ARG_REG: u64 = 1;
const ARG_REG_DEREF: u64 = 2;
const ARG_SIB: u64 = 3;

/// The sites of one USDT probe, with their spec ids written.
pub(crate) struct PreparedSites {
    path: PathBuf,
    /// Each site's file offset, spec id and semaphore file offset.
    sites: Vec<(u64, u32, Option<u64>)>,
}

/// Finds the sites of `target` and writes their argument specs, at spec
/// ids from `next_spec_id` on (which it advances). Errors are messages
/// for an attach error of the program.
pub(crate) fn prepare(
    target: &UsdtTarget,
    object: &Object,
    maps: &Maps<'_>,
    pid: Option<u32>,
    next_spec_id: &mut u32,
) -> std::result::Result<PreparedSites, String> {
    let path = resolve_binary(&target.binary).ok_or_else(|| {
        format!(
            "no binary or library '{}' (looked in $PATH and ld.so directories)",
            target.binary
        )
    })?;
    let sites = probe_sites(&path, target)?;
    // A probe guarded by a semaphore fires only while the semaphore is
    // raised, in the memory of each process: bpfkit raises it in one.
    if pid.is_none()
        && let Some(site) = sites.iter().find(|s| s.semaphore != 0)
    {
        return Err(format!(
            "the probe is guarded by a semaphore (at {:#x}) that bpfkit raises in one \
             process only: pass --pid PID",
            site.semaphore
        ));
    }
    let specs = SpecWriter::new(object, maps)?;
    let mut prepared = Vec::with_capacity(sites.len());
    for site in &sites {
        let args = parse_usdt_args(&site.args)?;
        let spec_id = *next_spec_id;
        if let Some(specs) = &specs {
            specs.write(spec_id, &args)?;
        }
        *next_spec_id += 1;
        prepared.push((site.file_offset, spec_id, site.semaphore_file_offset));
    }
    Ok(PreparedSites {
        path,
        sites: prepared,
    })
}

/// Attaches `program` to every prepared site, each with its spec id as
/// the BPF cookie (what `usdt.bpf.h` reads with `bpf_get_attach_cookie`).
pub(crate) fn attach(
    program: &mut Program,
    target: &UsdtTarget,
    prepared: &PreparedSites,
    pid: Option<u32>,
) -> std::result::Result<Attached, String> {
    let Program::UProbe(uprobe) = program else {
        return Err("was not loaded by aya as a uprobe program".into());
    };
    let mut links: Vec<OwnedLink> = Vec::with_capacity(prepared.sites.len());
    for &(file_offset, spec_id, semaphore) in &prepared.sites {
        let link = attach_site(uprobe, &prepared.path, file_offset, spec_id, pid)
            .map_err(|e| crate::load::error_chain(&e))?;
        links.push(link);
        if let (Some(sema), Some(pid)) = (semaphore, pid) {
            links.push(Box::new(RaisedSemaphore::raise(pid, &prepared.path, sema)?));
        }
    }
    let n = prepared.sites.len();
    Ok(Attached {
        description: format!(
            "usdt {}:{}:{} ({n} site{})",
            prepared.path.display(),
            target.provider,
            target.name,
            if n == 1 { "" } else { "s" }
        ),
        links,
    })
}

/// The sites of `target` in `path`; an error naming the probes it has when
/// none matches.
fn probe_sites(path: &Path, target: &UsdtTarget) -> std::result::Result<Vec<UsdtSite>, String> {
    let elf = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let all = read_usdt_sites(&elf).map_err(|e| format!("{}: {e}", path.display()))?;
    let sites: Vec<UsdtSite> = all
        .iter()
        .filter(|s| s.provider == target.provider && s.name == target.name)
        .cloned()
        .collect();
    if !sites.is_empty() {
        return Ok(sites);
    }
    let mut known: Vec<String> = all
        .iter()
        .map(|s| format!("{}:{}", s.provider, s.name))
        .collect();
    known.sort();
    known.dedup();
    Err(if known.is_empty() {
        format!("{} has no USDT probes (no .note.stapsdt)", path.display())
    } else {
        format!(
            "{} has no USDT probe {}:{} (it has: {})",
            path.display(),
            target.provider,
            target.name,
            known.join(", ")
        )
    })
}

fn attach_site(
    uprobe: &mut UProbe,
    path: &Path,
    file_offset: u64,
    spec_id: u32,
    pid: Option<u32>,
) -> std::result::Result<OwnedLink, aya::programs::ProgramError> {
    let scope = match pid.and_then(NonZeroU32::new) {
        Some(pid) => UProbeScope::OneProcess(pid),
        None => UProbeScope::AllProcesses,
    };
    let point = UProbeAttachPoint {
        location: UProbeAttachLocation::AbsoluteOffset(file_offset),
        cookie: Some(u64::from(spec_id)),
    };
    let id = uprobe.attach(point, path, scope)?;
    Ok(Box::new(uprobe.take_link(id)?))
}

/// A USDT semaphore raised by one in a process's memory (as libbpf's
/// kernel-side ref_ctr_offset would); lowered again on drop.
struct RaisedSemaphore {
    mem: std::fs::File,
    addr: u64,
}

impl RaisedSemaphore {
    fn raise(pid: u32, binary: &Path, file_offset: u64) -> std::result::Result<Self, String> {
        let addr = mapped_address(pid, binary, file_offset)?;
        let mem = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))
            .map_err(|e| format!("opening /proc/{pid}/mem to raise the USDT semaphore: {e}"))?;
        add_to_semaphore(&mem, addr, 1)
            .map_err(|e| format!("raising the USDT semaphore in process {pid}: {e}"))?;
        Ok(RaisedSemaphore { mem, addr })
    }
}

impl Drop for RaisedSemaphore {
    fn drop(&mut self) {
        // Best effort: the process may have exited.
        let _ = add_to_semaphore(&self.mem, self.addr, -1);
    }
}

/// Adds `delta` to the u16 counter at `addr`, never below 0.
fn add_to_semaphore(mem: &std::fs::File, addr: u64, delta: i32) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut bytes = [0u8; 2];
    mem.read_exact_at(&mut bytes, addr)?;
    let value = i32::from(u16::from_ne_bytes(bytes)) + delta;
    let value = value.clamp(0, i32::from(u16::MAX)) as u16;
    mem.write_all_at(&value.to_ne_bytes(), addr)
}

/// Where file offset `file_offset` of `binary` is mapped in process `pid`.
fn mapped_address(pid: u32, binary: &Path, file_offset: u64) -> std::result::Result<u64, String> {
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| format!("reading /proc/{pid}/maps: {e}"))?;
    maps.lines()
        .find_map(|line| {
            // START-END PERMS OFFSET DEV INODE PATH
            let mut fields = line.split_whitespace();
            let (range, _, offset) = (fields.next()?, fields.next()?, fields.next()?);
            let path = fields.nth(2)?;
            if Path::new(path) != binary {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let start = u64::from_str_radix(start, 16).ok()?;
            let end = u64::from_str_radix(end, 16).ok()?;
            let offset = u64::from_str_radix(offset, 16).ok()?;
            let inside = file_offset >= offset && file_offset - offset < end - start;
            inside.then(|| start + (file_offset - offset))
        })
        .ok_or_else(|| {
            format!(
                "process {pid} has not mapped {} (or not the part with the USDT semaphore)",
                binary.display()
            )
        })
}

/// Writes `struct __bpf_usdt_spec` values, laid out as the object's BTF says.
struct SpecWriter<'m> {
    maps: &'m Maps<'m>,
    layout: SpecLayout,
    max_entries: u32,
}

impl<'m> SpecWriter<'m> {
    /// `None` when the object does not use `usdt.bpf.h` (no spec map):
    /// its programs read no arguments.
    fn new(object: &Object, maps: &'m Maps<'m>) -> std::result::Result<Option<Self>, String> {
        let Some(def) = object.maps.iter().find(|m| m.name == SPECS_MAP) else {
            return Ok(None);
        };
        let value = def
            .value_type
            .ok_or_else(|| format!("map {SPECS_MAP} has no BTF value type"))?;
        let layout = SpecLayout::read(&object.btf, value)
            .map_err(|why| format!("map {SPECS_MAP}: unexpected value type: {why}"))?;
        let info = maps
            .fd(SPECS_MAP)
            .ok()
            .and_then(|fd| bpfkit_sys::map_info(fd).ok());
        let max_entries = info.map_or(def.max_entries, |i| i.max_entries);
        Ok(Some(SpecWriter {
            maps,
            layout,
            max_entries,
        }))
    }

    fn write(&self, spec_id: u32, args: &[UsdtArg]) -> std::result::Result<(), String> {
        if spec_id >= self.max_entries {
            return Err(format!(
                "more than {} USDT sites: raise {SPECS_MAP} with --map-size {SPECS_MAP}=N",
                self.max_entries
            ));
        }
        let value = self.layout.encode(args)?;
        let fd = self.maps.fd(SPECS_MAP).map_err(|e| e.to_string())?;
        bpfkit_sys::map_update(fd, &spec_id.to_ne_bytes(), &value, 0)
            .map_err(|e| format!("writing USDT spec {spec_id} into {SPECS_MAP}: {e}"))
    }
}

/// A field's place: bit offset and width.
#[derive(Debug, Clone, Copy)]
struct Field {
    bit_offset: u32,
    bits: u32,
}

#[derive(Debug)]
struct ArgLayout {
    val_off: Field,
    arg_type: Field,
    reg_off: Field,
    arg_signed: Field,
    arg_bitshift: Field,
    /// Scaled-index arguments (libbpf 1.7+ headers only).
    idx_reg_off: Option<Field>,
    scale_bitshift: Option<Field>,
}

#[derive(Debug)]
struct SpecLayout {
    size: usize,
    /// Bit offset of `args[0]`, bits per element, element count.
    args: (u32, u32, u32),
    arg: ArgLayout,
    arg_cnt: Field,
}

impl SpecLayout {
    fn read(btf: &Btf, spec: TypeId) -> std::result::Result<SpecLayout, String> {
        let spec = resolved(btf, spec)?;
        let args = member(btf, spec, "args")?;
        let Some(Kind::Array(array)) = btf.get(resolved(btf, args.1)?).map(|t| &t.kind) else {
            return Err("'args' is not an array".into());
        };
        let elem = resolved(btf, array.elem)?;
        let elem_bits = byte_size(btf, elem)? * 8;
        let field = |name: &str| member(btf, elem, name).map(|(f, _)| f);
        let optional = |name: &str| field(name).ok();
        Ok(SpecLayout {
            size: byte_size(btf, spec)? as usize,
            args: (args.0.bit_offset, elem_bits, array.len),
            arg: ArgLayout {
                val_off: field("val_off")?,
                arg_type: field("arg_type")?,
                reg_off: field("reg_off")?,
                arg_signed: field("arg_signed")?,
                arg_bitshift: field("arg_bitshift")?,
                idx_reg_off: optional("idx_reg_off"),
                scale_bitshift: optional("scale_bitshift"),
            },
            arg_cnt: member(btf, spec, "arg_cnt")?.0,
        })
    }

    fn encode(&self, args: &[UsdtArg]) -> std::result::Result<Vec<u8>, String> {
        let (first, stride, count) = self.args;
        if args.len() > count as usize {
            return Err(format!(
                "{} USDT arguments, the object's usdt.bpf.h has room for {count}",
                args.len()
            ));
        }
        let mut value = vec![0u8; self.size];
        for (i, arg) in args.iter().enumerate() {
            let base = first + i as u32 * stride;
            let put = |value: &mut [u8], f: Field, v: u64| {
                set_bits(value, base + f.bit_offset, f.bits, v)
            };
            let a = &self.arg;
            let (kind, reg, val) = match arg.location {
                UsdtArgLocation::Const(c) => (ARG_CONST, 0, c as u64),
                UsdtArgLocation::Reg { reg_off } => (ARG_REG, reg_off, 0),
                UsdtArgLocation::Deref { reg_off, offset } => {
                    (ARG_REG_DEREF, reg_off, offset as u64)
                }
                UsdtArgLocation::Sib {
                    reg_off,
                    index_reg_off,
                    scale,
                    offset,
                } => {
                    let (Some(idx), Some(shift)) = (a.idx_reg_off, a.scale_bitshift) else {
                        return Err(
                            "a scaled-index USDT argument needs libbpf 1.7+'s usdt.bpf.h".into(),
                        );
                    };
                    put(&mut value, idx, u64::from(index_reg_off));
                    put(&mut value, shift, u64::from(scale.trailing_zeros()));
                    (ARG_SIB, reg_off, offset as u64)
                }
            };
            put(&mut value, a.arg_type, kind);
            put(&mut value, a.reg_off, u64::from(reg));
            put(&mut value, a.val_off, val);
            put(&mut value, a.arg_signed, u64::from(arg.signed));
            put(&mut value, a.arg_bitshift, 64 - u64::from(arg.size) * 8);
        }
        set_bits(
            &mut value,
            self.arg_cnt.bit_offset,
            self.arg_cnt.bits,
            args.len() as u64,
        );
        Ok(value)
    }
}

fn resolved(btf: &Btf, id: TypeId) -> std::result::Result<TypeId, String> {
    btf.resolve(id).map_err(|e| e.to_string())
}

fn byte_size(btf: &Btf, id: TypeId) -> std::result::Result<u32, String> {
    let size = btf.size_of(id).map_err(|e| e.to_string())?;
    u32::try_from(size).map_err(|_| format!("type of {size} bytes"))
}

/// Member `name` of struct `id`: its place and type.
fn member(btf: &Btf, id: TypeId, name: &str) -> std::result::Result<(Field, TypeId), String> {
    let Some(Kind::Struct(s)) = btf.get(id).map(|t| &t.kind) else {
        return Err(format!("'{}' is not a struct", btf.name_of(id)));
    };
    let m = s
        .members
        .iter()
        .find(|m| btf.str_at(m.name_off) == name)
        .ok_or_else(|| format!("struct '{}' has no member '{name}'", btf.name_of(id)))?;
    let bits = match m.bitfield_size {
        0 => byte_size(btf, m.ty)? * 8,
        n => u32::from(n),
    };
    let field = Field {
        bit_offset: m.bit_offset,
        bits,
    };
    Ok((field, m.ty))
}

/// Stores the low `bits` of `v` at `bit_offset` (little-endian bit order,
/// as the BPF target lays out bitfields).
fn set_bits(buf: &mut [u8], bit_offset: u32, bits: u32, v: u64) {
    for i in 0..bits {
        let bit = bit_offset + i;
        let Some(byte) = buf.get_mut((bit / 8) as usize) else {
            return;
        };
        let mask = 1u8 << (bit % 8);
        if i < 64 && (v >> i) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_land_little_endian() {
        let mut b = [0u8; 4];
        set_bits(&mut b, 8, 8, 3);
        set_bits(&mut b, 16, 12, 0xabc);
        set_bits(&mut b, 28, 4, 0xd);
        assert_eq!(b, [0, 3, 0xbc, 0xda]);
        set_bits(&mut b, 8, 8, 0);
        assert_eq!(b[1], 0);
    }
}
