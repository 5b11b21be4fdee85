//! The aya-loadable copy of an object.
//!
//! aya 0.14 rejects `SEC()` names it does not know (`tc`, `tcx/*`,
//! `ksyscall/*`, `raw_tp.w/*`) and gives a ring buffer the value type of a
//! `__type(value, ...)` member, which the kernel refuses. Instead of
//! re-encoding the ELF, the rewrite appends new bytes and repoints headers:
//!
//! * a copy of the section-header string table with the new names of the
//!   renamed sections (and their `.rel*` companions) added is appended, and
//!   `e_shstrndx`'s header points at it (the old strings stay: clang's
//!   `.strtab` holds symbol names too);
//! * a new `.BTF` is appended: the old one plus the new section names as
//!   strings (aya finds func/line info and CO-RE relocations by the section
//!   name written in `.BTF.ext`), with `value` members of event maps renamed
//!   so aya skips them, and with `key_size`/`value_size` members (4) added
//!   to perf event arrays that leave them out (libbpf does that, aya does
//!   not) and `value_size` added to stack trace maps that leave it to user
//!   space; `.BTF.ext` section-name offsets are patched in place (same size).
//!   Types and strings are only appended or patched, never moved in id or
//!   offset, so `.BTF.ext` and relocations stay valid.
//! * objects with `.kconfig`/`.ksyms` externs get their extern DATASECs and
//!   entries turned into types the kernel accepts, and a new section
//!   `.rodata.kconfig` for the `.kconfig` values, whose symbols are pointed
//!   at it (a copy of the section header table with one more entry is
//!   appended); see [`crate::externs`].
//!
//! Every other byte stays where it was, so symbol values, relocations and
//! instruction offsets stay valid.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use bpfkit_btf::{Btf, Composite, Kind, kind_no};

use crate::elf_view::ElfView;
use crate::events::HiddenValue;
use crate::externs;
use crate::map_type::{PERF_EVENT_ARRAY, STACK_TRACE};
use crate::maps::STACK_TRACE_VALUE_SIZE;
use crate::raw_btf::{RawBtf, info};
use crate::{MapDef, ObjectError};

/// Name of the map-definition member that used to be `value`: aya skips
/// members it does not know.
const HIDDEN_MEMBER: &str = "bpfkit_event_type";

const SHDR_SIZE: usize = 64;

/// The `SEC()` name aya 0.14 accepts for `section`, if it needs one. aya
/// ignores what follows the first `/` for these kinds, so the original name
/// can be kept after it to keep names unique.
pub(crate) fn aya_section_name(section: &str) -> Option<String> {
    let (prefix, rest) = section.split_once('/').unwrap_or((section, ""));
    let kind = match prefix {
        "tc" | "tcx" => "classifier",
        "ksyscall" => "kprobe",
        "kretsyscall" => "kretprobe",
        "raw_tp.w" => "raw_tp",
        // USDT probes are uprobes with argument specs in maps.
        "usdt" => "uprobe",
        "raw_tracepoint.w" => "raw_tracepoint",
        // bpfkit loads these itself (aya cannot set their attach type or
        // program type); aya only has to parse them as some program.
        "uprobe.multi" | "uprobe.multi.s" => "uprobe",
        "uretprobe.multi" | "uretprobe.multi.s" => "uretprobe",
        "kprobe.multi" => "kprobe",
        "kretprobe.multi" => "kretprobe",
        "syscall" | "struct_ops" | "struct_ops.s" | "fsession" | "fsession.s" => "socket",
        // Same program type; bpfkit attaches it with BPF_SK_SKB_VERDICT.
        "sk_skb" if rest.split('/').next() == Some("verdict") => {
            return Some(format!("sk_skb/stream_verdict/{section}"));
        }
        _ => return None,
    };
    Some(match (prefix, rest) {
        (_, "") => format!("{kind}/{prefix}"),
        ("tc" | "tcx", dir) => format!("{kind}/{prefix}_{dir}"),
        (_, target) => format!("{kind}/{target}"),
    })
}

/// What analysis found that the loadable copy must change.
#[derive(Clone, Copy)]
pub(crate) struct Rewrites<'a> {
    pub maps: &'a [MapDef],
    pub hidden: &'a [HiddenValue],
    pub externs: &'a externs::Found,
    /// `raw` differs from the object's BTF (hidden functions made static).
    pub btf_changed: bool,
}

