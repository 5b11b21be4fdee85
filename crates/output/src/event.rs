//! Events (ring/perf buffer records) as table rows or JSON lines.

use crate::clock::WallClock;
use crate::plan::{Column, Leaf, Plan, RenderCtx};
use crate::semantic::{self, Render};
use crate::users::Users;
use crate::{Error, Result, Sink, json};
use bpfkit_btf::{Btf, TypeId};
use std::time::Instant;

/// Output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// libbpf-tools-like columns with a header line.
    #[default]
    Table,
    /// One JSON object per line.
    Json,
}

/// How events of one type are printed.
#[derive(Debug, Clone)]
pub struct FormatOptions {
    pub mode: Mode,
    /// The map the events come from, for the JSON envelope.
    pub map_name: String,
    /// A leading `TIME` column with the local time of printing (`-T`).
    pub time: bool,
    /// A leading `TIME(s)` column with seconds since the formatter was
    /// created (`-t`).
    pub elapsed: bool,
    /// Print the table header before the first row.
    pub header: bool,
    /// Show uids as user names (reads `/etc/passwd` once).
    pub resolve_users: bool,
    /// Table columns; also carries per-field render overrides.
    pub table: TableSpec,
    /// Render overrides by field name, applied in both modes.
    pub renders: Vec<(String, Render)>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            mode: Mode::Table,
            map_name: "events".into(),
            time: false,
            elapsed: false,
            header: true,
            resolve_users: false,
            table: TableSpec::default(),
            renders: Vec::new(),
        }
    }
}

/// Which columns a table shows, in which order, under which headers.
/// `columns: None` shows every field in declaration order.
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    pub columns: Option<Vec<ColumnSpec>>,
}

/// One table column: a field (flattened member name) and optional header,
/// width and render overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub field: String,
    pub header: Option<String>,
    pub width: Option<usize>,
    pub render: Option<Render>,
}

impl ColumnSpec {
    pub fn new(field: &str) -> ColumnSpec {
        ColumnSpec {
            field: field.to_string(),
            header: None,
            width: None,
            render: None,
        }
    }

    pub fn header(mut self, header: &str) -> Self {
        self.header = Some(header.to_string());
        self
    }

    pub fn width(mut self, width: usize) -> Self {
        self.width = Some(width);
        self
    }

    pub fn render(mut self, render: Render) -> Self {
        self.render = Some(render);
        self
    }
}

struct TableColumn {
    index: usize,
    header: String,
    width: usize,
}

/// Formats the records of one BTF type. Build it once per event type; the
/// per-record path reads bytes straight into a reused line buffer.
pub struct EventFormatter {
    plan: Plan,
    table: Vec<TableColumn>,
    mode: Mode,
    time: bool,
    elapsed: bool,
    header_pending: bool,
    ctx: RenderCtx,
    line: Vec<u8>,
    json_prefix: Vec<u8>,
    start: Instant,
}

impl EventFormatter {
    pub fn new(btf: &Btf, ty: TypeId, opts: &FormatOptions) -> Result<EventFormatter> {
        let mut plan = Plan::new(btf, ty)?;
        let overrides = opts.renders.iter().map(|(f, r)| (f.as_str(), *r)).chain(
            opts.table
                .columns
                .iter()
                .flatten()
                .filter_map(|c| Some((c.field.as_str(), c.render?))),
        );
        for (field, render) in overrides {
            let i = plan.column_index(field)?;
            let col = &mut plan.columns[i];
            if !render_fits(col, render) {
                return Err(Error::Unformattable(
                    ty,
                    format!("field '{field}' cannot be shown as {render:?}"),
                ));
            }
            col.render = render;
        }
        let table = table_columns(&plan, &opts.table)?;
        let mut json_prefix = b"{\"type\":\"event\",\"map\":".to_vec();
        json::write_str(&mut json_prefix, opts.map_name.as_bytes());
        json_prefix.extend_from_slice(b",\"data\":");
        Ok(EventFormatter {
            plan,
            table,
            mode: opts.mode,
            time: opts.time,
            elapsed: opts.elapsed,
            header_pending: opts.header && opts.mode == Mode::Table,
            ctx: RenderCtx {
                clock: WallClock::now(),
                users: opts.resolve_users.then(Users::load),
            },
            line: Vec::with_capacity(256),
            json_prefix,
            start: Instant::now(),
        })
    }

