//! Table cells shared by event rows and map tables: which field a column
//! shows (or which closure computes it), its header, width and alignment.

use crate::event::ColumnSpec;
use crate::plan::{Column, Leaf, Plan, RenderCtx};
use crate::semantic::Render;
use crate::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// Cell alignment inside its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Right,
}

/// A column computed by the caller from the whole record (percentages,
/// sums of fields, argument lists with a count member...). It writes the
/// cell text into a [`CellText`].
#[derive(Clone)]
pub struct CustomCell(pub Arc<CellFn>);

/// The function behind a [`CustomCell`].
pub type CellFn = dyn Fn(&Record, &mut CellText) + Send + Sync;

/// The text of one custom cell while it is computed. It is the cell's own
/// buffer, copied into the line afterwards, so a cell can append and trim
/// only its own bytes: a cell that trimmed the shared line once ate the
/// previous column's separator and made the padding slice before its start.
pub struct CellText<'a>(&'a mut Vec<u8>);

impl CellText<'_> {
    pub(crate) fn new(buffer: &mut Vec<u8>) -> CellText<'_> {
        CellText(buffer)
    }

    pub fn push(&mut self, byte: u8) {
        self.0.push(byte);
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// The cell's text so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.0
    }

    /// Removes trailing `byte`s; stops at the start of the cell.
    pub fn trim_end(&mut self, byte: u8) {
        while self.0.last() == Some(&byte) {
            self.0.pop();
        }
    }

    /// The cell's own buffer, for helpers that append to a `Vec<u8>`
    /// ([`crate::semantic::write_arg_list`]); it holds nothing but this cell.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.0
    }
}

impl std::io::Write for CellText<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for CustomCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomCell(..)")
    }
}

/// Read access to one record for [`CustomCell`]s. Field names are the
/// flattened member names of the event or map value; in map tables `key`
/// is a scalar key and `key.NAME` a member of the key struct.
pub struct Record<'a> {
    pub(crate) value: (&'a Plan, &'a [u8]),
    pub(crate) key: Option<(&'a Plan, &'a [u8])>,
}

impl<'a> Record<'a> {
    fn locate(&self, field: &str) -> Option<(&'a Plan, &'a [u8], &'a Column)> {
        let (plan, bytes, name) = match field.strip_prefix("key") {
            Some(rest) if self.key.is_some() && (rest.is_empty() || rest.starts_with('.')) => {
                let (p, b) = self.key?;
                (p, b, rest.strip_prefix('.').unwrap_or(""))
            }
            _ => (self.value.0, self.value.1, field),
        };
        let col = plan.columns.iter().find(|c| c.name == name)?;
        Some((plan, bytes, col))
    }

    /// The numeric value of an integer, enum, bool or pointer field.
    pub fn num(&self, field: &str) -> Option<i128> {
        let (plan, bytes, col) = self.locate(field)?;
        plan.num_of(col, bytes).map(|n| n.i128())
    }

    /// The raw bytes of a field (a `char[]` with its NULs, an array...).
    pub fn raw(&self, field: &str) -> Option<&'a [u8]> {
        let (_, bytes, col) = self.locate(field)?;
        crate::plan::column_bytes(col, bytes)
    }

    /// The whole record's bytes (the map value's, in map tables).
    pub fn bytes(&self) -> &'a [u8] {
        self.value.1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A field, shown with its own render or the column's override.
    Field {
        side: Side,
        index: usize,
        render: Option<Render>,
    },
    Custom(CustomCell),
}

#[derive(Debug, Clone)]
pub(crate) struct TableColumn {
    pub source: Source,
    pub header: String,
    pub width: usize,
    pub align: Align,
}

/// Resolves a column spec against the value plan (and the key plan, for
/// map tables: `key`, `key.NAME`).
pub(crate) fn resolve(spec: &ColumnSpec, value: &Plan, key: Option<&Plan>) -> Result<TableColumn> {
    let header = spec.header.clone();
    if let Some(custom) = &spec.custom {
        let header = header.unwrap_or_else(|| default_header(&spec.field));
        return Ok(TableColumn {
            source: Source::Custom(custom.clone()),
            width: spec.width.unwrap_or(header.chars().count()),
            header,
            align: spec.align,
        });
    }
    let (side, plan, name) = match (spec.field.strip_prefix("key"), key) {
        (Some(rest), Some(k)) if rest.is_empty() || rest.starts_with('.') => {
            (Side::Key, k, rest.strip_prefix('.').unwrap_or(""))
        }
        _ => (Side::Value, value, spec.field.as_str()),
    };
    let index = plan.column_index(name)?;
    let col = &plan.columns[index];
    if let Some(r) = spec.render {
        check_render(col, r)?;
    }
    let header = header.unwrap_or_else(|| match (side, name) {
        (Side::Key, "") => "KEY".into(),
        _ => default_header(name),
    });
    let render = spec.render.unwrap_or(col.render);
    let width = spec
        .width
        .unwrap_or_else(|| default_width(col, render).max(header.chars().count()));
    Ok(TableColumn {
        source: Source::Field {
            side,
            index,
            render: spec.render,
        },
        header,
        width,
        align: spec.align,
    })
}

