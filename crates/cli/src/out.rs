//! Everything the binary writes to stdout goes through here (never
//! `print!`, which panics when stdout is closed or full): a closed pipe
//! (`bpfkit tools | head -1`) ends the program quietly with exit 0, as
//! libbpf-tools do; any other write error (ENOSPC) is one clear error.

use anyhow::{Context, Result};
use bpfkit_runtime::StopHandle;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Writes `text` to stdout and flushes it.
pub fn stdout(text: impl AsRef<[u8]>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_ref())
        .and_then(|()| out.flush())
        .context("writing output")
}

/// Whether `e` ends the program quietly with success: stdout's reader is
/// gone, or output that could not be written gave way to a stop (a signal,
/// the deadline) as any stop does.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::BrokenPipe
                || io.get_ref().is_some_and(|inner| inner.is::<GaveWay>())
        })
    })
}

/// A write to stdout abandoned because the run was told to stop while
/// stdout could take nothing (a pipe that is full and never read).
#[derive(Debug)]
pub struct GaveWay;

impl std::fmt::Display for GaveWay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped while stdout could take no more output")
    }
}

impl std::error::Error for GaveWay {}

/// Stdout for a run: a write waits for room in poll(2), never in write(2),
/// so that a stop request (SIGINT, SIGTERM) and the deadline end the wait
/// even when stdout is a full pipe that stays open: once the reader has
/// taken nothing for a second (see [`AfterStop`]). A blocking write(2) would
/// hold the run for as long as the reader does not read, handlers or not
/// (SA_RESTART restarts it; Rust's `write_all` retries EINTR).
#[derive(Default)]
pub struct StoppableStdout {
    stop: Option<StopHandle>,
    give_up_at: Option<Instant>,
    /// Once given way, every later write fails at once (BufWriter retries
    /// what it holds when it drops).
    gave_way: bool,
    /// The last byte written ended a line (or nothing was written yet).
    mid_line: bool,
    /// What a stop (or the deadline) left of the run's output.
    after_stop: AfterStop,
}

/// Output after a stop request: a reader that keeps reading gets all of it
/// (the run's last events and its `exit` record); one that has stopped
/// reading holds the run for at most [`STALLED_READER`], plus
/// [`FINISH_LINE_GRACE`] when a line was half written.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
enum AfterStop {
    /// No stop seen yet: wait for room as long as it takes.
    #[default]
    Running,
    /// Stopped: output goes on while the reader takes some before `until`
    /// (moved on by every write).
    Draining { until: Instant },
    /// The reader stalled with a line half written: only the rest of that
    /// line may still go out, until `until`.
    FinishingLine { until: Instant },
}

/// How long a stopped run waits for a reader that takes nothing.
const STALLED_READER: Duration = Duration::from_secs(1);

/// How long a stopped run whose reader stalled waits for room to finish
/// the line it had half written, so that a reader never sees a cut JSON
/// line or table row.
const FINISH_LINE_GRACE: Duration = Duration::from_secs(1);

impl StoppableStdout {
    /// A wait for room gives way once `stop` is requested.
    pub fn give_way_to(&mut self, stop: StopHandle) {
        self.stop = Some(stop);
    }

    /// A wait for room gives way at `at` (`None`: never).
    pub fn give_up_at(&mut self, at: Option<Instant>) {
        self.give_up_at = at;
    }

    fn gave_way(&mut self) -> std::io::Error {
        self.gave_way = true;
        std::io::Error::other(GaveWay)
    }

    /// A stop (or the deadline) came while waiting for room, or the wait
    /// that followed it ran out: go on draining, then finish a half-written
    /// line, then give way.
    fn stopped_while_waiting(&mut self) -> std::io::Result<()> {
        let now = Instant::now();
        self.after_stop = match self.after_stop {
            AfterStop::Running => AfterStop::Draining {
                until: now + STALLED_READER,
            },
            AfterStop::Draining { until } if now < until => return Ok(()),
            AfterStop::Draining { .. } if self.mid_line => AfterStop::FinishingLine {
                until: now + FINISH_LINE_GRACE,
            },
            AfterStop::Draining { .. } | AfterStop::FinishingLine { .. } => {
                return Err(self.gave_way());
            }
        };
        Ok(())
    }

    /// The end of the current wait after a stop (`None`: none yet).
    fn stop_wait_until(&self) -> Option<Instant> {
        match self.after_stop {
            AfterStop::Running => None,
            AfterStop::Draining { until } | AfterStop::FinishingLine { until } => Some(until),
        }
    }

