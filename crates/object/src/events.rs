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
//!
//! Otherwise `event_type` stays `None`; [`event_type_hint`] is the line to add.

use std::collections::HashSet;

use bpfkit_btf::ext::BtfExt;
use bpfkit_btf::{Btf, Kind, TypeId};

use crate::MapDef;
use crate::map_type::{PERF_EVENT_ARRAY, is_event_stream};

/// Prefix of the variables `BPFKIT_EVENT()` declares.
pub(crate) const MARKER_PREFIX: &str = "____bpfkit_event__";

/// A `__type(value, T)` on an event map that the rewrite must hide.
#[derive(Debug, Clone)]
pub(crate) struct HiddenValue {
    pub map: String,
}

/// Fills in `event_type` of every ring buffer and perf event array and
/// returns the maps whose `value` member the rewrite must hide.
pub(crate) fn assign(btf: &Btf, ext: Option<&BtfExt>, maps: &mut [MapDef]) -> Vec<HiddenValue> {
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
    hidden
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
