//! Stable-Rust fuzzing of bpfkit-object: a bounded in-process mutation loop
//! seeded from the committed objects (no cargo-fuzz, no nightly).
//!
//!     cargo run --release -p bpfkit-object --example fuzz -- TARGET SECONDS [SEED]
//!
//! TARGET is `analyze` or `core_kernel` (see `tests/fuzzing/mod.rs`). An
//! input that panics is saved, once per panic location, to
//! `tests/fuzz_corpus/TARGET/`, which `cargo test --test fuzz_corpus`
//! replays; one that runs past 10 s is saved as a hang and ends the run.
//! At the end it prints how many inputs ran and how many panicked.

#[path = "../tests/fuzzing/mod.rs"]
mod fuzzing;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bpfkit_btf::view::BtfView;
use bpfkit_object::{Object, analyze, has_core_relocations};
use bpfkit_testkit::mutate::{Rng, mutate, mutate_within};
use fuzzing::{
    analyze_target, btf_ranges, core_kernel_target, corpus_dir, input_hash, object_stem,
    own_kernel_btf,
};

/// An input running longer than this is a hang.
const HANG: Duration = Duration::from_secs(10);

/// A committed object as a seed.
struct Seed {
    stem: String,
    elf: Vec<u8>,
    focus: Vec<std::ops::Range<usize>>,
    /// For `core_kernel`: the analyzed object and its stand-in kernel BTF.
    core: Option<(Object, Vec<u8>)>,
}

/// The input being run, for the hang watchdog.
struct Current {
    iteration: AtomicU64,
    input: Mutex<(String, Vec<u8>)>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(target), Some(seconds)) = (args.first(), args.get(1).and_then(|s| s.parse().ok()))
    else {
        eprintln!("usage: fuzz analyze|core_kernel SECONDS [SEED]");
        return ExitCode::from(2);
    };
    if !fuzzing::TARGETS.contains(&target.as_str()) {
        eprintln!(
            "unknown target '{target}' (targets: {:?})",
            fuzzing::TARGETS
        );
        return ExitCode::from(2);
    }
    let rng_seed = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f022);
    let seeds = seeds(target);
    if seeds.is_empty() {
        eprintln!("no seeds for {target}");
        return ExitCode::FAILURE;
    }
    let report = run(target, &seeds, Duration::from_secs(seconds), rng_seed);
    println!("{report}");
    ExitCode::SUCCESS
}

fn seeds(target: &str) -> Vec<Seed> {
    bpfkit_testkit::committed_objects()
        .into_iter()
        .filter_map(|path| {
            let elf = std::fs::read(&path).ok()?;
            let core = if target == "core_kernel" {
                let object = analyze(&elf).ok().filter(has_core_relocations)?;
                let kernel = own_kernel_btf(&object);
                Some((object, kernel))
            } else {
                None
            };
            Some(Seed {
                stem: object_stem(&path),
                focus: btf_ranges(&elf),
                elf,
                core,
            })
        })
        .collect()
}

fn run(target: &str, seeds: &[Seed], duration: Duration, rng_seed: u64) -> String {
    let kernel = BtfView::vmlinux().ok();
    let current = Arc::new(Current {
        iteration: AtomicU64::new(0),
        input: Mutex::new((String::new(), Vec::new())),
    });
    start_watchdog(target.to_string(), current.clone());
    let last_panic: Arc<Mutex<String>> = Arc::default();
    let hook_panic = last_panic.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut last) = hook_panic.lock() {
            *last = info.to_string();
        }
    }));
    let mut rng = Rng(rng_seed);
    let (mut runs, mut deep, mut panics) = (0u64, 0u64, 0u64);
    let mut locations = BTreeSet::new();
    let start = Instant::now();
    while start.elapsed() < duration {
        let seed = &seeds[rng.below(seeds.len())];
        let (input, ext) = match &seed.core {
            Some((_, kernel_btf)) => (mutate(kernel_btf, &mut rng), "btf"),
            None => (mutate_within(&seed.elf, &mut rng, &seed.focus), "o"),
        };
        if let Ok(mut slot) = current.input.lock() {
            slot.0 = format!("{}--{}.{ext}", seed.stem, input_hash(&input));
            slot.1.clone_from(&input);
        }
        current.iteration.fetch_add(1, Ordering::SeqCst);
        // The running kernel's BTF costs ~30 ms a relocation (candidates
        // are searched among all its names): one input in 16 gets it.
        let with_kernel = kernel.as_ref().filter(|_| rng.below(16) == 0);
        let outcome = catch_unwind(AssertUnwindSafe(|| match &seed.core {
            Some((object, _)) => core_kernel_target(object, &input),
            None => analyze_target(&input, with_kernel),
        }));
        runs += 1;
        deep += outcome.as_ref().is_ok_and(|&deep| deep) as u64;
        if outcome.is_err() {
            panics += 1;
            let message = last_panic.lock().map(|m| m.clone()).unwrap_or_default();
            let location = message.lines().next().unwrap_or_default().to_string();
            if locations.insert(location.clone()) {
                let name = format!("{}--{}.{ext}", seed.stem, input_hash(&input));
                save(target, &name, &input);
                eprintln!("PANIC ({name}): {message}");
            }
        }
    }
    let deep_means = match target {
        "analyze" => "analyzed and were relocated",
        _ => "made a BTF view and were relocated against",
    };
    format!(
        "{target}: {runs} inputs in {:.0} s, {deep} of them {deep_means}, {panics} panicked \
         ({} distinct locations), seed {rng_seed:#x}",
        start.elapsed().as_secs_f64(),
        locations.len()
    )
}

fn save(target: &str, name: &str, input: &[u8]) {
    let dir = corpus_dir(target);
    let path = dir.join(name);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!("cannot save {}: {e}", path.display());
    }
}

/// Saves the running input as a hang and aborts when one iteration lasts
/// longer than [`HANG`].
fn start_watchdog(target: String, current: Arc<Current>) {
    std::thread::spawn(move || {
        let mut seen = (u64::MAX, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let iteration = current.iteration.load(Ordering::SeqCst);
            if iteration != seen.0 {
                seen = (iteration, Instant::now());
            } else if seen.1.elapsed() > HANG {
                if let Ok(slot) = current.input.lock() {
                    save(&target, &format!("hang-{}", slot.0), &slot.1);
                    eprintln!("HANG: {} ran past {HANG:?}", slot.0);
                }
                std::process::abort();
            }
        }
    });
}