pub(crate) fn loadable(
    elf: &[u8],
    view: &ElfView,
    raw: &RawBtf,
    btf: &Btf,
    rewrites: Rewrites,
) -> Result<(Vec<u8>, Option<Range<usize>>), ObjectError> {
    let Rewrites {
        maps,
        hidden,
        externs,
        btf_changed,
    } = rewrites;
    let mut renames = renames(view);
    let missing = missing_sizes(btf, maps, hidden);
    let has_externs = !externs.externs.is_empty();
    if renames.is_empty() && hidden.is_empty() && missing.is_empty() && !has_externs && !btf_changed
    {
        return Ok((elf.to_vec(), None));
    }
    let mut headers = SectionHeaders::read(elf)?;
    let mut out = elf.to_vec();

    let mut kconfig_data = None;
    if has_externs {
        let mut kconfig_section = None;
        if externs.kconfig_size > 0 {
            let (index, range) = add_section(&mut out, &mut headers, externs.kconfig_size)?;
            renames.insert(index, externs::KCONFIG_DATA_SECTION.to_string());
            kconfig_section = u16::try_from(index).ok();
            kconfig_data = Some(range);
        }
        let symtab = view
            .section_by_name(".symtab")
            .and_then(|s| headers.data_offset(&out, s.index));
        externs::patch_symbols(&mut out, symtab, externs, kconfig_section);
    }

    let mut new_btf = raw.clone();
    externs::neutralize_btf(&mut new_btf, btf, externs);
    for new_name in renames.values() {
        new_btf.add_string(new_name);
    }
    for h in hidden {
        hide_value(&mut new_btf, btf, h)?;
    }
    add_sizes(&mut new_btf, btf, &missing)?;
    patch_btf_ext(&mut out, view, &headers, &new_btf, &renames, btf);
    if let Some(btf_section) = view.section_by_name(".BTF") {
        append_section(&mut out, &headers, btf_section.index, &new_btf.encode());
    }
    let old_table = view.section(headers.shstrndx).map_or(&[][..], |s| s.data);
    let shstrtab = new_shstrtab(&mut out, old_table, &headers, &renames);
    append_section(&mut out, &headers, headers.shstrndx, &shstrtab);
    Ok((out, kconfig_data))
}

/// Adds a zero-filled, allocated, read-only PROGBITS section of `size`
/// bytes (named later, with the renames): the section header table is
/// copied to the end of the file with one more entry. Returns the new
/// section's index and the file range of its data.
fn add_section(
    out: &mut Vec<u8>,
    headers: &mut SectionHeaders,
    size: u32,
) -> Result<(usize, Range<usize>), ObjectError> {
    const SHT_PROGBITS: u32 = 1;
    const SHF_ALLOC: u64 = 2;
    let too_many = || ObjectError::Elf("too many sections to add one".into());
    let index = headers.count;
    let count = u16::try_from(index + 1).map_err(|_| too_many())?;
    out.resize(out.len().next_multiple_of(8), 0);
    let data = out.len()..out.len() + size as usize;
    out.resize(data.end.next_multiple_of(8), 0);
    let old_table = out[headers.table..headers.table + headers.count * SHDR_SIZE].to_vec();
    let table = out.len();
    out.extend_from_slice(&old_table);
    let mut header = [0u8; SHDR_SIZE];
    header[4..8].copy_from_slice(&SHT_PROGBITS.to_le_bytes());
    header[8..16].copy_from_slice(&SHF_ALLOC.to_le_bytes());
    header[24..32].copy_from_slice(&(data.start as u64).to_le_bytes());
    header[32..40].copy_from_slice(&u64::from(size).to_le_bytes());
    header[48..56].copy_from_slice(&8u64.to_le_bytes());
    out.extend_from_slice(&header);
    put_u64(out, 0x28, table as u64);
    out[0x3c..0x3e].copy_from_slice(&count.to_le_bytes());
    headers.table = table;
    headers.count += 1;
    Ok((index, data))
}

/// Section index → new name, for program sections and their `.rel` sections.
fn renames(view: &ElfView) -> BTreeMap<usize, String> {
    let taken: Vec<&str> = view.sections.iter().map(|s| s.name.as_str()).collect();
    let mut out = BTreeMap::new();
    for s in view.sections.iter().filter(|s| s.executable) {
        let Some(mut name) = aya_section_name(&s.name) else {
            continue;
        };
        while taken.contains(&name.as_str()) || out.values().any(|n| *n == name) {
            name.push('_');
        }
        if let Some(rel) = view.section_by_name(&format!(".rel{}", s.name)) {
            out.insert(rel.index, format!(".rel{name}"));
        }
        out.insert(s.index, name);
    }
    out
}

