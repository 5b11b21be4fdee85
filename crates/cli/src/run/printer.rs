//! Turns what a running session produces (events, lost records, printk
//! lines, map contents) into output lines through bpfkit-output.

use crate::out::StoppableStdout;
use anyhow::{Context, Result};
use bpfkit_object::{DropSource, Object, map_type};
use bpfkit_output::clock::WallClock;
use bpfkit_output::records::Timestamped;
use bpfkit_output::{
    EventFormatter, FormatOptions, MapView, Mode, Sink, SnapshotOptions, records, render_map,
    sum_per_cpu,
};
use bpfkit_runtime::{EventHandler, Maps, StopHandle};
use bpfkit_tools::SentencePart;
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

/// Output settings shared by every event and map of a run.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    pub mode: Mode,
    /// `-T`: a TIME column in tables; in JSON, `time`/`timestamp` members
    /// in every record (events, maps, histograms, lost, printk, exit).
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
    /// Several maps in turn, each under its heading (argdist's
    /// specifiers); the first one's time line is the print's.
    Several(Vec<Section>),
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
    /// The time line as `[HH:MM:SS]` (libbpf-tools syscount).
    pub brackets: bool,
    /// Lines from the object's globals before the map, `{NAME}` being the
    /// global NAME (libbpf-tools readahead's unused/total pages).
    pub summary: Vec<&'static str>,
}

/// One map of [`MapOutput::Several`].
#[derive(Debug, Clone)]
pub struct Section {
    /// A line before the map's table (not in JSON).
    pub heading: Option<String>,
    pub print: MapPrint,
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
    /// For the `-T` members of non-event JSON records.
    clock: WallClock,
}

impl<'o> Printer<'o> {
    /// Prepares a formatter per event map; fails, before anything is
    /// loaded, when an event map's record type cannot be found.
    pub fn new(object: &'o Object, opts: PrintOptions) -> Result<Printer<'o>> {
        let formatters = event_formatters(object, &opts)?;
        Ok(Printer {
            object,
            opts,
            formatters,
            out: BatchedStdout::default(),
            failed: None,
            intervals_done: 0,
            clock: WallClock::now(),
        })
    }

    /// For `-v`: the event fields that some program paths fill in network
    /// order and others not; they print as their type says.
    pub fn ambiguous_orders(&self) -> Vec<String> {
        let mut out = Vec::new();
        for map in &self.object.maps {
            let Some(formatter) = self.formatters.get(&map.name) else {
                continue;
            };
            for stored in map
                .stored_orders
                .iter()
                .filter(|s| s.width == 2 && s.ambiguous())
            {
                if let Some(field) = formatter.field_at(stored.offset as usize) {
                    out.push(format!(
                        "events of map '{}': field '{field}' holds network byte order on some paths only; printed as its type says",
                        map.name
                    ));
                }
            }
        }
        out
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
        let mut text = Vec::new();
        self.render_maps(maps, false, &mut text)?;
        if matches!(self.opts.maps, MapOutput::All) {
            self.render_globals(maps, &mut text)?;
        }
        self.write_records(|out| out.write_all(&text))
    }

    /// Writes out everything printed so far.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush_now().context("writing output")
    }

    /// Runs `write` on the output; with `-T` in JSON mode every record it
    /// writes gets the time members (one time for all of them).
    pub fn write_records(
        &mut self,
        write: impl FnOnce(&mut dyn Sink) -> std::io::Result<()>,
    ) -> Result<()> {
        if !(self.opts.time && self.opts.mode == Mode::Json) {
            return write(&mut self.out).context("writing output");
        }
        let mut stamped = Timestamped::new(&mut self.out, &mut self.clock);
        write(&mut stamped)
            .and_then(|()| stamped.flush())
            .context("writing output")
    }

    /// Output that waits for room in stdout gives way once `stop` is
    /// requested (a signal during the run).
    pub fn give_way_to(&mut self, stop: StopHandle) {
        self.out.inner.get_mut().give_way_to(stop);
    }

    /// Output that waits for room in stdout gives way at `at` (the run's
    /// deadline; `None`: never).
    pub fn give_up_writing_at(&mut self, at: Option<Instant>) {
        self.out.inner.get_mut().give_up_at(at);
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
        let mut text = Vec::new();
        self.render_maps(maps, clear, &mut text)?;
        self.write_records(|out| out.write_all(&text))
    }

