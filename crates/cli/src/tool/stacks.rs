//! Stack outputs (profile, offcputime, memleak): counts per key whose key
//! holds stack ids, symbolized and printed as indented frames, folded lines
//! or JSON records, and optionally written as an SVG flame graph.

use crate::run::printer::read_map;
use anyhow::{Context, Result};
use bpfkit_btf::value::{Value, decode};
use bpfkit_object::Object;
use bpfkit_output::Mode;
use bpfkit_runtime::Maps;
use bpfkit_symbolize::{StackSample, Symbolizer, merge_folded, stack_ips};
use bpfkit_tools::StackOutput;
use std::collections::HashMap;
use std::path::PathBuf;

/// How a tool's stacks are shown.
#[derive(Debug, Clone)]
pub struct StackPrint {
    pub output: &'static StackOutput,
    /// One folded line per stack (`-f`).
    pub folded: bool,
    /// Also write an SVG flame graph here.
    pub flamegraph: Option<PathBuf>,
}

/// The stacks as text (table and folded modes) or JSON lines.
pub fn render(object: &Object, maps: &Maps<'_>, print: &StackPrint, mode: Mode) -> Result<String> {
    let out = print.output;
    let samples = samples(object, maps, out)?;
    let mut symbolizer = Symbolizer::new();
    let named: Vec<_> = samples
        .iter()
        .map(|(sample, count)| (symbolizer.name(sample), *count))
        .collect();
    let folded = merge_folded(named.iter().map(|(n, _)| n.folded()));
    if let Some(path) = &print.flamegraph {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        bpfkit_symbolize::flamegraph(folded.iter().map(String::as_str), file, out.map, out.unit)?;
    }
    let mut text = String::new();
    match mode {
        Mode::Json => {
            for (stack, count) in &named {
                let record = serde_json::json!({
                    "type": "stack",
                    "map": out.map,
                    "pid": stack.pid,
                    "comm": stack.comm,
                    "kernel": stack.kernel,
                    "user": stack.user,
                    "weight": stack.weight,
                    "unit": out.unit,
                    "count": count,
                });
                text.push_str(&record.to_string());
                text.push('\n');
            }
        }
        _ if print.folded => {
            for line in &folded {
                text.push_str(line);
                text.push('\n');
            }
        }
        _ => {
            // Lightest first, as bcc prints them: the heaviest end up last,
            // next to the prompt.
            for (stack, count) in named.iter().rev() {
                text.push_str(&stack.indented());
                if let (Some(n), Some(field)) = (count, out.count) {
                    text.push_str(&format!("        ({n} {field})\n"));
                }
                text.push('\n');
            }
        }
    }
    Ok(text)
}

/// The counted stacks of the map, heaviest first, with the `count` field.
fn samples(
    object: &Object,
    maps: &Maps<'_>,
    out: &StackOutput,
) -> Result<Vec<(StackSample, Option<u64>)>> {
    let def = object
        .maps
        .iter()
        .find(|m| m.name == out.map)
        .with_context(|| format!("the object has no map '{}'", out.map))?;
    let value_ty = def
        .value_type
        .with_context(|| format!("map '{}' has no BTF value type", def.name))?;
    let traces: HashMap<u32, Vec<u64>> = maps
        .snapshot(out.stack_map)?
        .entries
        .iter()
        .filter_map(|(k, v)| {
            Some((
                u32::from_ne_bytes(k.get(..4)?.try_into().ok()?),
                stack_ips(v),
            ))
        })
        .collect();
    let stack = |id: Option<i128>| -> Vec<u64> {
        id.and_then(|id| u32::try_from(id).ok())
            .and_then(|id| traces.get(&id).cloned())
            .unwrap_or_default()
    };
    let mut samples = Vec::new();
    for (kb, vb) in read_map(object, maps, out.map, value_ty)? {
        let key = match def.key_type {
            Some(ty) => Some(decode(&object.btf, ty, &kb)?),
            None => None,
        };
        let value = decode(&object.btf, value_ty, &vb)?;
        let field = |name: &str| lookup(key.as_ref(), &value, name);
        let num = |name: Option<&str>| name.and_then(field).and_then(Value::as_i128);
        // Weights are u64 counters; memleak's go "negative" (wrap) where
        // more was freed than allocated while tracing: nothing outstanding.
        let weight = num(Some(out.weight)).unwrap_or(0) as u64 as i64;
        if weight <= 0 {
            continue;
        }
        let sample = StackSample {
            pid: num(out.pid).unwrap_or(0) as u32,
            comm: out.comm.and_then(field).and_then(text),
            kernel_ips: stack(num(out.kernel_stack)),
            user_ips: stack(num(out.user_stack)),
            weight: weight as u64,
        };
        let count = num(out.count).map(|n| (n as u64 as i64).max(0) as u64);
        samples.push((sample, count));
    }
    samples.sort_by_key(|s| std::cmp::Reverse(s.0.weight));
    Ok(samples)
}

/// `key` (a scalar key), `key.NAME`, `value` (a scalar value) or a value member.
fn lookup<'v>(key: Option<&'v Value>, value: &'v Value, name: &str) -> Option<&'v Value> {
    match name {
        "key" => key,
        "value" => Some(value),
        _ => match name.strip_prefix("key.") {
            Some(member) => key?.field(member),
            None => value.field(name),
        },
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str { text, .. } => Some(text.clone()),
        _ => None,
    }
}
