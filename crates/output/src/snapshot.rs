//! Whole-map rendering: key → value tables and per-key histograms.
//!
//! The caller reads the map (summing per-CPU values with [`sum_per_cpu`])
//! and passes the raw `(key, value)` bytes. Two layouts:
//! - **histograms**: the value has a `slots` integer array (or a
//!   `bpfkit_hist_slots_t` member, or is itself an integer array in a map
//!   whose name says `hist`/`slots`). Each entry prints as a libbpf-tools
//!   histogram, preceded by a label naming the key (`pid = 41 kworker/1:1`,
//!   runqlat -P style) unless the map has a single entry.
//! - **tables**: everything else, key columns then value columns (or the
//!   columns asked for), sorted by the value's first number (or the sort
//!   field), largest first, optionally cut to the top N.

use crate::cells::{self, Record, Side, Source, TableColumn};
use crate::hist::{self, HistKind};
use crate::plan::{Leaf, Plan, RenderCtx};
use crate::semantic::Render;
use crate::{ColumnSpec, Mode, Result, Sink, json};
use bpfkit_btf::{Btf, TypeId};

/// The map being rendered.
#[derive(Debug, Clone, Copy)]
pub struct MapView<'a> {
    pub name: &'a str,
    /// `None` for maps without a key type (keys are then not shown).
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
    /// Table columns: `key` (scalar key), `key.NAME` (key member) or a
    /// value member; default every key column, then every value column.
    pub columns: Option<Vec<ColumnSpec>>,
    /// Sort tables (largest first) by this field (same names as
    /// `columns`); default the value's first number.
    pub sort_by: Option<String>,
    /// Histogram labels. A spec with a header prints `HEADER = value`, one
    /// with an empty header the bare value. Default: key members as
    /// `name = value`, then the value's other members (strings bare).
    pub labels: Option<Vec<ColumnSpec>>,
    /// Render a table even when the value has histogram slots (hardirqs
    /// shows counts from a value that also holds a histogram).
    pub force_table: bool,
    /// Leave out entries that say nothing: table rows whose value is all
    /// zeros, histograms whose buckets are all empty.
    pub skip_empty: bool,
}

/// Renders a map snapshot to `out` (flushed at the end).
pub fn render_map(
    btf: &Btf,
    view: &MapView,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
    out: &mut dyn Sink,
) -> Result<()> {
    let value = Plan::new(btf, view.value_ty)?;
    let key = view.key_ty.map(|k| Plan::new(btf, k)).transpose()?;
    for (kb, vb) in entries {
        value.check_len(vb)?;
        if let Some(k) = &key {
            k.check_len(kb)?;
        }
    }
    let mut buf = Vec::with_capacity(4096);
    let mut ctx = RenderCtx::new(false);
    let maps = Maps {
        view,
        key: key.as_ref(),
        value: &value,
    };
    let slots = slots_column(&value, view.name).filter(|_| !opts.force_table);
    let kept: Vec<Entry>;
    let entries = if opts.skip_empty {
        kept = entries
            .iter()
            .filter(|(_, vb)| match slots {
                Some(col) => maps.slots(col, vb).iter().any(|&n| n != 0),
                None => vb.iter().any(|&b| b != 0),
            })
            .cloned()
            .collect();
        &kept[..]
    } else {
        entries
    };
    match slots {
        Some(slots) => maps.render_hists(slots, entries, opts, &mut ctx, &mut buf)?,
        None => maps.render_table(entries, opts, &mut ctx, &mut buf)?,
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
    let big_endian = btf.is_big_endian();
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
                    big_endian,
                ))
            });
            let bytes = if big_endian {
                total.to_be_bytes()[16 - elem..].to_vec()
            } else {
                total.to_le_bytes()[..elem].to_vec()
            };
            sum[off..off + elem].copy_from_slice(&bytes);
        }
    }
    Ok(sum)
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
    // Only the histogram's own array names its unit: a sibling such as
    // `total_ns` says nothing about what the slots were bucketed by.
    names.extend(
        plan.columns
            .iter()
            .filter(|c| matches!(c.leaf, Leaf::IntArray { .. }))
            .map(|c| c.name.to_ascii_lowercase()),
    );
    for (unit, hints) in [
        ("usecs", ["usec", "_us", "micro"]),
        ("nsecs", ["nsec", "_ns", "nano"]),
        ("msecs", ["msec", "_ms", "milli"]),
    ] {
        if names.iter().any(|n| hints.iter().any(|h| n.contains(h))) {
            return unit.to_string();
        }
    }
    "value".into()
}

struct Maps<'a> {
    view: &'a MapView<'a>,
    key: Option<&'a Plan>,
    value: &'a Plan,
}

type Entry = (Vec<u8>, Vec<u8>);

