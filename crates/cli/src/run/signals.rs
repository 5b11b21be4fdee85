//! SIGINT/SIGTERM while loading and attaching. The runtime handles them
//! only while its run loop runs; before that the default action would kill
//! the process midway (the final maps and the exit record would not be
//! printed). This handler notes the signal instead, and a watcher thread
//! raises it again until the run loop's own handler is in place and ends
//! the run: there is no moment at which a signal is lost.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

static EARLY_SIGNAL: AtomicI32 = AtomicI32::new(0);
static WATCHING: AtomicBool = AtomicBool::new(false);

/// How often a noted signal is raised again.
const RERAISE: Duration = Duration::from_millis(50);

extern "C" fn note_signal(signal: libc::c_int) {
    EARLY_SIGNAL.store(signal, Ordering::SeqCst);
}

/// Notes SIGINT and SIGTERM from now on, until [`run_finished`] (the run
/// loop installs its own handlers for its duration and restores these).
pub fn catch_early_stop() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid plain data; the handler only
        // stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note_signal as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    if !WATCHING.swap(true, Ordering::SeqCst) {
        std::thread::spawn(reraise_noted);
    }
}

/// Raises a noted signal again every [`RERAISE`]: once the run loop's
/// handler is installed, that ends the run.
fn reraise_noted() {
    while WATCHING.load(Ordering::SeqCst) {
        std::thread::sleep(RERAISE);
        let signal = EARLY_SIGNAL.swap(0, Ordering::SeqCst);
        if signal != 0 && WATCHING.load(Ordering::SeqCst) {
            // SAFETY: kill(2) on our own process with a signal we handle.
            unsafe { libc::kill(libc::getpid(), signal) };
        }
    }
}

/// The signal that arrived before the run loop started, if any.
pub fn stop_requested() -> Option<i32> {
    Some(EARLY_SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// The run loop is over: signals from now on are only noted.
pub fn run_finished() {
    WATCHING.store(false, Ordering::SeqCst);
}