    /// Returns once stdout takes at least [`libc::PIPE_BUF`] bytes without
    /// blocking (or reports an error on write), or gives way.
    fn wait_for_room(&mut self) -> std::io::Result<()> {
        loop {
            // Once the stop is known only room or the wait's end matter.
            let stop_fd = match (&self.stop, self.after_stop) {
                (Some(stop), AfterStop::Running) => stop.readable_when_stopped().as_raw_fd(),
                _ => -1,
            };
            let mut fds = [
                libc::pollfd {
                    fd: libc::STDOUT_FILENO,
                    events: libc::POLLOUT,
                    revents: 0,
                },
                // poll(2) ignores a negative fd.
                libc::pollfd {
                    fd: stop_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd structs.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, self.timeout_ms()) };
            if ready < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    // Before the run loop, SIGINT/SIGTERM are only noted
                    // (the stop fd is not written yet): the note is the stop.
                    if crate::run::signals::stop_requested().is_some()
                        && self.after_stop == AfterStop::Running
                    {
                        self.stopped_while_waiting()?;
                    }
                    continue;
                }
                return Err(err);
            }
            // Output that can be written is written, also after a stop.
            if fds[0].revents != 0 {
                return Ok(());
            }
            if ready == 0 || fds[1].revents != 0 {
                self.stopped_while_waiting()?;
            }
        }
    }

    /// poll(2)'s timeout: until the end of the wait after a stop, else
    /// [`Self::give_up_at`], rounded up.
    fn timeout_ms(&self) -> libc::c_int {
        let Some(at) = self.stop_wait_until().or(self.give_up_at) else {
            return -1;
        };
        let left = at.saturating_duration_since(Instant::now());
        let ms = left.as_nanos().div_ceil(1_000_000);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    }
}

impl Write for StoppableStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.gave_way {
            return Err(std::io::Error::other(GaveWay));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        // A line finished after the reader stalled was the last one.
        let finishing = matches!(self.after_stop, AfterStop::FinishingLine { .. });
        if finishing && !self.mid_line {
            return Err(self.gave_way());
        }
        self.wait_for_room()?;
        // A pipe that polls writable has room for PIPE_BUF bytes: no more,
        // so that write(2) cannot block.
        let mut len = buf.len().min(libc::PIPE_BUF);
        if finishing && let Some(end) = buf[..len].iter().position(|&b| b == b'\n') {
            len = end + 1;
        }
        // SAFETY: writing `len` bytes of `buf` to fd 1.
        let written = unsafe { libc::write(libc::STDOUT_FILENO, buf.as_ptr().cast(), len) };
        let written = usize::try_from(written).map_err(|_| std::io::Error::last_os_error())?;
        if written > 0 {
            self.mid_line = buf[written - 1] != b'\n';
            // The reader is reading: a stopped run goes on writing.
            if let AfterStop::Draining { until } = &mut self.after_stop {
                *until = Instant::now() + STALLED_READER;
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The exit for a clap "error" before anything is loaded: help and version
/// on stdout (exit 0), usage errors on stderr (exit 2), as clap's own
/// `Error::exit` but with stdout's write errors reported, not swallowed.
pub fn clap_exit(e: &clap::Error) -> ExitCode {
    ExitCode::from(clap_exit_code(e))
}

/// [`clap_exit`] for code deep inside a command's argument parsing, before
/// anything was loaded into the kernel: there is nothing to clean up.
pub fn clap_exit_now(e: &clap::Error) -> ! {
    std::process::exit(i32::from(clap_exit_code(e)))
}

fn clap_exit_code(e: &clap::Error) -> u8 {
    if e.use_stderr() {
        // Nothing useful is left to do when stderr itself cannot be written.
        let _ = e.print();
        return 2;
    }
    help_exit_code(&e.render().to_string())
}

/// Prints help text on stdout and exits: 0, or 1 when it could not be
/// written (a closed pipe is no failure).
pub fn help_exit_now(text: &str) -> ! {
    std::process::exit(i32::from(help_exit_code(text)))
}

fn help_exit_code(text: &str) -> u8 {
    match stdout(text) {
        Ok(()) => 0,
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => {
            eprintln!("bpfkit: {}", message(&err));
            1
        }
    }
}

/// The error and its causes on one line, each cause once: many errors
/// print their source inside their own text (`"{what}: {source}"`) and name
/// it as their source too, which `{:#}` would print a second time.
pub fn message(err: &anyhow::Error) -> String {
    bpfkit_runtime::error_chain(err.as_ref())
}

/// The end of the program for an error: quiet success for a closed stdout,
/// else `bpfkit: ERROR` on stderr and exit 1.
pub fn report(err: anyhow::Error) -> ExitCode {
    if is_broken_pipe(&err) {
        return ExitCode::SUCCESS;
    }
    eprintln!("bpfkit: {}", message(&err));
    ExitCode::FAILURE
}
