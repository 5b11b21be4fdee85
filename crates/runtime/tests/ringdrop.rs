//! A full ring buffer: the records a program could not reserve, which it
//! counts itself (bpfkit.h's drop counters), reach `on_dropped` and the run
//! summary, exactly once each. (Its own binary: it calls getpgid in bulk.)

mod common;

use std::ops::ControlFlow;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bpfkit_object::{DropCounter, DropSource};
use bpfkit_runtime::{EventHandler, LoadOptions, RunOptions, Session};
use common::{build, global_u64, setup, tgid_param};

/// Counts events and reported drops.
#[derive(Default)]
struct Count {
    events: u64,
    dropped: u64,
}

impl EventHandler for Count {
    fn on_event(&mut self, _map: &str, _data: &[u8]) -> ControlFlow<()> {
        self.events += 1;
        ControlFlow::Continue(())
    }

    fn on_dropped(&mut self, map: &str, count: u64) {
        assert_eq!(map, "events");
        self.dropped += count;
    }
}

/// Both tests' programs count every getpgid() of this process, so the
/// tests take turns: otherwise each would see the other's calls.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How many getpgid calls each half of [`overflow_and_read`] makes.
const CALLS: u64 = 1000;

/// Calls getpgid [`CALLS`] times with nobody reading (one page holds ~50 of
/// the records), then runs until the buffer is drained: twice, so that a
/// drop reported in the first run would show if reported again in the
/// second. Returns the handler's counts and the summaries' losses of
/// `events`.
fn overflow_and_read(session: &mut Session) -> (Count, u64) {
    let run = RunOptions {
        duration: Some(Duration::from_secs(30)),
        handle_signals: false,
        ..RunOptions::default()
    };
    let mut count = Count::default();
    let mut lost = 0;
    for _ in 0..2 {
        for _ in 0..CALLS {
            // SAFETY: getpgid(0) has no preconditions.
            unsafe { libc::getpgid(0) };
        }
        session.stop_handle().stop();
        let summary = session.run(&run, &mut count).expect("run");
        println!("{summary:?}");
        lost += summary.lost.get("events").copied().unwrap_or(0);
    }
    (count, lost)
}

/// A test's program, loaded for this process once the other test is done.
struct Loaded {
    object: bpfkit_object::Object,
    session: Session,
    // Declared last, so released after the session is gone.
    _turn: MutexGuard<'static, ()>,
}

/// Builds and loads program `name` for `test`; `None` (skip) without root
/// or clang.
fn load(test: &str, name: &str) -> Option<Loaded> {
    let clang = setup(test)?;
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let object = build(&clang, name);
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    let session = Session::load(&object, &opts).expect("load");
    Some(Loaded {
        object,
        session,
        _turn: turn,
    })
}

/// Overflows the ring buffer and checks that every record the program
/// counted as `dropped` reached the handler and the summaries once.
fn check_drops_reported(loaded: &mut Loaded, dropped: impl Fn(&Session) -> u64) -> u64 {
    let (count, lost) = overflow_and_read(&mut loaded.session);
    let dropped = dropped(&loaded.session);
    println!("{} events, {dropped} dropped", count.events);
    assert!(dropped > 0, "a 4 KiB ring buffer took {CALLS} records");
    assert_eq!(count.dropped, dropped);
    assert_eq!(lost, dropped);
    assert_eq!(count.events + dropped, 2 * CALLS);
    dropped
}

#[test]
fn ring_buffer_drops_counted_in_a_global_are_reported() {
    let test = "ring_buffer_drops_counted_in_a_global_are_reported";
    let Some(mut loaded) = load(test, "ringdrop") else {
        return;
    };
    let object = &loaded.object;
    assert_eq!(
        object.drop_counters,
        vec![DropCounter {
            ring: "events".into(),
            source: DropSource::Global {
                name: "dropped".into(),
                section: ".bss".into(),
                offset: object
                    .globals
                    .iter()
                    .find(|g| g.name == "dropped")
                    .expect("dropped")
                    .offset,
                size: 8,
            },
        }]
    );
    check_drops_reported(&mut loaded, |session| global_u64(session, "dropped"));
}

#[test]
fn ring_buffer_drops_counted_per_cpu_are_reported() {
    let test = "ring_buffer_drops_counted_per_cpu_are_reported";
    let Some(mut loaded) = load(test, "ringdrop_percpu") else {
        return;
    };
    // The map named after its ring, not the other global.
    assert_eq!(
        loaded.object.drop_counters,
        vec![DropCounter {
            ring: "events".into(),
            source: DropSource::Map {
                name: "events_drops".into(),
            },
        }]
    );
    // The program's own atomic count, read on its own.
    let dropped = check_drops_reported(&mut loaded, |session| global_u64(session, "dropped_total"));
    let in_map = loaded
        .session
        .maps()
        .drop_count(&loaded.object.drop_counters[0])
        .expect("reading events_drops");
    assert_eq!(in_map, dropped);
}
