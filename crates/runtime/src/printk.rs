//! `bpf_printk()` output: lines of tracefs `trace_pipe`, read without
//! blocking from the run loop's epoll set.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::error::{Result, RuntimeError};
use crate::features;

/// What `bpf_trace_printk` lines carry in trace_pipe (other tracers' lines
/// do not).
const PRINTK_MARKER: &str = "bpf_trace_printk: ";

/// Bytes read from trace_pipe per call at most. A program that prints on
/// every write(2) fills the pipe as fast as it is read (the reader's own
/// output writes fire it), so "read until empty" may never end; the run
/// loop comes back for the rest after checking its deadline and signals.
const READ_BUDGET: usize = 256 * 1024;

pub(crate) struct TracePipe {
    file: File,
    /// A line read only in part so far.
    pending: Vec<u8>,
}

impl TracePipe {
    pub fn open() -> Result<TracePipe> {
        let dir = features::ensure_tracefs()?;
        let path = dir.join("trace_pipe");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| {
                let what = if e.raw_os_error() == Some(libc::EBUSY) {
                    format!(
                        "opening {} for bpf_printk output (another process is reading it; \
                         stop that reader, or run with --no-printk to leave it the output)",
                        path.display()
                    )
                } else {
                    format!("opening {}", path.display())
                };
                RuntimeError::io(what, e)
            })?;
        Ok(TracePipe {
            file,
            pending: Vec::new(),
        })
    }

    /// Reads and drops what is buffered now: lines from before this
    /// session (trace_pipe keeps them until someone reads).
    /// Bounded too: a busy system refills it while it is read.
    pub fn discard_backlog(&mut self) -> Result<()> {
        const MAX_READS: usize = 64;
        for _ in 0..MAX_READS {
            if self.read_lines(&mut |_| {})? {
                break;
            }
        }
        self.pending.clear();
        Ok(())
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Reads what is there, up to [`READ_BUDGET`] bytes, and calls
    /// `on_line` for each complete `bpf_printk` line (without the trailing
    /// newline). True when the pipe was read empty, false when the budget
    /// ran out first.
    pub fn read_lines(&mut self, on_line: &mut dyn FnMut(&str)) -> Result<bool> {
        let mut buf = [0u8; 16384];
        let mut budget = READ_BUDGET;
        while budget > 0 {
            budget = budget.saturating_sub(buf.len());
            match self.file.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    self.emit_complete_lines(on_line);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RuntimeError::io("reading trace_pipe", e)),
            }
        }
        Ok(false)
    }

    fn emit_complete_lines(&mut self, on_line: &mut dyn FnMut(&str)) {
        let Some(last_newline) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.pending.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.pending, rest);
        for line in String::from_utf8_lossy(&complete).lines() {
            if line.contains(PRINTK_MARKER) {
                on_line(line.trim_end());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_filters() {
        let mut pipe = TracePipe {
            file: File::open("/dev/null").unwrap(),
            pending: Vec::new(),
        };
        let mut seen = Vec::new();
        pipe.pending
            .extend_from_slice(b"  sh-1 [000] d..31 1.0: bpf_trace_printk: hi\n  x-2 [001] 2.0: sched_switch: a\n  sh-1 [000] 3.0: bpf_trace_printk: par");
        pipe.emit_complete_lines(&mut |l| seen.push(l.to_string()));
        assert_eq!(seen, vec!["  sh-1 [000] d..31 1.0: bpf_trace_printk: hi"]);
        assert!(pipe.pending.ends_with(b"par"));
    }
}
