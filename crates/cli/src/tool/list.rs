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

/// What `bpfkit tools` finds for one built-in tool.
pub struct Verdict {
    pub name: &'static str,
    pub summary: &'static str,
    /// The hook variant it would use here, when it works.
    pub hook: Option<&'static str>,
    /// Better variants passed over, with the reason.
    pub passed_over: Vec<(&'static str, String)>,
    /// Why it cannot run here.
    pub why_not: Option<String>,
}

/// Every built-in tool: whether it runs here and through which hook.
pub fn verdicts() -> Vec<Verdict> {
    bpfkit_tools::all()
        .iter()
        .map(|spec| {
            let summary = spec
                .summary
                .strip_prefix(&format!("{}: ", spec.name))
                .unwrap_or(spec.summary);
            let mut verdict = Verdict {
                name: spec.name,
                summary,
                hook: None,
                passed_over: Vec::new(),
                why_not: None,
            };
            match bpfkit_object::analyze(spec.object) {
                Err(e) => verdict.why_not = Some(format!("bad object: {e}")),
                Ok(object) => {
                    match hooks::choose(spec, &object, &|_| false, hooks::Retarget::default()) {
                        Ok(choice) => {
                            verdict.hook = Some(choice.variant.label);
                            verdict.passed_over = choice.passed_over;
                        }
                        Err(why) => verdict.why_not = Some(why.to_string()),
                    }
                }
            }
            verdict
        })
        .collect()
}

/// Says once why tools that need tracepoints cannot run, if so.
pub fn warn_tracefs_denied() {
    if let Some(denied) = bpfkit_runtime::caps::tracefs_denied() {
        eprintln!("bpfkit: tools that need tracepoints show as not here: {denied}");
    }
}

pub fn list(args: ListArgs) -> Result<ExitCode> {
    warn_tracefs_denied();
    // One write at the end: a closed pipe (`| head -1`) is noticed once.
    let mut text = format!("{:<13} {:<11} SUMMARY\n", "TOOL", "HOOK");
    for v in verdicts() {
        let (name, summary) = (v.name, v.summary);
        match (&v.hook, &v.why_not) {
            (Some(hook), _) => {
                let _ = writeln!(text, "{name:<13} {hook:<11} {summary}");
                if args.verbose {
                    for (label, why) in &v.passed_over {
                        let _ = writeln!(text, "{:<25} not {label}: {why}", "");
                    }
                }
            }
            (None, why) => {
                let why = why.as_deref().unwrap_or_default();
                let bracket = if why.starts_with("bad object") {
                    why.to_string()
                } else {
                    format!("not here: {why}")
                };
                let _ = writeln!(text, "{name:<13} {:<11} {summary} [{bracket}]", "-");
            }
        }
    }
    crate::out::stdout(text)?;
    Ok(ExitCode::SUCCESS)
}
