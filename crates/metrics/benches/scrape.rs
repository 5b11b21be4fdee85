//! One scrape of 10 000 series: decoding a 10k-entry map snapshot (a
//! 12-member struct key: pid, comm, IPv4 addresses, ports... as labels)
//! with bpfkit-output and writing the exposition text. The kernel's map
//! read is not in it (bpf(2) lookups, ~1 µs each). Run:
//! `cargo bench -p bpfkit-metrics`. Reports numbers only.

use bpfkit_btf::{Btf, TypeId};
use bpfkit_metrics::{Exposition, Format, MapMetrics, write_map};
use bpfkit_output::{MapView, SnapshotOptions, decode_map};
use std::path::PathBuf;
use std::time::Instant;

const SERIES: usize = 10_000;
const ROUNDS: usize = 20;

/// The BTF of bpfkit-output's test types (`bench_event`).
fn test_btf() -> Option<Btf> {
    let clang = bpfkit_testkit::clang("scrape bench")?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = bpfkit_testkit::TempDir::new("scrape-bench");
    let object = out.file("events.o");
    let status = std::process::Command::new(clang)
        .args(["-g", "-O2", "-target", "bpf", "-c", "-I"])
        .arg(root.join("include"))
        .arg(root.join("crates/output/tests/data/events.bpf.c"))
        .arg("-o")
        .arg(&object)
        .status()
        .expect("running clang");
    assert!(status.success(), "clang failed");
    Some(Btf::from_any_file(&object).expect("BTF of the test object"))
}

fn ty(btf: &Btf, name: &str) -> TypeId {
    btf.find_struct(name)
        .or_else(|| btf.ids_by_name(name).first().copied())
        .unwrap_or_else(|| panic!("no type {name}"))
}

fn put(buf: &mut [u8], off: usize, v: &[u8]) {
    buf[off..off + v.len()].copy_from_slice(v);
}

fn key(i: u32) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    put(&mut b, 0, &(1000 + i).to_le_bytes());
    put(&mut b, 4, &(1000 + i).to_le_bytes());
    put(&mut b, 32, format!("worker/{}", i % 64).as_bytes());
    put(&mut b, 48, &[10, 0, (i >> 8) as u8, i as u8]);
    put(&mut b, 52, &[192, 168, 1, 1]);
    put(&mut b, 56, &((i % 60000) as u16).to_be_bytes());
    put(&mut b, 58, &443u16.to_be_bytes());
    b
}

fn main() {
    let Some(btf) = test_btf() else {
        return;
    };
    let btf = &btf;
    let view = MapView {
        name: "conns",
        key_ty: Some(ty(btf, "bench_event")),
        value_ty: ty(btf, "__u32"),
    };
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..SERIES as u32)
        .map(|i| (key(i), (i * 7).to_le_bytes().to_vec()))
        .collect();
    let metrics = MapMetrics {
        base: "bpfkit_bench_conns".into(),
        about: "the bench map".into(),
        max_series: SERIES,
    };
    let (mut best, mut best_decode) = (f64::MAX, f64::MAX);
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let decoded =
            decode_map(btf, &view, &entries, &SnapshotOptions::default()).expect("decoding");
        best_decode = best_decode.min(start.elapsed().as_secs_f64());
        let mut expo = Exposition::new(Format::OpenMetrics);
        write_map(&mut expo, &metrics, &decoded);
        let text = expo.finish();
        best = best.min(start.elapsed().as_secs_f64());
        bytes = text.len();
    }
    println!(
        "scrape of {SERIES} series (12 labels each): {:.1} ms (best of {ROUNDS}; decoding {:.1} ms), \
         {:.0} KiB of text",
        best * 1e3,
        best_decode * 1e3,
        bytes as f64 / 1024.0
    );
}
