//! One module per subcommand; each parses its own arguments and calls into
//! the library crates, which hold all the logic.

pub mod argdist;
pub mod btf;
pub mod build;
pub mod cgroup;
pub mod completions;
pub mod feature;
pub mod funccount;
pub mod funclatency;
mod inspect;
mod kfunc;
pub mod link;
pub mod man;
pub mod map;
pub mod net;
pub mod perf;
pub mod prog;
mod prog_dump;
mod prog_jited;
pub mod stackcount;
pub mod top;
pub mod trace;

/// bpfkit's command line with every built-in tool as a subcommand: what man
/// pages and completions are generated from (the tools themselves are
/// parsed by `tool::run`, from the same per-tool commands).
pub fn with_tools() -> clap::Command {
    use clap::CommandFactory;
    // `run` parses its options itself, after loading the object (whose
    // parameters are options too); the fixed ones are documented here.
    let cli = crate::Cli::command()
        .bin_name("bpfkit")
        .mut_subcommand("run", crate::run::flags::run_options);
    bpfkit_tools::all().iter().fold(cli, |cli, spec| {
        cli.subcommand(crate::tool::command(spec).no_binary_name(false))
    })
}
