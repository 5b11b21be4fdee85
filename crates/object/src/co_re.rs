//! CO-RE relocation done by bpfkit: the object's `.BTF.ext` relocation
//! records are resolved against the kernel's BTF, seen through a lazy
//! [`BtfView`] (no full parse), and the instructions of the aya-loadable
//! ELF are patched in place. aya then loads that ELF without a kernel BTF.
//!
//! The semantics are libbpf's (`relo_core.c`): candidates are the kernel
//! types of the same kind whose name equals the local one once a
//! `___flavor` suffix is dropped; an access string is matched member by
//! member (anonymous members are searched through, names must be equal,
//! field types compatible); all matching candidates must agree; when none
//! matches, `*_EXISTS` relocations give 0, type-based ones 0, and the others
//! poison their instruction (`call 0xbad2310`: the verifier rejects it only
//! if it is reachable). Whatever this module does not implement is
//! [`CoreError::Unsupported`], never a guess.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use bpfkit_btf::ext::CoreRelo;
use bpfkit_btf::view::BtfView;
use bpfkit_btf::{Btf, Kind, Type, TypeId};

use crate::Object;
use crate::elf_view::ElfView;
use crate::rewrite::aya_section_name;

/// libbpf's bound on accessor chains (`BPF_CORE_SPEC_MAX_LEN`).
const MAX_SPEC_LEN: usize = 64;
/// Bound on typedef/qualifier chains and type recursion.
const MAX_DEPTH: usize = 32;
const INSN_SIZE: usize = 8;
/// The helper number libbpf writes into poisoned calls.
const POISON_IMM: i32 = 0xbad2310;

/// Relocation kinds (`enum bpf_core_relo_kind`).
mod relo_kind {
    pub const FIELD_BYTE_OFFSET: u32 = 0;
    pub const FIELD_BYTE_SIZE: u32 = 1;
    pub const FIELD_EXISTS: u32 = 2;
    pub const FIELD_SIGNED: u32 = 3;
    pub const FIELD_LSHIFT_U64: u32 = 4;
    pub const FIELD_RSHIFT_U64: u32 = 5;
    pub const TYPE_ID_LOCAL: u32 = 6;
    pub const TYPE_ID_TARGET: u32 = 7;
    pub const TYPE_EXISTS: u32 = 8;
    pub const TYPE_SIZE: u32 = 9;
    pub const ENUMVAL_EXISTS: u32 = 10;
    pub const ENUMVAL_VALUE: u32 = 11;
    pub const TYPE_MATCHES: u32 = 12;
}
use relo_kind::*;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Something bpfkit's CO-RE does not implement (aya's may).
    #[error("CO-RE relocation not supported by bpfkit: {0}")]
    Unsupported(String),
    /// A relocation that cannot be applied (libbpf would fail too).
    #[error("CO-RE relocation #{index} of section '{section}' (instruction {insn}): {why}")]
    Relocation {
        section: String,
        index: usize,
        insn: usize,
        why: String,
    },
    #[error("CO-RE relocations of section '{section}': {why}")]
    Section { section: String, why: String },
    #[error("kernel BTF: {0}")]
    KernelBtf(#[source] bpfkit_btf::Error),
}

/// Why one relocation failed, before the context is added.
#[derive(Debug)]
enum Fail {
    Unsupported(String),
    Invalid(String),
}

impl From<bpfkit_btf::Error> for Fail {
    fn from(e: bpfkit_btf::Error) -> Fail {
        Fail::Invalid(e.to_string())
    }
}

fn invalid<T>(why: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Invalid(why.into()))
}

/// Whether the object has any CO-RE relocation record.
pub fn has_core_relocations(object: &Object) -> bool {
    object
        .ext
        .as_ref()
        .is_some_and(|ext| ext.core_relos.iter().any(|s| !s.records.is_empty()))
}

/// A CO-RE relocation with no answer on the running kernel: bpfkit
/// poisoned its instruction (as libbpf does), so the verifier rejects the
/// program when that instruction is reachable, with only
/// `invalid func unknown#195896080` to say why. This says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonedRelocation {
    /// The function holding the instruction: the program, or a subprogram
    /// (in `.text`).
    pub function: String,
    /// The `SEC()` name of its section.
    pub section: String,
    /// Index of the poisoned instruction from the function's first one (the
    /// index the verifier gives for a program's own instructions).
    pub insn: usize,
    /// Index of the poisoned instruction in its section (for `.BTF.ext`
    /// line info).
    pub section_insn: usize,
    /// libbpf's name of the relocation kind (`byte_off`, `byte_sz`,
    /// `field_exists`, `enumval_value`, ...).
    pub kind: &'static str,
    /// The local type, with its kind: `struct trace_event_raw_tcp_retransmit_skb`.
    pub local_type: String,
    /// The access path in C terms: `struct trace_event_raw_tcp_retransmit_skb.saddr`,
    /// `struct s.a[2].b`, `enum e::VALUE`.
    pub access_path: String,
    /// The raw access string of the relocation record (`0:3`).
    pub access: String,
    /// What the running kernel lacks: `the running kernel has no struct X`.
    pub missing: String,
}

impl fmt::Display for PoisonedRelocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CO-RE relocation {} of {} (access {}) at instruction {} of '{}' failed: {}",
            self.kind, self.access_path, self.access, self.insn, self.function, self.missing
        )
    }
}

/// The result of [`relocate_core_report`].
#[derive(Debug, Clone)]
pub struct Relocated {
    /// The loadable ELF with every relocation applied (see [`relocate_core`]).
    pub elf: Vec<u8>,
    /// The relocations that were poisoned, by the function that holds them
    /// (program name, or subprogram name for `.text`), in instruction order.
    pub poisoned: BTreeMap<String, Vec<PoisonedRelocation>>,
}

impl Relocated {
    /// The poisoned relocations of function `name`.
    pub fn poisoned_in(&self, name: &str) -> &[PoisonedRelocation] {
        self.poisoned.get(name).map_or(&[], Vec::as_slice)
    }
}

/// The object's aya-loadable ELF with every CO-RE relocation applied for
/// the kernel described by `kernel`, and the relocation records removed
/// from its `.BTF.ext`; load it without kernel BTF (aya's
/// `EbpfLoader::btf(None)`).
pub fn relocate_core<D: AsRef<[u8]>>(
    object: &Object,
    kernel: &BtfView<D>,
) -> Result<Vec<u8>, CoreError> {
    Ok(relocate_core_report(object, kernel)?.elf)
}

