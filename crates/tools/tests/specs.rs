//! Every spec agrees with its object: programs, parameters, event members and
//! map types exist, and the flags it refers to are declared.

mod common;

use std::collections::HashSet;

use bpfkit_btf::Kind;
use bpfkit_tools::{Column, Format, Output, Value, When};
use common::{ObjectInfo, object_info, working_variant};

/// Every `const volatile` a flag sets, a list's length parameter included.
fn sets(flag: &bpfkit_tools::Flag) -> Vec<String> {
    let mut names: Vec<String> = flag.params().map(str::to_string).collect();
    for effect in flag.effects {
        if let bpfkit_tools::Effect::ParamList(array) = effect {
            names.push(bpfkit_object::list_length_param(array));
        }
    }
    names
}

fn flag_names(spec: &bpfkit_tools::ToolSpec) -> HashSet<&'static str> {
    spec.flags.iter().map(|f| f.long).collect()
}

#[test]
fn names_are_unique_and_findable() {
    let mut seen = HashSet::new();
    for spec in bpfkit_tools::all() {
        assert!(seen.insert(spec.name), "{} listed twice", spec.name);
        assert_eq!(
            bpfkit_tools::find(spec.name).map(|s| s.name),
            Some(spec.name)
        );
        assert!(!spec.summary.is_empty() && !spec.summary.contains('\n'));
        assert!(spec.examples.contains(spec.name), "{}: examples", spec.name);
    }
    assert!(bpfkit_tools::find("nosuchtool").is_none());
    assert_eq!(bpfkit_tools::all().len(), 63);
}

#[test]
fn variants_name_programs_of_the_object() {
    for spec in bpfkit_tools::all() {
        let info = object_info(spec);
        assert!(!spec.variants.is_empty(), "{}: no variant", spec.name);
        for variant in spec.variants {
            assert!(!variant.programs.is_empty());
            // Panics with the tool and program when missing or unparsable.
            let kinds: Vec<&str> = variant
                .programs
                .iter()
                .map(|p| info.hook(p).kind_name())
                .collect();
            // A variant is named after its distinctive hook (biosnoop's kprobe
            // variant also uses raw tracepoints).
            assert!(
                variant.label == "kill"
                    || kinds.iter().any(|k| {
                        variant_kinds(variant.label)
                            .iter()
                            .any(|kind| k.starts_with(kind))
                    }),
                "{}: variant {} has hooks {kinds:?}",
                spec.name,
                variant.label
            );
            for optional in variant.optional {
                assert!(
                    variant.programs.contains(optional),
                    "{}: optional {optional} not in the variant",
                    spec.name
                );
            }
            if let Some(flag) = variant.only_with {
                assert!(
                    spec.flag(flag).is_some(),
                    "{}: variant needs unknown --{flag}",
                    spec.name
                );
            }
            if let Some((flag, _)) = variant.only_for {
                assert!(
                    spec.flag(flag)
                        .is_some_and(|f| !matches!(f.value, bpfkit_tools::Value::Switch)),
                    "{}: variant needs a value of unknown or valueless --{flag}",
                    spec.name
                );
            }
        }
    }
}

/// The hook kind names (prefixes) a variant label stands for.
fn variant_kinds(label: &str) -> Vec<&str> {
    match label {
        "raw_tp" => vec!["raw_tracepoint"],
        "uprobe" => vec!["u"], // uprobe or uretprobe
        // tcpaccept's kprobe variant is a lone kretprobe.
        "kprobe" => vec!["kprobe", "kretprobe"],
        // The file system tools' fallback (fs.h).
        "syscall-approx" => vec!["tracepoint"],
        other => vec![other],
    }
}

#[test]
fn every_tool_has_a_variant_that_works_on_this_kernel() {
    for spec in bpfkit_tools::all() {
        let info = object_info(spec);
        assert!(
            working_variant(spec, &info).is_some(),
            "{}: no usable variant",
            spec.name
        );
    }
}

