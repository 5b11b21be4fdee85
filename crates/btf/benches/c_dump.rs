//! Times `vmlinux.h` generation: `cargo bench -p bpfkit-btf --bench c_dump`.
//! With a path argument (`-- /path/out.h`) it writes the header there once,
//! for comparing wall time against `bpftool btf dump ... format c`.

use bpfkit_btf::Btf;
use bpfkit_btf::c::{CDumpOptions, dump_c};
use std::io::BufWriter;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if !std::path::Path::new(bpfkit_btf::VMLINUX_PATH).exists() {
        eprintln!("no {}; nothing to measure", bpfkit_btf::VMLINUX_PATH);
        return Ok(());
    }
    if let Some(path) = path {
        let btf = Btf::vmlinux()?;
        let mut out = BufWriter::new(std::fs::File::create(path)?);
        dump_c(&btf, &CDumpOptions::default(), &mut out)?;
        return Ok(());
    }
    let mut parse = Vec::new();
    let mut dump = Vec::new();
    for _ in 0..9 {
        let t0 = Instant::now();
        let btf = Btf::vmlinux()?;
        let t1 = Instant::now();
        let mut out = Vec::with_capacity(4 << 20);
        dump_c(&btf, &CDumpOptions::default(), &mut out)?;
        let t2 = Instant::now();
        parse.push(t1 - t0);
        dump.push(t2 - t1);
    }
    parse.sort();
    dump.sort();
    println!(
        "vmlinux: parse {:?}, dump_c {:?} (medians of 9)",
        parse[4], dump[4]
    );
    Ok(())
}
