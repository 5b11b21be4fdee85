//! `bpfkit`: one binary, subcommands in bpftool's grammar, plus the built-in
//! tools (`bpfkit execsnoop`, or a symlink named `execsnoop`).

mod cmd;
mod out;
mod run;
mod serve;
mod tool;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::Path;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bpfkit",
    version,
    about = "Compile, load, run and inspect eBPF programs",
    after_help = "Built-in tools run as `bpfkit TOOL [OPTIONS]` (`bpfkit TOOL --help`); `bpfkit tools` lists them."
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
    /// Loaded programs: `bpfkit prog [list|show|dump xlated|dump jited|pin] [id N | name NAME | tag TAG | pinned PATH]`.
    Prog(cmd::prog::ProgArgs),
    /// Any map in the kernel: `bpfkit map [list|show|dump|lookup|update|delete|pin] [id N | name NAME | pinned PATH]`.
    Map(cmd::map::MapArgs),
    /// BPF links: `bpfkit link [list|show|detach|pin] [id N | pinned PATH]`.
    Link(cmd::link::LinkArgs),
    /// Programs on the network devices of this namespace: `bpfkit net [list] [dev IF]` (XDP, tc, tcx, netkit).
    Net(cmd::net::NetArgs),
    /// Programs attached through perf events and raw tracepoints, by process and fd: `bpfkit perf`.
    Perf(cmd::perf::PerfArgs),
    /// Programs attached to cgroups: `bpfkit cgroup tree [ROOT]`, `bpfkit cgroup show CGROUP`.
    Cgroup(cmd::cgroup::CgroupArgs),
    /// What this kernel's BPF can do, found by trying: `bpfkit feature [probe]`, `feature helpers TYPE`, `feature tools`.
    Feature(cmd::feature::FeatureArgs),
    /// A live view of every BPF program's runs/s, ns per run and CPU share (like bpftop); `-b` for batch output.
    Top(cmd::top::TopArgs),
    /// Load a BPF object (or build a .bpf.c), attach every program, print its events and maps.
    /// `bpfkit run TOOL` runs a built-in tool.
    Run(run::RunArgs),
    /// Serve Prometheus metrics from objects, sources and built-in tools:
    /// `bpfkit serve runqlat syscount , x.bpf.o`.
    Serve(serve::ServeArgs),
    /// bcc's trace with no compiler: `bpfkit trace 't:syscalls:sys_enter_openat "%s", args->filename'`.
    Trace(cmd::trace::TraceArgs),
    /// bcc's funccount with no compiler: `bpfkit funccount 't:syscalls:sys_enter_*'`.
    Funccount(cmd::funccount::FunccountArgs),
    /// bcc's funclatency for user functions: `bpfkit funclatency -u c:malloc`.
    Funclatency(cmd::funclatency::FunclatencyArgs),
    /// bcc's argdist with no compiler: `bpfkit argdist -H 'p:c:malloc(size_t size):size_t:size'`.
    Argdist(cmd::argdist::ArgdistArgs),
    /// bcc's stackcount over tracepoints: `bpfkit stackcount 't:sched:sched_switch'`.
    Stackcount(cmd::stackcount::StackcountArgs),
    /// List the built-in tools, whether they work on this kernel and through which hook.
    Tools(tool::ListArgs),
    /// Print a shell completion script (bash, zsh, fish) for bpfkit and its tools.
    Completions(cmd::completions::CompletionsArgs),
    /// Write man pages for bpfkit, its commands and every built-in tool.
    Man(cmd::man::ManArgs),
    /// A built-in tool: `bpfkit execsnoop -x`.
    #[command(external_subcommand)]
    Tool(Vec<String>),
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let result = match invoked_as_tool(&argv) {
        Some(spec) => tool::run(spec, &argv[1..]),
        None => match Cli::try_parse() {
            Ok(cli) => run_cli(cli),
            Err(e) => return out::clap_exit(&e),
        },
    };
    result.unwrap_or_else(out::report)
}

/// The tool named by argv[0] (a symlink `execsnoop` → bpfkit).
fn invoked_as_tool(argv: &[String]) -> Option<&'static bpfkit_tools::ToolSpec> {
    let name = Path::new(argv.first()?).file_name()?.to_str()?;
    bpfkit_tools::find(name)
}

/// `bpfkit run`'s own command, for its help and usage.
fn run_command() -> clap::Command {
    let mut cli = Cli::command().bin_name("bpfkit");
    cli.build();
    cli.find_subcommand("run")
        .cloned()
        .unwrap_or_else(|| clap::Command::new("run"))
}

fn run_cli(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Btf(args) => cmd::btf::run(args),
        Command::Build(args) => cmd::build::run(args),
        Command::Prog(args) => cmd::prog::run(args),
        Command::Map(args) => cmd::map::run(args),
        Command::Link(args) => cmd::link::run(args),
        Command::Net(args) => cmd::net::run(args),
        Command::Perf(args) => cmd::perf::run(args),
        Command::Cgroup(args) => cmd::cgroup::run(args),
        Command::Feature(args) => cmd::feature::run(args),
        Command::Top(args) => cmd::top::run(args),
        Command::Run(args) => run::run(args, run_command()),
        Command::Serve(args) => serve::run(args),
        Command::Trace(args) => cmd::trace::run(args),
        Command::Funccount(args) => cmd::funccount::run(args),
        Command::Funclatency(args) => cmd::funclatency::run(args),
        Command::Argdist(args) => cmd::argdist::run(args),
        Command::Stackcount(args) => cmd::stackcount::run(args),
        Command::Tools(args) => tool::list(args),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Man(args) => cmd::man::run(args),
        Command::Tool(args) => {
            let (name, rest) = match args.split_first() {
                Some((name, rest)) => (name.as_str(), rest),
                None => ("", &[][..]),
            };
            match bpfkit_tools::find(name) {
                Some(spec) => tool::run(spec, rest),
                None => anyhow::bail!(
                    "unknown command or tool '{name}' (commands: bpfkit --help; tools: bpfkit tools)"
                ),
            }
        }
    }
}
