//! `bpfkit feature [probe]`: program types, map types and the facts
//! bpfkit relies on (kprobes, trampolines, BPF LSM, tcx, ring buffer,
//! uprobe.multi, module BTF...), each found by trying, with the kernel
//! version that introduced it. `bpfkit feature helpers TYPE`: the helpers
//! programs of one type may call. `bpfkit feature tools`: which built-in
//! tools work here, through which hook, and why not.

use anyhow::{Result, bail};
use bpfkit_runtime::probe::{self, Probed};
use clap::Args;
use serde_json::{Value, json};
use std::process::ExitCode;

use super::inspect::{self, JsonArgs};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit feature
    bpfkit feature probe -p
    bpfkit feature helpers xdp
    bpfkit feature tools")]
pub struct FeatureArgs {
    /// `[probe]`, `helpers PROG_TYPE` or `tools`
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    #[command(flatten)]
    json: JsonArgs,
}

pub fn run(args: FeatureArgs) -> Result<ExitCode> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["probe"] | ["probe", "kernel"] => kernel(args.json)?,
        ["helpers", prog_type] => helpers(prog_type, args.json)?,
        ["helpers"] => bail!("'feature helpers' needs a program type, e.g. 'feature helpers xdp'"),
        ["tools"] => tools(args.json)?,
        [word, ..] => bail!("expected 'probe', 'helpers PROG_TYPE' or 'tools', not '{word}'"),
    }
    Ok(ExitCode::SUCCESS)
}

fn kernel(out: JsonArgs) -> Result<()> {
    let release = bpfkit_runtime::features::kernel().release.clone();
    let sections = [
        ("facts", probe::facts()),
        ("program_types", probe::program_types()),
        ("map_types", probe::map_types()),
    ];
    if out.is_json() {
        let mut doc = json!({"kernel": release});
        for (name, list) in &sections {
            doc[name] = Value::Array(list.iter().map(probed_json).collect());
        }
        return out.write(&doc);
    }
    let mut text = format!("kernel {release}\n");
    for (name, list) in &sections {
        text.push_str(&format!("\n{}:\n", name.replace('_', " ")));
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|p| {
                vec![
                    p.name.to_string(),
                    if p.available { "yes" } else { "no" }.to_string(),
                    p.since.to_string(),
                    p.note.clone(),
                ]
            })
            .collect();
        text.push_str(&inspect::table(&["NAME", "HERE", "SINCE", "NOTE"], &rows));
    }
    crate::out::stdout(text)
}

fn probed_json(p: &Probed) -> Value {
    let mut row = json!({"name": p.name, "available": p.available, "since": p.since});
    if !p.note.is_empty() {
        row["note"] = json!(p.note);
    }
    row
}

fn helpers(prog_type: &str, out: JsonArgs) -> Result<()> {
    let found = probe::helpers(prog_type).map_err(anyhow::Error::msg)?;
    if out.is_json() {
        let available: Vec<&str> = found
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(n, _)| n.as_str())
            .collect();
        return out.write(&json!({"program_type": prog_type, "available_helpers": available}));
    }
    let text: String = found
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(name, _)| format!("{name}\n"))
        .collect();
    crate::out::stdout(text)
}

fn tools(out: JsonArgs) -> Result<()> {
    crate::tool::warn_tracefs_denied();
    let verdicts = crate::tool::verdicts();
    if out.is_json() {
        let rows = verdicts
            .iter()
            .map(|v| {
                let passed: Vec<Value> = v
                    .passed_over
                    .iter()
                    .map(|(hook, why)| json!({"hook": hook, "why": why}))
                    .collect();
                json!({
                    "tool": v.name,
                    "works": v.hook.is_some(),
                    "hook": v.hook,
                    "passed_over": passed,
                    "why_not": v.why_not,
                })
            })
            .collect();
        return out.write(&Value::Array(rows));
    }
    let mut rows = Vec::new();
    for v in &verdicts {
        let (works, hook) = match v.hook {
            Some(hook) => ("yes", hook),
            None => ("no", "-"),
        };
        let why = v.why_not.clone().unwrap_or_default();
        rows.push(vec![v.name.to_string(), works.into(), hook.into(), why]);
        for (label, why) in &v.passed_over {
            rows.push(vec![
                String::new(),
                String::new(),
                format!("not {label}"),
                why.clone(),
            ]);
        }
    }
    crate::out::stdout(inspect::table(&["TOOL", "WORKS", "HOOK", "WHY"], &rows))
}
