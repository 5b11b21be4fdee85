//! `bpfkit build PROG.bpf.c`: C to a CO-RE object.

use anyhow::Result;
use bpfkit_build::{BuildOptions, build};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit build examples/execsnoop.bpf.c              # writes examples/execsnoop.bpf.o
    bpfkit build prog.bpf.c -o /tmp/prog.bpf.o -I include -DDEBUG=1
    bpfkit build cpufreq.bpf.c --cpu generic           # clang's default BPF cpu, as libbpf-tools builds")]
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
    /// The BPF instruction set clang targets (`-mcpu`; default: v3 on kernels
    /// 5.1 and newer). `generic` is clang's own default, what libbpf-tools
    /// builds with: some programs pass the verifier with only one of them.
    #[arg(long, value_name = "CPU", value_parser = ["generic", "v1", "v2", "v3", "v4"])]
    cpu: Option<String>,
}

pub fn run(args: BuildArgs) -> Result<ExitCode> {
    let mut opts = BuildOptions::new(args.source);
    opts.output = args.output;
    opts.include_dirs = args.include;
    opts.defines = args.define;
    opts.vmlinux_header = args.vmlinux;
    opts.clang = args.clang;
    opts.cpu = args.cpu;
    let out = build(&opts)?;
    for warning in &out.warnings {
        eprintln!("bpfkit: warning: {warning}");
    }
    eprintln!("wrote {}", out.object.display());
    Ok(ExitCode::SUCCESS)
}
