//! Tool columns through the path `bpfkit TOOL` uses (`print_options` →
//! [`super::columns`] / [`super::snapshot`] → bpfkit-output): the argument
//! list cell, and random records of every tool's events and summary maps.

use super::super::{Options, print_options};
use crate::run::flags::RunFlags;
use crate::run::printer::{MapOutput, PrintOptions};
use bpfkit_btf::TypeId;
use bpfkit_object::{Object, map_type};
use bpfkit_output::clock::WallClock;
use bpfkit_output::hist::HistKind;
use bpfkit_output::records::Timestamped;
use bpfkit_output::{EventFormatter, FormatOptions, MapView, Mode, SnapshotOptions, render_map};
use bpfkit_testkit::Rng;
use bpfkit_tools::{Output, ToolSpec};

pub(super) fn analyze(spec: &ToolSpec) -> Object {
    bpfkit_object::analyze(spec.object).expect("committed tool object analyzes")
}

/// The print options of `bpfkit TOOL` for `output`, with every flag given
/// (`given`: all optional columns, -T, -t) or none.
pub(super) fn tool_print(
    object: &Object,
    output: &Output,
    given: bool,
    quote: bool,
) -> PrintOptions {
    let opts = Options {
        quote,
        wall_time: given,
        elapsed: given,
        ..Default::default()
    };
    print_options(object, output, &RunFlags::default(), &opts, &|_| given)
}

/// The event formatter `bpfkit TOOL` builds for the object's event map.
fn event_formatter(object: &Object, format: &FormatOptions, mode: Mode) -> EventFormatter {
    let (map, ty) = event_map(object);
    let format = FormatOptions {
        mode,
        map_name: map.to_string(),
        ..format.clone()
    };
    EventFormatter::new(&object.btf, ty, &format)
        .unwrap_or_else(|e| panic!("events of map '{map}': {e}"))
}

/// The object's event map and its record type.
pub(super) fn event_map(object: &Object) -> (&str, TypeId) {
    object
        .maps
        .iter()
        .find_map(|m| {
            let ty = m
                .event_type
                .filter(|_| map_type::is_event_stream(m.map_type))?;
            Some((m.name.as_str(), ty))
        })
        .expect("an event map with a type")
}

fn execsnoop_formatter(quote: bool) -> EventFormatter {
    let spec = bpfkit_tools::find("execsnoop").expect("execsnoop spec");
    let object = analyze(spec);
    let print = tool_print(&object, &spec.outputs[0], false, quote);
    let format = print.event_format.expect("execsnoop prints events");
    event_formatter(&object, &format, Mode::Table)
}

/// Writes `value` into `record` where `field` lies.
fn set(f: &EventFormatter, record: &mut [u8], field: &str, value: &[u8]) {
    let at = f.field_bytes(record, field).expect("field exists");
    let offset = at.as_ptr() as usize - record.as_ptr() as usize;
    record[offset..offset + value.len()].copy_from_slice(value);
}

/// An execsnoop record of `bash` (pid 42, ppid 1, exec returned 0) with
/// `args_count` arguments in `args`.
fn exec_record(f: &EventFormatter, args: &[u8], args_count: i32) -> Vec<u8> {
    let mut record = vec![0; f.record_size()];
    set(f, &mut record, "comm", b"bash");
    set(f, &mut record, "pid", &42i32.to_ne_bytes());
    set(f, &mut record, "ppid", &1i32.to_ne_bytes());
    set(f, &mut record, "args_count", &args_count.to_ne_bytes());
    set(
        f,
        &mut record,
        "args_size",
        &(args.len() as u32).to_ne_bytes(),
    );
    set(f, &mut record, "args", args);
    record
}

/// The table row of [`exec_record`].
fn exec_line(f: &mut EventFormatter, args: &[u8], args_count: i32) -> String {
    let record = exec_record(f, args, args_count);
    String::from_utf8(f.format_event(&record).expect("formats").to_vec()).expect("UTF-8")
}

// PCOMM (16) PID (6) PPID (6) RET (3, right) ARGS: the row ends with RET
// and its separator, whatever ARGS holds.
const ROW: &str = "bash             42     1        0 ";

#[test]
fn empty_arg_list_keeps_the_previous_separator() {
    for quote in [false, true] {
        let mut f = execsnoop_formatter(quote);
        assert_eq!(exec_line(&mut f, b"", 0), format!("{ROW}\n"));
    }
}

#[test]
fn blank_arguments_stay_inside_their_cell() {
    let mut f = execsnoop_formatter(false);
    assert_eq!(exec_line(&mut f, b"   \0", 1), format!("{ROW}\n"));
    assert_eq!(exec_line(&mut f, b" \0 \0", 2), format!("{ROW}\n"));
    let mut quoted = execsnoop_formatter(true);
    assert_eq!(
        exec_line(&mut quoted, b"   \0", 1),
        format!("{ROW}\"   \"\n")
    );
}

