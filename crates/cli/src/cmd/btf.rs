//! `bpfkit btf list|dump`.

use anyhow::Result;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Args)]
pub struct BtfArgs {
    #[command(subcommand)]
    command: BtfCommand,
}

#[derive(Subcommand)]
enum BtfCommand {
    /// Show a summary of a BTF file (placeholder until dump lands).
    Summary { path: std::path::PathBuf },
}

pub fn run(args: BtfArgs) -> Result<ExitCode> {
    match args.command {
        BtfCommand::Summary { path } => {
            let btf = bpfkit_btf::Btf::from_any_file(&path)?;
            println!("{}: {} types", path.display(), btf.next_id() - 1);
        }
    }
    Ok(ExitCode::SUCCESS)
}