impl Maps<'_> {
    fn record<'b>(&'b self, kb: &'b [u8], vb: &'b [u8]) -> Record<'b> {
        Record {
            value: (self.value, vb),
            key: self.key.map(|k| (k, kb)),
        }
    }

    fn slots(&self, col: usize, bytes: &[u8]) -> Vec<u64> {
        let c = &self.value.columns[col];
        match c.leaf {
            Leaf::IntArray {
                elem_size,
                len,
                signed,
            } => self
                .value
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

    fn render_hists(
        &self,
        slots_col: usize,
        entries: &[Entry],
        opts: &SnapshotOptions,
        ctx: &mut RenderCtx,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let unit = unit_for(self.view, self.value, opts);
        let kind = opts
            .hist
            .unwrap_or(match self.value.columns[slots_col].render {
                Render::LinearHist => HistKind::Linear { base: 0, step: 1 },
                _ => HistKind::Log2,
            });
        let mut sorted: Vec<&Entry> = entries.iter().collect();
        if let Some(k) = self.key {
            sorted.sort_by_key(|(kb, _)| k.sort_key(kb));
        }
        let labels = self.label_columns(slots_col, opts)?;
        // Labels asked for are shown even on a lone histogram (hardirqs -d).
        let labelled = sorted.len() > 1 || opts.labels.as_ref().is_some_and(|l| !l.is_empty());
        for (kb, vb) in sorted {
            let slots = self.slots(slots_col, vb);
            match opts.mode {
                Mode::Json => {
                    let mut key_json = Vec::new();
                    match self.key {
                        Some(k) => k.write_json_object(kb, &mut key_json),
                        None => key_json.extend_from_slice(b"null"),
                    }
                    let mut line = Vec::new();
                    hist::write_hist_json(
                        self.view.name,
                        Some(&key_json),
                        &unit,
                        kind,
                        &slots,
                        &mut line,
                    );
                    self.append_labels_json(slots_col, vb, &mut line);
                    buf.extend_from_slice(&line);
                }
                Mode::Table | Mode::Detailed => {
                    if labelled {
                        buf.push(b'\n');
                        self.write_label(&labels, kb, vb, ctx, buf);
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

    /// Label parts: (prefix such as `pid = `, cell).
    fn label_columns(
        &self,
        slots_col: usize,
        opts: &SnapshotOptions,
    ) -> Result<Vec<(String, TableColumn)>> {
        let bare = |mut tc: TableColumn| {
            tc.width = 0;
            tc
        };
        if let Some(specs) = &opts.labels {
            return specs
                .iter()
                .map(|s| {
                    let tc = bare(cells::resolve(s, self.value, self.key)?);
                    let prefix = match &s.header {
                        Some(h) if h.is_empty() => String::new(),
                        Some(h) => format!("{h} = "),
                        None => format!("{} = ", s.field.strip_prefix("key.").unwrap_or(&s.field)),
                    };
                    Ok((prefix, tc))
                })
                .collect();
        }
        let mut out = Vec::new();
        if let Some(k) = self.key {
            for (tc, col) in cells::all_columns(k, Side::Key).into_iter().zip(&k.columns) {
                let name = if col.name.is_empty() {
                    "key"
                } else {
                    &col.name
                };
                out.push((format!("{name} = "), bare(tc)));
            }
        }
        for (i, (tc, col)) in cells::all_columns(self.value, Side::Value)
            .into_iter()
            .zip(&self.value.columns)
            .enumerate()
        {
            if i == slots_col {
                continue;
            }
            let prefix = if matches!(col.leaf, Leaf::Str { .. }) {
                String::new()
            } else {
                format!("{} = ", col.name)
            };
            out.push((prefix, bare(tc)));
        }
        Ok(out)
    }

    /// `pid = 41 kworker/1:1`.
    fn write_label(
        &self,
        labels: &[(String, TableColumn)],
        kb: &[u8],
        vb: &[u8],
        ctx: &mut RenderCtx,
        buf: &mut Vec<u8>,
    ) {
        let record = self.record(kb, vb);
        for (i, (prefix, tc)) in labels.iter().enumerate() {
            if i > 0 {
                buf.push(b' ');
            }
            buf.extend_from_slice(prefix.as_bytes());
            cells::write_cell(tc, &record, ctx, buf, true);
        }
    }

    /// Adds the value's non-slot members (`comm`...) as `"labels":{...}`.
    fn append_labels_json(&self, slots_col: usize, vb: &[u8], line: &mut Vec<u8>) {
        let plan = self.value;
        if plan.scalar || plan.columns.len() < 2 {
            return;
        }
        // write_hist_json ended the object with "}\n": reopen it.
        line.truncate(line.len().saturating_sub(2));
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

    fn sorted<'e>(&self, entries: &'e [Entry], opts: &SnapshotOptions) -> Vec<&'e Entry> {
        let mut sorted: Vec<&Entry> = entries.iter().collect();
        sorted.sort_by_key(|(kb, vb)| {
            let n = match &opts.sort_by {
                Some(field) => self.record(kb, vb).num(field).unwrap_or(0),
                None => self.value.sort_key(vb),
            };
            std::cmp::Reverse(n)
        });
        sorted.truncate(opts.top.unwrap_or(usize::MAX));
        sorted
    }

    fn render_table(
        &self,
        entries: &[Entry],
        opts: &SnapshotOptions,
        ctx: &mut RenderCtx,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let sorted = self.sorted(entries, opts);
        if opts.mode == Mode::Json {
            self.write_json_table(&sorted, opts, buf);
            return Ok(());
        }
        let columns: Vec<TableColumn> = match &opts.columns {
            Some(specs) => specs
                .iter()
                .map(|s| cells::resolve(s, self.value, self.key))
                .collect::<Result<_>>()?,
            None => {
                let mut all = self
                    .key
                    .map(|k| cells::all_columns(k, Side::Key))
                    .unwrap_or_default();
                all.extend(cells::all_columns(self.value, Side::Value));
                all
            }
        };
        for (i, tc) in columns.iter().enumerate() {
            cells::push_cell(
                buf,
                tc.header.as_bytes(),
                tc.width,
                tc.align,
                i + 1 == columns.len(),
            );
        }
        buf.push(b'\n');
        for (kb, vb) in sorted {
            let record = self.record(kb, vb);
            for (i, tc) in columns.iter().enumerate() {
                cells::write_cell(tc, &record, ctx, buf, i + 1 == columns.len());
            }
            buf.push(b'\n');
        }
        Ok(())
    }

    /// `{"type":"map","map":..,"entries":[{"key":..,"value":..},...]}`,
    /// each entry also with the members of `ColumnSpec::json` columns
    /// (`"name"`: funccount's target as the pattern named it), as events.
    fn write_json_table(&self, sorted: &[&Entry], opts: &SnapshotOptions, buf: &mut Vec<u8>) {
        let json_cells: Vec<(&str, bool, &cells::CustomCell)> = opts
            .columns
            .iter()
            .flatten()
            .filter_map(|spec| {
                let (key, raw) = spec.json.as_ref()?;
                Some((key.as_str(), *raw, spec.custom.as_ref()?))
            })
            .collect();
        let mut text = Vec::new();
        buf.extend_from_slice(b"{\"type\":\"map\",\"map\":");
        json::write_str(buf, self.view.name.as_bytes());
        buf.extend_from_slice(b",\"entries\":[");
        for (i, (kb, vb)) in sorted.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"key\":");
            match self.key {
                Some(k) => k.write_json_object(kb, buf),
                None => buf.extend_from_slice(b"null"),
            }
            buf.extend_from_slice(b",\"value\":");
            self.value.write_json_object(vb, buf);
            for (key, raw, cell) in &json_cells {
                text.clear();
                (cell.0)(&self.record(kb, vb), &mut cells::CellText::new(&mut text));
                buf.push(b',');
                json::write_str(buf, key.as_bytes());
                buf.push(b':');
                if *raw {
                    buf.extend_from_slice(&text);
                } else {
                    json::write_str(buf, &text);
                }
            }
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]}\n");
    }
}

/// One map entry as numbers and labels, for exporters (`bpfkit serve`):
/// the same field meaning as the table `bpfkit run` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedEntry {
    /// Key members (`key` for a scalar key), then the value's text members
    /// (`comm`...), each as its table cell shows it (names, addresses).
    pub labels: Vec<(String, String)>,
    /// The value's integer members (`""` for a scalar value), histogram
    /// slots left out.
    pub numbers: Vec<(String, i128)>,
    /// The histogram buckets, when the map holds histograms.
    pub slots: Option<Vec<u64>>,
}

/// A whole map decoded by [`decode_map`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedMap {
    /// When the values are histograms: their kind and unit (`usecs`,
    /// `nsecs`, `msecs` or `value`), as the text histogram names it.
    pub hist: Option<(HistKind, String)>,
    pub entries: Vec<DecodedEntry>,
}

