//! Which struct a ring buffer or perf event array carries. The map
//! definition itself does not say (the kernel forbids a value type on a
//! ring buffer), so bpfkit looks, in this order, for:
//!
//! 1. `__type(value, struct T)` written in the map definition. The rewrite
//!    hides that member from aya (see `rewrite`), so the kernel never sees it.
//! 2. The `BPFKIT_EVENT(map, struct T)` marker from `include/bpfkit.h`: a
//!    global `struct T *____bpfkit_event__<map>` in section `.bpfkit`.
//! 3. A struct named `<map>_event` (`events` → `events_event` is unlikely;
//!    `exec` → `exec_event` is the idea).
//! 4. If exactly one event map is still unresolved, for it, in order:
//!    - a struct named `event` (or a typedef `event_t` of a struct);
//!    - the one struct type that global variables (other than maps) point
//!      to or hold: libbpf-tools' `const struct event *unused;` idiom;
//!    - the one named struct (or typedef of one) that no other BTF type
//!      refers to: bpfkit-build appends the program's own types that clang
//!      left out, and those are exactly such roots. Kernel context types are
//!      referenced by program signatures, map keys and values by the map
//!      definitions, so they do not count; neither do types only CO-RE
//!      relocations name, nor CO-RE flavors (`task_struct___o`).
//!
//!    The last two only answer when there is exactly one candidate.
//! 5. If exactly one ring buffer (or one perf event array) is still
//!    unresolved: the record size the programs pass as a constant to
//!    `bpf_ringbuf_reserve`/`bpf_ringbuf_output` (or
//!    `bpf_perf_event_output`), when all calls agree, matched against the
//!    object's own named structs of that size (bpfkit-build keeps them);
//!    among several, the one whose name says `event`. This finds
//!    libbpf-tools' `struct bind_event`, `struct cap_event`...
//!
//! 6. If that one map is still unresolved because the size is not a
//!    constant (ksnoop trims its `struct trace` to what it recorded): the
//!    value type of the map every record sent to it was looked up in (the
//!    data pointer of `bpf_perf_event_output`/`bpf_ringbuf_output` is what
//!    `bpf_map_lookup_elem` returned), when all sends agree and it is a
//!    struct.
//!
//! Otherwise `event_type` stays `None`; [`event_type_hint`] is the line to add.

use std::collections::{HashMap, HashSet};

use bpfkit_btf::ext::BtfExt;
use bpfkit_btf::{Btf, Kind, TypeId};

use crate::MapDef;
use crate::elf_view::ElfView;
use crate::map_type::{PERF_EVENT_ARRAY, RINGBUF, is_event_stream};

/// Prefix of the variables `BPFKIT_EVENT()` declares.
pub(crate) const MARKER_PREFIX: &str = "____bpfkit_event__";

/// A `__type(value, T)` on an event map that the rewrite must hide.
#[derive(Debug, Clone)]
pub(crate) struct HiddenValue {
    pub map: String,
}

/// Fills in `event_type` of every ring buffer and perf event array and
/// returns the maps whose `value` member the rewrite must hide.
pub(crate) fn assign(
    btf: &Btf,
    ext: Option<&BtfExt>,
    view: &ElfView,
    maps: &mut [MapDef],
) -> Vec<HiddenValue> {
    let mut hidden = Vec::new();
    for map in maps.iter_mut().filter(|m| is_event_stream(m.map_type)) {
        if let Some(ty) = map.value_type.filter(|&t| is_struct(btf, t)) {
            map.event_type = Some(ty);
            map.value_type = None;
            map.value_size = if map.map_type == PERF_EVENT_ARRAY {
                4
            } else {
                0
            };
            hidden.push(HiddenValue {
                map: map.name.clone(),
            });
            continue;
        }
        map.event_type =
            marker(btf, &map.name).or_else(|| named_struct(btf, &format!("{}_event", map.name)));
    }
    let mut unresolved = maps
        .iter_mut()
        .filter(|m| is_event_stream(m.map_type) && m.event_type.is_none());
    if let (Some(only), None) = (unresolved.next(), unresolved.next()) {
        only.event_type = named_struct(btf, "event")
            .or_else(|| typedef_struct(btf, "event_t"))
            .or_else(|| global_struct(btf))
            .or_else(|| unreferenced_struct(btf, &core_types(btf, ext)));
    }
    for map_type in [RINGBUF, PERF_EVENT_ARRAY] {
        let mut unresolved = maps
            .iter_mut()
            .filter(|m| m.map_type == map_type && m.event_type.is_none());
        if let (Some(only), None) = (unresolved.next(), unresolved.next()) {
            only.event_type = sent_size(view, map_type).and_then(|size| struct_of_size(btf, size));
        }
    }
    let value_types: HashMap<String, TypeId> = maps
        .iter()
        .filter_map(|m| Some((m.name.clone(), m.value_type?)))
        .collect();
    for map in maps.iter_mut().filter(|m| is_event_stream(m.map_type)) {
        if map.event_type.is_none() {
            map.event_type = sent_map_value(view, &map.name)
                .and_then(|source| value_types.get(&source).copied())
                .filter(|&ty| is_struct(btf, ty));
        }
    }
    hidden
}

