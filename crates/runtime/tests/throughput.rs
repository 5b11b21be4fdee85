//! Throughput of the event reader (printed, not asserted).

mod common;

use common::getpgid::run_getpgid;
use common::{global_u64, setup};

/// Events per second through the reader (printed, not asserted). Set
/// BPFKIT_BENCH_EVENTS for a longer run.
#[test]
fn reader_throughput() {
    let Some(clang) = setup("reader_throughput") else {
        return;
    };
    let n: u64 = std::env::var("BPFKIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    // Perf buffers that wake the reader per record are far slower: fewer calls.
    let runs = [
        (None, "ring buffer", n),
        (Some(1), "perf buffer, wakeup every record", n / 10),
        (Some(64), "perf buffer, wakeup every 64 records", n),
    ];
    for (perf_wakeup, kind, n) in runs {
        let (seen, session, elapsed) = run_getpgid(&clang, std::process::id(), perf_wakeup, n);
        let secs = elapsed.as_secs_f64();
        let dropped = global_u64(&session, "dropped");
        println!(
            "{kind}: {} events in {secs:.3}s = {:.0} events/s (kernel dropped {dropped}, lost {})",
            seen.events,
            seen.events as f64 / secs,
            seen.lost
        );
        // Every call either arrived or was counted as dropped by the program.
        assert_eq!(seen.events + dropped, n);
    }
}
