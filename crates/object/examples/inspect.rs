//! Prints what bpfkit-object sees in BPF objects, and with `--load` whether
//! aya 0.14 accepts the rewrite (maps created, programs loaded, all closed
//! again on exit).
//!
//! cargo run -p bpfkit-object --example inspect -- [--load] FILE.bpf.o...

use bpfkit_object::{analyze, map_type_name};

fn main() {
    let mut load = false;
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        if arg == "--load" {
            load = true;
            continue;
        }
        if let Err(e) = inspect(&arg, load) {
            eprintln!("{arg}: {e}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}

fn inspect(path: &str, load: bool) -> Result<(), String> {
    let elf = std::fs::read(path).map_err(|e| e.to_string())?;
    let obj = analyze(&elf).map_err(|e| e.to_string())?;
    println!("{path}:");
    for p in &obj.programs {
        println!(
            "  program {} SEC(\"{}\") {} ({} insns)",
            p.name, p.section, p.hook, p.insn_count
        );
    }
    for m in &obj.maps {
        let ty = |t: Option<u32>| t.map_or("-".to_string(), |t| obj.btf.name_of(t).to_string());
        println!(
            "  map {} {} key={}({}) value={}({}) max={} event={}",
            m.name,
            map_type_name(m.map_type),
            m.key_size,
            ty(m.key_type),
            m.value_size,
            ty(m.value_type),
            m.max_entries,
            ty(m.event_type)
        );
        for s in &m.stored_orders {
            println!(
                "    +{} ({} bytes): network order on {} paths (orders {:#b})",
                s.offset,
                s.width,
                if s.network() { "all" } else { "some" },
                s.orders
            );
        }
    }
    for p in &obj.params {
        println!(
            "  param {} {}+{} default {:?}",
            p.name, p.section, p.offset, p.default
        );
    }
    for g in &obj.globals {
        println!(
            "  global {} {}+{} ({} bytes)",
            g.name, g.section, g.offset, g.size
        );
    }
    println!(
        "  printk: {}, rewritten: {}",
        obj.uses_printk,
        obj.loadable_elf != elf
    );
    if load {
        let mut ebpf = aya::EbpfLoader::new()
            .load(&obj.loadable_elf)
            .map_err(|e| format!("aya: {e:?}"))?;
        for (name, program) in ebpf.programs_mut() {
            let result = match program {
                aya::programs::Program::TracePoint(p) => p.load(),
                aya::programs::Program::RawTracePoint(p) => p.load(),
                aya::programs::Program::KProbe(p) => p.load(),
                aya::programs::Program::UProbe(p) => p.load(),
                aya::programs::Program::Xdp(p) => p.load(),
                aya::programs::Program::SchedClassifier(p) => p.load(),
                aya::programs::Program::PerfEvent(p) => p.load(),
                aya::programs::Program::SocketFilter(p) => p.load(),
                _ => {
                    println!("  load {name}: skipped");
                    continue;
                }
            };
            match result {
                Ok(()) => println!("  load {name}: ok"),
                Err(e) => println!("  load {name}: {e}"),
            }
        }
    }
    Ok(())
}
