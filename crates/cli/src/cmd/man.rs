//! `bpfkit man --out DIR`: a man page for bpfkit, each of its commands and
//! each built-in tool (`bpfkit.1`, `bpfkit-run.1`, `bpfkit-execsnoop.1`),
//! rendered from the same clap definitions as `--help`.

use anyhow::{Context, Result};
use clap::Args;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
#[command(after_help = INSTALL)]
pub struct ManArgs {
    /// The directory to write the pages to (made if missing).
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
}

const INSTALL: &str = "\
Install:
    bpfkit man --out /usr/local/share/man/man1 && mandb -q
Read one without installing:
    bpfkit man --out /tmp/bpfkit-man && man -l /tmp/bpfkit-man/bpfkit-execsnoop.1";

pub fn run(args: ManArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut cmd = super::with_tools().disable_help_subcommand(true);
    cmd.build();
    let mut written = 0;
    write_pages(&cmd, &args.out, &mut written)?;
    eprintln!(
        "bpfkit: wrote {written} man pages to {}",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `cmd`'s page and, recursively, its subcommands' pages.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut usize) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let page = render(cmd).with_context(|| format!("rendering the page of {}", cmd.get_name()))?;
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    *written += 1;
    Ok(())
}

/// The page in roff; a built-in tool's gets its spec's examples too.
fn render(cmd: &clap::Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .source(format!("bpfkit {}", env!("CARGO_PKG_VERSION")))
        .manual("bpfkit manual")
        .render(&mut page)?;
    let is_tool = cmd.get_display_name() == Some(&format!("bpfkit-{}", cmd.get_name()));
    if let Some(spec) = bpfkit_tools::find(cmd.get_name()).filter(|_| is_tool) {
        page.extend_from_slice(examples_section(spec.examples).as_bytes());
    }
    Ok(page)
}

/// `.SH EXAMPLES` with the spec's lines as they are (no filling).
fn examples_section(examples: &str) -> String {
    let mut roff = String::from(".SH EXAMPLES\n.nf\n");
    for line in examples.lines().map(str::trim_start) {
        let _ = writeln!(roff, "{}", roff_literal(line));
    }
    roff.push_str(".fi\n");
    roff
}

/// `text` as roff prints it literally: backslashes and dashes escaped, and
/// a leading `.` or `'` kept from being read as a request.
fn roff_literal(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_lines_are_not_requests() {
        assert_eq!(roff_literal(".x -a \\n"), "\\&.x \\-a \\en");
        assert_eq!(roff_literal("plain"), "plain");
    }
}