/// Decodes a map snapshot (per-CPU values already summed) into labels and
/// numbers, with the rules [`render_map`] uses for its table and histograms:
/// the columns (tables) or labels (histograms) the options ask for, with
/// their renders (a syscall number as its name), else every member.
pub fn decode_map(
    btf: &Btf,
    view: &MapView,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
) -> Result<DecodedMap> {
    let value = Plan::new(btf, view.value_ty)?;
    let key = view.key_ty.map(|k| Plan::new(btf, k)).transpose()?;
    let maps = Maps {
        view,
        key: key.as_ref(),
        value: &value,
    };
    let slots_col = slots_column(&value, view.name).filter(|_| !opts.force_table);
    let hist = slots_col.map(|col| {
        let kind = opts.hist.unwrap_or(match value.columns[col].render {
            Render::LinearHist => HistKind::Linear { base: 0, step: 1 },
            _ => HistKind::Log2,
        });
        (kind, unit_for(view, &value, opts))
    });
    let specs = match slots_col {
        Some(_) => opts.labels.as_ref(),
        None => opts.columns.as_ref(),
    };
    let parts = match specs {
        Some(specs) => spec_parts(specs, &value, key.as_ref())?,
        None => default_parts(&value, key.as_ref(), slots_col),
    };
    let mut ctx = RenderCtx::new(false);
    let mut decoded = Vec::with_capacity(entries.len());
    for (kb, vb) in entries {
        value.check_len(vb)?;
        if let Some(k) = &key {
            k.check_len(kb)?;
        }
        let record = maps.record(kb, vb);
        let mut entry = DecodedEntry {
            labels: Vec::new(),
            numbers: Vec::new(),
            slots: slots_col.map(|col| maps.slots(col, vb)),
        };
        for part in &parts {
            match part {
                Part::Label(name, tc) => {
                    let mut text = Vec::new();
                    cells::write_cell(tc, &record, &mut ctx, &mut text, true);
                    let text = String::from_utf8_lossy(&text).trim().to_string();
                    entry.labels.push((name.clone(), text));
                }
                Part::Number(name, index) => {
                    if let Some(n) = value.num_of(&value.columns[*index], vb) {
                        entry.numbers.push((name.clone(), n.i128()));
                    }
                }
            }
        }
        decoded.push(entry);
    }
    Ok(DecodedMap {
        hist,
        entries: decoded,
    })
}