#[test]
fn flags_set_existing_parameters() {
    for spec in bpfkit_tools::all() {
        let params = object_info(spec).params();
        let mut longs = HashSet::new();
        for flag in spec.flags {
            assert!(
                longs.insert(flag.long),
                "{}: --{} twice",
                spec.name,
                flag.long
            );
            for param in sets(flag) {
                assert!(
                    params.contains(&param),
                    "{}: --{} sets {param}, not a const volatile in .rodata (has {params:?})",
                    spec.name,
                    flag.long
                );
            }
        }
        // And every parameter is reachable from the command line.
        for param in &params {
            assert!(
                spec.flags.iter().any(|f| sets(f).contains(param)),
                "{}: const volatile {param} has no flag",
                spec.name
            );
        }
        let shorts: Vec<char> = spec.flags.iter().filter_map(|f| f.short).collect();
        let unique: HashSet<_> = shorts.iter().collect();
        assert_eq!(
            unique.len(),
            shorts.len(),
            "{}: a short flag twice",
            spec.name
        );
        // Positionals come last, so that `runqlat -m 1 10` reads naturally.
        let first_positional = spec
            .flags
            .iter()
            .position(|f| matches!(f.value, Value::Positional(..)));
        if let Some(i) = first_positional {
            assert!(
                spec.flags[i..]
                    .iter()
                    .all(|f| matches!(f.value, Value::Positional(..)))
            );
        }
    }
}

fn check_when(spec: &bpfkit_tools::ToolSpec, when: When) {
    let flags = flag_names(spec);
    let named: Vec<&str> = match when {
        When::Always => Vec::new(),
        When::With(f) | When::Without(f) => vec![f],
        When::WithAny(fs) | When::WithAll(fs) => fs.to_vec(),
    };
    for f in named {
        assert!(
            flags.contains(f),
            "{}: condition on unknown --{f}",
            spec.name
        );
    }
}

/// Checks a column's field against the event struct or a map's key/value.
fn check_column(
    spec: &bpfkit_tools::ToolSpec,
    info: &ObjectInfo,
    col: &Column,
    key: u32,
    value: u32,
) {
    check_when(spec, col.when);
    let field_exists = |field: &str| match field {
        "key" => info.members(key).is_empty(), // a scalar key
        f if f.starts_with("key.") => info.has_member(key, &f[4..]),
        f => info.has_member(value, f),
    };
    assert!(
        field_exists(col.field),
        "{}: column {} reads missing {}",
        spec.name,
        col.header,
        col.field
    );
    match col.format {
        Format::PercentOf(fields) | Format::SumOf(fields) => {
            for f in fields {
                assert!(
                    field_exists(f),
                    "{}: {} sums missing {f}",
                    spec.name,
                    col.header
                );
            }
        }
        Format::DividedBy(divisor) => {
            assert!(
                field_exists(divisor),
                "{}: {} divides by missing {divisor}",
                spec.name,
                col.header
            );
        }
        Format::ArgList { count, max_param } => {
            assert!(field_exists(count));
            assert!(info.params().iter().any(|p| p == max_param));
        }
        Format::Sentence(text) => {
            for name in bpfkit_tools::sentence_fields(text) {
                assert!(
                    field_exists(name),
                    "{}: sentence reads missing {name}",
                    spec.name
                );
            }
        }
        Format::ExitStatus { signal, core } => {
            assert!(field_exists(signal), "{}: missing {signal}", spec.name);
            assert!(field_exists(core), "{}: missing {core}", spec.name);
        }
        Format::Call { op, calls } => {
            assert!(field_exists(op), "{}: missing {op}", spec.name);
            for arg in calls.iter().flat_map(|c| c.args) {
                assert!(
                    field_exists(arg.field),
                    "{}: missing {}",
                    spec.name,
                    arg.field
                );
            }
        }
        Format::Stack { pid: Some(pid), .. } => {
            assert!(field_exists(pid), "{}: missing {pid}", spec.name);
        }
        _ => {}
    }
}

