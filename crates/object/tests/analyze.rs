//! analyze() on real clang-built objects, and aya loading the rewrite.

use bpfkit_object::{Hook, MapDef, ObjectError, TcDirection, analyze, event_type_hint, map_type};
use std::process::Command;

const HEADER: &str =
    "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include \"bpfkit.h\"\n";

/// Compiles `body` (after the standard includes) to a BPF object; `None`
/// when the test must skip for lack of clang.
fn build(test: &str, body: &str, extra: &[&str]) -> Option<Vec<u8>> {
    let clang = bpfkit_testkit::clang(test)?;
    let dir = bpfkit_testkit::TempDir::new(test);
    let src = dir.file("prog.bpf.c");
    let obj = dir.file("prog.bpf.o");
    std::fs::write(
        &src,
        format!("{HEADER}{body}\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n"),
    )
    .expect("write source");
    let include = bpfkit_testkit::repo_path("include");
    let out = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-D__TARGET_ARCH_x86"])
        .args(["-I/usr/include/x86_64-linux-gnu", "-I"])
        .arg(&include)
        .args(extra)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("run clang");
    assert!(
        out.status.success(),
        "clang failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read(&obj).expect("read object"))
}

fn build_g(test: &str, body: &str) -> Option<Vec<u8>> {
    build(test, body, &["-g"])
}

const SAMPLE: &str = r#"
struct event { int pid; char comm[16]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); __type(value, struct event); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 128); __type(key, int); __type(value, long); __uint(map_flags, 1); } counts SEC(".maps");
const volatile int target_pid = 42;
const volatile char flag = 7;
long hits = 0;
long misses;
SEC("tc") int cls(struct __sk_buff *skb) { hits++; bpf_printk("hi %d", target_pid); return 0; }
SEC("tp/syscalls/sys_enter_openat") int tp1(void *ctx) {
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) return 0;
    e->pid = target_pid + flag; misses++;
    bpf_ringbuf_submit(e, 0);
    return 0;
}
SEC("tp/syscalls/sys_enter_openat") int tp2(void *ctx) { int k = 1; long v = 1; bpf_map_update_elem(&counts, &k, &v, 0); return 0; }
"#;

fn map<'a>(maps: &'a [MapDef], name: &str) -> &'a MapDef {
    maps.iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no map {name}: {maps:?}"))
}

#[test]
fn programs_maps_params_globals() {
    let Some(elf) = build_g("programs_maps_params_globals", SAMPLE) else {
        return;
    };
    let obj = analyze(&elf).expect("analyze");

    let names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["cls", "tp1", "tp2"]);
    let cls = obj.program("cls").unwrap();
    assert_eq!(cls.section, "tc");
    assert_eq!(
        cls.hook,
        Hook::Tc {
            direction: TcDirection::Ingress
        }
    );
    let (tp1, tp2) = (obj.program("tp1").unwrap(), obj.program("tp2").unwrap());
    assert_eq!(
        tp1.section_index, tp2.section_index,
        "two programs share one section"
    );
    assert!(tp1.insn_count > 0 && tp2.insn_count > 0);
    assert!(
        matches!(&tp1.hook, Hook::Tracepoint { category, name } if category == "syscalls" && name == "sys_enter_openat")
    );

    let counts = map(&obj.maps, "counts");
    assert_eq!(
        (
            counts.map_type,
            counts.key_size,
            counts.value_size,
            counts.max_entries,
            counts.map_flags
        ),
        (map_type::HASH, 4, 8, 128, 1)
    );
    assert_eq!(obj.btf.name_of(counts.key_type.unwrap()), "int");
    assert_eq!(obj.btf.name_of(counts.value_type.unwrap()), "long");
    assert_eq!(counts.event_type, None);

    let events = map(&obj.maps, "events");
    assert_eq!(
        (events.map_type, events.max_entries, events.value_size),
        (map_type::RINGBUF, 4096, 0)
    );
    assert_eq!(
        events.value_type, None,
        "the kernel refuses a ring buffer value type"
    );
    assert_eq!(obj.btf.name_of(events.event_type.unwrap()), "event");

    let pid = obj.param("target_pid").unwrap();
    assert_eq!(
        (pid.section.as_str(), pid.offset, pid.size),
        (".rodata", 0, 4)
    );
    assert_eq!(pid.default, 42i32.to_le_bytes());
    let flag = obj.param("flag").unwrap();
    assert_eq!((flag.offset, flag.default.as_slice()), (4, &[7u8][..]));
    assert_eq!(
        obj.params.len(),
        2,
        "the printk format string is not a parameter: {:?}",
        obj.params
    );

    let globals: Vec<(&str, &str, u32, u32)> = obj
        .globals
        .iter()
        .map(|g| (g.name.as_str(), g.section.as_str(), g.offset, g.size))
        .collect();
    assert_eq!(globals, [("hits", ".bss", 0, 8), ("misses", ".bss", 8, 8)]);
    assert!(obj.uses_printk);
    assert!(obj.ext.is_some());
}

