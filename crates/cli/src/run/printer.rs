//! Turns what a running session produces (events, lost records, printk
//! lines, map contents) into output lines through bpfkit-output.

use anyhow::{Context, Result};
use bpfkit_object::{Object, map_type};
use bpfkit_output::{
    EventFormatter, FormatOptions, MapView, Mode, Sink, SnapshotOptions, records, render_map,
    sum_per_cpu,
};
use bpfkit_runtime::{EventHandler, Maps};
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

/// Output settings shared by every event and map of a run.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    pub mode: Mode,
    pub time: bool,
    pub top: Option<usize>,
    pub clear: bool,
    /// Table columns for events (built-in tools choose them).
    pub event_format: Option<FormatOptions>,
    /// Which maps are printed, and how.
    pub maps: MapOutput,
    /// Events it rejects are not printed (built-in tools' `-n NAME`).
    pub event_filter: Option<EventFilter>,
    /// Stop after this many interval prints.
    pub intervals: Option<u64>,
    /// Print the table header before the first event arrives, as
    /// libbpf-tools do, so that a quiet run still shows its columns.
    pub header_first: bool,
    /// Said on stderr once every program is attached (the "Tracing..." line
    /// scripts wait for before they start the workload).
    pub ready_message: Option<&'static str>,
}

/// Which maps a run prints at each interval and at the end.
#[derive(Debug, Clone, Default)]
pub enum MapOutput {
    /// Every non-empty user map, then the globals (`bpfkit run`).
    #[default]
    All,
    /// None (event tools).
    Nothing,
    /// One map, the way a built-in tool shows it.
    Only(Box<MapPrint>),
    /// Counted stack traces, symbolized (profile, offcputime, memleak).
    Stacks(Box<crate::tool::stacks::StackPrint>),
}

/// How a built-in tool shows its summary map.
#[derive(Debug, Clone)]
pub struct MapPrint {
    pub map: String,
    pub snapshot: SnapshotOptions,
    /// A wall-clock `HH:MM:SS` line before each print (`-T`).
    pub time_line: bool,
}

/// Decides from a raw record whether an event is shown.
#[derive(Clone)]
pub struct EventFilter(pub Arc<FilterFn>);

/// The function behind an [`EventFilter`]: the event's formatter (to find
/// fields) and its raw bytes.
pub type FilterFn = dyn Fn(&EventFormatter, &[u8]) -> bool + Send + Sync;

impl fmt::Debug for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventFilter(..)")
    }
}

pub struct Printer<'o> {
    object: &'o Object,
    opts: PrintOptions,
    formatters: HashMap<String, EventFormatter>,
    out: BatchedStdout,
    /// The first output error (a closed pipe): the run stops on it.
    failed: Option<anyhow::Error>,
    intervals_done: u64,
}

impl<'o> Printer<'o> {
    /// Prepares a formatter per event map; fails, before anything is
    /// loaded, when an event map's record type cannot be found.
    pub fn new(object: &'o Object, opts: PrintOptions) -> Result<Printer<'o>> {
        let mut formatters = HashMap::new();
        for map in object
            .maps
            .iter()
            .filter(|m| map_type::is_event_stream(m.map_type))
        {
            let Some(ty) = map.event_type else {
                anyhow::bail!(
                    "cannot tell what records map '{}' carries; add this line to its definition:\n    {}",
                    map.name,
                    bpfkit_object::event_type_hint(map)
                );
            };
            let mut fmt = opts.event_format.clone().unwrap_or_default();
            fmt.mode = opts.mode;
            fmt.time |= opts.time;
            fmt.map_name = map.name.clone();
            let formatter = EventFormatter::new(&object.btf, ty, &fmt)
                .with_context(|| format!("events of map '{}'", map.name))?;
            formatters.insert(map.name.clone(), formatter);
        }
        Ok(Printer {
            object,
            opts,
            formatters,
            out: BatchedStdout::default(),
            failed: None,
            intervals_done: 0,
        })
    }

    /// Writes the event table headers now (see [`PrintOptions::header_first`]).
    pub fn write_headers(&mut self) -> Result<()> {
        if !self.opts.header_first {
            return Ok(());
        }
        for formatter in self.formatters.values_mut() {
            formatter.write_header(&mut self.out)?;
        }
        Ok(())
    }

    /// Whether the run ended because the interval count was reached (the
    /// last interval print is then the final one).
    pub fn intervals_exhausted(&self) -> bool {
        self.opts
            .intervals
            .is_some_and(|n| self.intervals_done >= n)
    }

    /// Prints the maps at the end of a run, as `--clear`/intervals left them.
    pub fn print_final(&mut self, maps: &Maps<'_>) -> Result<()> {
        if self.intervals_exhausted() {
            return Ok(());
        }
        self.print_maps(maps, false)?;
        if matches!(self.opts.maps, MapOutput::All) {
            self.print_globals(maps)?;
        }
        Ok(())
    }

    /// Writes out everything printed so far.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush_now().context("writing output")
    }

