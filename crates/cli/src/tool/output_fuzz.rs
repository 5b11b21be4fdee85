//! A bounded in-process mutation fuzzer on stable Rust (no cargo-fuzz,
//! no sanitizer build) for value decoding (`bpfkit_btf::value`) and the
//! output formatters (`EventFormatter`, `render_map`), fed the types of
//! every shipped object and every built-in tool's columns.
//!
//! `cargo test` replays the saved crashes under `fuzz/<target>/` and runs
//! each target for a fixed number of seeded iterations; with
//! `BPFKIT_FUZZ_SECS=N` each target runs for N seconds instead and prints
//! how many inputs it ran (see `fuzz/README.md`). An input that panics is
//! saved there before the test fails, so it becomes a regression input.

use super::tests::{
    MODES, analyze, check_json_lines, event_map, render_checked, snapshot_variants, tool_print,
};
use crate::run::printer::MapOutput;
use bpfkit_btf::TypeId;
use bpfkit_object::{Object, map_type};
use bpfkit_output::{EventFormatter, FormatOptions, MapView, SnapshotOptions};
use bpfkit_testkit::Rng;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Iterations per target in a plain `cargo test` run.
const DEFAULT_RUNS: u64 = 3000;
/// Largest type the fuzzer feeds (bigger kernel structs add time, not paths).
const MAX_SIZE: u64 = 1 << 14;
const SEED: u64 = 0x00f0_22ed_0c0d_e5ee;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `value::decode` + `to_json` + `Display` of any type of an object.
    Value,
    /// `EventFormatter` on any struct of an object, or a tool's columns.
    Events,
    /// `render_map` on an object's maps or a tool's summary.
    Maps,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Value => "value",
            Target::Events => "events",
            Target::Maps => "maps",
        }
    }
}

/// One thing to feed bytes to, named so that a saved input finds it again.
struct Subject {
    label: String,
    /// A shipped output (a tool's columns, an object's event or map type):
    /// fed half of the fresh inputs, and its formatter must build.
    shipped: bool,
    object: usize,
    ty: TypeId,
    key_ty: Option<TypeId>,
    format: FormatOptions,
    snapshot: SnapshotOptions,
}

/// Every shipped object (examples and tools) and the subjects per target.
struct World {
    objects: Vec<Object>,
    subjects: HashMap<&'static str, Vec<Subject>>,
    shipped: HashMap<&'static str, Vec<usize>>,
}

/// The formatters built so far, by (subject, mode); `None` for a type no
/// formatter takes.
type Formatters = HashMap<(usize, usize), Option<EventFormatter>>;

/// Loaded once for the three targets (analysis is most of their time).
fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(World::load)
}

