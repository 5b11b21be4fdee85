//! Events per second for a 64-byte struct (pid, tid, uid, ret, ts,
//! delta_us, comm, IPv4 addresses, ports, flags), formatted to JSON lines
//! and to table rows in memory. Run: `cargo bench -p bpfkit-output`.
//! Reports numbers only; nothing is asserted.

#[path = "../tests/common/mod.rs"]
mod common;

use bpfkit_output::{EventFormatter, FormatOptions, Mode, Sink};
use std::time::Instant;

const EVENTS: usize = 2_000_000;

fn event(i: u32) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    common::put(&mut b, 0, &(1000 + i % 5000).to_le_bytes());
    common::put(&mut b, 4, &(1000 + i % 5000).to_le_bytes());
    common::put(&mut b, 12, &(-((i % 3) as i32)).to_le_bytes());
    common::put(
        &mut b,
        16,
        &(1_000_000_000u64 + i as u64 * 1000).to_le_bytes(),
    );
    common::put(&mut b, 24, &((i % 100_000) as u64).to_le_bytes());
    common::put(&mut b, 32, b"kworker/u8:3");
    common::put(&mut b, 48, &[10, 0, (i >> 8) as u8, i as u8]);
    common::put(&mut b, 52, &[192, 168, 1, 1]);
    common::put(&mut b, 56, &((i % 60000) as u16).to_be_bytes());
    common::put(&mut b, 58, &443u16.to_be_bytes());
    b
}

/// A sink that only counts, so the measurement is the formatting.
struct Counting(usize);

impl Sink for Counting {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0 += bytes.len();
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn measure(
    name: &str,
    f: &mut EventFormatter,
    events: &[Vec<u8>],
    sink: &mut dyn Sink,
    count: usize,
) {
    let start = Instant::now();
    for i in 0..count {
        f.write_event(&events[i % events.len()], sink)
            .expect("format");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: {count} events in {secs:.3}s = {:.0} events/s",
        count as f64 / secs
    );
}

fn main() {
    let Some(btf) = common::btf("json_events bench") else {
        return;
    };
    let ty = common::ty(btf, "bench_event");
    let events: Vec<Vec<u8>> = (0..1024).map(event).collect();
    for mode in [Mode::Json, Mode::Table] {
        let opts = FormatOptions {
            mode,
            ..FormatOptions::default()
        };
        let mut f = EventFormatter::new(btf, ty, &opts).expect("formatter");
        let mut sample = Vec::new();
        f.write_event(&events[1], &mut sample).expect("format");
        print!("{}", String::from_utf8_lossy(&sample));
        let mut counting = Counting(0);
        measure(
            &format!("{mode:?} to memory"),
            &mut f,
            &events,
            &mut counting,
            EVENTS,
        );
        println!("  {:.1} bytes/event", counting.0 as f64 / EVENTS as f64);
    }
    // The real cost with a write(2) per line, as when stdout is a pipe.
    let mut f = EventFormatter::new(
        btf,
        ty,
        &FormatOptions {
            mode: Mode::Json,
            ..FormatOptions::default()
        },
    )
    .expect("formatter");
    let devnull = std::fs::File::create("/dev/null").expect("/dev/null");
    let mut sink = bpfkit_output::WriteSink::new(std::io::BufWriter::new(devnull));
    measure(
        "Json to /dev/null, flushed per line",
        &mut f,
        &events,
        &mut sink,
        EVENTS / 4,
    );
}
