//! Whole-map rendering: key → value tables and per-key histograms.
//!
//! The caller reads the map (summing per-CPU values itself) and passes the
//! raw `(key, value)` bytes. Two layouts:
//! - **histograms**: the value has a `slots` integer array (or a
//!   `bpfkit_hist_slots_t` member, or is itself an integer array in a map
//!   whose name says `hist`/`slots`). Each entry prints as a libbpf-tools
//!   histogram, preceded by a header naming the key (`pid = 41 kworker/1:1`,
//!   runqlat -P style) unless the map has a single entry.
//! - **tables**: everything else, key columns then value columns, sorted by
//!   the value's first number, largest first, optionally cut to the top N.

use crate::event::{EventFormatter, push_cell};
use crate::hist::{self, HistKind};
use crate::plan::{Leaf, Plan};
use crate::semantic::Render;
use crate::{ColumnSpec, FormatOptions, Mode, Result, Sink, TableSpec, json};
use bpfkit_btf::{Btf, TypeId};

/// The map being rendered.
#[derive(Debug, Clone, Copy)]
pub struct MapView<'a> {
    pub name: &'a str,
    /// `None` for maps without a key type (the key is then shown in hex...
    /// or not at all for single-entry maps).
    pub key_ty: Option<TypeId>,
    pub value_ty: TypeId,
}

#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    pub mode: Mode,
    /// Show only the N largest entries (tables only).
    pub top: Option<usize>,
    /// Histogram unit label; default from names (`usecs`...) or `value`.
    pub unit: Option<String>,
    /// Force the histogram kind (e.g. linear with base/step); default log2
    /// unless the slots are `bpfkit_linear_slots_t`.
    pub hist: Option<HistKind>,
}

