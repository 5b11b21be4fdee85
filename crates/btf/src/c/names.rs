//! C identifiers for BTF names. Kernel BTF reuses names (two different
//! `struct fmt`s, enumerators with equal names in different enums); C does
//! not allow that, so like libbpf the second and later users of a name get
//! a `___N` suffix, assigned in emission order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash: names are short and trusted, so a fast non-DoS-resistant hash is
/// the right trade-off for the ~100k lookups of a vmlinux dump.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Occurrence counters for one C namespace.
#[derive(Default)]
pub(crate) struct NameCounter<'a> {
    seen: FxMap<&'a str, u32>,
}

impl<'a> NameCounter<'a> {
    /// Records one more use of `name` and returns how many there have been.
    pub fn bump(&mut self, name: &'a str) -> u32 {
        let n = self.seen.entry(name).or_insert(0);
        *n += 1;
        *n
    }
}

/// Which C namespace a BTF name lives in.
#[derive(Clone, Copy)]
pub(crate) enum Namespace {
    /// struct, union and enum tags.
    Tag,
    /// typedef names and enumerators (ordinary identifiers).
    Ident,
}

/// Suffix numbers per type id (0 = not yet resolved) plus the counters.
pub(crate) struct Names<'a> {
    suffix: Vec<u32>,
    tags: NameCounter<'a>,
    idents: NameCounter<'a>,
}

impl<'a> Names<'a> {
    pub fn new(type_count: usize) -> Self {
        Names {
            suffix: vec![0; type_count],
            tags: NameCounter::default(),
            idents: NameCounter::default(),
        }
    }

    /// The occurrence number of type `id`'s name (1 = use it unchanged),
    /// assigning one on first use. `counted` is false for kinds whose name
    /// never conflicts (forward declarations, empty enums).
    pub fn resolve(&mut self, id: usize, name: &'a str, ns: Namespace, counted: bool) -> u32 {
        let Some(slot) = self.suffix.get_mut(id) else {
            return 1;
        };
        if *slot == 0 {
            *slot = if counted {
                match ns {
                    Namespace::Tag => self.tags.bump(name),
                    Namespace::Ident => self.idents.bump(name),
                }
            } else {
                1
            };
        }
        *slot
    }

    /// Counts one use of an enumerator name (enumerators share the
    /// typedef namespace and are counted every time they are printed).
    pub fn enumerator(&mut self, name: &'a str) -> u32 {
        self.idents.bump(name)
    }
}