/// [`relocate_core`], also saying which relocations were poisoned and why.
pub fn relocate_core_report<D: AsRef<[u8]>>(
    object: &Object,
    kernel: &BtfView<D>,
) -> Result<Relocated, CoreError> {
    let mut elf = object.loadable_elf.clone();
    let mut poisoned: BTreeMap<String, Vec<PoisonedRelocation>> = BTreeMap::new();
    let Some(ext) = &object.ext else {
        return Ok(Relocated { elf, poisoned });
    };
    let layout = Layout::read(&object.loadable_elf)?;
    let local: &Btf = &object.btf;
    let candidates = Candidates::find(
        local,
        kernel,
        ext.core_relos.iter().flat_map(|s| &s.records),
    )
    .map_err(|e| match e {
        Fail::Unsupported(why) => CoreError::Unsupported(why),
        Fail::Invalid(why) => CoreError::KernelBtf(bpfkit_btf::Error::Invalid(why)),
    })?;
    for section in &ext.core_relos {
        if section.records.is_empty() {
            continue;
        }
        let range = layout.code_range(&section.section)?;
        let code = &mut elf[range];
        for (index, relo) in section.records.iter().enumerate() {
            let context = |why: String| CoreError::Relocation {
                section: section.section.clone(),
                index,
                insn: relo.insn_off as usize / INSN_SIZE,
                why,
            };
            let to_error = |e| match e {
                Fail::Unsupported(why) => CoreError::Unsupported(format!(
                    "{} (relocation #{index} of '{}')",
                    why, section.section
                )),
                Fail::Invalid(why) => context(why),
            };
            let Some(outcome) = apply(relo, local, kernel, &candidates, code).map_err(to_error)?
            else {
                continue;
            };
            let report = describe_poison(relo, &section.section, &outcome, local, &candidates)
                .map_err(to_error)?;
            let (function, insn) = layout.function_at(&section.section, relo.insn_off as usize);
            poisoned
                .entry(function.clone())
                .or_default()
                .push(PoisonedRelocation {
                    function,
                    insn,
                    section_insn: relo.insn_off as usize / INSN_SIZE,
                    ..report
                });
        }
    }
    for list in poisoned.values_mut() {
        list.sort_by_key(|p| p.insn);
    }
    drop_core_relocations(&mut elf, layout.range(".BTF.ext", false)?);
    Ok(Relocated { elf, poisoned })
}

/// Where the loadable ELF's sections lie, read once for every range asked.
struct Layout<'e> {
    elf: &'e [u8],
    view: ElfView<'e>,
}

impl<'e> Layout<'e> {
    fn read(elf: &'e [u8]) -> Result<Layout<'e>, CoreError> {
        let view = ElfView::read(elf).map_err(|e| CoreError::Section {
            section: ".BTF.ext".into(),
            why: e.to_string(),
        })?;
        Ok(Layout { elf, view })
    }

    /// The file range of the code of section `name` (its original `SEC()`
    /// name; the loadable ELF may call it differently for aya).
    fn code_range(&self, name: &str) -> Result<std::ops::Range<usize>, CoreError> {
        let loadable_name = aya_section_name(name).unwrap_or_else(|| name.to_string());
        self.range(&loadable_name, true)
    }

    /// The function symbol of code section `name` (its `SEC()` name) that
    /// holds byte `offset`, and the instruction index within it; the
    /// section's name and the index in the section when no symbol does.
    fn function_at(&self, name: &str, offset: usize) -> (String, usize) {
        let loadable_name = aya_section_name(name).unwrap_or_else(|| name.to_string());
        let offset = offset as u64;
        self.view
            .section_by_name(&loadable_name)
            .filter(|s| s.executable)
            .and_then(|section| {
                self.view.symbols.iter().find(|sym| {
                    sym.is_function
                        && sym.section == Some(section.index)
                        && (sym.address..sym.address.saturating_add(sym.size)).contains(&offset)
                })
            })
            .map_or_else(
                || (name.to_string(), offset as usize / INSN_SIZE),
                |sym| {
                    (
                        sym.name.clone(),
                        (offset - sym.address) as usize / INSN_SIZE,
                    )
                },
            )
    }

    /// The file range of section `name`.
    fn range(&self, name: &str, executable: bool) -> Result<std::ops::Range<usize>, CoreError> {
        let fail = |why: &str| CoreError::Section {
            section: name.to_string(),
            why: why.into(),
        };
        let section = self
            .view
            .section_by_name(name)
            .filter(|s| s.executable == executable)
            .ok_or_else(|| fail("no such section"))?;
        // `data` borrows from `elf`: its address gives the file offset.
        let start = (section.data.as_ptr() as usize)
            .checked_sub(self.elf.as_ptr() as usize)
            .filter(|&s| s + section.data.len() <= self.elf.len())
            .ok_or_else(|| fail("section data outside the file"))?;
        Ok(start..start + section.data.len())
    }
}

/// Empties the CO-RE part of `.BTF.ext` (at `range`; its length in the
/// header becomes 0): the relocations are applied, and aya 0.14 refuses to
/// even parse an object with kinds it does not know (TYPE_MATCHES).
fn drop_core_relocations(elf: &mut [u8], range: std::ops::Range<usize>) {
    const CORE_RELO_LEN_AT: usize = 28;
    let ext = &mut elf[range];
    let Some(hdr_len) = ext.get(4..8) else {
        return;
    };
    let hdr_len = u32::from_le_bytes(hdr_len.try_into().unwrap_or_default()) as usize;
    if hdr_len >= CORE_RELO_LEN_AT + 4 && ext.len() >= CORE_RELO_LEN_AT + 4 {
        ext[CORE_RELO_LEN_AT..CORE_RELO_LEN_AT + 4].copy_from_slice(&0u32.to_le_bytes());
    }
}

/// Applies one relocation; the outcome when it poisoned the instruction.
fn apply<D: AsRef<[u8]>>(
    relo: &CoreRelo,
    local: &Btf,
    kernel: &BtfView<D>,
    candidates: &Candidates,
    code: &mut [u8],
) -> Result<Option<Outcome>, Fail> {
    let insn = relo.insn_off as usize;
    if !insn.is_multiple_of(INSN_SIZE) || insn + INSN_SIZE > code.len() {
        return invalid(format!("instruction offset {insn} is outside the section"));
    }
    let outcome = calc_relo_insn(relo, local, kernel, candidates)?;
    let poisoned = patch_insn(&mut code[insn..], &outcome)?;
    Ok(poisoned.then_some(outcome))
}

/// libbpf's names of the relocation kinds (`core_relo_kind_str`).
fn kind_name(kind: u32) -> &'static str {
    const NAMES: [&str; 13] = [
        "byte_off",
        "byte_sz",
        "field_exists",
        "signed",
        "lshift_u64",
        "rshift_u64",
        "local_type_id",
        "target_type_id",
        "type_exists",
        "type_size",
        "enumval_exists",
        "enumval_value",
        "type_matches",
    ];
    NAMES.get(kind as usize).copied().unwrap_or("unknown")
}

