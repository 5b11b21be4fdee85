//! Everything the binary writes to stdout goes through here (never
//! `print!`, which panics when stdout is closed or full): a closed pipe
//! (`bpfkit tools | head -1`) ends the program quietly with exit 0, as
//! libbpf-tools do; any other write error (ENOSPC) is one clear error.

use anyhow::{Context, Result};
use std::io::Write;
use std::process::ExitCode;

/// Writes `text` to stdout and flushes it.
pub fn stdout(text: impl AsRef<[u8]>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_ref())
        .and_then(|()| out.flush())
        .context("writing output")
}

/// Whether `e` comes from writing to a pipe whose reader is gone.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