/// Renames the `value` member of an event map's definition so aya ignores
/// it (the kernel refuses a value type on a ring buffer, and a perf event
/// array's values are 4-byte fds, not events).
fn hide_value(raw: &mut RawBtf, btf: &Btf, h: &HiddenValue) -> Result<(), ObjectError> {
    let (struct_id, def) = map_struct(btf, &h.map)?;
    let index = def
        .members
        .iter()
        .position(|m| btf.str_at(m.name_off) == "value")
        .ok_or_else(|| map_error(&h.map, "no 'value' member"))?;
    let name = raw.add_string(HIDDEN_MEMBER);
    raw.set_member(struct_id, index, name, def.members[index].ty);
    Ok(())
}

/// Size members a map definition leaves to user space and that must be in
/// the BTF for the map to be created: (map, member, value).
///
/// * Perf event arrays without `key_size`/`value_size`: libbpf fills in 4
///   (an fd per CPU), aya 0.14 does not.
/// * Stack trace maps without `value_size`: libbpf-tools set it from their
///   front end (`perf_max_stack_depth * sizeof(u64)`); the default is
///   [`crate::maps::STACK_TRACE_VALUE_SIZE`]. `max_entries` is not added
///   here: the runtime gives aya a default it can override (`--map-size`).
fn missing_sizes(
    btf: &Btf,
    maps: &[MapDef],
    hidden: &[HiddenValue],
) -> Vec<(String, &'static str, u32)> {
    let mut missing = Vec::new();
    for map in maps {
        let Some((_, def)) = crate::maps::map_struct(btf, &map.name) else {
            continue; // a legacy definition carries its sizes itself
        };
        let value_hidden = hidden.iter().any(|h| h.map == map.name);
        let has = |field: &str| def.members.iter().any(|m| btf.str_at(m.name_off) == field);
        let no_value_size = !has("value_size") && (!has("value") || value_hidden);
        if map.map_type == PERF_EVENT_ARRAY {
            if !has("key_size") && !has("key") {
                missing.push((map.name.clone(), "key_size", 4));
            }
            if no_value_size {
                missing.push((map.name.clone(), "value_size", 4));
            }
        } else if map.map_type == STACK_TRACE && no_value_size {
            missing.push((map.name.clone(), "value_size", STACK_TRACE_VALUE_SIZE));
        }
    }
    missing
}

