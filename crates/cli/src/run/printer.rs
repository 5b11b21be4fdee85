//! Turns what a running session produces (events, lost records, printk
//! lines, map contents) into output lines through bpfkit-output.

use anyhow::{Context, Result};
use bpfkit_object::{Object, map_type};
use bpfkit_output::{
    EventFormatter, FormatOptions, MapView, Mode, Sink, SnapshotOptions, WriteSink, records,
    render_map, sum_per_cpu,
};
use bpfkit_runtime::{EventHandler, Maps};
use std::collections::HashMap;
use std::io::StdoutLock;
use std::ops::ControlFlow;

/// Output settings shared by every event and map of a run.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    pub mode: Mode,
    pub time: bool,
    pub top: Option<usize>,
    pub clear: bool,
    /// Table columns for events (built-in tools choose them).
    pub event_format: Option<FormatOptions>,
}

pub struct Printer<'o> {
    object: &'o Object,
    opts: PrintOptions,
    formatters: HashMap<String, EventFormatter>,
    out: WriteSink<StdoutLock<'static>>,
    /// The first output error (a closed pipe): the run stops on it.
    failed: Option<anyhow::Error>,
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
            out: WriteSink::new(std::io::stdout().lock()),
            failed: None,
        })
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
        for def in &self.object.maps {
            if map_type::is_event_stream(def.map_type) {
                continue;
            }
            let Some(value_ty) = def.value_type else {
                continue;
            };
            let snapshot = maps.snapshot(&def.name)?;
            let mut entries = Vec::with_capacity(snapshot.entries.len());
            for (key, value) in &snapshot.entries {
                let value = if snapshot.per_cpu {
                    let slots: Vec<&[u8]> = snapshot.cpu_values(value).collect();
                    sum_per_cpu(&self.object.btf, value_ty, &slots)?
                } else {
                    value.clone()
                };
                // Arrays have every index; untouched (all-zero) ones say nothing.
                if is_array(def.map_type) && value.iter().all(|&b| b == 0) {
                    continue;
                }
                entries.push((key.clone(), value));
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

fn is_array(t: u32) -> bool {
    t == map_type::ARRAY || t == map_type::PERCPU_ARRAY
}

impl EventHandler for Printer<'_> {
    fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()> {
        let Some(formatter) = self.formatters.get_mut(map) else {
            return ControlFlow::Continue(());
        };
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
        let result = self.print_maps(maps, clear);
        self.record(result)
    }
}