/// `struct task_struct`, `enum pid_type`, `typedef u32`.
fn kind_and_name(t: &Type, name: &str) -> String {
    let kind = match &t.kind {
        Kind::Struct(_) => "struct",
        Kind::Union(_) => "union",
        Kind::Enum(_) => "enum",
        Kind::Typedef(_) => "typedef",
        other => return format!("{} {name}", other.name().to_lowercase()),
    };
    format!("{kind} {name}")
}

/// The access path of `spec` in C terms: `struct s.a[2].b`, `enum e::V`.
fn access_path(spec: &Spec, root: &str, kind: u32) -> String {
    let mut path = root.to_string();
    let Some((first, rest)) = spec.accessors.split_first() else {
        return path;
    };
    if is_enumval_based(kind) {
        path.push_str("::");
        path.push_str(first.name.as_deref().unwrap_or("?"));
        return path;
    }
    if !is_field_based(kind) {
        return path;
    }
    if first.idx != 0 {
        path.push_str(&format!("[{}]", first.idx));
    }
    for acc in rest {
        match &acc.name {
            Some(name) => {
                path.push('.');
                path.push_str(name);
            }
            None => path.push_str(&format!("[{}]", acc.idx)),
        }
    }
    path
}

/// What a poisoned relocation asked for and why the kernel cannot give it
/// (function and instruction are filled in by the caller).
fn describe_poison(
    relo: &CoreRelo,
    section: &str,
    outcome: &Outcome,
    local: &Btf,
    candidates: &Candidates,
) -> Result<PoisonedRelocation, Fail> {
    let kind = relo.kind;
    let t = local.type_by_id(relo.type_id)?;
    let name = local.str_at(t.name_off);
    let local_type = kind_and_name(t, name);
    let spec = parse_spec(local, relo.type_id, &relo.access, kind)?;
    let access_path = access_path(&spec, &local_type, kind);
    let kernel_type = kind_and_name(t, essential_name(name));
    let missing = if candidates.of(t, name).is_empty() {
        format!("the running kernel has no {kernel_type}")
    } else if !outcome.poison {
        format!(
            "the field is {} bytes here and {} bytes in the running kernel's {kernel_type}, \
             a size change this instruction cannot follow",
            outcome.orig_size, outcome.new_size
        )
    } else if is_enumval_based(kind) {
        let value = spec.accessors.first().and_then(|a| a.name.as_deref());
        format!(
            "the running kernel's {kernel_type} has no value {}",
            value.unwrap_or("?")
        )
    } else {
        let field = access_path
            .strip_prefix(&local_type)
            .unwrap_or(&access_path);
        format!(
            "the running kernel's {kernel_type} has no field {} of a compatible type",
            field.trim_start_matches('.')
        )
    };
    Ok(PoisonedRelocation {
        function: String::new(),
        section: section.to_string(),
        insn: 0,
        section_insn: 0,
        kind: kind_name(kind),
        local_type,
        access_path,
        access: relo.access.clone(),
        missing,
    })
}

/// Read access to BTF types, for the object's parsed BTF and the kernel's
/// lazy view alike.
trait Types {
    fn ty(&self, id: TypeId) -> Result<Cow<'_, Type>, Fail>;
    fn name(&self, off: u32) -> Result<&str, Fail>;
}

impl Types for Btf {
    fn ty(&self, id: TypeId) -> Result<Cow<'_, Type>, Fail> {
        Ok(Cow::Borrowed(self.type_by_id(id)?))
    }
    fn name(&self, off: u32) -> Result<&str, Fail> {
        Ok(self.str_at(off))
    }
}

impl<D: AsRef<[u8]>> Types for BtfView<D> {
    fn ty(&self, id: TypeId) -> Result<Cow<'_, Type>, Fail> {
        Ok(Cow::Owned(self.type_by_id(id)?))
    }
    fn name(&self, off: u32) -> Result<&str, Fail> {
        Ok(self.str_at(off)?)
    }
}

/// Length of `name` without its `___flavor` suffix (libbpf's
/// `bpf_core_essential_name_len`: the last `x___y` separator counts).
fn essential_name(name: &str) -> &str {
    let essential = essential_name_bytes(name.as_bytes()).len();
    // The cut is just before an ASCII '_': a char boundary.
    &name[..essential]
}

/// [`essential_name`] of a name's bytes.
fn essential_name_bytes(b: &[u8]) -> &[u8] {
    let n = b.len();
    for i in (0..n.saturating_sub(4)).rev() {
        if b[i] != b'_'
            && b[i + 1] == b'_'
            && b[i + 2] == b'_'
            && b[i + 3] == b'_'
            && b[i + 4] != b'_'
        {
            return &b[..i + 1];
        }
    }
    b
}

fn is_field_based(kind: u32) -> bool {
    kind <= FIELD_RSHIFT_U64
}

fn is_enumval_based(kind: u32) -> bool {
    matches!(kind, ENUMVAL_EXISTS | ENUMVAL_VALUE)
}

/// Skips typedefs and qualifiers: libbpf's `skip_mods_and_typedefs`.
fn skip_mods<'t>(b: &'t dyn Types, mut id: TypeId) -> Result<(TypeId, Cow<'t, Type>), Fail> {
    for _ in 0..MAX_DEPTH {
        let t = b.ty(id)?;
        match t.kind {
            Kind::Typedef(next)
            | Kind::Volatile(next)
            | Kind::Const(next)
            | Kind::Restrict(next)
            | Kind::TypeTag(next) => id = next,
            _ => return Ok((id, t)),
        }
    }
    invalid(format!("type chain from [{id}] too long"))
}

/// Size in bytes of a value of type `id`: libbpf's `btf__resolve_size`.
fn resolve_size(b: &dyn Types, mut id: TypeId) -> Result<u64, Fail> {
    let mut elems: u64 = 1;
    for _ in 0..MAX_DEPTH {
        let t = b.ty(id)?;
        let size = match t.kind {
            Kind::Int(i) => i.size,
            Kind::Struct(ref c) | Kind::Union(ref c) => c.size,
            Kind::Enum(ref e) => e.size,
            Kind::Datasec(ref d) => d.size,
            Kind::Float { size } => size,
            Kind::Ptr(_) => 8,
            Kind::Typedef(next)
            | Kind::Volatile(next)
            | Kind::Const(next)
            | Kind::Restrict(next)
            | Kind::TypeTag(next)
            | Kind::Var { ty: next, .. } => {
                id = next;
                continue;
            }
            Kind::Array(a) => {
                elems = elems.saturating_mul(a.len as u64);
                id = a.elem;
                continue;
            }
            _ => return invalid(format!("type [{id}] ({}) has no size", t.kind.name())),
        };
        let total = elems.saturating_mul(size as u64);
        if total > u32::MAX as u64 {
            return invalid(format!("type [{id}] is too large"));
        }
        return Ok(total);
    }
    invalid(format!("type chain from [{id}] too long"))
}