#[test]
fn printk_absent() {
    let body = r#"SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }"#;
    let Some(elf) = build_g("printk_absent", body) else {
        return;
    };
    let obj = analyze(&elf).expect("analyze");
    assert!(!obj.uses_printk);
    assert_eq!(obj.programs[0].hook, Hook::Xdp);
    assert_eq!(obj.loadable_elf, elf, "nothing to rewrite");
}

const RINGBUF: &str = r#"struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");"#;
const SUBMIT: &str = r#"
SEC("tp/syscalls/sys_enter_kill") int prog(void *ctx) {
    int *e = bpf_ringbuf_reserve(&events, 64, 0);
    if (!e) return 0;
    *e = 1;
    bpf_ringbuf_submit(e, 0);
    return 0;
}"#;

fn event_name(test: &str, decls: &str) -> Option<Option<String>> {
    let elf = build_g(test, &format!("{decls}\n{SUBMIT}"))?;
    let obj = analyze(&elf).expect("analyze");
    let events = map(&obj.maps, "events");
    Some(events.event_type.map(|t| obj.btf.name_of(t).to_string()))
}

#[test]
fn event_type_from_marker() {
    let decls = format!(
        "struct record {{ int a; }}; struct event {{ int b; }}; struct event *unused;\n{RINGBUF}\nBPFKIT_EVENT(events, struct record);"
    );
    if let Some(name) = event_name("event_type_from_marker", &decls) {
        assert_eq!(
            name.as_deref(),
            Some("record"),
            "the marker wins over other rules"
        );
    }
}

#[test]
fn event_type_from_map_name() {
    let decls = format!(
        "struct events_event {{ int a; }}; struct other {{ int b; }};\nstruct events_event *e1; struct other *o1;\n{RINGBUF}"
    );
    if let Some(name) = event_name("event_type_from_map_name", &decls) {
        assert_eq!(name.as_deref(), Some("events_event"));
    }
}

#[test]
fn event_type_from_struct_named_event() {
    let decls = format!(
        "struct event {{ int a; }}; struct other {{ int b; }};\nstruct event *e1; struct other *o1;\n{RINGBUF}"
    );
    if let Some(name) = event_name("event_type_from_struct_named_event", &decls) {
        assert_eq!(name.as_deref(), Some("event"));
    }
}

#[test]
fn event_type_from_the_only_global_struct() {
    let decls = format!(
        "struct sample {{ int a; }};\nconst struct sample *unused __attribute__((unused));\n{RINGBUF}"
    );
    if let Some(name) = event_name("event_type_from_the_only_global_struct", &decls) {
        assert_eq!(name.as_deref(), Some("sample"));
    }
}

#[test]
fn event_type_unknown_gives_hint() {
    let decls = format!(
        "struct a {{ int a; }}; struct b {{ int b; }};\nstruct a *x; struct b *y;\n{RINGBUF}"
    );
    let Some(elf) = build_g(
        "event_type_unknown_gives_hint",
        &format!("{decls}\n{SUBMIT}"),
    ) else {
        return;
    };
    let obj = analyze(&elf).expect("analyze");
    let events = map(&obj.maps, "events");
    assert_eq!(events.event_type, None, "two candidate structs: no guess");
    let hint = event_type_hint(events);
    assert!(
        hint.contains("__type(value, struct event);") && hint.contains("events"),
        "{hint}"
    );
}