    /// What [`Printer::print_maps`] prints, into `out`.
    fn render_maps(&self, maps: &Maps<'_>, clear: bool, out: &mut Vec<u8>) -> Result<()> {
        match &self.opts.maps {
            MapOutput::All => {}
            MapOutput::Nothing => return Ok(()),
            MapOutput::Only(print) => return self.render_tool_map(maps, print, None, clear, out),
            MapOutput::Several(sections) => {
                for section in sections {
                    let heading = section.heading.as_deref();
                    self.render_tool_map(maps, &section.print, heading, clear, out)?;
                }
                return Ok(());
            }
            MapOutput::Stacks(print) => {
                let text = crate::tool::stacks::render(self.object, maps, print, self.opts.mode)?;
                out.extend_from_slice(text.as_bytes());
                if clear {
                    maps.clear(print.output.map)?;
                }
                return Ok(());
            }
        }
        for def in &self.object.maps {
            if !is_result_map(def) {
                continue;
            }
            let Some(value_ty) = def.value_type else {
                continue;
            };
            let mut entries = read_map(self.object, maps, &def.name, value_ty)?;
            // Arrays have every index; untouched (all-zero) ones say nothing.
            if is_array(def.map_type) {
                entries.retain(|(_, value)| value.iter().any(|&b| b != 0));
            }
            if entries.is_empty() {
                continue;
            }
            if self.opts.mode == Mode::Table {
                out.extend_from_slice(format!("\n{}:\n", def.name).as_bytes());
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
            render_map(&self.object.btf, &view, &entries, &opts, out)
                .with_context(|| format!("printing map '{}'", def.name))?;
            // A program's drop counter is reported as lost events, from
            // the count it has; clearing it would hide drops.
            if clear && !self.is_drop_counter(&def.name) {
                maps.clear(&def.name)?;
            }
        }
        Ok(())
    }

    fn is_drop_counter(&self, map: &str) -> bool {
        self.object
            .drop_counters
            .iter()
            .any(|c| matches!(&c.source, DropSource::Map { name } if name == map))
    }

    /// A built-in tool's summary: one map, its columns or histogram labels,
    /// under `heading`.
    fn render_tool_map(
        &self,
        maps: &Maps<'_>,
        print: &MapPrint,
        heading: Option<&str>,
        clear: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let def = self
            .object
            .maps
            .iter()
            .find(|m| m.name == print.map)
            .with_context(|| format!("the object has no map '{}'", print.map))?;
        let value_ty = def
            .value_type
            .with_context(|| format!("map '{}' has no BTF value type", def.name))?;
        let entries = read_map(self.object, maps, &def.name, value_ty)?;
        if self.opts.mode != Mode::Json {
            // libbpf-tools start every summary with an empty line.
            out.push(b'\n');
            if print.time_line {
                let hms = WallClock::now().now_hms();
                if print.brackets {
                    out.push(b'[');
                    out.extend_from_slice(&hms);
                    out.push(b']');
                } else {
                    out.extend_from_slice(&hms);
                }
                out.push(b'\n');
            }
            if let Some(heading) = heading {
                out.extend_from_slice(heading.as_bytes());
                out.push(b'\n');
            }
        }
        self.render_summary(maps, &print.summary, out)?;
        let view = MapView {
            name: &def.name,
            key_ty: def.key_type,
            value_ty,
        };
        let mut opts = print.snapshot.clone();
        opts.mode = self.opts.mode;
        render_map(&self.object.btf, &view, &entries, &opts, out)
            .with_context(|| format!("printing map '{}'", def.name))?;
        if clear {
            maps.clear(&def.name)?;
        }
        Ok(())
    }

    /// A tool's summary lines, their `{NAME}`s filled from the globals; in
    /// JSON one `global` record per global they name.
    fn render_summary(&self, maps: &Maps<'_>, lines: &[&str], out: &mut Vec<u8>) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut values = HashMap::new();
        for (info, bytes) in maps.globals()? {
            let Some(global) = self.object.globals.iter().find(|g| g.name == info.name) else {
                continue;
            };
            let value = bpfkit_btf::value::decode(&self.object.btf, global.ty, &bytes)?;
            values.insert(info.name, value);
        }
        for line in lines {
            for part in bpfkit_tools::sentence_parts(line) {
                match part {
                    SentencePart::Field(name) if self.opts.mode == Mode::Json => {
                        let value = values
                            .get(name)
                            .with_context(|| format!("the object has no global '{name}'"))?;
                        let mut fields = serde_json::Map::new();
                        fields.insert("name".into(), name.into());
                        fields.insert("value".into(), bpfkit_btf::value::to_json(value));
                        records::write_record("global", &fields, out)?;
                    }
                    _ if self.opts.mode == Mode::Json => {}
                    SentencePart::Field(name) => {
                        let value = values
                            .get(name)
                            .with_context(|| format!("the object has no global '{name}'"))?;
                        out.extend_from_slice(value.to_string().as_bytes());
                    }
                    SentencePart::Text(text) | SentencePart::File(text) => {
                        out.extend_from_slice(text.as_bytes())
                    }
                }
            }
            if self.opts.mode != Mode::Json {
                out.push(b'\n');
            }
        }
        Ok(())
    }

    /// `.bss`/`.data` globals (counters), printed once, at exit.
    fn render_globals(&self, maps: &Maps<'_>, out: &mut Vec<u8>) -> Result<()> {
        let values = maps.globals()?;
        if values.is_empty() {
            return Ok(());
        }
        if self.opts.mode == Mode::Table {
            out.extend_from_slice(b"\nglobals:\n");
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
                records::write_record("global", &fields, out)?;
            } else {
                out.extend_from_slice(format!("{} = {value}\n", info.name).as_bytes());
            }
        }
        Ok(())
    }
}

