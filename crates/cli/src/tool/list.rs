//! `bpfkit tools`: every built-in tool, whether it runs on this kernel and
//! through which hook. Probing reads /sys only; nothing is loaded.

use super::hooks;
use anyhow::Result;
use std::process::ExitCode;

pub fn list() -> Result<ExitCode> {
    println!("{:<13} {:<11} SUMMARY", "TOOL", "HOOK");
    for spec in bpfkit_tools::all() {
        let summary = spec
            .summary
            .strip_prefix(&format!("{}: ", spec.name))
            .unwrap_or(spec.summary);
        let (hook, note) = match bpfkit_object::analyze(spec.object) {
            Ok(object) => match hooks::choose(spec, &object, &|_| false, None) {
                Ok(choice) => (choice.variant.label, String::new()),
                Err(why) => ("-", format!(" [not here: {why}]")),
            },
            Err(e) => ("-", format!(" [bad object: {e}]")),
        };
        println!("{:<13} {hook:<11} {summary}{note}", spec.name);
    }
    Ok(ExitCode::SUCCESS)
}