/// One label or number of a decoded entry.
enum Part {
    /// A label name and the cell that gives its text.
    Label(String, TableColumn),
    /// A number's name and its value column.
    Number(String, usize),
}

fn is_number(leaf: &Leaf) -> bool {
    matches!(leaf, Leaf::Int { .. } | Leaf::Bits { .. } | Leaf::Bool)
}

/// Key members and the value's text members as labels, its integers as
/// numbers; padding and pointers, floats, nested aggregates left out.
fn default_parts(value: &Plan, key: Option<&Plan>, slots_col: Option<usize>) -> Vec<Part> {
    let mut parts = Vec::new();
    if let Some(k) = key {
        for (tc, col) in cells::all_columns(k, Side::Key).into_iter().zip(&k.columns) {
            let name = if col.name.is_empty() {
                "key"
            } else {
                &col.name
            };
            parts.push(Part::Label(name.to_string(), tc));
        }
    }
    let columns = cells::all_columns(value, Side::Value);
    for (i, (tc, col)) in columns.into_iter().zip(&value.columns).enumerate() {
        if Some(i) == slots_col || is_padding(&col.name) {
            continue;
        }
        if is_number(&col.leaf) {
            parts.push(Part::Number(col.name.clone(), i));
        } else if matches!(col.leaf, Leaf::Str { .. } | Leaf::Enum { .. }) {
            parts.push(Part::Label(col.name.clone(), tc));
        }
    }
    parts
}

/// `pad`, `__pad1`, `reserved`: layout, not data.
fn is_padding(name: &str) -> bool {
    let name = name.trim_start_matches('_');
    name.starts_with("pad") || name.starts_with("reserved")
}

/// The columns or labels a tool asked for: value integers shown as numbers
/// are numbers (named by their field), everything else a label named by
/// its header (`SYSCALL` → `syscall`) or, without one, by its field.
fn spec_parts(specs: &[ColumnSpec], value: &Plan, key: Option<&Plan>) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for spec in specs {
        let mut tc = cells::resolve(spec, value, key)?;
        tc.width = 0;
        let field = spec.field.strip_prefix("key.").unwrap_or(&spec.field);
        if let Source::Field {
            side: Side::Value,
            index,
            render,
        } = &tc.source
        {
            let numeric_render = matches!(
                render,
                None | Some(Render::Plain | Render::Scaled { .. } | Render::Duration(_))
            );
            if is_number(&value.columns[*index].leaf) && numeric_render {
                parts.push(Part::Number(field.to_string(), *index));
                continue;
            }
        }
        // Derived cells (a percentage of the total) are no label.
        if matches!(tc.source, Source::Custom(_)) {
            continue;
        }
        let name = match spec.header.as_deref() {
            Some(header) if !header.is_empty() => header.to_ascii_lowercase(),
            _ => field.to_string(),
        };
        parts.push(Part::Label(name, tc));
    }
    Ok(parts)
}
