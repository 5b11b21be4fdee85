//! bpfkit-output: gives decoded BPF data its meaning and prints it.
//!
//! - [`EventFormatter`] turns raw ring/perf buffer records into table rows
//!   or JSON lines. The column plan is computed once per event type, so the
//!   per-event path only reads bytes and writes text into a reused buffer.
//! - [`semantic`] holds the rules that decide how a field is shown (pid,
//!   errno, IP address, duration, wall-clock time...), driven first by the
//!   typedef hints of [`hints`] and then by field names.
//! - [`hist`] prints log2 and linear histograms exactly like libbpf-tools.
//! - [`snapshot`] renders whole maps (key → value tables, per-key histograms).
//! - [`records`] writes the other JSON line types (lost, printk, attached,
//!   exit) and their text forms.
//!
//! Everything is written through a [`Sink`], which is flushed after every
//! line so that `bpfkit ... --json | jq` sees events as they happen.

mod cells;
pub mod clock;
mod event;
pub mod hints;
pub mod hist;
mod json;
pub mod names;
mod plan;
pub mod records;
pub mod semantic;
mod sink;
pub mod snapshot;
pub mod users;

pub use cells::{Align, CellFn, CellText, CustomCell, Record};
pub use event::{ColumnSpec, EventFormatter, FormatOptions, Mode, TableSpec};
pub use hist::{print_linear_hist, print_log2_hist};
pub use plan::{use_kernel_enums, write_c_string};
pub use semantic::Render;
pub use sink::{Sink, WriteSink};
pub use snapshot::{
    DecodedEntry, DecodedMap, MapView, SnapshotOptions, decode_map, render_map, sum_per_cpu,
};

use bpfkit_btf::TypeId;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("event of type '{ty}' needs {need} bytes, got {got}")]
    ShortEvent { ty: String, need: usize, got: usize },
    #[error("type [{0}] cannot be formatted: {1}")]
    Unformattable(TypeId, String),
    #[error("field '{field}' cannot be shown as {render}")]
    BadRender { field: String, render: String },
    #[error("no field '{field}' in '{ty}' (fields: {known})")]
    NoSuchField {
        field: String,
        ty: String,
        known: String,
    },
    #[error(transparent)]
    Btf(#[from] bpfkit_btf::Error),
    #[error(transparent)]
    Decode(#[from] bpfkit_btf::value::DecodeError),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How member `field` (a flattened member name, `""` for a scalar) of
/// type `ty` is shown when no render is asked for: what the typedef hints
/// and name rules chose.
pub fn default_render(btf: &bpfkit_btf::Btf, ty: TypeId, field: &str) -> Result<Render> {
    let plan = plan::Plan::new(btf, ty)?;
    let index = plan.column_index(field)?;
    Ok(plan.columns[index].render)
}