#[test]
fn outputs_read_existing_fields() {
    for spec in bpfkit_tools::all() {
        let info = object_info(spec);
        assert!(!spec.outputs.is_empty());
        assert_eq!(
            spec.outputs.last().map(|o| o.when()),
            Some(When::Always),
            "{}: an output for no flags",
            spec.name
        );
        for output in spec.outputs {
            check_when(spec, output.when());
            match output {
                Output::Events { columns, .. } => {
                    let event = info
                        .btf
                        .find_struct("event")
                        .unwrap_or_else(|| panic!("{}: no struct event", spec.name));
                    assert!(
                        info.map_types("events").is_none()
                            || info
                                .datasec_vars(".maps")
                                .iter()
                                .any(|(n, _)| n == "events")
                    );
                    assert!(
                        info.datasec_vars(".maps")
                            .iter()
                            .any(|(n, _)| n == "events"),
                        "{}: no events map",
                        spec.name
                    );
                    for col in *columns {
                        check_column(spec, &info, col, 0, event);
                    }
                }
                Output::Histogram {
                    map, slots, keys, ..
                } => {
                    let (key, value) = info
                        .map_types(map)
                        .unwrap_or_else(|| panic!("{}: no map {map}", spec.name));
                    let (_, slots_ty) = info
                        .members(value)
                        .into_iter()
                        .find(|(n, _)| n == slots)
                        .expect("slots");
                    let resolved = info.btf.resolve(slots_ty).unwrap();
                    assert!(
                        matches!(info.btf.get(resolved).unwrap().kind, Kind::Array(_)),
                        "{}: slots",
                        spec.name
                    );
                    for col in *keys {
                        check_column(spec, &info, col, key, value);
                    }
                }
                Output::Table {
                    map, columns, sort, ..
                } => {
                    let (key, value) = info
                        .map_types(map)
                        .unwrap_or_else(|| panic!("{}: no map {map}", spec.name));
                    for col in *columns {
                        check_column(spec, &info, col, key, value);
                    }
                    for (when, field) in *sort {
                        check_when(spec, *when);
                        assert!(
                            info.has_member(value, field),
                            "{}: sorts by missing {field}",
                            spec.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn candidate_variants_follow_flags() {
    let sigsnoop = bpfkit_tools::find("sigsnoop").unwrap();
    let labels = |given: &dyn Fn(&str) -> bool| -> Vec<&str> {
        sigsnoop
            .candidate_variants(given)
            .iter()
            .map(|v| v.label)
            .collect()
    };
    assert_eq!(labels(&|_| false), ["tracepoint"]);
    assert_eq!(labels(&|f| f == "kill"), ["kill"]);
    let runqlat = bpfkit_tools::find("runqlat").unwrap();
    let all: Vec<_> = runqlat
        .candidate_variants(&|_| false)
        .iter()
        .map(|v| v.label)
        .collect();
    assert_eq!(all, ["tp_btf", "raw_tp"]);
}

/// `-t ext4` makes fsslower's ext4 function variants candidates, before the
/// syscall approximation; other file systems, or none, leave only that.
#[test]
fn candidate_variants_follow_flag_values() {
    let fsslower = bpfkit_tools::find("fsslower").unwrap();
    let candidates = |fs: Option<&'static str>| -> Vec<(&str, &str)> {
        let given = |f: &str| f == "type" && fs.is_some();
        let has = |f: &str, v: &str| f == "type" && fs == Some(v);
        fsslower
            .candidate_variants_for(&given, &has)
            .iter()
            .map(|v| (v.label, v.programs[0]))
            .collect()
    };
    assert_eq!(
        candidates(Some("ext4")),
        [
            ("fentry", "fs_fentry_ext4_read"),
            ("kprobe", "fs_kprobe_ext4_read"),
            ("syscall-approx", "fs_enter_read"),
        ]
    );
    assert_eq!(
        candidates(Some("tmpfs")),
        [("syscall-approx", "fs_enter_read")]
    );
    assert_eq!(candidates(None), [("syscall-approx", "fs_enter_read")]);
    let ext4slower = bpfkit_tools::find("ext4slower").unwrap();
    let labels: Vec<_> = ext4slower
        .candidate_variants(&|_| false)
        .iter()
        .map(|v| v.label)
        .collect();
    assert_eq!(labels, ["fentry", "kprobe", "syscall-approx"]);
}

#[test]
fn output_follows_flags() {
    let hardirqs = bpfkit_tools::find("hardirqs").unwrap();
    assert!(matches!(
        hardirqs.output(&|f| f == "distributed"),
        Some(Output::Histogram { .. })
    ));
    assert!(matches!(
        hardirqs.output(&|_| false),
        Some(Output::Table { .. })
    ));
}

/// What the generic runtime will see: bpfkit-object's analysis finds the
/// event type, the parameters the flags set, and every program.
#[test]
fn bpfkit_object_understands_every_tool() {
    for spec in bpfkit_tools::all() {
        let object =
            bpfkit_object::analyze(spec.object).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        for variant in spec.variants {
            for program in variant.programs {
                assert!(
                    object.program(program).is_some(),
                    "{}: {program}",
                    spec.name
                );
            }
        }
        for param in spec.flags.iter().flat_map(sets) {
            assert!(
                object.param(&param).is_some(),
                "{}: param {param}",
                spec.name
            );
        }
        for output in spec.outputs {
            match output {
                Output::Events { .. } => {
                    let events = object.map("events").expect("events map");
                    let ty = events
                        .event_type
                        .unwrap_or_else(|| panic!("{}: event type unknown", spec.name));
                    assert_eq!(object.btf.name_of(ty), "event", "{}", spec.name);
                }
                Output::Histogram { map, .. } | Output::Table { map, .. } => {
                    let def = object
                        .map(map)
                        .unwrap_or_else(|| panic!("{}: map {map}", spec.name));
                    assert!(
                        def.key_type.is_some() && def.value_type.is_some(),
                        "{}: {map} types",
                        spec.name
                    );
                }
            }
        }
    }
}

/// A flag's documented default is what its parameter holds when the flag is
/// not given (`--max-args` 20, runqslower's `min_us` 10000).
#[test]
fn documented_defaults_match_the_objects() {
    let mut checked = 0;
    for spec in bpfkit_tools::all() {
        let object = bpfkit_object::analyze(spec.object).expect("object");
        for flag in spec.flags {
            let (Some(default), Some(param)) = (flag.default, flag.params().next()) else {
                continue;
            };
            // offcputime's -m takes microseconds for a nanosecond parameter.
            let factor = flag
                .effects
                .iter()
                .find_map(|e| match e {
                    bpfkit_tools::Effect::ParamScaled(_, factor) => Some(*factor),
                    _ => None,
                })
                .unwrap_or(1);
            let initial = &object.param(param).expect("param").default;
            let mut bytes = [0u8; 8];
            bytes[..initial.len()].copy_from_slice(initial);
            assert_eq!(
                (u64::from_le_bytes(bytes) / factor).to_string(),
                default,
                "{}: --{} says {default}",
                spec.name,
                flag.long
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 11);
}

#[test]
fn every_ring_buffer_has_a_drop_counter() {
    // A full ring buffer must show up as lost events, never silently.
    for spec in bpfkit_tools::all() {
        let object = bpfkit_object::analyze(spec.object)
            .unwrap_or_else(|e| panic!("{}: analysis: {e}", spec.name));
        for map in &object.maps {
            if map.map_type != bpfkit_object::map_type::RINGBUF {
                continue;
            }
            assert!(
                object.drop_counters.iter().any(|c| c.ring == map.name),
                "{}: ring buffer {} has no drop counter (use reserve_event/output_event)",
                spec.name,
                map.name
            );
        }
    }
}

#[test]
fn summaries_read_existing_globals() {
    for spec in bpfkit_tools::all() {
        let object = bpfkit_object::analyze(spec.object).expect("the tool's object");
        for text in spec.summaries(&|_| true) {
            for name in bpfkit_tools::sentence_fields(text) {
                assert!(
                    object.globals.iter().any(|g| g.name == name),
                    "{}: summary reads missing global {name}",
                    spec.name
                );
            }
        }
    }
}

/// `Effect::MapSize` names a map of the tool's object, with a size the
/// kernel takes for it (a ring buffer's: a power of two, whole pages).
#[test]
fn map_sizes_name_existing_maps() {
    for spec in bpfkit_tools::all() {
        let object =
            bpfkit_object::analyze(spec.object).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        for flag in spec.flags {
            for effect in flag.effects {
                let bpfkit_tools::Effect::MapSize(map, entries) = *effect else {
                    continue;
                };
                assert!(
                    object.maps.iter().any(|m| m.name == map),
                    "{}: --{} sizes {map}, not a map of the object",
                    spec.name,
                    flag.long
                );
                assert!(
                    entries.is_power_of_two() && entries >= 4096,
                    "{}: --{} sizes {map} to {entries}",
                    spec.name,
                    flag.long
                );
            }
        }
    }
}
