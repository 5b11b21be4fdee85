//! One served target (an object, a source or a built-in tool): loaded and
//! run on its own thread, which counts events; its result maps are read by
//! fd from the scraping thread.

use crate::run::printer::{
    EventFilter, MapOutput, PrintOptions, event_formatters, is_array, is_result_map,
};
use anyhow::{Context, Result, anyhow};
use bpfkit_metrics::{MapMetrics, sanitize_name};
use bpfkit_object::Object;
use bpfkit_output::{DecodedMap, EventFormatter, MapView, SnapshotOptions};
use bpfkit_runtime::{EventHandler, ExitReason, RunOptions, Session, StopHandle};
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

/// A target as given on the command line: `runqlat -m`, `x.bpf.o -p 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetArgs {
    pub target: String,
    pub args: Vec<String>,
}

/// Events and losses per event map, counted by the target's run loop.
#[derive(Debug, Default)]
pub struct Counters {
    pub events: Mutex<BTreeMap<String, u64>>,
    pub lost: Mutex<BTreeMap<String, u64>>,
}

/// A result map, read through its own fd.
pub struct MapSource {
    pub name: String,
    fd: OwnedFd,
    key_ty: Option<bpfkit_btf::TypeId>,
    value_ty: bpfkit_btf::TypeId,
    array: bool,
    snapshot: SnapshotOptions,
    pub metrics: MapMetrics,
}

/// A loaded, running target.
pub struct Target {
    /// The name in labels and metric names: the tool, or the object's
    /// file name without `.bpf.o`/`.bpf.c`.
    pub name: String,
    pub object: Arc<Object>,
    pub maps: Vec<MapSource>,
    pub counters: Arc<Counters>,
    pub program_ids: Vec<u32>,
    stop: StopHandle,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
}

/// What the target thread hands over once loaded.
struct Ready {
    name: String,
    object: Arc<Object>,
    maps: Vec<MapSource>,
    counters: Arc<Counters>,
    program_ids: Vec<u32>,
    stop: StopHandle,
}

impl Target {
    /// Loads `args` on a new thread and returns once its programs are
    /// attached (or it failed to load).
    pub fn start(args: TargetArgs, max_series: usize) -> Result<Target> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let stopping_run = stopping.clone();
        let what = args.target.clone();
        let thread = std::thread::Builder::new()
            .name(format!("serve {what}"))
            .spawn(move || run_target(&args, max_series, &ready_tx, &stopping_run))
            .context("starting a target thread")?;
        let ready = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                return Err(match thread.join() {
                    Ok(Err(e)) => e,
                    _ => anyhow!("serving {what}: the target thread ended before loading"),
                });
            }
        };
        Ok(Target {
            name: ready.name,
            object: ready.object,
            maps: ready.maps,
            counters: ready.counters,
            program_ids: ready.program_ids,
            stop: ready.stop,
            stopping,
            thread: Some(thread),
        })
    }

    /// Gives the target another name (a second `runqlat` is `runqlat_2`),
    /// in its labels and metric names.
    pub fn rename(&mut self, name: String) {
        let (old, new) = (format!("bpfkit_{}", self.name), format!("bpfkit_{name}"));
        for map in &mut self.maps {
            if let Some(rest) = map.metrics.base.strip_prefix(&old) {
                map.metrics.base = format!("{new}{rest}");
            }
        }
        self.name = name;
    }

    /// Every result map decoded, with its metric naming.
    pub fn read_maps(&self) -> Result<Vec<(&MapSource, DecodedMap)>> {
        self.maps
            .iter()
            .map(|source| {
                let decoded = source
                    .read(&self.object)
                    .with_context(|| format!("reading map '{}' of {}", source.name, self.name))?;
                Ok((source, decoded))
            })
            .collect()
    }

    /// Detaches everything: the run loop ends and the session drops.
    pub fn stop(mut self) -> Result<()> {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> Result<()> {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.stop();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(anyhow!("the thread serving {} panicked", self.name)),
            None => Ok(()),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // Errors were reported by `stop`; a drop on an error path only
        // needs the kernel clean.
        let _ = self.stop_thread();
    }
}

