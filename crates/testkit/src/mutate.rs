//! Deterministic input mutation for the fuzz-style tests and the stable
//! fuzz runners (no cargo-fuzz, no nightly): a seeded xorshift PRNG and
//! the byte/word/truncate/splice mutations that find parser bugs.

use std::ops::Range;

/// xorshift64*: tiny, deterministic, good enough to pick positions.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Values that tend to sit on boundaries: counts, ids, offsets, kinds.
const INTERESTING: [u32; 12] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    24,
];

/// `seed` with 1 to 4 random mutations anywhere.
pub fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate_within(seed, rng, &[])
}

/// `seed` with 1 to 4 random mutations, three in four of them inside one
/// of `focus` (e.g. the `.BTF` and `.BTF.ext` sections of an ELF), where
/// the interesting parsing happens.
pub fn mutate_within(seed: &[u8], rng: &mut Rng, focus: &[Range<usize>]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if data.is_empty() {
            break;
        }
        let at = pick_position(data.len(), rng, focus);
        match rng.below(6) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = INTERESTING[rng.below(INTERESTING.len())] as u8,
            2 => {
                // An aligned word: names, infos, sizes, ids, header fields.
                let at = at & !3;
                if at + 4 <= data.len() {
                    let v = INTERESTING[rng.below(INTERESTING.len())];
                    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            3 => data.truncate(at),
            4 => {
                // The kind byte of a word-aligned BTF type info (bits 24..29).
                let at = (at & !3) + 3;
                if at < data.len() {
                    data[at] = (data[at] & 0x80) | rng.below(21) as u8;
                }
            }
            _ => {
                let len = rng.below(64).min(data.len() - at);
                let chunk = data[at..at + len].to_vec();
                let to = rng.below(data.len());
                data.splice(to..to, chunk);
            }
        }
    }
    data
}

fn pick_position(len: usize, rng: &mut Rng, focus: &[Range<usize>]) -> usize {
    let in_focus: Vec<&Range<usize>> = focus
        .iter()
        .filter(|r| r.end <= len && !r.is_empty())
        .collect();
    if !in_focus.is_empty() && rng.below(4) != 0 {
        let range = in_focus[rng.below(in_focus.len())];
        return range.start + rng.below(range.len());
    }
    rng.below(len)
}
