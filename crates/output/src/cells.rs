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
/// sums of fields, argument lists with a count member...). It appends the
/// cell text to the buffer.
#[derive(Clone)]
pub struct CustomCell(pub Arc<CellFn>);

/// The function behind a [`CustomCell`].
pub type CellFn = dyn Fn(&Record, &mut Vec<u8>) + Send + Sync;

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
    match &tc.source {
        Source::Field {
            side,
            index,
            render,
        } => {
            let (plan, bytes) = match side {
                Side::Key => match record.key {
                    Some(k) => k,
                    None => return,
                },
                Side::Value => record.value,
            };
            let col = &plan.columns[*index];
            plan.write_text_as(col, render.unwrap_or(col.render), bytes, ctx, line);
        }
        Source::Custom(f) => (f.0)(record, line),
    }
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
pub(crate) fn align(line: &mut Vec<u8>, start: usize, width: usize, align: Align, last: bool) {
    let written =
        std::str::from_utf8(&line[start..]).map_or(line.len() - start, |s| s.chars().count());
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
