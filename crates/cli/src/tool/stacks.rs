//! Stack outputs (profile, offcputime, memleak): counts per key whose key
//! holds stack ids, symbolized and printed as indented frames, folded lines
//! or JSON records, and optionally written as an SVG flame graph.

use crate::run::printer::read_map;
use anyhow::{Context, Result};
use bpfkit_btf::value::{Value, decode};
use bpfkit_object::Object;
use bpfkit_output::Mode;
use bpfkit_output::clock::WallClock;
use bpfkit_runtime::Maps;
use bpfkit_symbolize::{NamedStack, StackSample, Symbolizer, merge_folded, stack_ips};
use bpfkit_tools::{StackOutput, StackReport};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How a tool's stacks are shown.
#[derive(Debug, Clone)]
pub struct StackPrint {
    /// The tool's name, the flame graph's title.
    pub tool: &'static str,
    pub output: &'static StackOutput,
    /// One folded line per stack (`-f`).
    pub folded: bool,
    /// Also write an SVG flame graph here.
    pub flamegraph: Option<PathBuf>,
    /// Leave out entries younger than this ([`Runtime::OlderThan`]).
    ///
    /// [`Runtime::OlderThan`]: bpfkit_tools::Runtime::OlderThan
    pub min_age: Option<MinAge>,
    /// Show only this many of the heaviest stacks ([`Runtime::Top`]).
    ///
    /// [`Runtime::Top`]: bpfkit_tools::Runtime::Top
    pub top: Option<usize>,
}

/// Map entries whose `field`, a `bpf_ktime_get_ns()` timestamp, is less
/// than `age` old are left out.
#[derive(Debug, Clone, Copy)]
pub struct MinAge {
    pub field: &'static str,
    pub age: Duration,
}

impl MinAge {
    /// Whether an entry stamped `stamp_ns` is old enough at `now_ns`.
    fn keeps(&self, stamp_ns: i128, now_ns: i128) -> bool {
        now_ns - stamp_ns >= self.age.as_nanos() as i128
    }
}

/// The stacks as text (table and folded modes) or JSON lines.
pub fn render(object: &Object, maps: &Maps<'_>, print: &StackPrint, mode: Mode) -> Result<String> {
    let out = print.output;
    let mut samples = samples(object, maps, print)?;
    if let Some(top) = print.top {
        samples.truncate(top);
    }
    let mut symbolizer = Symbolizer::new();
    let named: Vec<_> = samples
        .iter()
        .map(|(sample, count, _)| (symbolizer.name(sample), *count))
        .collect();
    let wakers: Vec<Option<NamedStack>> = samples
        .iter()
        .map(|(_, _, waker)| waker.as_ref().map(|w| symbolizer.name(w)))
        .collect();
    let folded = merge_folded(named.iter().zip(&wakers).map(|((n, _), w)| match w {
        Some(w) => n.folded_with_waker(w),
        None => n.folded(),
    }));
    if let Some(path) = &print.flamegraph {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let title = format!("bpfkit {}", print.tool);
        bpfkit_symbolize::flamegraph(folded.iter().map(String::as_str), file, &title, out.unit)?;
    }
    let mut text = String::new();
    match (mode, out.report) {
        (Mode::Json, _) => {
            for ((stack, count), waker) in named.iter().zip(&wakers) {
                // `type` first, as in every other record (json! sorts keys).
                let waker = waker.as_ref().map(|w| {
                    serde_json::json!({"pid": w.pid, "comm": w.comm, "kernel": w.kernel, "user": w.user})
                });
                let members = [
                    ("map", serde_json::json!(out.map)),
                    ("pid", serde_json::json!(stack.pid)),
                    ("comm", serde_json::json!(stack.comm)),
                    ("kernel", serde_json::json!(stack.kernel)),
                    ("user", serde_json::json!(stack.user)),
                    ("weight", serde_json::json!(stack.weight)),
                    ("unit", serde_json::json!(out.unit)),
                    ("count", serde_json::json!(count)),
                ];
                text.push_str("{\"type\":\"stack\"");
                for (name, value) in members {
                    text.push_str(&format!(",\"{name}\":{value}"));
                }
                if let Some(waker) = waker {
                    text.push_str(&format!(",\"waker\":{waker}"));
                }
                text.push_str("}\n");
            }
        }
        _ if print.folded => {
            for line in &folded {
                text.push_str(line);
                text.push('\n');
            }
        }
        (_, Some(report)) => write_report(&mut text, &report, &samples, &named),
        _ => {
            // Lightest first, as bcc prints them: the heaviest end up last,
            // next to the prompt.
            for ((stack, count), waker) in named.iter().zip(&wakers).rev() {
                match waker {
                    Some(w) => text.push_str(&stack.indented_with_waker(w)),
                    None => text.push_str(&stack.indented()),
                }
                if let (Some(n), Some(field)) = (count, out.count) {
                    let what = match field {
                        StackOutput::ENTRIES => "entries",
                        _ => field,
                    };
                    text.push_str(&format!("        ({n} {what})\n"));
                }
                text.push('\n');
            }
        }
    }
    Ok(text)
}