#[test]
fn unknown_section_is_named() {
    let body = r#"SEC("nosuch/foo") int bar(void *ctx) { return 0; }"#;
    let Some(elf) = build_g("unknown_section_is_named", body) else {
        return;
    };
    let err = analyze(&elf).unwrap_err().to_string();
    // One line naming the section and program, then what is supported.
    assert!(
        err.starts_with(
            "section 'nosuch/foo' (program 'bar'): no loader knows this SEC() name (supported: tp/"
        ),
        "{err}"
    );
    assert!(
        err.contains("uprobe.multi") && err.contains("sockops"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn malformed_input_is_an_error() {
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("garbage", b"not an elf at all, just some text".to_vec()),
        ("elf magic only", b"\x7fELF\x02\x01\x01".to_vec()),
    ] {
        let err = analyze(&bytes).expect_err(what);
        assert!(matches!(err, ObjectError::Elf(_)), "{what}: {err}");
    }
    let host = std::fs::read("/bin/true").expect("read /bin/true");
    assert!(analyze(&host).unwrap_err().to_string().contains("not BPF"));

    let Some(elf) = build_g("malformed_input_is_an_error", SAMPLE) else {
        return;
    };
    // Every truncation fails cleanly (or, past the section headers, not at all).
    for len in (0..elf.len()).step_by(97) {
        let _ = analyze(&elf[..len]);
    }
    // Corrupt bytes anywhere: no panic, no hang.
    for at in (0..elf.len()).step_by(13) {
        let mut bad = elf.clone();
        bad[at] ^= 0xa5;
        let _ = analyze(&bad);
    }
    let Some(no_btf) = build("malformed_input_is_an_error", SAMPLE, &[]) else {
        return;
    };
    assert!(matches!(analyze(&no_btf), Err(ObjectError::NoBtf)));
}

/// Loads `elf`'s rewrite with aya and each named program into the kernel;
/// dropping the `Ebpf` closes every fd, so nothing stays behind.
fn load_in_aya(test: &str, elf: &[u8], programs: &[&str]) {
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let obj = analyze(elf).expect("analyze");
    let mut ebpf = aya::EbpfLoader::new()
        .load(&obj.loadable_elf)
        .unwrap_or_else(|e| panic!("aya refused the rewrite: {e:?}"));
    for name in programs {
        let program = ebpf
            .program_mut(name)
            .unwrap_or_else(|| panic!("no program {name}"));
        load_program(program).unwrap_or_else(|e| panic!("load {name}: {e:?}"));
    }
}

fn load_program(program: &mut aya::programs::Program) -> Result<(), aya::programs::ProgramError> {
    use aya::programs::Program as P;
    match program {
        P::SchedClassifier(p) => p.load(),
        P::KProbe(p) => p.load(),
        P::TracePoint(p) => p.load(),
        P::RawTracePoint(p) => p.load(),
        other => panic!("unexpected program type {:?}", other.prog_type()),
    }
}

/// Sections aya 0.14 does not know, event maps with value types, and a
/// CO-RE relocation (aya finds those by section name).
const NEEDS_REWRITE: &str = r#"
struct event { int pid; long ts; };
struct task_struct { int pid; } __attribute__((preserve_access_index));
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); __type(value, struct event); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __type(value, struct event); } perf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); } perf2 SEC(".maps");
const volatile int target = 3;
long seen;
SEC("tc") int cls(struct __sk_buff *skb) { seen++; bpf_printk("tc %d", target); return 0; }
SEC("tcx/egress") int cls_out(struct __sk_buff *skb) { seen++; return 0; }
SEC("ksyscall/kill") int on_kill(void *ctx) { return 0; }
SEC("raw_tp.w/sys_enter") int on_enter(void *ctx) {
    struct task_struct *task = (void *)bpf_get_current_task();
    int pid = 0;
    bpf_probe_read_kernel(&pid, sizeof(pid), &task->pid);
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (e) { e->pid = pid + target; bpf_ringbuf_submit(e, 0); }
    struct event ev = { .pid = 1 };
    bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
    bpf_perf_event_output(ctx, &perf2, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
    return 0;
}"#;

/// Member names of the definition of map `name`, as the BTF says.
fn map_members(btf: &bpfkit_btf::Btf, name: &str) -> Vec<String> {
    use bpfkit_btf::Kind;
    let var = btf
        .find(name, |k| matches!(k, Kind::Var { .. }))
        .expect("map variable");
    let Some(Kind::Var { ty, .. }) = btf.get(var).map(|t| &t.kind) else {
        unreachable!()
    };
    let Some(Kind::Struct(def)) = btf.get(btf.resolve(*ty).unwrap()).map(|t| &t.kind) else {
        panic!("map {name} is not a struct")
    };
    def.members
        .iter()
        .map(|m| btf.str_at(m.name_off).to_string())
        .collect()
}

#[test]
fn rewrite_renames_sections_and_hides_event_values() {
    let Some(elf) = build_g(
        "rewrite_renames_sections_and_hides_event_values",
        NEEDS_REWRITE,
    ) else {
        return;
    };
    let obj = analyze(&elf).expect("analyze");
    assert_eq!(obj.program("on_kill").unwrap().section, "ksyscall/kill");
    let perf = map(&obj.maps, "perf");
    assert_eq!(
        (perf.key_size, perf.value_size, perf.value_type),
        (4, 4, None)
    );
    assert_eq!(obj.btf.name_of(perf.event_type.unwrap()), "event");

    let twice = analyze(&elf).expect("analyze again");
    assert!(
        twice.loadable_elf == obj.loadable_elf,
        "the rewrite is deterministic"
    );

    // The rewrite, read back: new names, func/line info and CO-RE records
    // under those names, maps as the kernel wants them.
    let again = analyze(&obj.loadable_elf).expect("analyze the rewrite");
    let sections: Vec<(&str, &str)> = again
        .programs
        .iter()
        .map(|p| (p.name.as_str(), p.section.as_str()))
        .collect();
    assert_eq!(
        sections,
        [
            ("cls", "classifier/tc"),
            ("cls_out", "classifier/tcx_egress"),
            ("on_kill", "kprobe/kill"),
            ("on_enter", "raw_tp/sys_enter"),
        ]
    );
    let ext = again.ext.as_ref().expect(".BTF.ext");
    let ext_sections: Vec<&str> = (ext.func_info.iter().map(|s| s.section.as_str()))
        .chain(ext.line_info.iter().map(|s| s.section.as_str()))
        .chain(ext.core_relos.iter().map(|s| s.section.as_str()))
        .collect();
    assert!(
        ext.core_relos
            .iter()
            .any(|s| s.section == "raw_tp/sys_enter"),
        "{ext_sections:?}"
    );
    for name in &ext_sections {
        assert!(
            sections.iter().any(|(_, s)| s == name),
            "stale .BTF.ext section name {name}"
        );
    }
    // The hidden `value` is not read back as a value type; the record type
    // is found again from the size the program reserves.
    let events = map(&again.maps, "events");
    assert_eq!((events.value_size, events.value_type), (0, None));
    assert_eq!(
        events.event_type,
        map(&obj.maps, "events").event_type,
        "event type from the reserved size"
    );
    let perf = map(&again.maps, "perf");
    assert_eq!(
        (perf.key_size, perf.value_size, perf.value_type),
        (4, 4, None)
    );
    assert_eq!(
        map_members(&again.btf, "events"),
        ["type", "max_entries", "bpfkit_event_type"]
    );
    assert_eq!(
        map_members(&again.btf, "perf"),
        ["type", "key_size", "bpfkit_event_type", "value_size"]
    );
    assert_eq!(
        map_members(&again.btf, "perf2"),
        ["type", "key_size", "value_size"]
    );
    let perf2 = map(&obj.maps, "perf2");
    assert_eq!((perf2.key_size, perf2.value_size), (4, 4));
    // The only event map without a declared type gets `struct event`.
    assert_eq!(obj.btf.name_of(perf2.event_type.unwrap()), "event");

    if bpfkit_testkit::privileged("rewrite_renames_sections_and_hides_event_values") {
        assert!(
            aya::EbpfLoader::new().load(&elf).is_err(),
            "aya should refuse the original"
        );
    }
}

#[test]
fn aya_loads_rewritten_sections() {
    let Some(elf) = build_g("aya_loads_rewritten_sections", NEEDS_REWRITE) else {
        return;
    };
    load_in_aya(
        "aya_loads_rewritten_sections",
        &elf,
        &["cls", "cls_out", "on_kill", "on_enter"],
    );
}

#[test]
fn aya_loads_marker_object() {
    let body = format!(
        "struct event {{ int pid; }};\n{RINGBUF}\nBPFKIT_EVENT(events, struct event);\n{SUBMIT}"
    );
    let Some(elf) = build_g("aya_loads_marker_object", &body) else {
        return;
    };
    load_in_aya("aya_loads_marker_object", &elf, &["prog"]);
}

#[test]
fn map_type_names() {
    assert_eq!(bpfkit_object::map_type_name(map_type::RINGBUF), "ringbuf");
    assert_eq!(
        bpfkit_object::map_type_name(map_type::PERF_EVENT_ARRAY),
        "perf_event_array"
    );
    assert_eq!(bpfkit_object::map_type_name(999), "unknown");
}

#[test]
fn core_only_types_are_not_events() {
    // A type only a CO-RE relocation names is a BTF root but no event.
    let decls = format!(
        "struct sample {{ int a; }};\n{RINGBUF}\nint has_sample(void) {{ return __builtin_preserve_type_info(*(struct sample *)0, 0); }}"
    );
    if let Some(name) = event_name("core_only_types_are_not_events", &decls) {
        assert_eq!(name, None);
    }
}

#[test]
fn legacy_maps_and_static_globals() {
    let body = r#"
struct bpf_map_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct bpf_map_def SEC("maps") legacy = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 16 };
static long counter;
static const volatile int level = 2;
SEC("socket") int filter(void *ctx) {
    static int calls;
    int k = 0;
    long *v = bpf_map_lookup_elem(&legacy, &k);
    if (v) *v += level;
    counter++; calls++;
    return 0;
}"#;
    let Some(elf) = build_g("legacy_maps_and_static_globals", body) else {
        return;
    };
    let obj = analyze(&elf).expect("analyze");
    let legacy = map(&obj.maps, "legacy");
    assert_eq!(
        (
            legacy.map_type,
            legacy.key_size,
            legacy.value_size,
            legacy.max_entries
        ),
        (map_type::ARRAY, 4, 8, 16)
    );
    let globals: Vec<&str> = obj.globals.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        globals,
        ["counter"],
        "function-local statics are not listed"
    );
    assert_eq!(
        obj.param("level").map(|p| p.default.clone()),
        Some(2i32.to_le_bytes().to_vec())
    );
    assert_eq!(obj.programs[0].hook, Hook::SocketFilter);
}

