//! Stopping a run: from another thread ([`StopHandle`]) or by SIGINT /
//! SIGTERM. Both write to an eventfd that the run loop's epoll watches; the
//! signal handler does only async-signal-safe things (an atomic store and
//! write(2)).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::{Result, RuntimeError};

/// The eventfd of the run that currently handles signals (-1: none).
static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);
/// The last signal received during a run (0: none).
static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Wakes a session's run loop and makes it return. Cheap to clone; usable
/// from any thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    fd: Arc<OwnedFd>,
}

impl StopHandle {
    pub(crate) fn new() -> Result<StopHandle> {
        // SAFETY: plain eventfd(2); the fd is owned right away.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(RuntimeError::io("eventfd", io::Error::last_os_error()));
        }
        // SAFETY: fd is fresh and owned by nobody else.
        Ok(StopHandle {
            fd: Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }),
        })
    }

    /// Asks the run loop to return (with [`crate::ExitReason::Stopped`]).
    pub fn stop(&self) {
        wake(self.fd.as_raw_fd());
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Readable from a stop request (this handle, or SIGINT/SIGTERM during
    /// a run) until the run has returned: a wait outside the run loop (on
    /// output that cannot be written) polls it to give way to the stop.
    pub fn readable_when_stopped(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Resets the eventfd counter so the next run starts unstopped.
    /// A stop requested while no run is going makes the next run return
    /// at once.
    pub(crate) fn reset(&self) {
        let mut value = 0u64;
        // SAFETY: reading 8 bytes into a u64; non-blocking fd.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }
}

fn wake(fd: i32) {
    let one: u64 = 1;
    // SAFETY: writing 8 bytes from a u64 to an eventfd; async-signal-safe.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

extern "C" fn on_signal(signal: libc::c_int) {
    LAST_SIGNAL.store(signal, Ordering::SeqCst);
    let fd = SIGNAL_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        wake(fd);
    }
}

/// SIGINT and SIGTERM wake the run loop while this guard lives; the
/// previous handlers come back when it drops.
pub(crate) struct SignalGuard {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

impl SignalGuard {
    pub fn install(stop: &StopHandle) -> Result<SignalGuard> {
        LAST_SIGNAL.store(0, Ordering::SeqCst);
        SIGNAL_FD.store(stop.fd.as_raw_fd(), Ordering::SeqCst);
        let mut guard = SignalGuard {
            previous: Vec::new(),
        };
        for signal in SIGNALS {
            // SAFETY: sigaction structs are plain data; the handler only
            // does async-signal-safe work.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) != 0 {
                    return Err(RuntimeError::io("sigaction", io::Error::last_os_error()));
                }
                guard.previous.push((signal, old));
            }
        }
        Ok(guard)
    }

    /// The signal that arrived while installed, if any.
    pub fn received(&self) -> Option<i32> {
        Some(LAST_SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: restoring the handler that was there before.
            unsafe { libc::sigaction(*signal, old, std::ptr::null_mut()) };
        }
        SIGNAL_FD.store(-1, Ordering::SeqCst);
    }
}
