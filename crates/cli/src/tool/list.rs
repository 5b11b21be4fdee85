//! `bpfkit tools`: every built-in tool, whether it runs on this kernel and
//! through which hook. Probing reads /sys and tracefs; the only load is
//! aya's one-off fentry probe, for tools whose best variant is fentry.

use super::hooks;
use anyhow::Result;
use clap::Args;
use std::fmt::Write as _;
use std::process::ExitCode;

#[derive(Args)]
pub struct ListArgs {
    /// Also say why better hooks were passed over.
    #[arg(short, long)]
    verbose: bool,
}

pub fn list(args: ListArgs) -> Result<ExitCode> {
    if let Some(denied) = bpfkit_runtime::caps::tracefs_denied() {
        eprintln!("bpfkit: tools that need tracepoints show as not here: {denied}");
    }
    // One write at the end: a closed pipe (`| head -1`) is noticed once.
    let mut text = format!("{:<13} {:<11} SUMMARY\n", "TOOL", "HOOK");
    for spec in bpfkit_tools::all() {
        let summary = spec
            .summary
            .strip_prefix(&format!("{}: ", spec.name))
            .unwrap_or(spec.summary);
        let object = match bpfkit_object::analyze(spec.object) {
            Ok(object) => object,
            Err(e) => {
                let _ = writeln!(
                    text,
                    "{:<13} {:<11} {summary} [bad object: {e}]",
                    spec.name, "-"
                );
                continue;
            }
        };
        match hooks::choose(spec, &object, &|_| false, None) {
            Ok(choice) => {
                let _ = writeln!(
                    text,
                    "{:<13} {:<11} {summary}",
                    spec.name, choice.variant.label
                );
                if args.verbose {
                    for (label, why) in &choice.passed_over {
                        let _ = writeln!(text, "{:<25} not {label}: {why}", "");
                    }
                }
            }
            Err(why) => {
                let _ = writeln!(
                    text,
                    "{:<13} {:<11} {summary} [not here: {why}]",
                    spec.name, "-"
                );
            }
        }
    }
    crate::out::stdout(text)?;
    Ok(ExitCode::SUCCESS)
}
