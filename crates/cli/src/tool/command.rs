//! A tool's `-c COMMAND` ([`bpfkit_tools::Runtime::Command`]): the command
//! is forked at once but held before its exec, so that its process ID can
//! go into the tool's filters before anything is loaded; once everything
//! is attached it execs, and the run ends when it ends.
//!
//! The run must still read the command's memory map at its end (memleak's
//! user stacks are symbolized from /proc/PID/maps), which the kernel tears
//! down as a process exits. So a watcher thread traces it (ptrace with
//! `PTRACE_O_TRACEEXIT`): the command stops at its exit, before its memory
//! is released, the run is told to stop, and the command finishes exiting
//! only when [`Command::finish`] says the final output is written.

use anyhow::{Context, Result, bail};
use bpfkit_runtime::StopHandle;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

/// A command started for a tool run.
pub struct Command {
    pid: libc::pid_t,
    /// Written (and closed) to let the held child exec.
    go: Option<OwnedFd>,
    /// Tells the watcher that the final output is out.
    release: Option<Sender<()>>,
    watcher: Option<JoinHandle<()>>,
}

impl Command {
    /// Forks `line` (split at whitespace), held before its exec.
    pub fn spawn(line: &str) -> Result<Command> {
        let argv = argv(line)?;
        let program = find_command(line.split_whitespace().next().unwrap_or(""))
            .with_context(|| format!("-c: no such command: '{line}'"))?;
        let program = CString::new(program.as_os_str().as_encoded_bytes())
            .context("-c: the command's path has a NUL byte")?;
        let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        pointers.push(std::ptr::null());
        let (read_end, write_end) = pipe()?;
        // SAFETY: the child only calls async-signal-safe functions (read,
        // close, execv, _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            bail!("-c: fork: {}", std::io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: see above; nothing here allocates or takes a lock.
            unsafe {
                libc::close(write_end.as_raw_fd());
                let mut byte = 0u8;
                let n = libc::read(read_end.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                if n == 1 {
                    libc::close(read_end.as_raw_fd());
                    libc::execv(program.as_ptr(), pointers.as_ptr());
                }
                // No go (the tool failed to load), or exec failed.
                libc::_exit(127);
            }
        }
        drop(read_end);
        Ok(Command {
            pid,
            go: Some(write_end),
            release: None,
            watcher: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the command exec, and watches it: when it exits, `stop` ends
    /// the run.
    pub fn start(&mut self, stop: StopHandle) -> Result<()> {
        let (release, released) = channel();
        let (seized, seize_result) = channel();
        let pid = self.pid;
        let watcher = std::thread::Builder::new()
            .name("bpfkit-command".into())
            .spawn(move || watch(pid, stop, seized, released))
            .context("-c: starting the command's watcher")?;
        self.release = Some(release);
        self.watcher = Some(watcher);
        // Traced before it runs: its exit cannot come before the watch.
        let seize: std::io::Result<()> = seize_result
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the watcher ended")));
        seize.context("-c: tracing the command (ptrace)")?;
        if let Some(go) = self.go.take() {
            let byte = 1u8;
            // SAFETY: writing one byte from a local to a pipe we own.
            let n = unsafe { libc::write(go.as_raw_fd(), (&byte as *const u8).cast(), 1) };
            if n != 1 {
                bail!(
                    "-c: starting the command: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
        Ok(())
    }

    /// After the final output: a command still running is stopped (SIGTERM,
    /// as libbpf-tools memleak), one held at its exit finishes exiting, and
    /// it is reaped.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        match self.watcher.take() {
            Some(watcher) => {
                // SAFETY: kill(2) on our own child, not reaped before the
                // watcher below ends.
                unsafe { libc::kill(self.pid, libc::SIGTERM) };
                // Dropping the sender releases a command held at its exit.
                drop(self.release.take());
                let _ = watcher.join();
            }
            None => {
                // Never started: the go pipe closes, and the child ends
                // without exec; SIGKILL in case it was already past that.
                drop(self.go.take());
                // SAFETY: kill(2) and waitpid(2) on our own, unreaped child.
                unsafe {
                    libc::kill(self.pid, libc::SIGKILL);
                    libc::waitpid(self.pid, std::ptr::null_mut(), 0);
                }
            }
        }
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        if self.watcher.is_some() || self.go.is_some() {
            self.end();
        }
    }
}

/// The watcher thread: the tracer of the command (ptrace requests must come
/// from the thread that seized it). Reports whether seizing worked, then
/// passes signals on until the command exits.
fn watch(
    pid: libc::pid_t,
    stop: StopHandle,
    seized: Sender<std::io::Result<()>>,
    released: Receiver<()>,
) {
    let options = libc::PTRACE_O_TRACEEXIT as libc::c_long;
    // SAFETY: PTRACE_SEIZE of our own child with an options word.
    let rc = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, options) };
    let ok = rc == 0;
    let _ = seized.send(match ok {
        true => Ok(()),
        false => Err(std::io::Error::last_os_error()),
    });
    if !ok {
        return;
    }
    loop {
        let mut status = 0;
        // SAFETY: waitpid(2) on our own child into a local.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if rc < 0 || libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            stop.stop();
            return;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let event = status >> 16;
        let signal = match event {
            libc::PTRACE_EVENT_EXIT => {
                stop.stop();
                // Held until the final output is written (or the sender
                // is dropped).
                let _ = released.recv();
                0
            }
            // A group stop (SIGSTOP): go on, a traced command is not
            // left stopped.
            libc::PTRACE_EVENT_STOP => 0,
            _ => libc::WSTOPSIG(status),
        };
        // SAFETY: PTRACE_CONT of our stopped tracee, passing its signal on.
        unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, signal as libc::c_long) };
    }
}

/// The executable `name` stands for: itself when it has a `/`, else the
/// first in `$PATH`, as execvp(3) finds it.
fn find_command(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let path = std::path::PathBuf::from(name);
        return executable(&path).then_some(path);
    }
    if name.is_empty() {
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

/// The command line's words as C strings.
fn argv(line: &str) -> Result<Vec<CString>> {
    let words: Vec<CString> = line
        .split_whitespace()
        .map(CString::new)
        .collect::<std::result::Result<_, _>>()
        .context("-c: the command has a NUL byte")?;
    if words.is_empty() {
        bail!("-c: the command is empty");
    }
    Ok(words)
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds, owned right away.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("-c: pipe: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_at_whitespace() {
        let words = argv("  ./prog  exit 3 ").unwrap();
        assert_eq!(words, [c"./prog", c"exit", c"3"].map(CString::from));
        assert_eq!(
            argv("   ").unwrap_err().to_string(),
            "-c: the command is empty"
        );
    }

    #[test]
    fn a_missing_command_is_one_clear_error() {
        let error = Command::spawn("/nonexistent/bpfkit-no-such-command x")
            .err()
            .expect("a missing command fails");
        assert_eq!(
            error.to_string(),
            "-c: no such command: '/nonexistent/bpfkit-no-such-command x'"
        );
    }
}
