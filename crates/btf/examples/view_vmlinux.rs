//! Times the lazy view of the running kernel's BTF (map, index every type,
//! one scan over struct names), the path CO-RE relocation takes:
//! `cargo run --release -p bpfkit-btf --example view_vmlinux`.
use bpfkit_btf::kind_no;
use bpfkit_btf::view::BtfView;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut times = Vec::new();
    let mut structs = 0;
    for _ in 0..11 {
        let start = std::time::Instant::now();
        let view = BtfView::vmlinux()?;
        let indexed = start.elapsed();
        structs = 0;
        view.for_each_named(
            |k| k == kind_no::STRUCT,
            |_, _, name| {
                structs += usize::from(name == "task_struct");
            },
        )?;
        times.push((start.elapsed(), indexed));
        std::hint::black_box(&view);
    }
    times.sort();
    println!(
        "viewed vmlinux ({structs} task_struct): median {:?} (indexing {:?}), min {:?}",
        times[5].0, times[5].1, times[0].0
    );
    Ok(())
}
