//! Replays every input the fuzz runner (`examples/fuzz.rs`) found crashing
//! or hanging, through the same targets: each must now end without a
//! panic. Fast: the corpus holds only the inputs that once failed.

mod fuzzing;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bpfkit_btf::view::BtfView;
use bpfkit_object::analyze;
use fuzzing::{analyze_target, committed_object, core_kernel_target, corpus_dir};

/// A corpus input that takes longer than this is a hang that came back.
const BOUND: Duration = Duration::from_secs(5);

fn entries(target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .map(|dir| dir.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e != "md"));
    files.sort();
    files
}

fn timed(what: &Path, f: impl FnOnce()) {
    let start = Instant::now();
    f();
    assert!(
        start.elapsed() < BOUND,
        "{} took {:?}",
        what.display(),
        start.elapsed()
    );
}

#[test]
fn analyze_corpus_replays_clean() {
    let kernel = BtfView::vmlinux().ok();
    for path in entries("analyze") {
        let data = std::fs::read(&path).expect("reading a corpus entry");
        timed(&path, || {
            analyze_target(&data, kernel.as_ref());
        });
    }
}

#[test]
fn core_kernel_corpus_replays_clean() {
    for path in entries("core_kernel") {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let stem = name
            .trim_start_matches("hang-")
            .split("--")
            .next()
            .unwrap_or_default();
        let (_, elf) = committed_object(stem)
            .unwrap_or_else(|| panic!("{name}: no committed object named {stem}"));
        let object = analyze(&elf).expect("a committed object analyzes");
        let data = std::fs::read(&path).expect("reading a corpus entry");
        timed(&path, || {
            core_kernel_target(&object, &data);
        });
    }
}

/// The harness itself: every committed object (the runner's seeds) gets
/// through both targets to the deep end, so a corpus replay exercises
/// relocation and not only the first parse error.
#[test]
fn seeds_reach_relocation_in_both_targets() {
    // (Against the running kernel they relocate in tests/co_re.rs.)
    let no_kernel: Option<&BtfView<&[u8]>> = None;
    let mut with_core = 0;
    for path in bpfkit_testkit::committed_objects() {
        let elf = std::fs::read(&path).expect("reading a committed object");
        assert!(analyze_target(&elf, no_kernel), "{}", path.display());
        let object = analyze(&elf).expect("a committed object analyzes");
        if bpfkit_object::has_core_relocations(&object) {
            let own = fuzzing::own_kernel_btf(&object);
            assert!(core_kernel_target(&object, &own), "{}", path.display());
            // Own BTF as the kernel: resolves unless the object holds two
            // flavors of one type with different layouts (an ambiguity
            // libbpf refuses too), so most, not all, relocate cleanly.
            let view = BtfView::new(&own[..]).expect("own BTF view");
            with_core += bpfkit_object::relocate_core_report(&object, &view).is_ok() as usize;
        }
    }
    assert!(
        with_core > 10,
        "only {with_core} seeds have CO-RE relocations"
    );
}