/// The committed execsnoop object with the second byte of its BTF string
/// `name` replaced by `byte`.
fn execsnoop_with_name_byte(name: &str, byte: u8) -> Vec<u8> {
    let path = bpfkit_testkit::repo_path("examples/execsnoop.bpf.o");
    let mut elf = std::fs::read(&path).expect("read the committed execsnoop object");
    let btf = bpfkit_btf::elf::section_data(&elf, ".BTF")
        .expect("execsnoop is an ELF")
        .expect("execsnoop has .BTF");
    let btf_start = btf.as_ptr() as usize - elf.as_ptr() as usize;
    let needle = format!("\0{name}\0");
    let at = btf
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("execsnoop's BTF has the name");
    elf[btf_start + at + 2] = byte;
    elf
}

#[test]
fn btf_names_the_kernel_refuses_are_errors_before_load() {
    // 0x80 is no letter to the kernel and not UTF-8 either: the kernel's
    // log quotes it and aya 0.14 panicked reading that log (sys/bpf.rs:1431)
    // when the name was that of `struct refcount_struct`.
    for (byte, why) in [
        (0x80, "not UTF-8 (byte 0x80 at position 1)"),
        (0xff, "not UTF-8 (byte 0xff at position 1)"),
        (b'-', "has byte 0x2d at position 1"),
    ] {
        let err = analyze(&execsnoop_with_name_byte("refcount_struct", byte))
            .expect_err("a struct name the kernel refuses")
            .to_string();
        assert!(err.starts_with(".BTF: invalid BTF"), "{byte:#x}: {err}");
        assert!(err.contains(why), "{byte:#x}: {err}");
    }
    // The same object with a valid identifier there still analyzes.
    analyze(&execsnoop_with_name_byte("refcount_struct", b'x')).expect("rxfcount_struct is fine");
}
