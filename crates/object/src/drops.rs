//! Ring buffer drop counters: the count of records a program could not put
//! into a ring buffer (`bpf_ringbuf_reserve()` returned NULL, or
//! `bpf_ringbuf_output()` failed). The kernel keeps no such count that user
//! space can read (perf buffers have their Lost records), so programs keep
//! it themselves; this finds the counter an object exposes, so that the
//! runtime reports its increases as lost events. The rules are in
//! [`crate::Object::drop_counters`] and `include/bpfkit.h`.

use bpfkit_btf::{Btf, Kind, TypeId};

use crate::map_type::{ARRAY, PERCPU_ARRAY, PERF_EVENT_ARRAY, RINGBUF};
use crate::{Global, MapDef};

/// The typedef that marks a drop counter explicitly.
pub const DROPS_TYPEDEF: &str = "bpfkit_drops_t";

/// Names that make an integer a drop counter of the object's only event map.
const BARE_NAMES: &[&str] = &["dropped", "drops", "lost", "lost_events", "dropped_events"];

/// `<ring>_<suffix>` names a counter of ring buffer `<ring>`.
const RING_SUFFIXES: &[&str] = &["dropped", "drops", "lost", "lost_events"];

/// A counter of the records a program failed to send to one ring buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCounter {
    /// The ring buffer map whose records it counts.
    pub ring: String,
    pub source: DropSource,
}

/// Where a drop counter lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropSource {
    /// An unsigned or signed integer global in a `.bss*`/`.data*` section.
    Global {
        name: String,
        section: String,
        offset: u32,
        /// 1, 2, 4 or 8 bytes.
        size: u32,
    },
    /// An `ARRAY` or `PERCPU_ARRAY` map of integers (one per CPU avoids
    /// atomic contention): the sum of every value on every CPU.
    Map { name: String },
}

/// A counter-shaped variable or map: its name, whether its type is marked
/// with [`DROPS_TYPEDEF`], and where it lives.
struct Candidate {
    name: String,
    marked: bool,
    source: DropSource,
}

/// The drop counters of an object, at most one per ring buffer.
pub(crate) fn find(btf: &Btf, maps: &[MapDef], globals: &[Global]) -> Vec<DropCounter> {
    let rings: Vec<&str> = maps
        .iter()
        .filter(|m| m.map_type == RINGBUF)
        .map(|m| m.name.as_str())
        .collect();
    if rings.is_empty() {
        return Vec::new();
    }
    let event_maps = maps
        .iter()
        .filter(|m| m.map_type == RINGBUF || m.map_type == PERF_EVENT_ARRAY)
        .count();
    let mut found: Vec<(Rank, DropCounter)> = Vec::new();
    for c in candidates(btf, maps, globals) {
        let Some((rank, ring)) = attribute(&c.name, c.marked, &rings, event_maps) else {
            continue;
        };
        let counter = DropCounter {
            ring: ring.to_string(),
            source: c.source,
        };
        match found.iter_mut().find(|(_, f)| f.ring == counter.ring) {
            Some(slot) if rank < slot.0 => *slot = (rank, counter),
            Some(_) => {}
            None => found.push((rank, counter)),
        }
    }
    found.into_iter().map(|(_, c)| c).collect()
}

/// How clearly a candidate says which ring it counts: when two claim the
/// same ring, the clearer one wins (summing both would count twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    MarkedAndNamed,
    Marked,
    Named,
    Bare,
}

/// The ring buffer a counter named `name` counts, if any. `<ring>_dropped`
/// and friends name their ring. A [`DROPS_TYPEDEF`] counter with another
/// name counts the only ring buffer. A bare `dropped` (etc.) without the
/// typedef counts the only event map only when that is a ring buffer: next
/// to a perf buffer it may just as well count failed perf outputs, which
/// the kernel reports itself.
fn attribute<'r>(
    name: &str,
    marked: bool,
    rings: &[&'r str],
    event_maps: usize,
) -> Option<(Rank, &'r str)> {
    let named = rings.iter().copied().find(|ring| {
        name.strip_prefix(ring)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|suffix| RING_SUFFIXES.contains(&suffix))
    });
    let only_ring = (rings.len() == 1).then(|| rings[0]);
    match (named, marked) {
        (Some(ring), true) => Some((Rank::MarkedAndNamed, ring)),
        (Some(ring), false) => Some((Rank::Named, ring)),
        (None, true) => only_ring.map(|ring| (Rank::Marked, ring)),
        (None, false) if BARE_NAMES.contains(&name) && event_maps == 1 => {
            only_ring.map(|ring| (Rank::Bare, ring))
        }
        (None, false) => None,
    }
}

