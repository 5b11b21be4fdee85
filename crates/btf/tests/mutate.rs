//! Deterministic mutation testing (the CI-friendly sibling of the cargo-fuzz
//! target in `crates/btf/fuzz`): real BTF is corrupted thousands of times
//! with a fixed-seed PRNG and every result goes through the parser, both
//! dumps, `size_of` and `resolve`. Any panic fails the test; a hang would
//! show as a test that never ends.

mod common;

use std::sync::Arc;

use bpfkit_btf::{Btf, VMLINUX_PATH};
use bpfkit_testkit::mutate::{Rng, mutate};
use common::{TempDir, btf_section, build_kinds_object};

fn walk(btf: &Btf) {
    let _ = bpfkit_btf::raw::dump_raw(btf, None, &mut std::io::sink());
    let _ = bpfkit_btf::json::dump_json(btf, None, &mut std::io::sink());
    for id in 0..btf.next_id() {
        let _ = btf.size_of(id);
        let _ = btf.resolve(id);
    }
}

/// What the fuzz target does with one input. Returns whether it parsed.
fn exercise(data: &[u8]) -> bool {
    let Ok(btf) = Btf::parse(data) else {
        return false;
    };
    walk(&btf);
    if let Ok(split) = Btf::parse_split(data, Arc::new(btf)) {
        walk(&split);
    }
    true
}

fn run(seed: &[u8], iterations: usize, rng_seed: u64) {
    assert!(exercise(seed), "the unmutated seed must parse");
    let mut rng = Rng(rng_seed);
    let mut parsed = 0;
    for _ in 0..iterations {
        parsed += exercise(&mutate(seed, &mut rng)) as usize;
    }
    // Make sure mutations are not all rejected at the header.
    assert!(
        parsed > iterations / 20,
        "only {parsed} of {iterations} mutants parsed"
    );
}

#[test]
fn mutated_clang_object_btf_never_panics() {
    let test = "mutated_clang_object_btf_never_panics";
    let dir = TempDir::new(test);
    let Some((obj, _)) = build_kinds_object(test, &dir) else {
        return;
    };
    run(&btf_section(&obj), 10_000, 0x5eed_0001);
}

#[test]
fn mutated_vmlinux_slice_never_panics() {
    let data = std::fs::read(VMLINUX_PATH).unwrap();
    run(&vmlinux_slice(&data, 1000), 1_500, 0x5eed_0002);
}

/// The first `n` types of (little-endian) vmlinux BTF with its full string
/// section, references past the slice redirected to type 1 so it validates.
fn vmlinux_slice(data: &[u8], n: u32) -> Vec<u8> {
    let word = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let (hdr_len, type_off, str_off, str_len) = (word(4), word(8), word(16), word(20));
    let types_at = (hdr_len + type_off) as usize;
    let mut types: Vec<u32> = Vec::new();
    let mut at = types_at;
    for _ in 0..n {
        let (info, size_or_type) = (word(at + 4), word(at + 8));
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        // (words after the 3-word header, which of them are type ids)
        let (extra, refs): (usize, Vec<usize>) = match kind {
            1 | 14 | 17 => (1, vec![]),
            3 => (3, vec![0, 1]),
            4 | 5 => (3 * vlen, (0..vlen).map(|i| 3 * i + 1).collect()),
            6 => (2 * vlen, vec![]),
            13 => (2 * vlen, (0..vlen).map(|i| 2 * i + 1).collect()),
            15 => (3 * vlen, (0..vlen).map(|i| 3 * i).collect()),
            19 => (3 * vlen, vec![]),
            _ => (0, vec![]),
        };
        let fix = |id: u32| if id > n { 1 } else { id };
        let head_ref = matches!(kind, 2 | 8..=14 | 17 | 18);
        types.extend([
            word(at),
            info,
            if head_ref {
                fix(size_or_type)
            } else {
                size_or_type
            },
        ]);
        let mut rest: Vec<u32> = (0..extra).map(|i| word(at + 12 + 4 * i)).collect();
        for i in refs {
            rest[i] = fix(rest[i]);
        }
        types.extend(rest);
        at += 12 + 4 * extra;
    }
    let type_bytes: Vec<u8> = types.iter().flat_map(|w| w.to_le_bytes()).collect();
    let strings = &data[(hdr_len + str_off) as usize..(hdr_len + str_off + str_len) as usize];
    let mut out = data[..4].to_vec();
    for w in [
        24u32,
        0,
        type_bytes.len() as u32,
        type_bytes.len() as u32,
        str_len,
    ] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&type_bytes);
    out.extend_from_slice(strings);
    out
}