/// `bpf_perf_event_output(ctx, map, flags, data, size)` and
/// `bpf_ringbuf_output(map, data, size, flags)`: helper id, the register
/// with the map, the register with the data pointer.
const POINTER_SENDERS: &[(i32, usize, usize)] = &[(25, 2, 4), (130, 1, 2)];
const MAP_LOOKUP_ELEM: i32 = 1;

/// What a register or stack slot holds, as far as [`sent_map_value`] follows.
#[derive(Debug, Clone, PartialEq)]
enum Held {
    /// `ld_imm64 rX, map`: the map itself.
    Map(String),
    /// The value pointer `bpf_map_lookup_elem` returned for that map.
    ValueOf(String),
}

/// The map whose looked-up value every program sends to `event_map` as the
/// record; `None` when a send's data is anything else, or sends differ. A
/// straight-line scan, like [`constant_args`], that also follows 64-bit
/// register moves and stack spills (clang keeps the pointer in a callee-saved
/// register or on the stack between the lookup and the send).
fn sent_map_value(view: &ElfView, event_map: &str) -> Option<String> {
    let mut sources = Vec::new();
    for section in view.sections.iter().filter(|s| s.executable) {
        sources.extend(pointers_sent(section.data, &section.symbol_refs, event_map));
    }
    let first = sources.first()?.clone()?;
    sources
        .iter()
        .all(|s| s.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// For each send to `event_map` in `code`: the map whose value is the data.
fn pointers_sent(
    code: &[u8],
    symbol_refs: &HashMap<usize, String>,
    event_map: &str,
) -> Vec<Option<String>> {
    const LD_IMM64: u8 = 0x18;
    const CALL: u8 = 0x85;
    const EXIT: u8 = 0x95;
    const MOV64_REG: u8 = 0xbf;
    const STX_DW: u8 = 0x7b;
    const LDX_DW: u8 = 0x79;
    const FRAME: usize = 10;
    let mut regs: [Option<Held>; 11] = Default::default();
    let mut stack: HashMap<i16, Held> = HashMap::new();
    let mut found = Vec::new();
    let mut at = 0;
    while at + 8 <= code.len() {
        let op = code[at];
        let dst = usize::from(code[at + 1] & 0x0f).min(10);
        let src = usize::from(code[at + 1] >> 4).min(10);
        let off = i16::from_le_bytes([code[at + 2], code[at + 3]]);
        let imm = i32::from_le_bytes([code[at + 4], code[at + 5], code[at + 6], code[at + 7]]);
        match op {
            LD_IMM64 => regs[dst] = symbol_refs.get(&(at / 8)).cloned().map(Held::Map),
            CALL => {
                let returned = match (imm, &regs[1]) {
                    (MAP_LOOKUP_ELEM, Some(Held::Map(map))) => Some(Held::ValueOf(map.clone())),
                    _ => None,
                };
                if let Some(&(_, map_reg, data_reg)) =
                    POINTER_SENDERS.iter().find(|(id, ..)| *id == imm)
                    && regs[map_reg] == Some(Held::Map(event_map.to_string()))
                {
                    found.push(match &regs[data_reg] {
                        Some(Held::ValueOf(map)) => Some(map.clone()),
                        _ => None,
                    });
                }
                regs[..6].fill(None);
                regs[0] = returned;
            }
            EXIT => {
                regs = Default::default();
                stack.clear();
            }
            MOV64_REG => regs[dst] = regs[src].clone(),
            STX_DW if dst == FRAME => match regs[src].clone() {
                Some(held) => {
                    stack.insert(off, held);
                }
                None => {
                    stack.remove(&off);
                }
            },
            LDX_DW if src == FRAME => regs[dst] = stack.get(&off).cloned(),
            // Other stores to the stack forget what the slot held.
            _ if dst == FRAME && matches!(op & 0x07, 0x02 | 0x03) => {
                stack.remove(&off);
            }
            // Loads and ALU operations write their destination register.
            _ if matches!(op & 0x07, 0x00 | 0x01 | 0x04 | 0x07) => regs[dst] = None,
            _ => {}
        }
        at += if op == LD_IMM64 { 16 } else { 8 };
    }
    found
}

/// `bpf_perf_event_output` (size in r5), `bpf_ringbuf_output` (r3),
/// `bpf_ringbuf_reserve` (r2): helper id and the register with the size.
const PERF_SENDERS: &[(i32, usize)] = &[(25, 5)];
const RING_SENDERS: &[(i32, usize)] = &[(130, 3), (131, 2)];

/// The one constant record size every program passes to the helpers that
/// send to maps of `map_type`; `None` when there is none, one is not a
/// constant, or they differ.
fn sent_size(view: &ElfView, map_type: u32) -> Option<u32> {
    let senders = if map_type == RINGBUF {
        RING_SENDERS
    } else {
        PERF_SENDERS
    };
    let mut sizes = Vec::new();
    for section in view.sections.iter().filter(|s| s.executable) {
        sizes.extend(constant_args(section.data, senders));
    }
    let first = (*sizes.first()?)?;
    sizes.iter().all(|&s| s == Some(first)).then_some(first)
}

/// For each call of a helper in `senders`, the constant in its size
/// register (`None` when not a constant). A straight-line scan: a `mov
/// reg, imm` sets a constant, any other write to the register or a call
/// forgets it; clang sets the size right before the call.
fn constant_args(code: &[u8], senders: &[(i32, usize)]) -> Vec<Option<u32>> {
    const LD_IMM64: u8 = 0x18;
    const CALL: u8 = 0x85;
    const EXIT: u8 = 0x95;
    const MOV64_IMM: u8 = 0xb7;
    const MOV32_IMM: u8 = 0xb4;
    let mut regs: [Option<i64>; 11] = [None; 11];
    let mut found = Vec::new();
    let mut at = 0;
    while at + 8 <= code.len() {
        let op = code[at];
        let dst = usize::from(code[at + 1] & 0x0f).min(10);
        let imm = i32::from_le_bytes([code[at + 4], code[at + 5], code[at + 6], code[at + 7]]);
        match op {
            CALL => {
                if let Some(&(_, reg)) = senders.iter().find(|(id, _)| *id == imm) {
                    found.push(regs[reg].and_then(|v| u32::try_from(v).ok()));
                }
                regs[..6].fill(None);
            }
            EXIT => regs = [None; 11],
            MOV64_IMM | MOV32_IMM => regs[dst] = Some(i64::from(imm)),
            // Loads and ALU operations write their destination register.
            _ if matches!(op & 0x07, 0x00 | 0x01 | 0x04 | 0x07) => regs[dst] = None,
            _ => {}
        }
        at += if op == LD_IMM64 { 16 } else { 8 };
    }
    found
}

/// The object's own named struct of `size` bytes; among several, the one
/// whose name contains `event`.
fn struct_of_size(btf: &Btf, size: u32) -> Option<TypeId> {
    let candidates: Vec<(TypeId, &str)> = btf
        .iter()
        .filter(
            |(_, t)| matches!(&t.kind, Kind::Struct(c) if c.size == size && !c.members.is_empty()),
        )
        .map(|(id, t)| (id, btf.str_at(t.name_off)))
        .filter(|(_, name)| !name.is_empty() && !name.contains("___"))
        .collect();
    match candidates.as_slice() {
        [(only, _)] => Some(*only),
        _ => {
            let mut events = candidates.iter().filter(|(_, n)| n.contains("event"));
            match (events.next(), events.next()) {
                (Some((id, _)), None) => Some(*id),
                _ => None,
            }
        }
    }
}

/// The one line to add to the BPF source so that bpfkit knows the event
/// struct of `map` (with the user's struct name in place of `event`).
/// `BPFKIT_EVENT(map, struct event);` from `bpfkit.h` works as well.
pub fn event_type_hint(map: &MapDef) -> String {
    format!(
        "__type(value, struct event);  /* inside the definition of map '{}' */",
        map.name
    )
}

fn is_struct(btf: &Btf, ty: TypeId) -> bool {
    btf.resolve(ty)
        .ok()
        .and_then(|id| btf.get(id))
        .is_some_and(|t| matches!(t.kind, Kind::Struct(_) | Kind::Union(_)))
}

fn named_struct(btf: &Btf, name: &str) -> Option<TypeId> {
    btf.find(
        name,
        |k| matches!(k, Kind::Struct(c) if !c.members.is_empty()),
    )
}

fn typedef_struct(btf: &Btf, name: &str) -> Option<TypeId> {
    btf.find(name, |k| matches!(k, Kind::Typedef(_)))
        .filter(|&id| is_struct(btf, id))
}

/// The one named struct, or typedef of a struct, that no type refers to.
/// Types that CO-RE relocations name (`bpf_core_type_exists()`, flavors
/// like `task_struct___o`) are roots too, but never events, so they do not
/// count.
fn unreferenced_struct(btf: &Btf, core_types: &HashSet<TypeId>) -> Option<TypeId> {
    let mut referenced: HashSet<TypeId> = core_types.clone();
    for (_, t) in btf.iter() {
        referenced.extend(t.kind.type_refs());
    }
    let mut roots = btf.iter().filter(|(id, t)| {
        let candidate = match t.kind {
            Kind::Struct(_) | Kind::Union(_) => true,
            Kind::Typedef(_) => is_struct(btf, *id),
            _ => false,
        };
        let name = btf.str_at(t.name_off);
        candidate && !name.is_empty() && !name.contains("___") && !referenced.contains(id)
    });
    match (roots.next(), roots.next()) {
        (Some((id, _)), None) => Some(id),
        _ => None,
    }
}

/// Types named by CO-RE relocations, and the types they refer to.
fn core_types(btf: &Btf, ext: Option<&BtfExt>) -> HashSet<TypeId> {
    let mut out = HashSet::new();
    for relo in ext
        .iter()
        .flat_map(|e| &e.core_relos)
        .flat_map(|s| &s.records)
    {
        out.insert(relo.type_id);
        if let Ok(id) = btf.resolve(relo.type_id) {
            out.insert(id);
        }
    }
    out
}

/// Global variables (not map definitions) with their types.
fn global_vars(btf: &Btf) -> impl Iterator<Item = (&str, TypeId)> {
    btf.iter().filter_map(|(id, t)| match t.kind {
        Kind::Var { ty, .. } => Some((btf.name_of(id), ty)),
        _ => None,
    })
}

/// The struct `T` of `T *____bpfkit_event__<map>`.
fn marker(btf: &Btf, map: &str) -> Option<TypeId> {
    let wanted = format!("{MARKER_PREFIX}{map}");
    let (_, ty) = global_vars(btf).find(|(name, _)| *name == wanted)?;
    pointee_struct(btf, ty)
}

fn pointee_struct(btf: &Btf, ty: TypeId) -> Option<TypeId> {
    let ty = btf.skip_qualifiers(ty).ok()?;
    let target = match btf.get(ty)?.kind {
        Kind::Ptr(target) => btf.skip_qualifiers(target).ok()?,
        _ => ty,
    };
    is_struct(btf, target).then_some(target)
}

/// The struct that global variables hold or point to, if there is exactly one.
fn global_struct(btf: &Btf) -> Option<TypeId> {
    let maps: Vec<TypeId> = crate::maps::map_vars(btf).iter().map(|(_, t)| *t).collect();
    let mut found: Vec<TypeId> = global_vars(btf)
        .filter(|(_, ty)| !maps.contains(ty))
        .filter_map(|(_, ty)| pointee_struct(btf, ty))
        .filter_map(|ty| btf.resolve(ty).ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit_btf::encode::BtfBuilder;
    use bpfkit_btf::{Composite, Int, Member, Type};

    /// An `int` and one `struct NAME { int a; }` per name.
    fn btf_with_structs(names: &[&str]) -> (Btf, Vec<TypeId>) {
        let mut b = BtfBuilder::new();
        let int_name = b.add_string("int");
        let int = b.add_type(Type {
            name_off: int_name,
            kind: Kind::Int(Int {
                size: 4,
                signed: true,
                char: false,
                bool: false,
                offset: 0,
                bits: 32,
            }),
        });
        let a = b.add_string("a");
        let ids = names
            .iter()
            .map(|name| {
                let name_off = b.add_string(name);
                b.add_type(Type {
                    name_off,
                    kind: Kind::Struct(Composite {
                        size: 4,
                        kind_flag: false,
                        members: vec![Member {
                            name_off: a,
                            ty: int,
                            bit_offset: 0,
                            bitfield_size: 0,
                        }],
                    }),
                })
            })
            .collect();
        (b.build().expect("valid BTF"), ids)
    }

    #[test]
    fn unreferenced_root_struct() {
        let (btf, ids) = btf_with_structs(&["sample", "task_struct___o"]);
        assert_eq!(unreferenced_struct(&btf, &HashSet::new()), Some(ids[0]));

        let (btf, ids) = btf_with_structs(&["sample", "open_how"]);
        assert_eq!(
            unreferenced_struct(&btf, &HashSet::new()),
            None,
            "two roots"
        );
        let core = HashSet::from([ids[1]]);
        assert_eq!(
            unreferenced_struct(&btf, &core),
            Some(ids[0]),
            "CO-RE types skipped"
        );
    }
}