/// Adds `__uint(field, N)` members to map definitions.
fn add_sizes(
    raw: &mut RawBtf,
    btf: &Btf,
    missing: &[(String, &'static str, u32)],
) -> Result<(), ObjectError> {
    let Some((first_map, _, _)) = missing.first() else {
        return Ok(());
    };
    let int = btf
        .iter()
        .find(|(_, t)| matches!(t.kind, Kind::Int(_)))
        .map(|(id, _)| id)
        .ok_or_else(|| map_error(first_map, "BTF has no integer type for __uint()"))?;
    // `int (*field)[N]`: a pointer to an array of N ints, one per distinct N.
    let mut pointers: HashMap<u32, u32> = HashMap::new();
    for (map, field, value) in missing {
        let ptr = *pointers.entry(*value).or_insert_with(|| {
            let array = raw.add_type(&[0, info(kind_no::ARRAY, 0), 0, int, int, *value]);
            raw.add_type(&[0, info(kind_no::PTR, 0), array])
        });
        let (struct_id, _) = map_struct(btf, map)?;
        let name = raw.add_string(field);
        raw.append_member(struct_id, name, ptr);
    }
    Ok(())
}

fn map_struct<'b>(btf: &'b Btf, map: &str) -> Result<(u32, &'b Composite), ObjectError> {
    crate::maps::map_struct(btf, map).ok_or_else(|| map_error(map, "definition not found in BTF"))
}

fn map_error(map: &str, why: &str) -> ObjectError {
    ObjectError::Map {
        map: map.to_string(),
        why: why.to_string(),
    }
}

/// Points `.BTF.ext` section-name offsets of renamed sections at the new
/// names (which `new_btf` holds).
fn patch_btf_ext(
    out: &mut [u8],
    view: &ElfView,
    headers: &SectionHeaders,
    new_btf: &RawBtf,
    renames: &BTreeMap<usize, String>,
    btf: &Btf,
) {
    let Some(ext) = view.section_by_name(".BTF.ext") else {
        return;
    };
    let Some(base) = headers.data_offset(out, ext.index) else {
        return;
    };
    let by_old_name: HashMap<&str, &String> = renames
        .iter()
        .filter_map(|(i, new)| Some((view.section(*i)?.name.as_str(), new)))
        .collect();
    for at in ext_name_slots(ext.data) {
        let Some(old) = read_u32(ext.data, at) else {
            continue;
        };
        let new_off = by_old_name
            .get(btf.str_at(old))
            .and_then(|new| new_btf.find_string(new));
        if let Some(off) = new_off {
            put_u32(out, base + at, off);
        }
    }
}

/// Byte offsets inside `.BTF.ext` of every `sec_name_off` field.
fn ext_name_slots(data: &[u8]) -> Vec<usize> {
    let mut slots = Vec::new();
    let Some(hdr_len) = read_u32(data, 4).map(|v| v as usize) else {
        return slots;
    };
    // func_info, line_info, and (with a 32-byte header) core_relo.
    let subsections = if hdr_len >= 32 { 3 } else { 2 };
    for i in 0..subsections {
        let (Some(off), Some(len)) = (read_u32(data, 8 + 8 * i), read_u32(data, 12 + 8 * i)) else {
            continue;
        };
        let start = hdr_len.saturating_add(off as usize);
        let end = start.saturating_add(len as usize).min(data.len());
        let Some(rec_size) = read_u32(data, start).filter(|&r| r > 0) else {
            continue;
        };
        let mut at = start + 4;
        while at.saturating_add(8) <= end {
            slots.push(at);
            let count = read_u32(data, at + 4).unwrap_or(0) as usize;
            at = at
                .saturating_add(8)
                .saturating_add(count.saturating_mul(rec_size as usize));
        }
    }
    slots
}

/// The new section-header string table: the old one (clang shares it with
/// the symbol table, so its offsets must stay valid) plus the new names,
/// with `sh_name` of renamed sections patched.
fn new_shstrtab(
    out: &mut [u8],
    old_table: &[u8],
    headers: &SectionHeaders,
    renames: &BTreeMap<usize, String>,
) -> Vec<u8> {
    let mut table = old_table.to_vec();
    for (&index, name) in renames {
        let off = table.len() as u32;
        table.extend_from_slice(name.as_bytes());
        table.push(0);
        headers.set_name(out, index, off);
    }
    table
}

/// Appends `data` at the (8-aligned) end of the file and points section
/// `index`'s header at it.
fn append_section(out: &mut Vec<u8>, headers: &SectionHeaders, index: usize, data: &[u8]) {
    out.resize(out.len().next_multiple_of(8), 0);
    let offset = out.len() as u64;
    out.extend_from_slice(data);
    headers.set_location(out, index, offset, data.len() as u64);
}

/// Where the ELF64 section headers are.
struct SectionHeaders {
    table: usize,
    count: usize,
    shstrndx: usize,
}

impl SectionHeaders {
    fn read(elf: &[u8]) -> Result<SectionHeaders, ObjectError> {
        let bad = |why: &str| ObjectError::Elf(why.to_string());
        let u16_at = |at: usize| {
            elf.get(at..at + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
                .ok_or_else(|| bad("ELF header truncated"))
        };
        let table = elf
            .get(0x28..0x30)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
            .ok_or_else(|| bad("ELF header truncated"))?;
        if u16_at(0x3a)? != SHDR_SIZE {
            return Err(bad("unexpected section header size"));
        }
        let headers = SectionHeaders {
            table,
            count: u16_at(0x3c)?,
            shstrndx: u16_at(0x3e)?,
        };
        let end = headers
            .count
            .checked_mul(SHDR_SIZE)
            .and_then(|n| n.checked_add(table));
        if end.is_none_or(|end| end > elf.len()) || headers.shstrndx >= headers.count {
            return Err(bad("section header table out of bounds"));
        }
        Ok(headers)
    }

    fn header(&self, index: usize) -> Option<usize> {
        (index < self.count).then(|| self.table + index * SHDR_SIZE)
    }

    /// The file offset of section `index`'s data (`sh_offset`).
    fn data_offset(&self, elf: &[u8], index: usize) -> Option<usize> {
        let h = self.header(index)?;
        let b = elf.get(h + 24..h + 32)?;
        usize::try_from(u64::from_le_bytes(b.try_into().ok()?)).ok()
    }

    fn set_name(&self, out: &mut [u8], index: usize, name_off: u32) {
        if let Some(h) = self.header(index) {
            put_u32(out, h, name_off);
        }
    }

    fn set_location(&self, out: &mut [u8], index: usize, offset: u64, size: u64) {
        if let Some(h) = self.header(index) {
            put_u64(out, h + 24, offset);
            put_u64(out, h + 32, size);
        }
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn put_u32(out: &mut [u8], at: usize, value: u32) {
    if let Some(b) = out.get_mut(at..at + 4) {
        b.copy_from_slice(&value.to_le_bytes());
    }
}

fn put_u64(out: &mut [u8], at: usize, value: u64) {
    if let Some(b) = out.get_mut(at..at + 8) {
        b.copy_from_slice(&value.to_le_bytes());
    }
}
