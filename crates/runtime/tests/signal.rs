//! SIGINT ends a run (alone in its test binary: the signal goes to the
//! whole process).

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bpfkit_runtime::{EventHandler, ExitReason, LoadOptions, RunOptions, Session};
use common::{assert_unloaded, build, setup};

struct Ignore;

impl EventHandler for Ignore {
    fn on_event(&mut self, _map: &str, _data: &[u8]) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

#[test]
fn sigint_ends_the_run_and_drop_cleans_up() {
    let Some(clang) = setup("sigint_ends_the_run_and_drop_cleans_up") else {
        return;
    };
    let object = build(&clang, "exec");
    let mut session = Session::load(&object, &LoadOptions::default()).expect("load");
    let ids = session.program_ids();

    // Until the run installs its handler, SIGINT must not kill the test.
    // SAFETY: setting a signal disposition.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                // SAFETY: signalling our own process.
                unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
            }
        })
    };
    let opts = RunOptions {
        duration: Some(Duration::from_secs(30)),
        ..RunOptions::default()
    };
    let summary = session.run(&opts, &mut Ignore).expect("run");
    done.store(true, Ordering::SeqCst);
    sender.join().expect("sender");
    assert_eq!(
        summary.exit,
        ExitReason::Signal(libc::SIGINT),
        "{summary:?}"
    );

    // The handler is gone again: the disposition is back to "ignore".
    // SAFETY: reading the current disposition without changing it.
    let previous = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old);
        old.sa_sigaction
    };
    assert_eq!(previous, libc::SIG_IGN);
    drop(session);
    assert_unloaded(&ids);
}
