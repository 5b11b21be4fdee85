//! `bpfkit`: one binary, subcommands in bpftool's grammar.

mod cmd;
mod params;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bpfkit",
    version,
    about = "Compile, load, run and inspect eBPF programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect BTF: list what the kernel has loaded, dump types as text, C or JSON.
    Btf(cmd::btf::BtfArgs),
    /// Compile a `.bpf.c` source to a CO-RE object (clang, vmlinux.h, BTF kept, DWARF stripped).
    Build(cmd::build::BuildArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Btf(args) => cmd::btf::run(args),
        Command::Build(args) => cmd::build::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bpfkit: {err:#}");
            ExitCode::FAILURE
        }
    }
}