/// Every column of `plan`, in declaration order.
pub(crate) fn all_columns(plan: &Plan, side: Side) -> Vec<TableColumn> {
    plan.columns
        .iter()
        .enumerate()
        .map(|(index, col)| {
            let header = match (side, col.name.as_str()) {
                (Side::Key, "") => "KEY".into(),
                (_, name) => default_header(name),
            };
            TableColumn {
                width: default_width(col, col.render).max(header.chars().count()),
                header,
                source: Source::Field {
                    side,
                    index,
                    render: None,
                },
                align: Align::Left,
            }
        })
        .collect()
}

fn default_header(name: &str) -> String {
    if name.is_empty() {
        "VALUE".into()
    } else {
        name.to_uppercase()
    }
}

/// Appends one cell: text, padded to the width unless it is the last cell.
pub(crate) fn write_cell(
    tc: &TableColumn,
    record: &Record,
    ctx: &mut RenderCtx,
    line: &mut Vec<u8>,
    last: bool,
) {
    let start = line.len();
    // Every cell is written into its own buffer and then appended: no
    // render or custom cell can reach the bytes of the cells before it.
    let mut own = std::mem::take(&mut ctx.cell);
    own.clear();
    match &tc.source {
        Source::Field {
            side,
            index,
            render,
        } => {
            let field = match side {
                Side::Key => record.key,
                Side::Value => Some(record.value),
            };
            // A key column without a key (not a map record) stays empty.
            if let Some((plan, bytes)) = field {
                let col = &plan.columns[*index];
                plan.write_text_as(col, render.unwrap_or(col.render), bytes, ctx, &mut own);
            }
        }
        Source::Custom(f) => (f.0)(record, &mut CellText(&mut own)),
    }
    line.extend_from_slice(&own);
    ctx.cell = own;
    align(line, start, tc.width, tc.align, last);
}

/// Appends a finished text cell (headers, time columns).
pub(crate) fn push_cell(
    line: &mut Vec<u8>,
    text: &[u8],
    width: usize,
    align_to: Align,
    last: bool,
) {
    let start = line.len();
    line.extend_from_slice(text);
    align(line, start, width, align_to, last);
}

/// Pads the cell that starts at `start`, then adds the column separator.
/// The last cell of a line is neither padded nor followed by a space
/// (unless right-aligned, which needs the padding in front).
/// A `start` past the end of the line (a cell that removed bytes it had
/// not written) counts as an empty cell: nothing before `start` is read or
/// moved.
pub(crate) fn align(line: &mut Vec<u8>, start: usize, width: usize, align: Align, last: bool) {
    let start = start.min(line.len());
    let cell = &line[start..];
    let written = std::str::from_utf8(cell).map_or(cell.len(), |s| s.chars().count());
    let pad = width.saturating_sub(written);
    match align {
        Align::Right => {
            line.splice(start..start, std::iter::repeat_n(b' ', pad));
        }
        Align::Left if !last => line.extend(std::iter::repeat_n(b' ', pad)),
        Align::Left => {}
    }
    if !last {
        line.push(b' ');
    }
}

/// Column widths in the spirit of libbpf-tools' printf formats.
fn default_width(col: &Column, render: Render) -> usize {
    match render {
        Render::Pid => 7,
        Render::Comm => 16,
        Render::Uid => 6,
        Render::Errno | Render::ErrnoName => 7,
        Render::Signal => 9,
        Render::Syscall => 16,
        Render::Ipv4 => 15,
        Render::Ipv6 | Render::IpByFamily => 25,
        Render::Port { .. } => 5,
        Render::Family => 8,
        Render::Duration(_) => 9,
        Render::Timestamp { .. } => 15,
        Render::Hex => 18,
        Render::Disk => 7,
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

/// An error for a render that cannot show a field's shape.
pub(crate) fn check_render(col: &Column, render: Render) -> Result<()> {
    if col.accepts(render) {
        Ok(())
    } else {
        Err(Error::BadRender {
            field: col.name.clone(),
            render: format!("{render:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_text_trims_only_its_own_bytes() {
        let mut own = b"   ".to_vec();
        let mut cell = CellText(&mut own);
        cell.trim_end(b' ');
        cell.trim_end(b' ');
        assert!(cell.as_bytes().is_empty());
    }

    #[test]
    fn align_past_the_end_pads_an_empty_cell_and_keeps_the_line() {
        let mut line = b"bash ".to_vec();
        align(&mut line, 9, 3, Align::Right, false);
        assert_eq!(line, b"bash     ");
        let mut line = b"bash ".to_vec();
        align(&mut line, 9, 3, Align::Left, false);
        assert_eq!(line, b"bash     ");
    }
}