    /// Replaces the clock offsets (tests, replays of recorded events).
    pub fn set_clock(&mut self, clock: WallClock) {
        self.ctx.clock = clock;
    }

    /// Field names in declaration order (anonymous members flattened).
    pub fn fields(&self) -> Vec<&str> {
        self.plan.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// Size in bytes of one record.
    pub fn record_size(&self) -> usize {
        self.plan.size
    }

    /// Writes the table header now (libbpf-tools print it before the
    /// first event arrives); no-op in JSON mode or once printed.
    pub fn write_header(&mut self, out: &mut dyn Sink) -> Result<()> {
        if std::mem::take(&mut self.header_pending) {
            out.write_all(self.header_line().as_bytes())?;
            out.flush()?;
        }
        Ok(())
    }

    /// Formats one record and writes it (with the table header before the
    /// first row) to `out`, then flushes `out`.
    pub fn write_event(&mut self, bytes: &[u8], out: &mut dyn Sink) -> Result<()> {
        self.write_header(out)?;
        self.format_event(bytes)?;
        out.write_all(&self.line)?;
        out.flush()?;
        Ok(())
    }

    /// Formats one record into the internal buffer and returns the line
    /// (newline included). Never prints the header.
    pub fn format_event(&mut self, bytes: &[u8]) -> Result<&[u8]> {
        self.plan.check_len(bytes)?;
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        match self.mode {
            Mode::Json => {
                line.extend_from_slice(&self.json_prefix);
                self.plan.write_json_object(bytes, &mut line);
                line.extend_from_slice(b"}\n");
            }
            Mode::Table => {
                self.write_cells(bytes, &mut line, true);
                line.push(b'\n');
            }
        }
        self.line = line;
        Ok(&self.line)
    }

    /// The record's `data` object (or bare value for scalar types) as JSON.
    pub fn write_json_data(&self, bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.plan.check_len(bytes)?;
        self.plan.write_json_object(bytes, out);
        Ok(())
    }

    /// The table header line (newline included).
    pub fn header_line(&self) -> String {
        let mut cells: Vec<(String, usize)> = Vec::new();
        if self.time {
            cells.push(("TIME".into(), 8));
        }
        if self.elapsed {
            cells.push(("TIME(s)".into(), 8));
        }
        cells.extend(self.table.iter().map(|c| (c.header.clone(), c.width)));
        let mut line = Vec::new();
        for (i, (text, width)) in cells.iter().enumerate() {
            push_cell(&mut line, text.as_bytes(), *width, i + 1 == cells.len());
        }
        line.push(b'\n');
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Appends the row's cells (no newline). `last_unpadded`: the last cell
    /// gets neither padding nor a separator.
    pub(crate) fn write_cells(&mut self, bytes: &[u8], line: &mut Vec<u8>, last_unpadded: bool) {
        let extra = self.time as usize + self.elapsed as usize;
        let total = extra + self.table.len();
        let mut n = 0;
        if self.time {
            let hms = self.ctx.clock.now_hms();
            n += 1;
            push_cell(line, &hms, 8, last_unpadded && n == total);
        }
        if self.elapsed {
            let secs = self.start.elapsed().as_secs_f64();
            n += 1;
            push_cell(
                line,
                format!("{secs:.3}").as_bytes(),
                8,
                last_unpadded && n == total,
            );
        }
        for tc in &self.table {
            n += 1;
            let start = line.len();
            let col = &self.plan.columns[tc.index];
            self.plan.write_text(col, bytes, &mut self.ctx, line);
            pad_from(line, start, tc.width, last_unpadded && n == total);
        }
    }

    /// The table header cells' text and widths (for map tables).
    pub(crate) fn header_cells(&self) -> Vec<(String, usize)> {
        self.table
            .iter()
            .map(|c| (c.header.clone(), c.width))
            .collect()
    }

    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// Appends `text` left-aligned in `width`, then a separating space unless
/// it is the last cell.
pub(crate) fn push_cell(line: &mut Vec<u8>, text: &[u8], width: usize, last: bool) {
    let start = line.len();
    line.extend_from_slice(text);
    pad_from(line, start, width, last);
}

fn pad_from(line: &mut Vec<u8>, start: usize, width: usize, last: bool) {
    if last {
        return;
    }
    let written =
        std::str::from_utf8(&line[start..]).map_or(line.len() - start, |s| s.chars().count());
    for _ in written..width {
        line.push(b' ');
    }
    line.push(b' ');
}

fn render_fits(col: &Column, render: Render) -> bool {
    let shape = match col.leaf {
        Leaf::Int { size, signed } => semantic::Shape::Int { size, signed },
        Leaf::Bits { bits, signed, .. } => semantic::Shape::Int {
            size: bits.div_ceil(8) as usize,
            signed,
        },
        Leaf::Str { len } => semantic::Shape::CharArray { len },
        Leaf::Bytes { len } => semantic::Shape::Bytes { len },
        Leaf::IntArray { elem_size, len, .. } => semantic::Shape::IntArray { elem_size, len },
        _ => semantic::Shape::Other,
    };
    let len = match shape {
        semantic::Shape::Int { size, .. } => Some(size),
        semantic::Shape::CharArray { len } | semantic::Shape::Bytes { len } => Some(len),
        semantic::Shape::IntArray { elem_size, len } => Some(elem_size * len),
        semantic::Shape::Other => None,
    };
    // Errno on an unsigned int is a deliberate choice by the caller.
    render == Render::Errno && matches!(shape, semantic::Shape::Int { .. })
        || semantic::fits(render, shape, len)
}

fn table_columns(plan: &Plan, spec: &TableSpec) -> Result<Vec<TableColumn>> {
    let picked: Vec<(usize, Option<&ColumnSpec>)> = match &spec.columns {
        Some(cols) => cols
            .iter()
            .map(|c| Ok((plan.column_index(&c.field)?, Some(c))))
            .collect::<Result<_>>()?,
        None => (0..plan.columns.len()).map(|i| (i, None)).collect(),
    };
    Ok(picked
        .into_iter()
        .map(|(index, spec)| {
            let col = &plan.columns[index];
            let header = spec
                .and_then(|s| s.header.clone())
                .unwrap_or_else(|| default_header(&col.name));
            let width = spec
                .and_then(|s| s.width)
                .unwrap_or_else(|| default_width(col).max(header.chars().count()));
            TableColumn {
                index,
                header,
                width,
            }
        })
        .collect())
}

fn default_header(name: &str) -> String {
    if name.is_empty() {
        "VALUE".into()
    } else {
        name.to_uppercase()
    }
}

/// Column widths in the spirit of libbpf-tools' printf formats.
fn default_width(col: &Column) -> usize {
    match col.render {
        Render::Pid => 7,
        Render::Comm => 16,
        Render::Uid => 6,
        Render::Errno => 7,
        Render::Signal => 9,
        Render::Syscall => 16,
        Render::Ipv4 => 15,
        Render::Ipv6 | Render::IpByFamily => 25,
        Render::Port { .. } => 5,
        Render::Family => 8,
        Render::Duration(_) => 9,
        Render::Timestamp { .. } => 15,
        Render::Hex => 18,
        _ => match col.leaf {
            Leaf::Int { size, .. } => match size {
                1 => 3,
                2 => 5,
                4 => 7,
                8 => 10,
                _ => 20,
            },
            Leaf::Bits { .. } | Leaf::Bool => 5,
            Leaf::Str { len } => len.min(16),
            Leaf::Enum { .. } => 10,
            Leaf::Float { .. } => 10,
            Leaf::Ptr => 18,
            _ => 0,
        },
    }
}
