//! Events (ring/perf buffer records) as table rows or JSON lines.

use crate::cells::{self, Align, CustomCell, Record, Side, Source, TableColumn};
use crate::clock::WallClock;
use crate::plan::{Plan, RenderCtx};
use crate::semantic::Render;
use crate::{Result, Sink, json};
use bpfkit_btf::{Btf, TypeId};
use std::io::Write as _;
use std::time::Instant;

/// Output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// libbpf-tools-like columns with a header line.
    #[default]
    Table,
    /// One JSON object per line.
    Json,
    /// Each event as `field: value` lines followed by an empty line.
    Detailed,
}

/// How events of one type are printed.
#[derive(Debug, Clone)]
pub struct FormatOptions {
    pub mode: Mode,
    /// The map the events come from, for the JSON envelope.
    pub map_name: String,
    /// A leading `TIME` column with the local time of printing (`-T`); in
    /// JSON, `"time":"HH:MM:SS","timestamp":UNIX_SECONDS` members.
    pub time: bool,
    /// A leading `TIME(s)` column with seconds since the formatter was
    /// created (`-t`); in JSON, an `"elapsed"` member (seconds).
    pub elapsed: bool,
    /// Print the table header before the first row.
    pub header: bool,
    /// Show uids as user names (reads `/etc/passwd` once).
    pub resolve_users: bool,
    /// Table columns (their render overrides apply to the table only).
    pub table: TableSpec,
    /// Render overrides by field name, for every mode (JSON included).
    pub renders: Vec<(String, Render)>,
    /// Byte offsets of the record that the program fills in network byte
    /// order whatever the member's type (a `__u16 dport` copied from the
    /// kernel's `__be16 skc_dport`): port fields there are swapped.
    pub network_order_offsets: Vec<usize>,
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
            network_order_offsets: Vec::new(),
        }
    }
}

/// Which columns a table shows, in which order, under which headers.
/// `columns: None` shows every field in declaration order.
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    pub columns: Option<Vec<ColumnSpec>>,
}

/// One table column: a field (flattened member name; in map tables `key`
/// or `key.NAME` for the key) with optional header, width, alignment and
/// render overrides, or a caller-computed cell.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub field: String,
    pub header: Option<String>,
    pub width: Option<usize>,
    pub align: Align,
    pub render: Option<Render>,
    pub custom: Option<CustomCell>,
    /// A custom column's member in JSON events (after `data`): its key,
    /// and whether the text the cell computes is JSON itself (else it is
    /// written as a string).
    pub json: Option<(String, bool)>,
    /// The JSON member's own cell, when JSON wants other text than the
    /// table (a stack: frames one a line under the row in the table, an
    /// array of frame names in JSON); `None` writes the table's cell.
    pub json_cell: Option<CustomCell>,
}

impl ColumnSpec {
    pub fn new(field: &str) -> ColumnSpec {
        ColumnSpec {
            field: field.to_string(),
            header: None,
            width: None,
            align: Align::Left,
            render: None,
            custom: None,
            json: None,
            json_cell: None,
        }
    }

    /// A custom column also written into JSON events as `"key":"TEXT"`
    /// (`raw`: the cell computes JSON, written as it is).
    pub fn json(mut self, key: &str, raw: bool) -> Self {
        self.json = Some((key.to_string(), raw));
        self
    }

    /// A column written into JSON events as `"key":JSON`, where `f`
    /// computes the JSON (the table keeps the column's own cell).
    pub fn json_with(
        mut self,
        key: &str,
        f: impl Fn(&Record, &mut crate::CellText) + Send + Sync + 'static,
    ) -> Self {
        self.json = Some((key.to_string(), true));
        self.json_cell = Some(CustomCell(std::sync::Arc::new(f)));
        self
    }