/// A formatter per event map; fails, before anything is loaded, when an
/// event map's record type cannot be found.
pub(crate) fn event_formatters(
    object: &Object,
    opts: &PrintOptions,
) -> Result<HashMap<String, EventFormatter>> {
    // Enum fields carry this kernel's values: name them as it does.
    bpfkit_output::use_kernel_enums(|| bpfkit_btf::view::BtfView::vmlinux().ok());
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
        fmt.network_order_offsets = network_order_offsets(map);
        let formatter = EventFormatter::new(&object.btf, ty, &fmt)
            .with_context(|| format!("events of map '{}'", map.name))?;
        formatters.insert(map.name.clone(), formatter);
    }
    Ok(formatters)
}

/// The entries of map `name`, per-CPU values summed.
pub fn read_map(
    object: &Object,
    maps: &Maps<'_>,
    name: &str,
    value_ty: bpfkit_btf::TypeId,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let snapshot = maps.snapshot(name)?;
    if snapshot.is_full() {
        warn_full_once(&snapshot);
    }
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

/// Says once per map that it filled up: the kernel refused the programs'
/// later inserts, so counts are missing (offcputime on a busy machine).
fn warn_full_once(snapshot: &bpfkit_runtime::MapSnapshot) {
    static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned.contains(&snapshot.name) {
        return;
    }
    warned.push(snapshot.name.clone());
    eprintln!(
        "bpfkit: warning: map '{}' is full ({} entries): later entries were dropped; \
         a larger one: --map-size {}=N",
        snapshot.name, snapshot.max_entries, snapshot.name
    );
}

/// Whether `bpfkit run` shows map `def` (and `serve` exports it): not an
/// event buffer, scratch state, libbpf's own, or a map of kernel objects
/// (prog and cgroup arrays...), which has no contents to show.
pub(crate) fn is_result_map(def: &bpfkit_object::MapDef) -> bool {
    !(map_type::is_event_stream(def.map_type)
        || is_scratch(&def.name)
        || is_libbpf_internal(&def.name)
        || !bpfkit_runtime::can_list(def.map_type))
}

/// Maps that only carry state between two hooks (the start timestamp of a
/// wakeup, an irq, an exec): libbpf tools keep them to themselves, and their
/// contents at exit are half-finished work, not results.
/// The 2-byte places of `map`'s records that every program path storing
/// them fills in network order (ports copied from `__be16` kernel fields).
fn network_order_offsets(map: &bpfkit_object::MapDef) -> Vec<usize> {
    map.stored_orders
        .iter()
        .filter(|s| s.width == 2 && s.network())
        .map(|s| s.offset as usize)
        .collect()
}

fn is_scratch(map_name: &str) -> bool {
    map_name.contains("start") || map_name.ends_with("_ts")
}

/// Maps libbpf's own BPF headers define for the loader (`usdt.bpf.h`'s
/// `__bpf_usdt_specs`, `__bpf_usdt_ip_to_spec_id`): not the program's output.
fn is_libbpf_internal(map_name: &str) -> bool {
    map_name.starts_with("__bpf_")
}

pub(crate) fn is_array(t: u32) -> bool {
    t == map_type::ARRAY || t == map_type::PERCPU_ARRAY
}

/// Stdout for a run: formatters flush after every line, which here only
/// marks the end of a line; the real write happens once per batch of events
/// ([`EventHandler::on_batch_end`]) or when the run ends, so a burst of
/// events costs one `write(2)` instead of one per event.
struct BatchedStdout {
    inner: std::io::BufWriter<StoppableStdout>,
}

impl Default for BatchedStdout {
    fn default() -> Self {
        BatchedStdout {
            inner: std::io::BufWriter::with_capacity(64 * 1024, StoppableStdout::default()),
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
    fn on_batch_end(&mut self) -> ControlFlow<()> {
        if self.failed.is_some() {
            return ControlFlow::Break(());
        }
        let result = self.out.flush_now().context("writing output");
        self.record(result)
    }

    fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()> {
        // After an output error nothing more can be shown: stop reading.
        if self.failed.is_some() {
            return ControlFlow::Break(());
        }
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
            .context("writing output");
        self.record(result)
    }

    fn on_lost(&mut self, map: &str, cpu: u32, count: u64) {
        let mode = self.opts.mode;
        let result =
            self.write_records(|out| records::write_lost(mode, map, Some(cpu), count, out));
        let _ = self.record(result);
    }

    fn on_dropped(&mut self, map: &str, count: u64) {
        let mode = self.opts.mode;
        let result = self.write_records(|out| records::write_lost(mode, map, None, count, out));
        let _ = self.record(result);
    }

    fn on_printk(&mut self, line: &str) {
        let mode = self.opts.mode;
        let result = self.write_records(|out| records::write_printk(mode, line, out));
        let _ = self.record(result);
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
