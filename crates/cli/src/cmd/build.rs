//! `bpfkit build PROG.bpf.c`: C to a CO-RE object.

use anyhow::Result;
use bpfkit_build::{BuildOptions, build};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit build examples/execsnoop.bpf.c              # writes examples/execsnoop.bpf.o
    bpfkit build prog.bpf.c -o /tmp/prog.bpf.o -I include -DDEBUG=1")]
pub struct BuildArgs {
    /// The `.bpf.c` source.
    source: PathBuf,
    /// Output object (default: the source with `.bpf.o`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Add an include directory.
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define a macro (`NAME` or `NAME=VALUE`).
    #[arg(short = 'D', value_name = "MACRO")]
    define: Vec<String>,
    /// Use this vmlinux.h instead of one generated from the running kernel.
    #[arg(long, value_name = "PATH")]
    vmlinux: Option<PathBuf>,
    /// The clang binary (default: $BPFKIT_CLANG, clang, clang-19, clang-16, clang-14).
    #[arg(long)]
    clang: Option<PathBuf>,
}

pub fn run(args: BuildArgs) -> Result<ExitCode> {
    let mut opts = BuildOptions::new(args.source);
    opts.output = args.output;
    opts.include_dirs = args.include;
    opts.defines = args.define;
    opts.vmlinux_header = args.vmlinux;
    opts.clang = args.clang;
    let out = build(&opts)?;
    for warning in &out.warnings {
        eprintln!("bpfkit: warning: {warning}");
    }
    eprintln!("wrote {}", out.object.display());
    Ok(ExitCode::SUCCESS)
}
