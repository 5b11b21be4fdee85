//! Times parsing of the running kernel's BTF: `cargo run --release -p bpfkit-btf --example parse_vmlinux`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::fs::read(bpfkit_btf::VMLINUX_PATH)?;
    let mut times = Vec::new();
    for _ in 0..11 {
        let start = std::time::Instant::now();
        let btf = bpfkit_btf::Btf::parse(&data)?;
        times.push(start.elapsed());
        std::hint::black_box(btf);
    }
    times.sort();
    println!(
        "parsed {} bytes, median {:?}, min {:?}",
        data.len(),
        times[5],
        times[0]
    );
    Ok(())
}