/// The stacks as a report, heaviest first: a `[HH:MM:SS]` title line, then
/// per stack its entry line, numbered frames with their addresses, kernel
/// frames first (libbpf-tools memleak's layout), and its process line.
fn write_report(
    text: &mut String,
    report: &StackReport,
    samples: &[Counted],
    named: &[(NamedStack, Option<u64>)],
) {
    let hms = WallClock::now().now_hms();
    let title = report.title.replace("{n}", &named.len().to_string());
    text.push_str(&format!("[{}] {title}\n", String::from_utf8_lossy(&hms)));
    for ((sample, _, _), (stack, count)) in samples.iter().zip(named) {
        let entry = report
            .entry
            .replace("{weight}", &stack.weight.to_string())
            .replace("{count}", &count.unwrap_or(0).to_string());
        text.push_str(&entry);
        text.push('\n');
        let ips = sample.kernel_ips.iter().chain(&sample.user_ips);
        let names = stack.kernel.iter().chain(&stack.user);
        for (i, (ip, name)) in ips.zip(names).enumerate() {
            text.push_str(&format!("\t{i} [<{ip:016x}>] {name}\n"));
        }
        let process = report
            .process
            .replace("{comm}", stack.comm.as_deref().unwrap_or(""))
            .replace("{pid}", &stack.pid.to_string());
        text.push_str(&process);
        text.push('\n');
    }
}

/// A stack sample's identity: samples with the same one are merged.
type StackKey = (
    u32,
    Option<String>,
    Vec<u64>,
    Vec<u64>,
    Option<StackIdentity>,
);

/// The waker's part of a [`StackKey`].
type StackIdentity = (u32, Option<String>, Vec<u64>, Vec<u64>);

/// A merged stack: the sample, its count and, with a waker stack, the
/// waker's sample (weightless).
type Counted = (StackSample, Option<u64>, Option<StackSample>);

