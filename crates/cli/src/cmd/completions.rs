//! `bpfkit completions SHELL`: a completion script generated from the same
//! clap definitions as `--help`, built-in tools and their options included.

use anyhow::Result;
use clap::Args;
use clap_complete::Shell;
use std::process::ExitCode;

#[derive(Args)]
#[command(after_help = INSTALL)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

const INSTALL: &str = "\
Install (or source from a shell's startup file):
    bpfkit completions bash > /usr/share/bash-completion/completions/bpfkit
    bpfkit completions zsh > /usr/local/share/zsh/site-functions/_bpfkit
    bpfkit completions fish > /usr/share/fish/vendor_completions.d/bpfkit.fish";

pub fn run(args: CompletionsArgs) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::with_tools(), "bpfkit", &mut script);
    crate::out::stdout(script)?;
    Ok(ExitCode::SUCCESS)
}
