//! `extern` variables and functions the object expects the loader to
//! resolve against the running kernel: `.kconfig` (`LINUX_KERNEL_VERSION`,
//! `CONFIG_*`, `LINUX_HAS_SYSCALL_WRAPPER`, `LINUX_HAS_BPF_COOKIE`) and
//! `.ksyms` (`__ksym` variables, kfuncs, `__weak` ones for
//! `bpf_ksym_exists`). clang puts them in DATASECs of those names, as
//! undefined ELF symbols that the instructions using them are relocated
//! against. aya 0.14 resolves none of them, so bpfkit does it as libbpf
//! does, in two steps:
//!
//! * at analysis (`neutralize_btf` and `patch_symbols`, run by the
//!   rewrite): the extern DATASECs and their VAR/FUNC entries become types
//!   the kernel accepts (an empty anonymous struct, typedefs),
//!   `.kconfig` externs get offsets in a new
//!   read-only data section `.rodata.kconfig` (aya loads it as a frozen
//!   array map, like libbpf's `.kconfig` map, and relocates the uses against
//!   it), and kfunc calls are poisoned until resolved;
//! * at load ([`resolve`], with [`crate::KernelFacts`]): the values are
//!   written into that section and `.ksyms` uses are patched: kfunc calls
//!   become `BPF_PSEUDO_KFUNC_CALL`s of the kernel BTF FUNC id, typed
//!   `ld_imm64`s `BPF_PSEUDO_BTF_ID`s, typeless ones the `/proc/kallsyms`
//!   address. A missing `__weak` extern is 0 (its calls stay poisoned); a
//!   missing strong one is an error naming it.

use std::collections::HashMap;
use std::ops::Range;

use bpfkit_btf::{Btf, Kind, kind_no};
use object::{Object as _, ObjectSection, ObjectSymbol, RelocationTarget};

use crate::raw_btf::{RawBtf, info};
use crate::{Object, ObjectError};

/// Sections that hold externs, as libbpf names them.
const KCONFIG: &str = ".kconfig";
const KSYMS: &str = ".ksyms";

/// The data section bpfkit adds for `.kconfig` values; aya makes a frozen,
/// read-only array map of a `.rodata*` section.
pub(crate) const KCONFIG_DATA_SECTION: &str = ".rodata.kconfig";

/// The immediate of a kfunc call that is not resolved (yet, or at all for
/// a missing `__weak` one), plus the extern's index: libbpf's
/// `POISON_CALL_KFUNC_BASE`. The verifier refuses it only where reachable.
pub const POISON_KFUNC_CALL: i32 = 2_002_000_000;

/// The largest `.kconfig` value (a `char[N]` string option) bpfkit lays
/// out: config strings are short, and a bad object must not make the
/// loader allocate gigabytes.
const MAX_KCONFIG_VALUE: u32 = 4096;

/// The most bytes of `.kconfig` values of one object.
const MAX_KCONFIG_SECTION: u32 = 1 << 20;

const SYM_SIZE: usize = 24;
const BPF_PSEUDO_BTF_ID: u8 = 3;
const BPF_PSEUDO_KFUNC_CALL: u8 = 2;
const OP_CALL: u8 = 0x85;
const OP_LD_IMM64: u8 = 0x18;

/// An extern the loader must resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    pub name: String,
    /// `.kconfig` or `.ksyms`.
    pub section: String,
    /// Declared `__weak`: 0 when the kernel lacks it.
    pub weak: bool,
    pub kind: ExternKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternKind {
    /// A `.kconfig` value at `offset` in `.rodata.kconfig`, `size` bytes.
    Kconfig {
        offset: u32,
        size: u32,
        ty: KconfigType,
    },
    /// A `__ksym` variable; `typed` unless declared `void` (then only its
    /// address is known, from `/proc/kallsyms`).
    KsymVar { typed: bool },
    /// A kernel function (kfunc) declared `__ksym`.
    Kfunc,
}

/// The C type of a `.kconfig` extern, as libbpf classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KconfigType {
    Bool,
    Char,
    /// `enum libbpf_tristate`: n 0, y 1, m 2.
    Tristate,
    Int {
        signed: bool,
    },
    /// A `char[N]` for a string option.
    CharArray,
    Unsupported,
}

/// An instruction that uses a `.ksyms` extern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternUse {
    /// Index into [`Object::externs`].
    pub extern_index: usize,
    /// File offset of the instruction in [`Object::loadable_elf`].
    pub file_offset: usize,
}