/// Renders a map snapshot to `out` (flushed at the end).
pub fn render_map(
    btf: &Btf,
    view: &MapView,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
    out: &mut dyn Sink,
) -> Result<()> {
    let mut value = formatter(btf, view.value_ty, "VALUE")?;
    let mut key = view.key_ty.map(|k| formatter(btf, k, "KEY")).transpose()?;
    let mut buf = Vec::with_capacity(4096);
    match slots_column(value.plan(), view.name) {
        Some(slots) => render_hists(view, &key, &value, slots, entries, opts, &mut buf)?,
        None => render_table(view, &mut key, &mut value, entries, opts, &mut buf)?,
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

/// Sums the per-CPU copies of a value (`BPF_MAP_TYPE_PERCPU_*`) field by
/// field: integers and integer arrays (histogram slots) are added with
/// wrap-around, everything else (strings such as `comm`, pointers, enums)
/// is taken from the first CPU whose copy is not all zeros.
pub fn sum_per_cpu(btf: &Btf, value_ty: TypeId, per_cpu: &[&[u8]]) -> Result<Vec<u8>> {
    let plan = Plan::new(btf, value_ty)?;
    for v in per_cpu {
        plan.check_len(v)?;
    }
    let first_used = per_cpu.iter().find(|v| v.iter().any(|&b| b != 0));
    let mut sum = match first_used.or(per_cpu.first()) {
        Some(v) => v[..plan.size].to_vec(),
        None => vec![0; plan.size],
    };
    for col in &plan.columns {
        let (elem, count) = match col.leaf {
            Leaf::Int { size, .. } => (size, 1),
            Leaf::IntArray { elem_size, len, .. } => (elem_size, len),
            _ => continue,
        };
        for i in 0..count {
            let off = col.offset + i * elem;
            let total = per_cpu.iter().fold(0u128, |acc, v| {
                acc.wrapping_add(bpfkit_btf::value::read_uint(
                    &v[off..off + elem],
                    btf.is_big_endian(),
                ))
            });
            let bytes = if btf.is_big_endian() {
                total.to_be_bytes()[16 - elem..].to_vec()
            } else {
                total.to_le_bytes()[..elem].to_vec()
            };
            sum[off..off + elem].copy_from_slice(&bytes);
        }
    }
    Ok(sum)
}

fn formatter(btf: &Btf, ty: TypeId, scalar_header: &str) -> Result<EventFormatter> {
    let mut opts = FormatOptions {
        header: false,
        ..FormatOptions::default()
    };
    let probe = EventFormatter::new(btf, ty, &opts)?;
    if probe.fields() == [""] {
        opts.table = TableSpec {
            columns: Some(vec![ColumnSpec::new("").header(scalar_header)]),
        };
        return EventFormatter::new(btf, ty, &opts);
    }
    Ok(probe)
}

/// The index of the histogram slots column, if the value is a histogram.
fn slots_column(plan: &Plan, map_name: &str) -> Option<usize> {
    let is_array = |leaf: &Leaf| matches!(leaf, Leaf::IntArray { .. } | Leaf::Bytes { .. });
    if let Some(i) = plan.columns.iter().position(|c| {
        matches!(c.render, Render::Log2Hist | Render::LinearHist) && is_array(&c.leaf)
    }) {
        return Some(i);
    }
    let name = map_name.to_ascii_lowercase();
    (plan.scalar
        && is_array(&plan.columns[0].leaf)
        && (name.contains("hist") || name.contains("slots")))
    .then_some(0)
}

fn unit_for(view: &MapView, plan: &Plan, opts: &SnapshotOptions) -> String {
    if let Some(u) = &opts.unit {
        return u.clone();
    }
    let mut names = vec![
        view.name.to_ascii_lowercase(),
        plan.type_name.to_ascii_lowercase(),
    ];
    names.extend(plan.columns.iter().map(|c| c.name.to_ascii_lowercase()));
    for (unit, hints) in [
        ("usecs", ["usec", "_us", "micro"]),
        ("nsecs", ["nsec", "_ns", "nano"]),
        ("msecs", ["msec", "_ms", "milli"]),
    ] {
        if names
            .iter()
            .any(|n| hints.iter().any(|h| n.contains(h) || n.ends_with(h)))
        {
            return unit.to_string();
        }
    }
    "value".into()
}

fn slots_of(plan: &Plan, col: usize, bytes: &[u8]) -> Vec<u64> {
    let c = &plan.columns[col];
    match c.leaf {
        Leaf::IntArray {
            elem_size,
            len,
            signed,
        } => plan
            .int_array(c, bytes, elem_size, len, signed)
            .map(|n| n.u64())
            .collect(),
        Leaf::Bytes { len } => bytes
            .get(c.offset..c.offset + len)
            .unwrap_or(&[])
            .iter()
            .map(|&b| b as u64)
            .collect(),
        _ => Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_hists(
    view: &MapView,
    key: &Option<EventFormatter>,
    value: &EventFormatter,
    slots_col: usize,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let plan = value.plan();
    let unit = unit_for(view, plan, opts);
    let kind = opts.hist.unwrap_or(match plan.columns[slots_col].render {
        Render::LinearHist => HistKind::Linear { base: 0, step: 1 },
        _ => HistKind::Log2,
    });
    let mut sorted: Vec<&(Vec<u8>, Vec<u8>)> = entries.iter().collect();
    if let Some(k) = key {
        sorted.sort_by_key(|(kb, _)| k.plan().sort_key(kb));
    }
    let labelled = sorted.len() > 1;
    let mut ctx = crate::plan::RenderCtx {
        clock: crate::clock::WallClock::now(),
        users: None,
    };
    for (kb, vb) in sorted {
        value.plan().check_len(vb)?;
        let slots = slots_of(plan, slots_col, vb);
        match opts.mode {
            Mode::Json => {
                let mut key_json = Vec::new();
                match key {
                    Some(k) => k.write_json_data(kb, &mut key_json)?,
                    None => key_json.extend_from_slice(b"null"),
                }
                let mut line = Vec::new();
                hist::write_hist_json(view.name, Some(&key_json), &unit, kind, &slots, &mut line);
                append_labels_json(plan, slots_col, vb, &mut line);
                buf.extend_from_slice(&line);
            }
            Mode::Table => {
                if labelled {
                    buf.push(b'\n');
                    write_label(key, kb, plan, slots_col, vb, &mut ctx, buf)?;
                    buf.push(b'\n');
                }
                match kind {
                    HistKind::Log2 => hist::print_log2_hist(&slots, &unit, buf)?,
                    HistKind::Linear { base, step } => {
                        hist::print_linear_hist(&slots, base, step, &unit, buf)?
                    }
                }
            }
        }
    }
    Ok(())
}

/// Adds the value's non-slot members (`comm`...) as `"labels":{...}`.
fn append_labels_json(plan: &Plan, slots_col: usize, vb: &[u8], line: &mut Vec<u8>) {
    if plan.scalar || plan.columns.len() < 2 {
        return;
    }
    // write_hist_json ended the object with "}\n": reopen it.
    line.truncate(line.len() - 2);
    line.extend_from_slice(b",\"labels\":{");
    let mut first = true;
    for (i, c) in plan.columns.iter().enumerate() {
        if i == slots_col {
            continue;
        }
        if !first {
            line.push(b',');
        }
        first = false;
        line.extend_from_slice(&c.json_key);
        plan.write_json(c, vb, line);
    }
    line.extend_from_slice(b"}}\n");
}

/// `pid = 41 kworker/1:1`: key members as `name = value` (a scalar key
/// as `key = N`), then the value's other members, strings bare as runqlat
/// prints the command.
fn write_label(
    key: &Option<EventFormatter>,
    kb: &[u8],
    plan: &Plan,
    slots_col: usize,
    vb: &[u8],
    ctx: &mut crate::plan::RenderCtx,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    if let Some(k) = key {
        let kp = k.plan();
        kp.check_len(kb)?;
        for c in &kp.columns {
            let mut part = if c.name.is_empty() {
                b"key".to_vec()
            } else {
                c.name.as_bytes().to_vec()
            };
            part.extend_from_slice(b" = ");
            kp.write_text(c, kb, ctx, &mut part);
            parts.push(part);
        }
    }
    for (i, c) in plan.columns.iter().enumerate() {
        if i == slots_col {
            continue;
        }
        let mut part = Vec::new();
        if !matches!(c.leaf, Leaf::Str { .. }) {
            part.extend_from_slice(c.name.as_bytes());
            part.extend_from_slice(b" = ");
        }
        plan.write_text(c, vb, ctx, &mut part);
        parts.push(part);
    }
    buf.extend_from_slice(&parts.join(&b' '));
    Ok(())
}

fn render_table(
    view: &MapView,
    key: &mut Option<EventFormatter>,
    value: &mut EventFormatter,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let mut sorted: Vec<&(Vec<u8>, Vec<u8>)> = entries.iter().collect();
    sorted.sort_by_key(|(_, vb)| std::cmp::Reverse(value.plan().sort_key(vb)));
    sorted.truncate(opts.top.unwrap_or(usize::MAX));
    match opts.mode {
        Mode::Json => {
            buf.extend_from_slice(b"{\"type\":\"map\",\"map\":");
            json::write_str(buf, view.name.as_bytes());
            buf.extend_from_slice(b",\"entries\":[");
            for (i, (kb, vb)) in sorted.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"key\":");
                match key {
                    Some(k) => k.write_json_data(kb, buf)?,
                    None => buf.extend_from_slice(b"null"),
                }
                buf.extend_from_slice(b",\"value\":");
                value.write_json_data(vb, buf)?;
                buf.push(b'}');
            }
            buf.extend_from_slice(b"]}\n");
        }
        Mode::Table => {
            let mut cells = key.as_ref().map(|k| k.header_cells()).unwrap_or_default();
            cells.extend(value.header_cells());
            for (i, (text, width)) in cells.iter().enumerate() {
                push_cell(buf, text.as_bytes(), *width, i + 1 == cells.len());
            }
            buf.push(b'\n');
            for (kb, vb) in sorted {
                value.plan().check_len(vb)?;
                if let Some(k) = key.as_mut() {
                    k.plan().check_len(kb)?;
                    k.write_cells(kb, buf, false);
                }
                value.write_cells(vb, buf, true);
                buf.push(b'\n');
            }
        }
    }
    Ok(())
}