fn candidates(btf: &Btf, maps: &[MapDef], globals: &[Global]) -> Vec<Candidate> {
    let from_globals = globals.iter().filter_map(|g| {
        let size = int_size(btf, g.ty)?;
        (size == g.size).then(|| Candidate {
            name: g.name.clone(),
            marked: is_marked(btf, g.ty),
            source: DropSource::Global {
                name: g.name.clone(),
                section: g.section.clone(),
                offset: g.offset,
                size,
            },
        })
    });
    let from_maps = maps.iter().filter_map(|m| {
        let ty = m.value_type?;
        let is_array = m.map_type == ARRAY || m.map_type == PERCPU_ARRAY;
        (is_array && int_size(btf, ty) == Some(m.value_size)).then(|| Candidate {
            name: m.name.clone(),
            marked: is_marked(btf, ty),
            source: DropSource::Map {
                name: m.name.clone(),
            },
        })
    });
    from_globals.chain(from_maps).collect()
}

/// The size of an integer type of 1, 2, 4 or 8 bytes (not bool or char).
fn int_size(btf: &Btf, ty: TypeId) -> Option<u32> {
    let id = btf.resolve(ty).ok()?;
    match &btf.get(id)?.kind {
        Kind::Int(i) if !i.bool && !i.char && matches!(i.size, 1 | 2 | 4 | 8) => Some(i.size),
        _ => None,
    }
}

/// Whether [`DROPS_TYPEDEF`] is on the way from `ty` to its integer.
fn is_marked(btf: &Btf, mut ty: TypeId) -> bool {
    for _ in 0..16 {
        let Some(t) = btf.get(ty) else {
            return false;
        };
        if matches!(t.kind, Kind::Typedef(_)) && btf.name_of(ty) == DROPS_TYPEDEF {
            return true;
        }
        match t.kind.referenced() {
            Some(next) if t.kind.is_modifier() => ty = next,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_of(
        name: &str,
        marked: bool,
        rings: &[&'static str],
        event_maps: usize,
    ) -> Option<&'static str> {
        attribute(name, marked, rings, event_maps).map(|(_, ring)| ring)
    }

    #[test]
    fn names_and_marks_pick_the_ring() {
        // A bare name: the only event map, when it is a ring buffer.
        assert_eq!(ring_of("dropped", false, &["rb"], 1), Some("rb"));
        assert_eq!(ring_of("lost_events", false, &["rb"], 1), Some("rb"));
        // Next to a perf buffer a bare name is ambiguous; the mark is not.
        assert_eq!(ring_of("dropped", false, &["rb"], 2), None);
        assert_eq!(ring_of("anything", true, &["rb"], 2), Some("rb"));
        // `<ring>_<suffix>` picks among several rings.
        assert_eq!(ring_of("b_drops", false, &["a", "b"], 2), Some("b"));
        assert_eq!(ring_of("a_lost", true, &["a", "b"], 2), Some("a"));
        assert_eq!(ring_of("dropped", true, &["a", "b"], 2), None);
        // Other names are not counters.
        assert_eq!(ring_of("pkt_drops", false, &["rb"], 1), None);
        assert_eq!(ring_of("rb_dropped_bytes", false, &["rb"], 1), None);
        assert_eq!(ring_of("seq", false, &["rb"], 1), None);
    }

    #[test]
    fn clearer_claims_win() {
        assert!(Rank::MarkedAndNamed < Rank::Marked);
        assert!(Rank::Marked < Rank::Named);
        assert!(Rank::Named < Rank::Bare);
    }
}