/// What the analysis found, for the rewrite and the [`Object`].
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub externs: Vec<Extern>,
    pub uses: Vec<ExternUse>,
    /// ELF symbol index of each extern.
    symbols: Vec<usize>,
    /// BTF ids of the extern DATASECs and of their VAR/FUNC entries.
    datasecs: Vec<u32>,
    entries: Vec<u32>,
    /// Size of `.rodata.kconfig`.
    pub kconfig_size: u32,
}

pub(crate) fn find(btf: &Btf, elf: &[u8]) -> Result<Found, ObjectError> {
    let mut found = Found::default();
    let symbols = extern_symbols(elf)?;
    for section in [KCONFIG, KSYMS] {
        let Some(id) = btf.find(section, |k| matches!(k, Kind::Datasec(_))) else {
            continue;
        };
        let Some(Kind::Datasec(sec)) = btf.get(id).map(|t| &t.kind) else {
            continue;
        };
        found.datasecs.push(id);
        for v in &sec.vars {
            let name = btf.name_of(v.ty).to_string();
            let (symbol, weak) = symbols.get(&name).copied().unwrap_or((0, false));
            let kind = match btf.get(v.ty).map(|t| &t.kind) {
                Some(Kind::Func { .. }) => ExternKind::Kfunc,
                Some(Kind::Var { ty, .. }) if section == KCONFIG => {
                    kconfig_entry(btf, *ty, &mut found.kconfig_size).map_err(|why| {
                        ObjectError::Var {
                            var: name.clone(),
                            section: KCONFIG.to_string(),
                            why,
                        }
                    })?
                }
                Some(Kind::Var { ty, .. }) => ExternKind::KsymVar {
                    typed: btf.resolve(*ty).is_ok_and(|t| t != 0),
                },
                _ => continue,
            };
            found.entries.push(v.ty);
            found.symbols.push(symbol);
            found.externs.push(Extern {
                name,
                section: section.to_string(),
                weak,
                kind,
            });
        }
    }
    found.uses = extern_uses(elf, &found)?;
    Ok(found)
}

/// Lays out one `.kconfig` extern after the previous ones, aligned to its
/// size (1 for strings).
fn kconfig_entry(btf: &Btf, ty: u32, end: &mut u32) -> Result<ExternKind, String> {
    let ty = kconfig_type(btf, ty);
    let size = btf
        .size_of(ty.1)
        .ok()
        .and_then(|s| u32::try_from(s).ok())
        .filter(|&s| s <= MAX_KCONFIG_VALUE)
        .ok_or_else(|| format!("no size, or one over {MAX_KCONFIG_VALUE} bytes"))?;
    let align = match ty.0 {
        KconfigType::CharArray => 1,
        _ => size.clamp(1, 8),
    };
    let offset = end.next_multiple_of(align);
    *end = offset
        .checked_add(size)
        .filter(|&e| e <= MAX_KCONFIG_SECTION)
        .ok_or_else(|| format!("the .kconfig values take over {MAX_KCONFIG_SECTION} bytes"))?;
    Ok(ExternKind::Kconfig {
        offset,
        size,
        ty: ty.0,
    })
}

fn kconfig_type(btf: &Btf, ty: u32) -> (KconfigType, u32) {
    let id = btf.resolve(ty).unwrap_or(0);
    let kind = match btf.get(id).map(|t| (&t.kind, btf.name_of(id))) {
        Some((Kind::Int(i), _)) if i.bool => KconfigType::Bool,
        Some((Kind::Int(i), _)) if i.size == 1 => KconfigType::Char,
        Some((Kind::Int(i), _)) if i.size.is_power_of_two() && i.size <= 8 => {
            KconfigType::Int { signed: i.signed }
        }
        Some((Kind::Enum(e), "libbpf_tristate")) if e.size == 4 => KconfigType::Tristate,
        Some((Kind::Array(a), _)) if a.len > 0 => match kconfig_type(btf, a.elem).0 {
            KconfigType::Char => KconfigType::CharArray,
            _ => KconfigType::Unsupported,
        },
        _ => KconfigType::Unsupported,
    };
    (kind, id)
}