impl MapSource {
    fn read(&self, object: &Object) -> Result<DecodedMap> {
        let fd = self.fd.as_fd();
        let info = bpfkit_sys::map_info(fd)?;
        let per_cpu = bpfkit_sys::is_percpu(info.map_type);
        let mut entries = Vec::new();
        for entry in bpfkit_sys::map_entries(fd)? {
            let value = if per_cpu {
                let slots: Vec<&[u8]> =
                    bpfkit_sys::percpu_slots(&entry.value, info.value_size as usize).collect();
                bpfkit_output::sum_per_cpu(&object.btf, self.value_ty, &slots)?
            } else {
                entry.value
            };
            // Arrays have every index; untouched (all-zero) ones say nothing.
            if self.array && value.iter().all(|&b| b == 0) {
                continue;
            }
            entries.push((entry.key, value));
        }
        let view = MapView {
            name: &self.name,
            key_ty: self.key_ty,
            value_ty: self.value_ty,
        };
        Ok(bpfkit_output::decode_map(
            &object.btf,
            &view,
            &entries,
            &self.snapshot,
        )?)
    }
}

/// The target thread: load, hand over, count events until stopped.
fn run_target(
    args: &TargetArgs,
    max_series: usize,
    ready_tx: &mpsc::Sender<Result<Ready>>,
    stopping: &AtomicBool,
) -> Result<()> {
    let loaded = load(args).and_then(|(name, object, session, print)| {
        let filter = EventsFilter::new(&object, &print)?;
        let ready = describe(name, object, &session, &print, max_series)?;
        Ok((ready, session, filter))
    });
    let (ready, mut session, filter) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            let _ = ready_tx.send(Err(e));
            return Ok(());
        }
    };
    let mut handler = Counting {
        counters: ready.counters.clone(),
        filter,
    };
    if ready_tx.send(Ok(ready)).is_err() {
        return Ok(());
    }
    let opts = RunOptions {
        handle_signals: false,
        printk: false,
        ..Default::default()
    };
    while !stopping.load(Ordering::SeqCst) {
        let summary = session.run(&opts, &mut handler)?;
        if summary.exit == ExitReason::NothingToDo {
            // No event buffers: the programs only fill maps.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(session);
    Ok(())
}

type Loaded = (String, Object, Session, PrintOptions);

fn load(args: &TargetArgs) -> Result<Loaded> {
    if let Some(spec) = crate::tool::named(&args.target) {
        let tool = crate::tool::load(spec, &args.args)
            .with_context(|| format!("loading tool {}", spec.name))?;
        return Ok((spec.name.to_string(), tool.object, tool.session, tool.print));
    }
    let (object, flags) = crate::run::prepare_object(&args.target, &args.args)?;
    let session =
        crate::run::load(&object, &flags).with_context(|| format!("loading {}", args.target))?;
    Ok((
        object_name(&args.target),
        object,
        session,
        PrintOptions::default(),
    ))
}

/// `examples/execcount.bpf.o` → `execcount`.
fn object_name(target: &str) -> String {
    let file = std::path::Path::new(target)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(target);
    let stem = [".bpf.o", ".bpf.c", ".o", ".c"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
        .unwrap_or(file);
    sanitize_name(stem)
}

/// The maps a target exports: a tool's summary map under the tool's own
/// name (`bpfkit_runqlat_seconds`), or every result map `bpfkit run`
/// would print (`bpfkit_OBJECT_MAP_...`).
fn describe(
    name: String,
    object: Object,
    session: &Session,
    print: &PrintOptions,
    max_series: usize,
) -> Result<Ready> {
    let base = sanitize_name(&name);
    let wanted: Vec<(String, SnapshotOptions, String)> = match &print.maps {
        MapOutput::All => object
            .maps
            .iter()
            .filter(|def| is_result_map(def))
            .map(|def| {
                let metric = format!("bpfkit_{base}_{}", sanitize_name(&def.name));
                (def.name.clone(), SnapshotOptions::default(), metric)
            })
            .collect(),
        MapOutput::Only(tool_map) => vec![(
            tool_map.map.clone(),
            tool_map.snapshot.clone(),
            format!("bpfkit_{base}"),
        )],
        MapOutput::Several(sections) => sections
            .iter()
            .map(|section| {
                let map = &section.print.map;
                let metric = format!("bpfkit_{base}_{}", sanitize_name(map));
                (map.clone(), section.print.snapshot.clone(), metric)
            })
            .collect(),
        // Stack counts have no meaning as labels; event tools keep no map.
        MapOutput::Nothing | MapOutput::Stacks(_) => Vec::new(),
    };
    let maps = session.maps();
    let mut sources = Vec::new();
    for (map, snapshot, metric) in wanted {
        let Some(def) = object.maps.iter().find(|d| d.name == map) else {
            continue;
        };
        let Some(value_ty) = def.value_type else {
            continue;
        };
        let fd = maps
            .fd(&map)?
            .try_clone_to_owned()
            .with_context(|| format!("duplicating the fd of map '{map}'"))?;
        sources.push(MapSource {
            fd,
            key_ty: def.key_type,
            value_ty,
            array: is_array(def.map_type),
            snapshot,
            metrics: MapMetrics {
                base: metric,
                about: format!("map '{map}' of {name}"),
                max_series,
            },
            name: map,
        });
    }
    let counters = Arc::new(Counters::default());
    for map in session.event_maps() {
        counters
            .events
            .lock()
            .map_err(poisoned)?
            .insert(map.to_string(), 0);
        counters
            .lost
            .lock()
            .map_err(poisoned)?
            .insert(map.to_string(), 0);
    }
    Ok(Ready {
        name,
        object: Arc::new(object),
        maps: sources,
        counters,
        program_ids: session.program_ids(),
        stop: session.stop_handle(),
    })
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> anyhow::Error {
    anyhow!("a counter lock was poisoned")
}

/// A tool's user-space event filter (`-n NAME`...) with the formatters it
/// reads fields through: serve counts the events the tool would show.
struct EventsFilter {
    filter: EventFilter,
    formatters: HashMap<String, EventFormatter>,
}

impl EventsFilter {
    fn new(object: &Object, print: &PrintOptions) -> Result<Option<EventsFilter>> {
        let Some(filter) = print.event_filter.clone() else {
            return Ok(None);
        };
        Ok(Some(EventsFilter {
            filter,
            formatters: event_formatters(object, print)?,
        }))
    }

    fn accepts(&self, map: &str, data: &[u8]) -> bool {
        self.formatters
            .get(map)
            .is_none_or(|formatter| (self.filter.0)(formatter, data))
    }
}

/// Counts what the run loop delivers; events themselves are not kept.
struct Counting {
    counters: Arc<Counters>,
    filter: Option<EventsFilter>,
}

impl Counting {
    fn add(counts: &Mutex<BTreeMap<String, u64>>, map: &str, n: u64) {
        if let Ok(mut counts) = counts.lock() {
            let count = counts.entry(map.to_string()).or_default();
            *count = count.wrapping_add(n);
        }
    }
}

impl EventHandler for Counting {
    fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()> {
        if self.filter.as_ref().is_none_or(|f| f.accepts(map, data)) {
            Counting::add(&self.counters.events, map, 1);
        }
        ControlFlow::Continue(())
    }

    fn on_lost(&mut self, map: &str, _cpu: u32, count: u64) {
        Counting::add(&self.counters.lost, map, count);
    }

    fn on_dropped(&mut self, map: &str, count: u64) {
        Counting::add(&self.counters.lost, map, count);
    }
}

#[cfg(test)]
mod tests {
    use super::object_name;

    #[test]
    fn object_names_drop_directories_and_extensions() {
        assert_eq!(object_name("examples/execcount.bpf.o"), "execcount");
        assert_eq!(object_name("/tmp/my-prog.bpf.c"), "my_prog");
        assert_eq!(object_name("thing.o"), "thing");
    }
}