/// The counted stacks of the map, heaviest first, with the `count` field;
/// entries with the same process and frames merged, weights and counts
/// summed.
fn samples(object: &Object, maps: &Maps<'_>, print: &StackPrint) -> Result<Vec<Counted>> {
    let out = print.output;
    let def = object
        .maps
        .iter()
        .find(|m| m.name == out.map)
        .with_context(|| format!("the object has no map '{}'", out.map))?;
    let value_ty = def
        .value_type
        .with_context(|| format!("map '{}' has no BTF value type", def.name))?;
    let traces = stack_traces(maps, out.stack_map)?;
    let stack = |id: Option<i128>| -> Vec<u64> {
        id.and_then(|id| u32::try_from(id).ok())
            .and_then(|id| traces.get(&id).cloned())
            .unwrap_or_default()
    };
    let entries = read_map(object, maps, out.map, value_ty)?;
    // After the read: every timestamp in it is older than this.
    let now = monotonic_ns();
    let mut samples: Vec<Counted> = Vec::new();
    let mut index: HashMap<StackKey, usize> = HashMap::new();
    for (kb, vb) in entries {
        let key = match def.key_type {
            Some(ty) => Some(decode(&object.btf, ty, &kb)?),
            None => None,
        };
        let value = decode(&object.btf, value_ty, &vb)?;
        let field = |name: &str| lookup(key.as_ref(), &value, name);
        let num = |name: Option<&str>| name.and_then(field).and_then(Value::as_i128);
        if let Some(min) = &print.min_age {
            let stamp = num(Some(min.field))
                .with_context(|| format!("map '{}' has no timestamp '{}'", out.map, min.field))?;
            if !min.keeps(stamp, now) {
                continue;
            }
        }
        // Weights are u64 counters; memleak's go "negative" (wrap) where
        // more was freed than allocated while tracing: nothing outstanding.
        let weight = num(Some(out.weight)).unwrap_or(0) as u64 as i64;
        if weight <= 0 {
            continue;
        }
        let count = match out.count {
            Some(StackOutput::ENTRIES) => Some(1),
            other => num(other).map(|n| (n as u64 as i64).max(0) as u64),
        };
        let sample = StackSample {
            pid: num(out.pid).unwrap_or(0) as u32,
            comm: out.comm.and_then(field).and_then(text),
            kernel_ips: stack(num(out.kernel_stack)),
            user_ips: stack(num(out.user_stack)),
            weight: weight as u64,
        };
        let waker = out.waker.map(|w| StackSample {
            pid: num(w.pid).unwrap_or(0) as u32,
            comm: w.comm.and_then(field).and_then(text),
            kernel_ips: stack(num(w.kernel_stack)),
            user_ips: stack(num(w.user_stack)),
            weight: 0,
        });
        let id = (
            sample.pid,
            sample.comm.clone(),
            sample.kernel_ips.clone(),
            sample.user_ips.clone(),
            waker.as_ref().map(identity),
        );
        match index.get(&id) {
            Some(&i) => {
                let (merged, total, _) = &mut samples[i];
                merged.weight += sample.weight;
                *total = total.zip(count).map(|(a, b)| a + b);
            }
            None => {
                index.insert(id, samples.len());
                samples.push((sample, count, waker));
            }
        }
    }
    samples.sort_by_key(|s| std::cmp::Reverse(s.0.weight));
    Ok(samples)
}

fn identity(s: &StackSample) -> StackIdentity {
    (
        s.pid,
        s.comm.clone(),
        s.kernel_ips.clone(),
        s.user_ips.clone(),
    )
}

/// The instruction pointers of each stack in the stack trace map, by id.
fn stack_traces(maps: &Maps<'_>, stack_map: &str) -> Result<HashMap<u32, Vec<u64>>> {
    Ok(maps
        .snapshot(stack_map)?
        .entries
        .iter()
        .filter_map(|(k, v)| {
            Some((
                u32::from_ne_bytes(k.get(..4)?.try_into().ok()?),
                stack_ips(v),
            ))
        })
        .collect())
}

/// Now on `bpf_ktime_get_ns()`'s clock (CLOCK_MONOTONIC), in nanoseconds.
fn monotonic_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
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

#[cfg(test)]
mod tests {
    use super::MinAge;
    use std::time::Duration;

    #[test]
    fn min_age_keeps_entries_at_least_that_old() {
        let min = MinAge {
            field: "timestamp_ns",
            age: Duration::from_millis(3),
        };
        let now = 10_000_000;
        assert!(min.keeps(now - 3_000_000, now));
        assert!(min.keeps(0, now));
        assert!(!min.keeps(now - 2_999_999, now));
        assert!(!min.keeps(now, now));
    }
}