/// Undefined (extern) ELF symbols: name → (index, weak).
fn extern_symbols(elf: &[u8]) -> Result<HashMap<String, (usize, bool)>, ObjectError> {
    let file = object::File::parse(elf).map_err(|e| ObjectError::Elf(e.to_string()))?;
    Ok(file
        .symbols()
        .filter(|s| s.is_undefined())
        .filter_map(|s| Some((s.name().ok()?.to_string(), (s.index().0, s.is_weak()))))
        .collect())
}

/// Every instruction relocated against a `.ksyms` extern's symbol.
fn extern_uses(elf: &[u8], found: &Found) -> Result<Vec<ExternUse>, ObjectError> {
    let file = object::File::parse(elf).map_err(|e| ObjectError::Elf(e.to_string()))?;
    let by_symbol: HashMap<usize, usize> = found
        .symbols
        .iter()
        .enumerate()
        .filter(|(i, _)| found.externs[*i].section == KSYMS)
        .map(|(i, &sym)| (sym, i))
        .collect();
    let mut uses = Vec::new();
    // Only instructions: clang also relocates `.BTF` against externs.
    let code = file
        .sections()
        .filter(|s| s.kind() == object::SectionKind::Text);
    for section in code {
        let Some((start, _)) = section.file_range() else {
            continue;
        };
        for (offset, rel) in section.relocations() {
            let RelocationTarget::Symbol(sym) = rel.target() else {
                continue;
            };
            if let Some(&extern_index) = by_symbol.get(&sym.0) {
                uses.push(ExternUse {
                    extern_index,
                    file_offset: (start + offset) as usize,
                });
            }
        }
    }
    Ok(uses)
}

/// Makes the extern DATASECs and entries acceptable to the kernel and aya:
/// each DATASEC becomes an empty anonymous struct (the kernel refuses a
/// DATASEC of size 0, aya one without an ELF section), each extern VAR or
/// FUNC a typedef of its type (the kernel refuses extern linkage, and a
/// FUNC with unnamed parameters).
pub(crate) fn neutralize_btf(raw: &mut RawBtf, btf: &Btf, found: &Found) {
    for &id in &found.datasecs {
        raw.replace_type(id, &[0, info(kind_no::STRUCT, 0), 0]);
    }
    for &id in &found.entries {
        let Some(t) = btf.get(id) else { continue };
        let target = match t.kind {
            Kind::Var { ty, .. } => ty,
            Kind::Func { proto, .. } => proto,
            _ => continue,
        };
        raw.replace_type(id, &[t.name_off, info(kind_no::TYPEDEF, 0), target]);
    }
}

/// Points `.kconfig` symbols at their offsets in section `kconfig_section`
/// (aya then relocates their uses as `.rodata` accesses), makes `.ksyms`
/// symbols untyped (aya would link a call to a FUNC symbol as a
/// subprogram), and poisons kfunc calls until [`resolve`] patches them.
pub(crate) fn patch_symbols(
    out: &mut [u8],
    symtab: Option<usize>,
    found: &Found,
    kconfig_section: Option<u16>,
) {
    let Some(symtab) = symtab else { return };
    for (e, &sym) in found.externs.iter().zip(&found.symbols) {
        let at = symtab + sym * SYM_SIZE;
        let Some(entry) = out.get_mut(at..at + SYM_SIZE) else {
            continue;
        };
        const STT_OBJECT: u8 = 1;
        match (&e.kind, kconfig_section) {
            (ExternKind::Kconfig { offset, size, .. }, Some(index)) => {
                entry[4] = (entry[4] & 0xf0) | STT_OBJECT;
                entry[6..8].copy_from_slice(&index.to_le_bytes());
                entry[8..16].copy_from_slice(&u64::from(*offset).to_le_bytes());
                entry[16..24].copy_from_slice(&u64::from(*size).to_le_bytes());
            }
            _ => entry[4] &= 0xf0,
        }
    }
    for u in &found.uses {
        if out.get(u.file_offset) == Some(&OP_CALL) {
            set_call(
                out,
                u.file_offset,
                0,
                POISON_KFUNC_CALL + u.extern_index as i32,
            );
        }
    }
}

fn set_call(out: &mut [u8], at: usize, src_reg: u8, imm: i32) {
    if let Some(insn) = out.get_mut(at..at + 8) {
        insn[1] = src_reg << 4;
        insn[2..4].copy_from_slice(&[0, 0]);
        insn[4..8].copy_from_slice(&imm.to_le_bytes());
    }
}

