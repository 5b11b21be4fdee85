//! SIGINT/SIGTERM while loading and attaching. The runtime handles them
//! only while its run loop runs; before that the default action would kill
//! the process midway (links and programs go with it, but the final maps
//! and the exit record would not be printed). This handler notes the
//! signal instead; the run then ends right after attaching.

use std::sync::atomic::{AtomicI32, Ordering};

static EARLY_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn note_signal(signal: libc::c_int) {
    EARLY_SIGNAL.store(signal, Ordering::SeqCst);
}

/// Notes SIGINT and SIGTERM from now on (the run loop installs its own
/// handlers for its duration and restores these afterwards).
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
}

/// The signal that arrived before the run loop started, if any.
pub fn stop_requested() -> Option<i32> {
    Some(EARLY_SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}
