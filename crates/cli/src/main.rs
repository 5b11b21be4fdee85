//! `bpfkit`: one binary, subcommands in bpftool's grammar.

mod cmd;
mod run;

use clap::{CommandFactory, Parser, Subcommand};
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
    /// Load a BPF object (or build a .bpf.c), attach every program, print its events and maps.
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Btf(args) => cmd::btf::run(args),
        Command::Build(args) => cmd::build::run(args),
        Command::Run(args) => run::run(args, || {
            let mut cmd = Cli::command();
            if let Some(run) = cmd.find_subcommand_mut("run") {
                let _ = run.print_help();
            }
        }),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bpfkit: {err:#}");
            ExitCode::FAILURE
        }
    }
}