fn set_ld_imm64(out: &mut [u8], at: usize, src_reg: u8, lo: u32, hi: u32) {
    if let Some(insn) = out.get_mut(at..at + 16) {
        insn[1] = (insn[1] & 0x0f) | (src_reg << 4);
        insn[4..8].copy_from_slice(&lo.to_le_bytes());
        insn[12..16].copy_from_slice(&hi.to_le_bytes());
    }
}

/// What the running kernel says about each extern (see
/// [`crate::KernelFacts`]).
pub trait ExternValues {
    /// The bytes of `.kconfig` extern `e` (`size` long), `None` when the
    /// kernel does not define it, or an error saying why the value does not
    /// fit its C type.
    fn kconfig(&self, e: &Extern, ty: KconfigType, size: u32) -> Result<Option<Vec<u8>>, String>;
    /// The kernel BTF id of a kfunc or typed `__ksym` variable.
    fn btf_id(&self, name: &str, func: bool) -> Option<u32>;
    /// The address of a symbol in `/proc/kallsyms`.
    fn address(&self, name: &str) -> Option<u64>;
}

/// Fills `.rodata.kconfig` in `elf` (a copy of [`Object::loadable_elf`])
/// and patches every `.ksyms` use. Errors name every strong extern the
/// kernel lacks, in one line.
pub fn resolve(object: &Object, elf: &mut [u8], values: &dyn ExternValues) -> Result<(), String> {
    let mut missing = Vec::new();
    let mut resolved: Vec<Option<Resolved>> = Vec::new();
    for e in &object.externs {
        let r = resolve_one(object, elf, e, values)?;
        if r.is_none() && !e.weak {
            missing.push(format!("{} ({})", e.name, e.section));
        }
        resolved.push(r);
    }
    if !missing.is_empty() {
        return Err(format!(
            "the running kernel lacks these externs the object needs (only __weak ones may be missing): {}",
            missing.join(", ")
        ));
    }
    for u in &object.extern_uses {
        let Some(r) = resolved.get(u.extern_index).copied().flatten() else {
            continue; // a missing weak extern: 0, or a poisoned call
        };
        let at = u.file_offset;
        match (elf.get(at).copied(), r) {
            (Some(OP_CALL), Resolved::BtfId(id)) => {
                set_call(elf, at, BPF_PSEUDO_KFUNC_CALL, id as i32)
            }
            (Some(OP_LD_IMM64), Resolved::BtfId(id)) => {
                set_ld_imm64(elf, at, BPF_PSEUDO_BTF_ID, id, 0)
            }
            (Some(OP_LD_IMM64), Resolved::Address(a)) => {
                set_ld_imm64(elf, at, 0, a as u32, (a >> 32) as u32)
            }
            (op, _) => {
                return Err(format!(
                    "extern '{}': unexpected instruction (opcode {:#x}) uses it",
                    object.externs[u.extern_index].name,
                    op.unwrap_or(0)
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Resolved {
    Kconfig,
    BtfId(u32),
    Address(u64),
}

fn resolve_one(
    object: &Object,
    elf: &mut [u8],
    e: &Extern,
    values: &dyn ExternValues,
) -> Result<Option<Resolved>, String> {
    match e.kind {
        ExternKind::Kconfig { offset, size, ty } => {
            let Some(mut bytes) = values
                .kconfig(e, ty, size)
                .map_err(|why| format!("extern '{}' (.kconfig): {why}", e.name))?
            else {
                return Ok(None);
            };
            bytes.resize(size as usize, 0);
            let range = kconfig_slot(object, offset, size)?;
            if let Some(slot) = elf.get_mut(range) {
                slot.copy_from_slice(&bytes);
            }
            Ok(Some(Resolved::Kconfig))
        }
        ExternKind::Kfunc => Ok(values.btf_id(&e.name, true).map(Resolved::BtfId)),
        ExternKind::KsymVar { typed: true } => {
            Ok(values.btf_id(&e.name, false).map(Resolved::BtfId))
        }
        ExternKind::KsymVar { typed: false } => Ok(values.address(&e.name).map(Resolved::Address)),
    }
}

fn kconfig_slot(object: &Object, offset: u32, size: u32) -> Result<Range<usize>, String> {
    let data = object
        .kconfig_data
        .clone()
        .ok_or("the object has no .rodata.kconfig section")?;
    let start = data.start + offset as usize;
    Ok(start..start + size as usize)
}