    /// A column whose text `f` computes from the record.
    pub fn custom(
        header: &str,
        f: impl Fn(&Record, &mut crate::CellText) + Send + Sync + 'static,
    ) -> ColumnSpec {
        ColumnSpec {
            custom: Some(CustomCell(std::sync::Arc::new(f))),
            ..ColumnSpec::new(header).header(header)
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

    pub fn right(mut self) -> Self {
        self.align = Align::Right;
        self
    }

    pub fn render(mut self, render: Render) -> Self {
        self.render = Some(render);
        self
    }
}

/// Formats the records of one BTF type. Build it once per event type; the
/// per-record path reads bytes straight into a reused line buffer.
pub struct EventFormatter {
    plan: Plan,
    table: Vec<TableColumn>,
    /// Detailed mode's rows, built once: the padded `HEADER: ` label and
    /// the column without width or alignment (empty in other modes).
    detailed: Vec<(Vec<u8>, TableColumn)>,
    mode: Mode,
    time: bool,
    elapsed: bool,
    header_pending: bool,
    ctx: RenderCtx,
    line: Vec<u8>,
    json_prefix: Vec<u8>,
    /// JSON: the fields the table shows decoded (a state, signal or errno
    /// name for a number), as `"decoded":{FIELD:TEXT}` next to `data`.
    decoded: Vec<Decoded>,
    /// JSON: custom columns written as members (`ColumnSpec::json`): the
    /// `,"key":` prefix, whether the text is JSON, and the cell.
    json_cells: Vec<(Vec<u8>, bool, CustomCell)>,
    start: Instant,
}

/// A field whose table cell names its number: its JSON key (`"field":`),
/// its plan column and the table's render.
struct Decoded {
    json_key: Vec<u8>,
    index: usize,
    render: Render,
}

/// The table's columns that show a value field's number as a name: by the
/// column's render, or for a column that shows the number (sigsnoop's SIG
/// without `-n`) by the field's own naming render. JSON `data` keeps the
/// numbers. A table of names that are all the same (tcpstates' `->`)
/// decorates, not decodes.
fn decoded_fields(table: &[TableColumn], plan: &Plan) -> Vec<Decoded> {
    let names_a_number = |render: Render| match render {
        Render::Names(names) => names.iter().any(|n| *n != names[0]),
        Render::Errno | Render::ErrnoName | Render::Signal | Render::Syscall | Render::Disk => true,
        _ => false,
    };
    let mut decoded: Vec<Decoded> = Vec::new();
    for tc in table {
        let Source::Field {
            side: Side::Value,
            index,
            render,
        } = tc.source
        else {
            continue;
        };
        let col = &plan.columns[index];
        let Some(render) = [render, Some(col.render)]
            .into_iter()
            .flatten()
            .find(|&r| names_a_number(r))
        else {
            continue;
        };
        if decoded.iter().any(|d| d.index == index) {
            continue;
        }
        let mut json_key = Vec::new();
        json::write_str(&mut json_key, col.name.as_bytes());
        json_key.push(b':');
        decoded.push(Decoded {
            json_key,
            index,
            render,
        });
    }
    decoded
}

impl EventFormatter {
    pub fn new(btf: &Btf, ty: TypeId, opts: &FormatOptions) -> Result<EventFormatter> {
        let mut plan = Plan::new(btf, ty)?;
        for col in &mut plan.columns {
            if col.port_order_open && opts.network_order_offsets.contains(&col.offset) {
                col.render = Render::Port { network: true };
            }
        }
        for (field, render) in &opts.renders {
            let i = plan.column_index(field)?;
            cells::check_render(&plan.columns[i], *render)?;
            plan.columns[i].render = *render;
        }
        let table = match &opts.table.columns {
            Some(specs) => specs
                .iter()
                .map(|s| cells::resolve(s, &plan, None))
                .collect::<Result<_>>()?,
            None => cells::all_columns(&plan, Side::Value),
        };
        let mut json_prefix = b"{\"type\":\"event\",\"map\":".to_vec();
        json::write_str(&mut json_prefix, opts.map_name.as_bytes());
        let detailed = match opts.mode {
            Mode::Detailed => detailed_rows(&table),
            Mode::Table | Mode::Json => Vec::new(),
        };
        let decoded = match opts.mode {
            Mode::Json => decoded_fields(&table, &plan),
            Mode::Table | Mode::Detailed => Vec::new(),
        };
        let json_cells = opts
            .table
            .columns
            .iter()
            .flatten()
            .filter_map(|spec| {
                let (key, raw) = spec.json.as_ref()?;
                let mut prefix = b",".to_vec();
                json::write_str(&mut prefix, key.as_bytes());
                prefix.push(b':');
                let cell = spec.json_cell.as_ref().or(spec.custom.as_ref())?;
                Some((prefix, *raw, cell.clone()))
            })
            .collect();
        Ok(EventFormatter {
            decoded,
            json_cells,
            plan,
            table,
            detailed,
            mode: opts.mode,
            time: opts.time,
            elapsed: opts.elapsed,
            header_pending: opts.header && opts.mode == Mode::Table,
            ctx: RenderCtx::new(opts.resolve_users),
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

    /// The raw bytes of field `field` in `bytes` (a `char[]` with its NULs,
    /// an integer in target byte order), for filters on decoded events.
    pub fn field_bytes<'b>(&self, bytes: &'b [u8], field: &str) -> Option<&'b [u8]> {
        let col = self.plan.columns.iter().find(|c| c.name == field)?;
        crate::plan::column_bytes(col, bytes)
    }

    /// The field that starts at byte `offset` of the record.
    pub fn field_at(&self, offset: usize) -> Option<&str> {
        let col = self.plan.columns.iter().find(|c| c.offset == offset)?;
        Some(&col.name)
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
                self.write_json_times(&mut line);
                line.extend_from_slice(b",\"data\":");
                self.plan.write_json_object(bytes, &mut line);
                self.write_json_decoded(bytes, &mut line);
                self.write_json_cells(bytes, &mut line);
                line.extend_from_slice(b"}\n");
            }
            Mode::Table => {
                self.write_cells(bytes, &mut line, true);
                line.push(b'\n');
            }
            Mode::Detailed => self.write_detailed(bytes, &mut line),
        }
        self.line = line;
        Ok(&self.line)
    }

    /// Appends the table row of one record (no newline) to `line`, after
    /// what it holds: no cell reads or changes the bytes before its own
    /// start, so callers may build a line from several parts.
    pub fn append_row(&mut self, bytes: &[u8], line: &mut Vec<u8>) -> Result<()> {
        self.plan.check_len(bytes)?;
        self.write_cells(bytes, line, true);
        Ok(())
    }

    /// The record's `data` object (or bare value for scalar types) as JSON.
    pub fn write_json_data(&self, bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.plan.check_len(bytes)?;
        self.plan.write_json_object(bytes, out);
        Ok(())
    }

    /// `,"decoded":{...}` (see [`decoded_fields`]): the names the table
    /// gives this event's numbers. A number with no name (errno 0, a signal
    /// beyond the table) is left out; no name at all, no member.
    fn write_json_decoded(&mut self, bytes: &[u8], line: &mut Vec<u8>) {
        let start = line.len();
        let mut text = Vec::new();
        for d in &self.decoded {
            text.clear();
            let col = &self.plan.columns[d.index];
            self.plan
                .write_text_as(col, d.render, bytes, &mut self.ctx, &mut text);
            let number = std::str::from_utf8(&text).is_ok_and(|t| t.parse::<i128>().is_ok());
            if text.is_empty() || number {
                continue;
            }
            line.extend_from_slice(if line.len() == start {
                b",\"decoded\":{"
            } else {
                b","
            });
            line.extend_from_slice(&d.json_key);
            json::write_str(line, &text);
        }
        if line.len() > start {
            line.push(b'}');
        }
    }

    /// The members of `ColumnSpec::json` columns, computed as their cells.
    fn write_json_cells(&self, bytes: &[u8], line: &mut Vec<u8>) {
        let record = Record {
            value: (&self.plan, bytes),
            key: None,
        };
        let mut text = Vec::new();
        for (prefix, raw, cell) in &self.json_cells {
            text.clear();
            (cell.0)(&record, &mut cells::CellText::new(&mut text));
            line.extend_from_slice(prefix);
            if *raw {
                line.extend_from_slice(&text);
            } else {
                json::write_str(line, &text);
            }
        }
    }

    /// The `-T` / `-t` members of a JSON event, before its `data`.
    fn write_json_times(&mut self, line: &mut Vec<u8>) {
        if self.time {
            self.ctx.clock.write_json_now(line);
        }
        if self.elapsed {
            let secs = self.start.elapsed().as_secs_f64();
            // Writing to a Vec cannot fail; no String per event.
            let _ = write!(line, ",\"elapsed\":{secs:.6}");
        }
    }

    /// The table header line (newline included).
    pub fn header_line(&self) -> String {
        let mut cells: Vec<(&str, usize, Align)> = Vec::new();
        if self.time {
            cells.push(("TIME", 8, Align::Left));
        }
        if self.elapsed {
            cells.push(("TIME(s)", 8, Align::Left));
        }
        cells.extend(
            self.table
                .iter()
                .map(|c| (c.header.as_str(), c.width, c.align)),
        );
        let mut line = Vec::new();
        for (i, (text, width, align)) in cells.iter().enumerate() {
            cells::push_cell(
                &mut line,
                text.as_bytes(),
                *width,
                *align,
                i + 1 == cells.len(),
            );
        }
        // A last column with no header (frames under the row) leaves no
        // trailing space.
        while line.last() == Some(&b' ') {
            line.pop();
        }
        line.push(b'\n');
        String::from_utf8_lossy(&line).into_owned()
    }

    /// `field: value` lines, then an empty line.
    fn write_detailed(&mut self, bytes: &[u8], line: &mut Vec<u8>) {
        let record = Record {
            value: (&self.plan, bytes),
            key: None,
        };
        for (label, column) in &self.detailed {
            line.extend_from_slice(label);
            cells::write_cell(column, &record, &mut self.ctx, line, true);
            line.push(b'\n');
        }
        line.push(b'\n');
    }

    /// Appends the row's cells (no newline). `last_unpadded`: the last cell
    /// gets neither padding nor a separator.
    pub(crate) fn write_cells(&mut self, bytes: &[u8], line: &mut Vec<u8>, last_unpadded: bool) {
        let extra = self.time as usize + self.elapsed as usize;
        let total = extra + self.table.len();
        let row_start = line.len();
        let mut n = 0;
        if self.time {
            let hms = self.ctx.clock.now_hms();
            n += 1;
            cells::push_cell(line, &hms, 8, Align::Left, last_unpadded && n == total);
        }
        if self.elapsed {
            let secs = self.start.elapsed().as_secs_f64();
            n += 1;
            let start = line.len();
            let _ = write!(line, "{secs:.3}");
            cells::align(line, start, 8, Align::Left, last_unpadded && n == total);
        }
        let record = Record {
            value: (&self.plan, bytes),
            key: None,
        };
        for tc in &self.table {
            n += 1;
            let start = line.len();
            cells::write_cell(
                tc,
                &record,
                &mut self.ctx,
                line,
                last_unpadded && n == total,
            );
            // A cell that goes under the row (stack frames) needs no
            // separator before it: the row ends without a trailing space.
            if line.get(start) == Some(&b'\n') && start > row_start && line[start - 1] == b' ' {
                line.remove(start - 1);
            }
        }
    }
}

/// Detailed mode's rows: each column's `HEADER:` label padded so that the
/// values line up, and the column itself unpadded and left-aligned.
fn detailed_rows(table: &[TableColumn]) -> Vec<(Vec<u8>, TableColumn)> {
    let width = table
        .iter()
        .map(|c| c.header.chars().count())
        .max()
        .unwrap_or(0);
    table
        .iter()
        .map(|tc| {
            let mut label = tc.header.as_bytes().to_vec();
            label.push(b':');
            let pad = width.saturating_sub(tc.header.len());
            label.extend(std::iter::repeat_n(b' ', pad + 1));
            let bare = TableColumn {
                width: 0,
                align: Align::Left,
                ..tc.clone()
            };
            (label, bare)
        })
        .collect()
}