/// One step of an access path: a named member (`name`), or an array
/// element / the root (`name` None).
#[derive(Debug, Clone)]
struct Accessor {
    type_id: TypeId,
    idx: u32,
    name: Option<String>,
}

/// An access path resolved in one BTF (libbpf's `bpf_core_spec`).
#[derive(Debug, Clone, Default)]
struct Spec {
    root: TypeId,
    accessors: Vec<Accessor>,
    raw: Vec<u32>,
    bit_offset: u64,
}

impl Spec {
    /// Adds to the bit offset, bounded so that later arithmetic on it
    /// cannot overflow (no real offset comes near).
    fn add_bits(&mut self, bits: u64) -> Result<(), Fail> {
        const MAX_BITS: u64 = 1 << 40;
        match self.bit_offset.checked_add(bits).filter(|&b| b < MAX_BITS) {
            Some(total) => {
                self.bit_offset = total;
                Ok(())
            }
            None => invalid("field offset out of range"),
        }
    }

    /// Skips `index` elements of `size` bytes.
    fn add_elements(&mut self, index: u32, size: u64) -> Result<(), Fail> {
        self.add_bits((index as u64).saturating_mul(size).saturating_mul(8))
    }
}

/// A zero-length array that is the last member of its struct.
fn is_flex_array(b: &dyn Types, parent: Option<&Accessor>, len: u32) -> Result<bool, Fail> {
    let Some(parent) = parent.filter(|p| p.name.is_some() && len == 0) else {
        return Ok(false);
    };
    Ok(match &b.ty(parent.type_id)?.kind {
        Kind::Struct(c) | Kind::Union(c) => parent.idx as usize + 1 == c.members.len(),
        _ => false,
    })
}

/// libbpf's `bpf_core_parse_spec`: the local access string resolved.
fn parse_spec(b: &dyn Types, type_id: TypeId, access: &str, kind: u32) -> Result<Spec, Fail> {
    let raw = access
        .split(':')
        .map(|s| s.parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| Fail::Invalid(format!("bad access string '{access}'")))?;
    if raw.is_empty() || raw.len() > MAX_SPEC_LEN {
        return invalid(format!("bad access string '{access}'"));
    }
    let mut spec = Spec {
        root: type_id,
        raw: raw.clone(),
        ..Spec::default()
    };
    let (mut id, t) = skip_mods(b, type_id)?;
    let first = raw[0];
    let mut root = Accessor {
        type_id: id,
        idx: first,
        name: None,
    };
    if is_enumval_based(kind) {
        let Kind::Enum(e) = &t.kind else {
            return invalid("enum value relocation on a type that is not an enum");
        };
        let Some(value) = e.values.get(first as usize).filter(|_| raw.len() == 1) else {
            return invalid(format!("bad enum access string '{access}'"));
        };
        root.name = Some(b.name(value.name_off)?.to_string());
        spec.accessors.push(root);
        return Ok(spec);
    }
    spec.accessors.push(root);
    if !is_field_based(kind) {
        return Ok(spec);
    }
    spec.add_elements(first, resolve_size(b, id)?)?;
    for &idx in &raw[1..] {
        let (skipped, t) = skip_mods(b, id)?;
        id = skipped;
        match &t.kind {
            Kind::Struct(c) | Kind::Union(c) => {
                let Some(m) = c.members.get(idx as usize) else {
                    return invalid(format!("member {idx} of [{id}] does not exist"));
                };
                spec.add_bits(m.bit_offset as u64)?;
                if m.name_off != 0 {
                    let name = b.name(m.name_off)?;
                    if name.is_empty() {
                        return invalid(format!("member {idx} of [{id}] has a bad name"));
                    }
                    spec.accessors.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(name.to_string()),
                    });
                }
                id = m.ty;
            }
            Kind::Array(a) => {
                let (elem, _) = skip_mods(b, a.elem)?;
                let flex = is_flex_array(b, spec.accessors.last(), a.len)?;
                if !flex && idx >= a.len {
                    return invalid(format!("index {idx} out of array [{id}]"));
                }
                spec.accessors.push(Accessor {
                    type_id: elem,
                    idx,
                    name: None,
                });
                spec.add_elements(idx, resolve_size(b, elem)?)?;
                id = elem;
            }
            other => {
                return invalid(format!(
                    "access string '{access}' goes through a {}",
                    other.name()
                ));
            }
        }
    }
    Ok(spec)
}

fn kinds_core_compatible(a: &Kind, b: &Kind) -> bool {
    a.number() == b.number() || matches!((a, b), (Kind::Enum(_), Kind::Enum(_)))
}

fn is_composite(k: &Kind) -> bool {
    matches!(k, Kind::Struct(_) | Kind::Union(_))
}

/// Both names anonymous-or-equal once flavors are dropped.
fn essential_names_match(a: &str, b: &str) -> bool {
    let (a, b) = (essential_name(a), essential_name(b));
    a.is_empty() || b.is_empty() || a == b
}

/// libbpf's `bpf_core_fields_are_compat`.
fn fields_compatible(
    lb: &dyn Types,
    mut lid: TypeId,
    tb: &dyn Types,
    mut tid: TypeId,
) -> Result<bool, Fail> {
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip_mods(lb, lid)?;
        let (_, tt) = skip_mods(tb, tid)?;
        if is_composite(&lt.kind) && is_composite(&tt.kind) {
            return Ok(true);
        }
        if !kinds_core_compatible(&lt.kind, &tt.kind) {
            return Ok(false);
        }
        return Ok(match (&lt.kind, &tt.kind) {
            (Kind::Ptr(_), _) | (Kind::Float { .. }, _) => true,
            (Kind::Fwd { .. }, _) | (Kind::Enum(_), _) => {
                essential_names_match(lb.name(lt.name_off)?, tb.name(tt.name_off)?)
            }
            (Kind::Int(a), Kind::Int(b)) => a.offset == 0 && b.offset == 0,
            (Kind::Array(a), Kind::Array(b)) => {
                (lid, tid) = (a.elem, b.elem);
                continue;
            }
            _ => false,
        });
    }
    invalid("field types nest too deeply")
}