#[test]
fn arguments_follow_the_ret_column() {
    let mut f = execsnoop_formatter(false);
    assert_eq!(
        exec_line(&mut f, b"/bin/ls\0-l\0", 2),
        format!("{ROW}/bin/ls -l\n")
    );
}

// Property tests: random and truncated records (see `Rng::record`) of
// every event type and map type of every shipped object, and of every
// built-in tool through its own columns, in table, detailed and JSON
// modes. Nothing may panic (a short record is an error), every JSON line
// parses, and a table row never touches the bytes before it.

pub(super) const MODES: [Mode; 3] = [Mode::Table, Mode::Detailed, Mode::Json];
/// Fixed, so a failure reproduces.
const SEED: u64 = 0x6270_666b_6974;
/// Records per event type and mode; entry sets per map, options and mode.
const ROUNDS: usize = 32;
/// What a row is appended after in the guard check.
const GUARD: &[u8] = b"guard\0|";

pub(super) fn check_json_lines(text: &[u8], what: &str) {
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(line) {
            panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(line));
        }
    }
}

/// Random records of `ty` through a formatter made from `format`, in every
/// mode.
fn fuzz_events(object: &Object, ty: TypeId, format: &FormatOptions, rng: &mut Rng, what: &str) {
    for mode in MODES {
        let format = FormatOptions {
            mode,
            ..format.clone()
        };
        let mut f =
            EventFormatter::new(&object.btf, ty, &format).unwrap_or_else(|e| panic!("{what}: {e}"));
        let size = f.record_size();
        let mut formatted = 0;
        for _ in 0..ROUNDS {
            let record = rng.record(size);
            // A record too short for its type is an error, not a row.
            let Ok(line) = f.format_event(&record) else {
                continue;
            };
            formatted += 1;
            let newlines = line.iter().filter(|&&b| b == b'\n').count();
            match mode {
                Mode::Json => {
                    assert_eq!(newlines, 1, "{what}: one JSON line per record");
                    check_json_lines(line, what);
                }
                Mode::Table => {
                    // Control characters in strings are escaped: one row is
                    // one line (stack frames, Format::Stack, follow it on
                    // indented lines of their own), and nothing reaches the
                    // terminal as a command.
                    assert!(line.ends_with(b"\n"), "{what}: a row ends its line");
                    let below = line[..line.len() - 1].split(|&b| b == b'\n').skip(1);
                    for frame in below {
                        assert!(
                            frame.starts_with(b"    "),
                            "{what}: only frames go under a row"
                        );
                    }
                    assert!(!line.contains(&0x1b), "{what}: ESC reached the table");
                    let mut row = GUARD.to_vec();
                    f.append_row(&record, &mut row).expect("formatted above");
                    assert!(
                        row.starts_with(GUARD),
                        "{what}: a cell wrote before its start"
                    );
                }
                Mode::Detailed => assert!(line.ends_with(b"\n\n"), "{what}"),
            }
        }
        assert!(formatted > 0, "{what}: no record of {size} bytes formatted");
    }
}

/// Random entry sets of a map through `render_map` with `opts`, in every
/// mode.
fn fuzz_map(object: &Object, view: &MapView, opts: &SnapshotOptions, rng: &mut Rng, what: &str) {
    let size =
        |ty: Option<TypeId>| ty.map_or(0, |t| object.btf.size_of(t).expect("sized type") as usize);
    let (key_size, value_size) = (size(view.key_ty), size(Some(view.value_ty)));
    for mode in MODES {
        let opts = SnapshotOptions {
            mode,
            ..opts.clone()
        };
        for _ in 0..ROUNDS / 4 {
            let entries: Vec<_> = (0..rng.below(4))
                .map(|_| (rng.record(key_size), rng.record(value_size)))
                .collect();
            render_checked(object, view, &entries, &opts, what);
        }
    }
}

/// `render_map` of `entries`; in JSON mode every line must parse, also with
/// the `-T` members inserted (`records::Timestamped`, as the CLI prints
/// maps). Short entries and shapes the options cannot show are errors.
pub(super) fn render_checked(
    object: &Object,
    view: &MapView,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
    what: &str,
) {
    let mut out = Vec::new();
    if render_map(&object.btf, view, entries, opts, &mut out).is_err() || opts.mode != Mode::Json {
        return;
    }
    check_json_lines(&out, what);
    let mut timed = Vec::new();
    let mut clock = WallClock::now();
    render_map(
        &object.btf,
        view,
        entries,
        opts,
        &mut Timestamped::new(&mut timed, &mut clock),
    )
    .expect("rendered above");
    check_json_lines(&timed, what);
}