fn repo_relative(path: &Path) -> String {
    let root = bpfkit_testkit::repo_path("");
    let root = root.canonicalize().unwrap_or(root);
    let path = path.canonicalize().unwrap_or(path.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string()
}

fn sized(object: &Object, ty: TypeId) -> bool {
    object.btf.size_of(ty).is_ok_and(|s| s > 0 && s <= MAX_SIZE)
}

impl World {
    fn load() -> World {
        let mut world = World {
            objects: Vec::new(),
            subjects: HashMap::new(),
            shipped: HashMap::new(),
        };
        for path in bpfkit_testkit::committed_objects() {
            let elf = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let object =
                bpfkit_object::analyze(&elf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            world.add_object(&repo_relative(&path), object);
        }
        for spec in bpfkit_tools::all() {
            world.add_tool(spec);
        }
        world
    }

    fn push(&mut self, target: Target, subject: Subject) {
        let subjects = self.subjects.entry(target.name()).or_default();
        if subject.shipped {
            let shipped = self.shipped.entry(target.name()).or_default();
            shipped.push(subjects.len());
        }
        subjects.push(subject);
    }

    fn add_object(&mut self, name: &str, object: Object) {
        let index = self.objects.len();
        let events: Vec<TypeId> = object.maps.iter().filter_map(|m| m.event_type).collect();
        let subject = |label: String, ty, key_ty, snapshot, shipped| Subject {
            shipped,
            label,
            object: index,
            ty,
            key_ty,
            format: FormatOptions::default(),
            snapshot,
        };
        let mut found = Vec::new();
        for (ty, t) in object.btf.iter() {
            if !sized(&object, ty) {
                continue;
            }
            found.push((
                Target::Value,
                subject(
                    format!("{name} type {ty}"),
                    ty,
                    None,
                    Default::default(),
                    false,
                ),
            ));
            if matches!(
                t.kind,
                bpfkit_btf::Kind::Struct(_) | bpfkit_btf::Kind::Union(_)
            ) {
                found.push((
                    Target::Events,
                    subject(
                        format!("{name} type {ty}"),
                        ty,
                        None,
                        Default::default(),
                        events.contains(&ty),
                    ),
                ));
            }
        }
        for map in object
            .maps
            .iter()
            .filter(|m| !map_type::is_event_stream(m.map_type))
        {
            let Some(value_ty) = map.value_type.filter(|&t| sized(&object, t)) else {
                continue;
            };
            for (n, snapshot) in snapshot_variants().into_iter().enumerate() {
                let label = format!("{name} map {} options {n}", map.name);
                found.push((
                    Target::Maps,
                    subject(label, value_ty, map.key_type, snapshot, true),
                ));
            }
        }
        self.objects.push(object);
        for (target, s) in found {
            self.push(target, s);
        }
    }

    fn add_tool(&mut self, spec: &'static bpfkit_tools::ToolSpec) {
        let index = self.objects.len();
        self.objects.push(analyze(spec));
        let object = &self.objects[index];
        let mut found = Vec::new();
        for (n, output) in spec.outputs.iter().enumerate() {
            for (given, quote) in [(false, false), (true, true)] {
                let label = format!("tool {} output {n} given {given}", spec.name);
                let print = tool_print(object, output, given, quote);
                if let Some(format) = print.event_format {
                    let (_, ty) = event_map(object);
                    found.push((
                        Target::Events,
                        Subject {
                            shipped: true,
                            label: label.clone(),
                            object: index,
                            ty,
                            key_ty: None,
                            format,
                            snapshot: Default::default(),
                        },
                    ));
                }
                if let MapOutput::Only(map_print) = print.maps {
                    let def = object.maps.iter().find(|m| m.name == map_print.map);
                    if let Some(value_ty) = def.and_then(|d| d.value_type) {
                        found.push((
                            Target::Maps,
                            Subject {
                                shipped: true,
                                label,
                                object: index,
                                ty: value_ty,
                                key_ty: def.and_then(|d| d.key_type),
                                format: FormatOptions::default(),
                                snapshot: map_print.snapshot,
                            },
                        ));
                    }
                }
            }
        }
        for (target, s) in found {
            self.push(target, s);
        }
    }

    fn subjects(&self, target: Target) -> &[Subject] {
        self.subjects.get(target.name()).map_or(&[], Vec::as_slice)
    }

    /// Indexes of the shipped subjects of `target`.
    fn shipped(&self, target: Target) -> &[usize] {
        self.shipped.get(target.name()).map_or(&[], Vec::as_slice)
    }
}

/// One fuzz input: which subject, which output mode, the bytes.
#[derive(Clone, Debug)]
struct Input {
    subject: usize,
    mode: usize,
    key: Vec<u8>,
    bytes: Vec<u8>,
}

/// Feeds `input` to `target`; panics (the finding) when something breaks.
fn run(world: &World, formatters: &mut Formatters, target: Target, input: &Input) {
    let subject = &world.subjects(target)[input.subject];
    let object = &world.objects[subject.object];
    let what = &subject.label;
    match target {
        Target::Value => {
            if let Ok(value) = bpfkit_btf::value::decode(&object.btf, subject.ty, &input.bytes) {
                let _ = value.to_string();
                let json = bpfkit_btf::value::to_json(&value);
                serde_json::to_string(&json).expect("a JSON value serializes");
            }
        }
        Target::Events => {
            let mode = MODES[input.mode % MODES.len()];
            let key = (input.subject, input.mode % MODES.len());
            let format = FormatOptions {
                mode,
                ..subject.format.clone()
            };
            // Types a formatter refuses (no members, functions...) are
            // skipped; the shipped ones must build (tcpretrans' did not).
            let formatter = formatters.entry(key).or_insert_with(|| {
                let built = EventFormatter::new(&object.btf, subject.ty, &format);
                if subject.shipped
                    && let Err(e) = &built
                {
                    panic!("{what}: {e}");
                }
                built.ok()
            });
            if let Some(f) = formatter
                && let Ok(line) = f.format_event(&input.bytes)
                && mode == bpfkit_output::Mode::Json
            {
                check_json_lines(line, what);
            }
        }
        Target::Maps => {
            let view = MapView {
                name: "fuzzed",
                key_ty: subject.key_ty,
                value_ty: subject.ty,
            };
            let opts = SnapshotOptions {
                mode: MODES[input.mode % MODES.len()],
                ..subject.snapshot.clone()
            };
            let entries = [(input.key.clone(), input.bytes.clone())];
            render_checked(object, &view, &entries, &opts, what);
        }
    }
}

fn type_size(object: &Object, ty: Option<TypeId>) -> usize {
    ty.and_then(|t| object.btf.size_of(t).ok()).unwrap_or(0) as usize
}

fn fresh(world: &World, target: Target, rng: &mut Rng) -> Input {
    let subjects = world.subjects(target);
    let shipped = world.shipped(target);
    let subject = if !shipped.is_empty() && rng.below(2) == 0 {
        shipped[rng.below(shipped.len())]
    } else {
        rng.below(subjects.len())
    };
    let s = &subjects[subject];
    let object = &world.objects[s.object];
    Input {
        subject,
        mode: rng.below(MODES.len()),
        key: rng.record(type_size(object, s.key_ty)),
        bytes: rng.record(type_size(object, Some(s.ty))),
    }
}

/// Numbers at boundaries (lengths, counts, signs, sizes).
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 63,
    u64::MAX,
    16,
    26,
    64,
];

fn mutate_bytes(bytes: &mut Vec<u8>, donor: &[u8], rng: &mut Rng) {
    let len = bytes.len();
    match rng.below(7) {
        0 if len > 0 => {
            let at = rng.below(len);
            bytes[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            bytes[at] = rng.byte();
        }
        2 if len > 0 => {
            let width = [1, 2, 4, 8][rng.below(4)];
            let at = rng.below(len);
            let value = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
            for (i, b) in value.iter().take(width).enumerate() {
                if let Some(slot) = bytes.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        3 if len > 0 => {
            let from = rng.below(len);
            let to = (from + rng.below(64) + 1).min(len);
            let fill = [0, b' ', 0xff, b'"'][rng.below(4)];
            bytes[from..to].fill(fill);
        }
        4 => bytes.truncate(rng.below(len + 1)),
        5 => bytes.extend((0..rng.below(16) + 1).map(|_| rng.byte())),
        _ if !donor.is_empty() && len > 0 => {
            let from = rng.below(donor.len());
            let n = rng.below(donor.len() - from) + 1;
            let at = rng.below(len);
            let end = (at + n).min(len);
            bytes[at..end].copy_from_slice(&donor[from..from + (end - at)]);
        }
        _ => {}
    }
}

fn mutate(mut input: Input, donor: &Input, rng: &mut Rng) -> Input {
    for _ in 0..rng.below(4) + 1 {
        if rng.below(8) == 0 {
            mutate_bytes(&mut input.key, &donor.key, rng);
        } else {
            mutate_bytes(&mut input.bytes, &donor.bytes, rng);
        }
    }
    if rng.below(16) == 0 {
        input.mode = rng.below(MODES.len());
    }
    input
}

fn corpus_dir(target: Target) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/tool/fuzz")
        .join(target.name())
}

/// A saved input: a header line `label<TAB>mode<TAB>key in hex`, then the
/// bytes.
fn encode(world: &World, target: Target, input: &Input) -> Vec<u8> {
    let label = &world.subjects(target)[input.subject].label;
    let key: String = input.key.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = format!("{label}\t{}\t{key}\n", input.mode).into_bytes();
    file.extend_from_slice(&input.bytes);
    file
}

fn decode(world: &World, target: Target, file: &[u8]) -> Option<Input> {
    let newline = file.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&file[..newline]).ok()?;
    let mut fields = header.split('\t');
    let (label, mode, key) = (fields.next()?, fields.next()?, fields.next()?);
    let subject = world
        .subjects(target)
        .iter()
        .position(|s| s.label == label)?;
    let key = (0..key.len() / 2)
        .map(|i| u8::from_str_radix(key.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(Input {
        subject,
        mode: mode.parse().ok()?,
        key,
        bytes: file[newline + 1..].to_vec(),
    })
}

/// Runs `input`; a panic saves it into the corpus and fails the test.
fn run_or_save(world: &World, formatters: &mut Formatters, target: Target, input: &Input) {
    let outcome = catch_unwind(AssertUnwindSafe(|| run(world, formatters, target, input)));
    if outcome.is_err() {
        let file = encode(world, target, input);
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        let hash = file.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let path = dir.join(format!("crash-{hash:016x}"));
        std::fs::write(&path, &file).expect("saving the crashing input");
        panic!(
            "{} crashed on an input, saved to {}",
            target.name(),
            path.display()
        );
    }
}

/// How long each target runs: `BPFKIT_FUZZ_SECS` seconds, else
/// [`DEFAULT_RUNS`] inputs.
fn budget() -> (Option<Duration>, u64) {
    match std::env::var("BPFKIT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(secs) => (Some(Duration::from_secs(secs)), u64::MAX),
        None => (None, DEFAULT_RUNS),
    }
}

fn fuzz(target: Target) {
    let world = world();
    let mut formatters = Formatters::new();
    assert!(
        !world.subjects(target).is_empty(),
        "{}: no subjects",
        target.name()
    );
    // Saved crashes first: each must run clean now.
    let dir = corpus_dir(target);
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let file = std::fs::read(entry.path()).expect("reading a corpus file");
        if entry.file_name() == "README.md" {
            continue;
        }
        let input = decode(world, target, &file).unwrap_or_else(|| {
            panic!(
                "{}: no subject has the label of its first line (a tool output \
                 moved, or an object was rebuilt with other type ids?), or the \
                 line is malformed; relabel it or delete the input",
                entry.path().display()
            )
        });
        run_or_save(world, &mut formatters, target, &input);
        replayed += 1;
    }
    let (time, runs) = budget();
    let mut rng = Rng::new(SEED ^ target as u64);
    let mut pool: Vec<Input> = Vec::new();
    let start = Instant::now();
    let mut done = 0u64;
    while done < runs && time.is_none_or(|t| start.elapsed() < t) {
        let input = if pool.is_empty() || rng.below(4) == 0 {
            fresh(world, target, &mut rng)
        } else {
            let parent = pool[rng.below(pool.len())].clone();
            let donor = pool[rng.below(pool.len())].clone();
            mutate(parent, &donor, &mut rng)
        };
        run_or_save(world, &mut formatters, target, &input);
        // No coverage feedback on stable: keep a sample of what ran so
        // that mutations stack up.
        if pool.len() < 512 {
            pool.push(input);
        } else {
            let slot = rng.below(pool.len());
            pool[slot] = input;
        }
        done += 1;
    }
    eprintln!(
        "fuzz {}: {replayed} saved inputs replayed, {done} inputs in {:.1} s over {} subjects, clean",
        target.name(),
        start.elapsed().as_secs_f64(),
        world.subjects(target).len()
    );
}

#[test]
fn fuzz_value_decoding() {
    fuzz(Target::Value);
}

#[test]
fn fuzz_event_formatting() {
    fuzz(Target::Events);
}

#[test]
fn fuzz_map_rendering() {
    fuzz(Target::Maps);
}