/// libbpf's `bpf_core_types_are_compat` (for TYPE_EXISTS, TYPE_SIZE,
/// TYPE_ID_TARGET).
fn types_compatible(
    lb: &dyn Types,
    lid: TypeId,
    tb: &dyn Types,
    tid: TypeId,
    level: usize,
) -> Result<bool, Fail> {
    if level == 0 {
        return invalid("types nest too deeply");
    }
    if !kinds_core_compatible(&lb.ty(lid)?.kind, &tb.ty(tid)?.kind) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip_mods(lb, lid)?;
        let (_, tt) = skip_mods(tb, tid)?;
        if !kinds_core_compatible(&lt.kind, &tt.kind) {
            return Ok(false);
        }
        match (&lt.kind, &tt.kind) {
            (
                Kind::Void | Kind::Struct(_) | Kind::Union(_) | Kind::Enum(_) | Kind::Fwd { .. },
                _,
            ) => {
                return Ok(true);
            }
            (Kind::Int(a), Kind::Int(b)) => return Ok(a.offset == 0 && b.offset == 0),
            (Kind::Ptr(a), Kind::Ptr(b)) => (lid, tid) = (*a, *b),
            (Kind::Array(a), Kind::Array(b)) => (lid, tid) = (a.elem, b.elem),
            (Kind::FuncProto(a), Kind::FuncProto(b)) => {
                if a.params.len() != b.params.len() {
                    return Ok(false);
                }
                for (lp, tp) in a.params.iter().zip(&b.params) {
                    let (l, _) = skip_mods(lb, lp.ty)?;
                    let (t, _) = skip_mods(tb, tp.ty)?;
                    if !types_compatible(lb, l, tb, t, level - 1)? {
                        return Ok(false);
                    }
                }
                lid = skip_mods(lb, a.ret)?.0;
                tid = skip_mods(tb, b.ret)?.0;
            }
            _ => return Ok(false),
        }
    }
    invalid("types nest too deeply")
}

/// libbpf's `bpf_core_names_match`: anonymous matches anything, otherwise
/// equal once flavors are dropped.
fn names_match(
    lb: &dyn Types,
    local_off: u32,
    tb: &dyn Types,
    targ_off: u32,
) -> Result<bool, Fail> {
    Ok(essential_names_match(
        lb.name(local_off)?,
        tb.name(targ_off)?,
    ))
}