/// How `bpfkit run` may show a map: by itself, as histograms of either
/// kind, as its top entry, as a table.
pub(super) fn snapshot_variants() -> Vec<SnapshotOptions> {
    vec![
        SnapshotOptions::default(),
        SnapshotOptions {
            hist: Some(HistKind::Log2),
            skip_empty: true,
            ..Default::default()
        },
        SnapshotOptions {
            hist: Some(HistKind::Linear { base: 0, step: 1 }),
            ..Default::default()
        },
        SnapshotOptions {
            top: Some(1),
            force_table: true,
            skip_empty: true,
            ..Default::default()
        },
    ]
}

fn fuzz_object(object: &Object, rng: &mut Rng, name: &str) {
    let plain = FormatOptions::default();
    let timed = FormatOptions {
        time: true,
        elapsed: true,
        ..Default::default()
    };
    for map in &object.maps {
        let what = format!("{name}: map {}", map.name);
        if map_type::is_event_stream(map.map_type) {
            if let Some(ty) = map.event_type {
                fuzz_events(object, ty, &plain, rng, &what);
                fuzz_events(object, ty, &timed, rng, &what);
            }
            continue;
        }
        let Some(value_ty) = map.value_type else {
            continue;
        };
        let view = MapView {
            name: &map.name,
            key_ty: map.key_type,
            value_ty,
        };
        for opts in snapshot_variants() {
            fuzz_map(object, &view, &opts, rng, &what);
        }
    }
    for global in &object.globals {
        let size = object.btf.size_of(global.ty).expect("sized global") as usize;
        for _ in 0..ROUNDS {
            let bytes = rng.record(size);
            if let Ok(value) = bpfkit_btf::value::decode(&object.btf, global.ty, &bytes) {
                let _ = value.to_string();
                let _ = bpfkit_btf::value::to_json(&value);
            }
        }
    }
}

#[test]
fn random_records_of_every_shipped_object_format() {
    let mut rng = Rng::new(SEED);
    let objects = bpfkit_testkit::committed_objects();
    assert!(objects.len() > 30, "committed objects: {objects:?}");
    for path in objects {
        let elf = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let object =
            bpfkit_object::analyze(&elf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        fuzz_object(&object, &mut rng, &path.display().to_string());
    }
}

#[test]
fn random_records_through_every_tool_column_spec() {
    let mut rng = Rng::new(SEED);
    for spec in bpfkit_tools::all() {
        let object = analyze(spec);
        for (n, output) in spec.outputs.iter().enumerate() {
            for (given, quote) in [(false, false), (true, false), (true, true)] {
                let what = format!("{} output {n}, flags given: {given}", spec.name);
                let print = tool_print(&object, output, given, quote);
                if let Some(format) = &print.event_format {
                    let (_, ty) = event_map(&object);
                    fuzz_events(&object, ty, format, &mut rng, &what);
                }
                if let MapOutput::Only(map_print) = &print.maps {
                    let def = object
                        .maps
                        .iter()
                        .find(|m| m.name == map_print.map)
                        .unwrap_or_else(|| panic!("{what}: no map {}", map_print.map));
                    let view = MapView {
                        name: &def.name,
                        key_ty: def.key_type,
                        value_ty: def.value_type.expect("typed value"),
                    };
                    fuzz_map(&object, &view, &map_print.snapshot, &mut rng, &what);
                }
            }
        }
    }
}

#[test]
fn exit_status_reads_as_libbpf_tools_exitsnoop() {
    use super::exit_status;
    assert_eq!(exit_status(0, 0, false), "0");
    assert_eq!(exit_status(7, 0, false), "code 7");
    assert_eq!(exit_status(0, 9, false), "signal 9 (Killed)");
    assert_eq!(
        exit_status(0, 11, true),
        "signal 11 (Segmentation fault), core dumped"
    );
}

#[test]
fn sentence_parts_split_text_fields_and_files() {
    use bpfkit_tools::SentencePart::{Field, File, Text};
    let parts: Vec<_> =
        bpfkit_tools::sentence_parts("PID {pid} (\"{comm}\"), {/proc/loadavg} {open").collect();
    assert_eq!(
        parts,
        [
            Text("PID "),
            Field("pid"),
            Text(" (\""),
            Field("comm"),
            Text("\"), "),
            File("/proc/loadavg"),
            Text(" "),
            Text("{open"),
        ]
    );
}

#[test]
fn flags_are_named_bit_by_bit_with_the_rest_in_hex() {
    let names = [(0x1, "A"), (0x4, "C"), (0x30, "EF")];
    assert_eq!(super::flag_names(0, &names), "0x0");
    assert_eq!(super::flag_names(0x5, &names), "A | C");
    // A name of several bits needs them all; what no name covers is hex.
    assert_eq!(super::flag_names(0x1 | 0x10 | 0x100, &names), "A | 0x110");
    assert_eq!(super::flag_names(0x31, &names), "A | EF");
}
