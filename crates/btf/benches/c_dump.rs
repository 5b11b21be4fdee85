//! Times `vmlinux.h` generation: `cargo bench -p bpfkit-btf --bench c_dump`.
//! With a path argument (`-- /path/out.h [TYPE...]`) it writes the header
//! (of just those types, if given) there once, for comparing wall time
//! against `bpftool btf dump ... format c`.

use bpfkit_btf::Btf;
use bpfkit_btf::c::{CDumpOptions, dump_c, find_roots};
use std::io::BufWriter;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !std::path::Path::new(bpfkit_btf::VMLINUX_PATH).exists() {
        eprintln!("no {}; nothing to measure", bpfkit_btf::VMLINUX_PATH);
        return Ok(());
    }
    if let Some((path, types)) = args.split_first() {
        let btf = Btf::vmlinux()?;
        let opts = if types.is_empty() {
            CDumpOptions::default()
        } else {
            CDumpOptions::for_roots(find_roots(&btf, types)?)
        };
        let mut out = BufWriter::new(std::fs::File::create(path)?);
        dump_c(&btf, &opts, &mut out)?;
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