/// libbpf's `__bpf_core_types_match` (TYPE_MATCHES, `bpf_core_type_matches`):
/// stricter than compatibility: same names down the tree, every local
/// member and enumerator present in the target, equal int sizes and
/// signedness, equal array lengths.
fn types_match(
    lb: &dyn Types,
    mut lid: TypeId,
    tb: &dyn Types,
    mut tid: TypeId,
    mut behind_ptr: bool,
    level: usize,
) -> Result<bool, Fail> {
    if level == 0 {
        return invalid("types nest too deeply");
    }
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip_mods(lb, lid)?;
        let (_, tt) = skip_mods(tb, tid)?;
        if !names_match(lb, lt.name_off, tb, tt.name_off)? {
            return Ok(false);
        }
        let same_kind = lt.kind.number() == tt.kind.number();
        match (&lt.kind, &tt.kind) {
            (Kind::Void, _) => return Ok(same_kind),
            (Kind::Fwd { is_union }, targ) => {
                return Ok(match targ {
                    Kind::Fwd { is_union: t } => is_union == t,
                    Kind::Struct(_) => behind_ptr && !is_union,
                    Kind::Union(_) => behind_ptr && *is_union,
                    _ => false,
                });
            }
            (Kind::Enum(l), targ) => {
                let Kind::Enum(t) = targ else {
                    return Ok(false);
                };
                return enums_match(lb, l, tb, t);
            }
            (Kind::Struct(l) | Kind::Union(l), targ) => {
                if behind_ptr {
                    return Ok(match targ {
                        _ if same_kind => true,
                        Kind::Fwd { is_union } => matches!(lt.kind, Kind::Union(_)) == *is_union,
                        _ => false,
                    });
                }
                let t = match targ {
                    Kind::Struct(t) | Kind::Union(t) if same_kind => t,
                    _ => return Ok(false),
                };
                return composites_match(lb, l, tb, t, behind_ptr, level);
            }
            (Kind::Int(l), Kind::Int(t)) => return Ok(l.size == t.size && l.signed == t.signed),
            (Kind::Ptr(l), Kind::Ptr(t)) => {
                behind_ptr = true;
                (lid, tid) = (*l, *t);
            }
            (Kind::Array(l), Kind::Array(t)) => {
                if l.len != t.len {
                    return Ok(false);
                }
                (lid, tid) = (l.elem, t.elem);
            }
            (Kind::FuncProto(l), Kind::FuncProto(t)) => {
                if l.params.len() != t.params.len() {
                    return Ok(false);
                }
                for (lp, tp) in l.params.iter().zip(&t.params) {
                    if !types_match(lb, lp.ty, tb, tp.ty, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (l.ret, t.ret);
            }
            _ => return Ok(false),
        }
    }
    invalid("types nest too deeply")
}

/// libbpf's `bpf_core_enums_match`: same size, every local enumerator
/// name present in the target.
fn enums_match(
    lb: &dyn Types,
    local: &bpfkit_btf::Enum,
    tb: &dyn Types,
    targ: &bpfkit_btf::Enum,
) -> Result<bool, Fail> {
    if local.size != targ.size || local.values.len() > targ.values.len() {
        return Ok(false);
    }
    each_has_match(&local.values, &targ.values, |l, t| {
        names_match(lb, l.name_off, tb, t.name_off)
    })
}

/// Whether every item of `local` matches some item of `targets`.
fn each_has_match<L, T>(
    local: &[L],
    targets: &[T],
    mut matches: impl FnMut(&L, &T) -> Result<bool, Fail>,
) -> Result<bool, Fail> {
    for l in local {
        let mut found = false;
        for t in targets {
            if matches(l, t)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// libbpf's `bpf_core_composites_match`: every local member has a target
/// member of matching name and matching type.
fn composites_match(
    lb: &dyn Types,
    local: &bpfkit_btf::Composite,
    tb: &dyn Types,
    targ: &bpfkit_btf::Composite,
    behind_ptr: bool,
    level: usize,
) -> Result<bool, Fail> {
    if local.members.len() > targ.members.len() {
        return Ok(false);
    }
    each_has_match(&local.members, &targ.members, |l, t| {
        Ok(names_match(lb, l.name_off, tb, t.name_off)?
            && types_match(lb, l.ty, tb, t.ty, behind_ptr, level - 1)?)
    })
}

/// libbpf's `bpf_core_match_member`: finds the local accessor's member in
/// target composite `targ_id` (looking through anonymous members),
/// extending `spec`; the member's type when found and compatible.
fn match_member(
    lb: &dyn Types,
    local: &Accessor,
    tb: &dyn Types,
    targ_id: TypeId,
    spec: &mut Spec,
) -> Result<Option<TypeId>, Fail> {
    let local_type = lb.ty(local.type_id)?;
    let (Kind::Struct(lc) | Kind::Union(lc)) = &local_type.kind else {
        return invalid("member accessor on a type that is not a struct or union");
    };
    let Some(local_member) = lc.members.get(local.idx as usize) else {
        return invalid("member accessor out of range");
    };
    let local_name = lb.name(local_member.name_off)?;
    let (targ_id, targ_type) = skip_mods(tb, targ_id)?;
    let (Kind::Struct(tc) | Kind::Union(tc)) = &targ_type.kind else {
        return Ok(None);
    };
    for (i, m) in tc.members.iter().enumerate() {
        if spec.raw.len() >= MAX_SPEC_LEN {
            return invalid("access path too deep");
        }
        // Speculate that this member is the one.
        spec.add_bits(m.bit_offset as u64)?;
        spec.raw.push(i as u32);
        let targ_name = tb.name(m.name_off)?;
        if targ_name.is_empty() {
            if let Some(found) = match_member(lb, local, tb, m.ty, spec)? {
                return Ok(Some(found));
            }
        } else if targ_name == local_name {
            spec.accessors.push(Accessor {
                type_id: targ_id,
                idx: i as u32,
                name: Some(targ_name.to_string()),
            });
            if fields_compatible(lb, local_member.ty, tb, m.ty)? {
                return Ok(Some(m.ty));
            }
            spec.accessors.pop();
            return Ok(None);
        }
        spec.bit_offset -= m.bit_offset as u64;
        spec.raw.pop();
    }
    Ok(None)
}

/// libbpf's `bpf_core_spec_match`: the local spec resolved in the target
/// starting from candidate `targ_id`; None when it does not match.
fn match_spec(
    local: &Spec,
    lb: &dyn Types,
    kind: u32,
    tb: &dyn Types,
    targ_id: TypeId,
) -> Result<Option<Spec>, Fail> {
    let mut targ = Spec {
        root: targ_id,
        ..Spec::default()
    };
    if !is_field_based(kind) && !is_enumval_based(kind) {
        let ok = if kind == TYPE_MATCHES {
            types_match(lb, local.root, tb, targ_id, false, MAX_DEPTH)?
        } else {
            types_compatible(lb, local.root, tb, targ_id, MAX_DEPTH)?
        };
        return Ok(ok.then_some(targ));
    }
    if is_enumval_based(kind) {
        let (targ_id, t) = skip_mods(tb, targ_id)?;
        let Kind::Enum(e) = &t.kind else {
            return Ok(None);
        };
        let local_name = essential_name(local.accessors[0].name.as_deref().unwrap_or(""));
        for (i, v) in e.values.iter().enumerate() {
            let name = tb.name(v.name_off)?;
            if essential_name(name) == local_name {
                targ.accessors.push(Accessor {
                    type_id: targ_id,
                    idx: i as u32,
                    name: Some(name.to_string()),
                });
                targ.raw.push(i as u32);
                return Ok(Some(targ));
            }
        }
        return Ok(None);
    }
    let mut id = targ_id;
    for (i, acc) in local.accessors.iter().enumerate() {
        let (skipped, t) = skip_mods(tb, id)?;
        id = skipped;
        if acc.name.is_some() {
            match match_member(lb, acc, tb, id, &mut targ)? {
                Some(next) => id = next,
                None => return Ok(None),
            }
            continue;
        }
        if i > 0 {
            let Kind::Array(a) = &t.kind else {
                return Ok(None);
            };
            let flex = is_flex_array(tb, targ.accessors.last(), a.len)?;
            if !flex && acc.idx >= a.len {
                return Ok(None);
            }
            id = skip_mods(tb, a.elem)?.0;
        }
        if targ.raw.len() >= MAX_SPEC_LEN {
            return invalid("access path too deep");
        }
        targ.accessors.push(Accessor {
            type_id: id,
            idx: acc.idx,
            name: None,
        });
        targ.raw.push(acc.idx);
        targ.add_elements(acc.idx, resolve_size(tb, id)?)?;
    }
    Ok(Some(targ))
}

/// What a relocation computes: the value the compiler wrote (`orig`, for
/// checking the instruction) and the one for this kernel (`new`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Outcome {
    orig: u64,
    new: u64,
    poison: bool,
    validate: bool,
    orig_size: u64,
    new_size: u64,
    /// The access size of the load/store would change in a way that is not
    /// known to be safe.
    fail_memsz_adjust: bool,
}

/// A field relocation's value in one BTF, with the accessed field's size
/// and type for load/store size adjustment.
struct FieldValue {
    value: u64,
    size: u64,
    type_id: TypeId,
    validate: bool,
}

/// libbpf's `bpf_core_calc_field_relo`; None asks for poisoning.
fn field_value(b: &dyn Types, spec: Option<&Spec>, kind: u32) -> Result<Option<FieldValue>, Fail> {
    let plain = |value| FieldValue {
        value,
        size: 0,
        type_id: 0,
        validate: true,
    };
    if kind == FIELD_EXISTS {
        return Ok(Some(plain(spec.is_some() as u64)));
    }
    let Some(spec) = spec else {
        return Ok(None);
    };
    let Some(acc) = spec.accessors.last() else {
        return invalid("empty access path");
    };
    if acc.name.is_none() {
        let size = resolve_size(b, acc.type_id)?;
        return Ok(Some(match kind {
            FIELD_BYTE_OFFSET => FieldValue {
                value: spec.bit_offset / 8,
                size,
                type_id: acc.type_id,
                validate: true,
            },
            FIELD_BYTE_SIZE => plain(size),
            _ => return invalid("relocation kind cannot be applied to an array access"),
        }));
    }
    let t = b.ty(acc.type_id)?;
    let (Kind::Struct(c) | Kind::Union(c)) = &t.kind else {
        return invalid("member accessor on a type that is not a struct or union");
    };
    let Some(m) = c.members.get(acc.idx as usize) else {
        return invalid("member accessor out of range");
    };
    let (field_type_id, mt) = skip_mods(b, m.ty)?;
    let bit_off = spec.bit_offset;
    let bitfield = m.bitfield_size > 0;
    let (byte_off, byte_size, bit_size) = if bitfield {
        let bit_size = m.bitfield_size as u64;
        let mut byte_size = match &mt.kind {
            Kind::Int(i) => i.size as u64,
            Kind::Enum(e) => e.size as u64,
            _ => return invalid("bitfield of a type that is not an integer"),
        };
        if byte_size == 0 {
            return invalid("bitfield of a zero-sized type");
        }
        let mut byte_off = bit_off / 8 / byte_size * byte_size;
        // The smallest load that holds the whole bitfield.
        while bit_off + bit_size - byte_off * 8 > byte_size * 8 {
            if byte_size >= 8 {
                return invalid("bitfield cannot be read with a 64-bit load");
            }
            byte_size *= 2;
            byte_off = bit_off / 8 / byte_size * byte_size;
        }
        (byte_off, byte_size, bit_size)
    } else {
        let byte_size = resolve_size(b, field_type_id)?;
        (bit_off / 8, byte_size, byte_size * 8)
    };
    let mut out = plain(0);
    // For bitfields the compiler's choices may legitimately differ.
    out.validate = !bitfield;
    match kind {
        FIELD_BYTE_OFFSET => {
            out.value = byte_off;
            if !bitfield {
                out.size = byte_size;
                out.type_id = field_type_id;
            }
        }
        FIELD_BYTE_SIZE => out.value = byte_size,
        FIELD_SIGNED => {
            out.value = match &mt.kind {
                Kind::Enum(e) => e.signed as u64,
                Kind::Int(i) => i.signed as u64,
                _ => 0,
            };
            out.validate = true;
        }
        FIELD_LSHIFT_U64 => {
            out.value = 64u64.wrapping_sub(bit_off + bit_size - byte_off * 8);
        }
        FIELD_RSHIFT_U64 => {
            out.value = 64u64.wrapping_sub(bit_size);
            out.validate = true;
        }
        other => return Err(Fail::Unsupported(format!("field relocation kind {other}"))),
    }
    Ok(Some(out))
}

/// libbpf's `bpf_core_calc_type_relo`: 0 when no target type matched.
fn type_value(b: &dyn Types, spec: Option<&Spec>, kind: u32) -> Result<u64, Fail> {
    let Some(spec) = spec else {
        return Ok(0);
    };
    match kind {
        TYPE_ID_TARGET => Ok(spec.root as u64),
        TYPE_EXISTS | TYPE_MATCHES => Ok(1),
        TYPE_SIZE => resolve_size(b, spec.root),
        other => Err(Fail::Unsupported(format!("type relocation kind {other}"))),
    }
}

/// libbpf's `bpf_core_calc_enumval_relo`; None asks for poisoning.
fn enum_value(b: &dyn Types, spec: Option<&Spec>, kind: u32) -> Result<Option<u64>, Fail> {
    match (kind, spec) {
        (ENUMVAL_EXISTS, spec) => Ok(Some(spec.is_some() as u64)),
        (ENUMVAL_VALUE, None) => Ok(None),
        (ENUMVAL_VALUE, Some(spec)) => {
            let acc = &spec.accessors[0];
            let t = b.ty(acc.type_id)?;
            let Kind::Enum(e) = &t.kind else {
                return invalid("enum value relocation on a type that is not an enum");
            };
            let Some(v) = e.values.get(acc.idx as usize) else {
                return invalid("enumerator out of range");
            };
            // libbpf reads 32-bit enumerators as signed, whatever the enum.
            Ok(Some(if e.is_64 {
                v.value
            } else {
                v.value as u32 as i32 as i64 as u64
            }))
        }
        (other, _) => Err(Fail::Unsupported(format!("enum relocation kind {other}"))),
    }
}

/// libbpf's `bpf_core_calc_relo`: local and target values of one
/// relocation (`targ` None: no candidate matched).
fn calc_relo(
    kind: u32,
    local: &Spec,
    lb: &dyn Types,
    targ: Option<&Spec>,
    tb: &dyn Types,
) -> Result<Outcome, Fail> {
    let mut out = Outcome {
        validate: true,
        ..Outcome::default()
    };
    if is_field_based(kind) {
        let Some(orig) = field_value(lb, Some(local), kind)? else {
            return invalid("local field value missing");
        };
        let Some(new) = field_value(tb, targ, kind)? else {
            out.poison = true;
            return Ok(out);
        };
        out.orig = orig.value;
        out.validate = orig.validate;
        out.new = new.value;
        out.orig_size = orig.size;
        out.new_size = new.size;
        if orig.size != new.size {
            let (ot, nt) = (lb.ty(orig.type_id)?, tb.ty(new.type_id)?);
            // Safe size changes: pointers (32/64-bit kernels) and unsigned
            // integers (zero extension).
            out.fail_memsz_adjust = !match (&ot.kind, &nt.kind) {
                (Kind::Ptr(_), Kind::Ptr(_)) => true,
                (Kind::Int(a), Kind::Int(b)) => !a.signed && !b.signed,
                _ => false,
            };
        }
    } else if is_enumval_based(kind) {
        out.orig = enum_value(lb, Some(local), kind)?.unwrap_or(0);
        match enum_value(tb, targ, kind)? {
            Some(v) => out.new = v,
            None => out.poison = true,
        }
    } else {
        out.orig = type_value(lb, Some(local), kind)?;
        out.new = type_value(tb, targ, kind)?;
        // Type ids change when objects are linked: never checked.
        out.validate = kind != TYPE_ID_TARGET;
    }
    Ok(out)
}

/// Kernel types that may match each local type, by the local type's kind
/// and essential name, found in one pass over the kernel's names.
struct Candidates {
    by_name: HashMap<(u8, String), Vec<TypeId>>,
}

impl Candidates {
    fn find<'r, D: AsRef<[u8]>>(
        local: &Btf,
        kernel: &BtfView<D>,
        relos: impl Iterator<Item = &'r CoreRelo>,
    ) -> Result<Candidates, Fail> {
        let mut by_name: HashMap<(u8, String), Vec<TypeId>> = HashMap::new();
        for relo in relos.filter(|r| r.kind != TYPE_ID_LOCAL) {
            let t = local.type_by_id(relo.type_id)?;
            let name = essential_name(local.str_at(t.name_off));
            if !name.is_empty() {
                by_name.insert((t.kind.number(), name.to_string()), Vec::new());
            }
        }
        if by_name.is_empty() {
            return Ok(Candidates { by_name });
        }
        // Most of the kernel's ~100k names match none of the few wanted:
        // compare bytes against each wanted name, and build a key (UTF-8
        // checked) only for a match.
        let wanted: Vec<(u8, String)> = by_name.keys().cloned().collect();
        kernel.for_each_named_bytes(
            |k| wanted.iter().any(|(kind, _)| *kind == k),
            |id, kind, name| {
                // A name matches only if it starts with the wanted one
                // (flavors add a `___suffix`): the cheap test goes first.
                let matched = wanted.iter().find(|(k, wanted)| {
                    *k == kind
                        && name.starts_with(wanted.as_bytes())
                        && essential_name_bytes(name) == wanted.as_bytes()
                });
                if let Some(ids) = matched.and_then(|key| by_name.get_mut(key)) {
                    ids.push(id);
                }
                Ok(())
            },
        )?;
        Ok(Candidates { by_name })
    }

    fn of(&self, local: &Type, local_name: &str) -> &[TypeId] {
        self.by_name
            .get(&(local.kind.number(), essential_name(local_name).to_string()))
            .map_or(&[], Vec::as_slice)
    }
}

/// libbpf's `bpf_core_calc_relo_insn`.
fn calc_relo_insn<D: AsRef<[u8]>>(
    relo: &CoreRelo,
    local: &Btf,
    kernel: &BtfView<D>,
    candidates: &Candidates,
) -> Result<Outcome, Fail> {
    let kind = relo.kind;
    if kind > TYPE_MATCHES {
        return Err(Fail::Unsupported(format!("relocation kind {kind}")));
    }
    let local_type = local.type_by_id(relo.type_id)?;
    let local_name = local.str_at(local_type.name_off);
    let spec = parse_spec(local, relo.type_id, &relo.access, kind)?;
    if kind == TYPE_ID_LOCAL {
        return Ok(Outcome {
            orig: spec.root as u64,
            new: spec.root as u64,
            ..Outcome::default()
        });
    }
    if local_name.is_empty() {
        return Err(Fail::Unsupported(
            "relocation against an anonymous type".into(),
        ));
    }
    let mut chosen: Option<(Spec, Outcome)> = None;
    for &cand in candidates.of(local_type, local_name) {
        let Some(targ) = match_spec(&spec, local, kind, kernel, cand)? else {
            continue;
        };
        let outcome = calc_relo(kind, &spec, local, Some(&targ), kernel)?;
        match &chosen {
            None => chosen = Some((targ, outcome)),
            Some((first, _)) if first.bit_offset != targ.bit_offset => {
                return invalid("kernel types disagree on the field offset");
            }
            Some((_, first))
                if first.poison != outcome.poison
                    || (!outcome.poison && first.new != outcome.new) =>
            {
                return invalid(format!(
                    "kernel types give different values ({} and {})",
                    first.new, outcome.new
                ));
            }
            Some(_) => {}
        }
    }
    match chosen {
        Some((_, outcome)) => Ok(outcome),
        None => calc_relo(kind, &spec, local, None, kernel),
    }
}

/// libbpf's `bpf_core_patch_insn`: `code` starts at the instruction.
/// True when the instruction was poisoned instead of patched.
fn patch_insn(code: &mut [u8], outcome: &Outcome) -> Result<bool, Fail> {
    const CLASS_LD: u8 = 0;
    const CLASS_LDX: u8 = 1;
    const CLASS_ST: u8 = 2;
    const CLASS_STX: u8 = 3;
    const CLASS_ALU: u8 = 4;
    const CLASS_ALU64: u8 = 7;
    const LD_IMM64: u8 = 0x18;
    const SRC_X: u8 = 0x08;
    let opcode = code[0];
    if outcome.poison {
        return poison(code).map(|()| true);
    }
    let (orig, new) = (outcome.orig, outcome.new);
    match opcode & 7 {
        CLASS_ALU | CLASS_ALU64 => {
            if opcode & SRC_X != 0 {
                return invalid("ALU instruction without an immediate");
            }
            if outcome.validate && imm(code, 0) as i64 as u64 != orig {
                return unexpected(imm(code, 0) as i64, orig);
            }
            set_imm(code, 0, new as i32);
        }
        CLASS_LDX | CLASS_ST | CLASS_STX => {
            let off = i16::from_le_bytes([code[2], code[3]]);
            if outcome.validate && off as i64 as u64 != orig {
                return unexpected(off as i64, orig);
            }
            if new > i16::MAX as u64 {
                return invalid(format!("offset {new} does not fit an instruction"));
            }
            if outcome.fail_memsz_adjust {
                return poison(code).map(|()| true);
            }
            code[2..4].copy_from_slice(&(new as i16).to_le_bytes());
            if outcome.new_size != outcome.orig_size {
                resize_access(code, outcome.orig_size, outcome.new_size)?;
            }
        }
        CLASS_LD => {
            let plain = opcode == LD_IMM64
                && code.len() >= 2 * INSN_SIZE
                && code[1] >> 4 == 0
                && code[2..4] == [0, 0]
                && code[8..12] == [0, 0, 0, 0];
            if !plain {
                return invalid("relocated load is not a plain 64-bit immediate load");
            }
            let value = imm(code, 0) as u32 as u64 | (imm(code, 1) as u32 as u64) << 32;
            if outcome.validate && value != orig {
                return unexpected(value as i64, orig);
            }
            set_imm(code, 0, new as i32);
            set_imm(code, 1, (new >> 32) as i32);
        }
        _ => return invalid(format!("instruction {opcode:#04x} cannot be relocated")),
    }
    Ok(false)
}

fn unexpected<T>(found: i64, expected: u64) -> Result<T, Fail> {
    invalid(format!(
        "instruction holds {found}, the relocation expected {expected}"
    ))
}

fn imm(code: &[u8], insn: usize) -> i32 {
    let at = insn * INSN_SIZE + 4;
    i32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]])
}

