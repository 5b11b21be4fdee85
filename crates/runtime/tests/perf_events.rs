//! perf_event programs on events other than the CPU clock
//! (`LoadOptions::perf_event`, the CLI's `--perf-event`), counted on a
//! workload the test causes (tests/bpf/perf_counts.bpf.c).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bpfkit_runtime::{LoadOptions, PerfEventKind, PerfEventSpec, Session};
use common::{assert_unloaded, build, global_u64, setup, tgid_param};

const PAGE: usize = 4096;

fn load(test: &str, event: &str) -> Option<Result<Session, bpfkit_runtime::RuntimeError>> {
    let clang = setup(test)?;
    let object = build(&clang, "perf_counts");
    let opts = LoadOptions {
        params: HashMap::from([tgid_param(std::process::id())]),
        perf_event: PerfEventSpec {
            event: PerfEventKind::parse(event).expect("event name"),
            period: Some(1),
        },
        ..LoadOptions::default()
    };
    Some(Session::load(&object, &opts))
}

/// Touches `pages` fresh anonymous pages (no huge pages): a page fault each.
fn fault_pages(pages: usize) {
    // SAFETY: a private anonymous mapping, written only inside its bounds,
    // unmapped before return.
    unsafe {
        let len = pages * PAGE;
        let at = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(at, libc::MAP_FAILED, "mmap");
        libc::madvise(at, len, libc::MADV_NOHUGEPAGE);
        for i in 0..pages {
            std::ptr::write_volatile(at.cast::<u8>().add(i * PAGE), 1);
        }
        libc::munmap(at, len);
    }
}

#[test]
fn page_fault_samples_count_the_faults_caused() {
    let test = "page_fault_samples_count_the_faults_caused";
    let Some(session) = load(test, "sw:page-faults") else {
        return;
    };
    let session = session.expect("load");
    let ids = session.program_ids();
    let hook = &session.attachments()[0].hook;
    assert!(
        hook.starts_with("perf_event page-faults every 1 events on "),
        "{hook}"
    );
    let before = global_u64(&session, "samples");
    fault_pages(300);
    let faults = global_u64(&session, "samples") - before;
    // Other threads of this process may fault too, never fewer.
    assert!(
        (300..300 + 10_000).contains(&faults),
        "{faults} page fault samples"
    );
    drop(session);
    assert_unloaded(&ids);
}

#[test]
fn context_switch_samples_count_the_sleeps() {
    let test = "context_switch_samples_count_the_sleeps";
    let Some(session) = load(test, "sw:context-switches") else {
        return;
    };
    let session = session.expect("load");
    let before = global_u64(&session, "samples");
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let switches = global_u64(&session, "samples") - before;
    assert!(
        switches >= 30,
        "{switches} context switch samples for 30 sleeps"
    );
}

/// Hardware events attach where the machine has a PMU that counts them;
/// elsewhere (most VMs) the error names the event and the PMU.
#[test]
fn hardware_events_attach_or_say_the_pmu_lacks_them() {
    let test = "hardware_events_attach_or_say_the_pmu_lacks_them";
    let Some(loaded) = load(test, "hw:cache-misses") else {
        return;
    };
    let has_cpu_pmu = std::path::Path::new("/sys/bus/event_source/devices/cpu").exists();
    match loaded {
        Ok(session) => {
            assert!(has_cpu_pmu, "attached without a cpu PMU");
            let hook = &session.attachments()[0].hook;
            assert!(hook.starts_with("perf_event cache-misses"), "{hook}");
        }
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.contains("perf event hw:cache-misses is not supported") && e.contains("PMU"),
                "{e}"
            );
        }
    }
}