    pub fn sink(&mut self) -> &mut dyn Sink {
        &mut self.out
    }

    /// The first output error of the run, if any.
    pub fn take_error(&mut self) -> Option<anyhow::Error> {
        self.failed.take()
    }

    fn record(&mut self, result: Result<()>) -> ControlFlow<()> {
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failed.get_or_insert(e);
                ControlFlow::Break(())
            }
        }
    }

    /// Prints every user map that is not an event buffer (non-empty ones),
    /// and clears them afterwards when `--clear` is on.
    pub fn print_maps(&mut self, maps: &Maps<'_>, clear: bool) -> Result<()> {
        match &self.opts.maps {
            MapOutput::All => {}
            MapOutput::Nothing => return Ok(()),
            MapOutput::Only(print) => {
                let print = print.clone();
                return self.print_tool_map(maps, &print, clear);
            }
            MapOutput::Stacks(print) => {
                let print = print.clone();
                let text = crate::tool::stacks::render(self.object, maps, &print, self.opts.mode)?;
                self.out.write_all(text.as_bytes())?;
                self.out.flush()?;
                if clear {
                    maps.clear(print.output.map)?;
                }
                return Ok(());
            }
        }
        for def in &self.object.maps {
            if map_type::is_event_stream(def.map_type) || is_scratch(&def.name) {
                continue;
            }
            let Some(value_ty) = def.value_type else {
                continue;
            };
            let mut entries = self.read_map(maps, &def.name, value_ty)?;
            // Arrays have every index; untouched (all-zero) ones say nothing.
            if is_array(def.map_type) {
                entries.retain(|(_, value)| value.iter().any(|&b| b != 0));
            }
            if entries.is_empty() {
                continue;
            }
            if self.opts.mode == Mode::Table {
                self.out
                    .write_all(format!("\n{}:\n", def.name).as_bytes())?;
            }
            let view = MapView {
                name: &def.name,
                key_ty: def.key_type,
                value_ty,
            };
            let opts = SnapshotOptions {
                mode: self.opts.mode,
                top: self.opts.top,
                ..Default::default()
            };
            render_map(&self.object.btf, &view, &entries, &opts, &mut self.out)
                .with_context(|| format!("printing map '{}'", def.name))?;
            if clear {
                maps.clear(&def.name)?;
            }
        }
        Ok(())
    }

    fn read_map(
        &self,
        maps: &Maps<'_>,
        name: &str,
        value_ty: bpfkit_btf::TypeId,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        read_map(self.object, maps, name, value_ty)
    }

    /// A built-in tool's summary: one map, its columns or histogram labels.
    fn print_tool_map(&mut self, maps: &Maps<'_>, print: &MapPrint, clear: bool) -> Result<()> {
        let def = self
            .object
            .maps
            .iter()
            .find(|m| m.name == print.map)
            .with_context(|| format!("the object has no map '{}'", print.map))?;
        let value_ty = def
            .value_type
            .with_context(|| format!("map '{}' has no BTF value type", def.name))?;
        let entries = self.read_map(maps, &def.name, value_ty)?;
        if self.opts.mode != Mode::Json {
            // libbpf-tools start every summary with an empty line.
            self.out.write_all(b"\n")?;
            if print.time_line {
                let hms = bpfkit_output::clock::WallClock::now().now_hms();
                self.out.write_all(&hms)?;
                self.out.write_all(b"\n")?;
            }
        }
        let view = MapView {
            name: &def.name,
            key_ty: def.key_type,
            value_ty,
        };
        let mut opts = print.snapshot.clone();
        opts.mode = self.opts.mode;
        render_map(&self.object.btf, &view, &entries, &opts, &mut self.out)
            .with_context(|| format!("printing map '{}'", def.name))?;
        if clear {
            maps.clear(&def.name)?;
        }
        Ok(())
    }

    /// Prints `.bss`/`.data` globals (counters) once, at exit.
    pub fn print_globals(&mut self, maps: &Maps<'_>) -> Result<()> {
        let values = maps.globals()?;
        if values.is_empty() {
            return Ok(());
        }
        if self.opts.mode == Mode::Table {
            self.out.write_all(b"\nglobals:\n")?;
        }
        for (info, bytes) in values {
            let Some(global) = self.object.globals.iter().find(|g| g.name == info.name) else {
                continue;
            };
            let value = bpfkit_btf::value::decode(&self.object.btf, global.ty, &bytes)?;
            if self.opts.mode == Mode::Json {
                let mut fields = serde_json::Map::new();
                fields.insert("name".into(), info.name.clone().into());
                fields.insert("value".into(), bpfkit_btf::value::to_json(&value));
                records::write_record("global", &fields, &mut self.out)?;
            } else {
                self.out
                    .write_all(format!("{} = {value}\n", info.name).as_bytes())?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

/// The entries of map `name`, per-CPU values summed.
pub fn read_map(
    object: &Object,
    maps: &Maps<'_>,
    name: &str,
    value_ty: bpfkit_btf::TypeId,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let snapshot = maps.snapshot(name)?;
    let mut entries = Vec::with_capacity(snapshot.entries.len());
    for (key, value) in &snapshot.entries {
        let value = if snapshot.per_cpu {
            let slots: Vec<&[u8]> = snapshot.cpu_values(value).collect();
            sum_per_cpu(&object.btf, value_ty, &slots)?
        } else {
            value.clone()
        };
        entries.push((key.clone(), value));
    }
    Ok(entries)
}

/// Maps that only carry state between two hooks (the start timestamp of a
/// wakeup, an irq, an exec): libbpf tools keep them to themselves, and their
/// contents at exit are half-finished work, not results.
fn is_scratch(map_name: &str) -> bool {
    map_name.contains("start") || map_name.ends_with("_ts")
}

fn is_array(t: u32) -> bool {
    t == map_type::ARRAY || t == map_type::PERCPU_ARRAY
}

/// Stdout for a run: formatters flush after every line, which here only
/// marks the end of a line; the real write happens once per batch of events
/// ([`EventHandler::on_batch_end`]) or when the run ends, so a burst of
/// events costs one `write(2)` instead of one per event.
struct BatchedStdout {
    inner: std::io::BufWriter<std::io::Stdout>,
}

impl Default for BatchedStdout {
    fn default() -> Self {
        BatchedStdout {
            inner: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        }
    }
}

impl Sink for BatchedStdout {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.inner, bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BatchedStdout {
    fn flush_now(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut self.inner)
    }
}

impl EventHandler for Printer<'_> {
    fn on_batch_end(&mut self) {
        let result = self.out.flush_now();
        let _ = self.record(result.map_err(anyhow::Error::from));
    }

    fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()> {
        let Some(formatter) = self.formatters.get_mut(map) else {
            return ControlFlow::Continue(());
        };
        if let Some(filter) = &self.opts.event_filter
            && !(filter.0)(formatter, data)
        {
            return ControlFlow::Continue(());
        }
        let result = formatter
            .write_event(data, &mut self.out)
            .map_err(anyhow::Error::from);
        self.record(result)
    }

    fn on_lost(&mut self, map: &str, cpu: u32, count: u64) {
        let result = records::write_lost(self.opts.mode, map, Some(cpu), count, &mut self.out);
        let _ = self.record(result.map_err(anyhow::Error::from));
    }

    fn on_printk(&mut self, line: &str) {
        let result = records::write_printk(self.opts.mode, line, &mut self.out);
        let _ = self.record(result.map_err(anyhow::Error::from));
    }

    fn on_interval(&mut self, maps: &Maps<'_>) -> ControlFlow<()> {
        let clear = self.opts.clear;
        let result = self
            .print_maps(maps, clear)
            .and_then(|()| self.out.flush_now().context("writing output"));
        self.intervals_done += 1;
        if self.intervals_exhausted() {
            let _ = self.record(result);
            return ControlFlow::Break(());
        }
        self.record(result)
    }
}