fn set_imm(code: &mut [u8], insn: usize, value: i32) {
    let at = insn * INSN_SIZE + 4;
    code[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Rewrites the access size of a load/store from `from` to `to` bytes.
fn resize_access(code: &mut [u8], from: u64, to: u64) -> Result<(), Fail> {
    let size_bits = |bytes: u64| match bytes {
        4 => Some(0x00),
        2 => Some(0x08),
        1 => Some(0x10),
        8 => Some(0x18),
        _ => None,
    };
    if size_bits(from) != Some(code[0] & 0x18) {
        return invalid(format!("instruction does not access {from} bytes"));
    }
    let Some(bits) = size_bits(to) else {
        return invalid(format!("no load/store of {to} bytes"));
    };
    code[0] = (code[0] & !0x18) | bits;
    Ok(())
}

/// Replaces the instruction (both halves of a 64-bit load) with a call
/// of a helper that does not exist.
fn poison(code: &mut [u8]) -> Result<(), Fail> {
    const LD_IMM64: u8 = 0x18;
    const CALL: u8 = 0x85;
    let count = if code[0] == LD_IMM64 && code.len() >= 2 * INSN_SIZE {
        2
    } else {
        1
    };
    for insn in 0..count {
        let at = insn * INSN_SIZE;
        code[at..at + 4].copy_from_slice(&[CALL, 0, 0, 0]);
        set_imm(code, insn, POISON_IMM);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names_drop_the_last_flavor() {
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("task_struct___old"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("___x"), "___x");
        assert_eq!(essential_name("x____y"), "x____y");
        assert_eq!(essential_name("x___"), "x___");
    }

    #[test]
    fn poison_covers_both_halves_of_ld_imm64() {
        let mut code = [0x18, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        poison(&mut code).unwrap();
        for insn in 0..2 {
            assert_eq!(code[insn * 8], 0x85);
            assert_eq!(imm(&code, insn), POISON_IMM);
        }
    }

    #[test]
    fn ldx_offset_and_size_are_patched() {
        // r1 = *(u32 *)(r2 + 8)
        let mut code = [0x61, 0x21, 8, 0, 0, 0, 0, 0];
        let outcome = Outcome {
            orig: 8,
            new: 16,
            validate: true,
            orig_size: 4,
            new_size: 8,
            ..Outcome::default()
        };
        patch_insn(&mut code, &outcome).unwrap();
        assert_eq!(code, [0x79, 0x21, 16, 0, 0, 0, 0, 0]);
        let wrong = Outcome { orig: 9, ..outcome };
        assert!(patch_insn(&mut code, &wrong).is_err());
    }
}
