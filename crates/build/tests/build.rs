//! Building real programs with clang.

mod common;

use bpfkit_btf::{Btf, Kind};
use bpfkit_build::{BuildOptions, build};
use common::{TempDir, pinned_header, section_names};

#[test]
fn builds_minimal_example_with_btf_and_without_dwarf() {
    let Some(clang) = bpfkit_testkit::clang("builds_minimal_example") else {
        return;
    };
    let dir = TempDir::new("minimal");
    let opts = BuildOptions {
        output: Some(dir.path().join("minimal.bpf.o")),
        vmlinux_header: Some(pinned_header()),
        clang: Some(clang),
        ..BuildOptions::new(bpfkit_testkit::repo_path("examples/minimal.bpf.c"))
    };
    let out = build(&opts).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let object = std::fs::read(&out.object).unwrap();

    let sections = section_names(&object);
    for wanted in [
        "tp/syscalls/sys_enter_write",
        ".rodata",
        "license",
        ".BTF",
        ".BTF.ext",
    ] {
        assert!(
            sections.iter().any(|s| s == wanted),
            "no {wanted} in {sections:?}"
        );
    }
    assert!(
        !sections.iter().any(|s| s.starts_with(".debug")),
        "DWARF left in {sections:?}"
    );

    let btf = bpfkit_btf::elf::btf_from_elf(&object).unwrap();
    assert!(
        btf.find("pid_filter", |k| matches!(k, Kind::Var { .. }))
            .is_some()
    );
    assert!(
        btf.find("handle_tp", |k| matches!(k, Kind::Func { .. }))
            .is_some()
    );
    // Line info names the source relative to its directory.
    let ext = bpfkit_btf::elf::btf_ext_from_elf(&object, &btf).unwrap();
    assert!(ext.is_some());
    let strings = String::from_utf8_lossy(btf.string_section()).into_owned();
    assert!(strings.contains("./minimal.bpf.c"), "{strings}");
    assert!(!strings.contains("/work/"), "absolute path leaked into BTF");
}

#[test]
fn compile_errors_name_the_source() {
    let Some(clang) = bpfkit_testkit::clang("compile_errors_name_the_source") else {
        return;
    };
    let dir = TempDir::new("broken");
    let source = dir.path().join("broken.bpf.c");
    std::fs::write(&source, "int broken( {\n").unwrap();
    let opts = BuildOptions {
        vmlinux_header: Some(pinned_header()),
        clang: Some(clang),
        ..BuildOptions::new(&source)
    };
    let err = build(&opts).unwrap_err().to_string();
    assert!(err.contains("broken.bpf.c"), "{err}");
    assert!(!dir.path().join("broken.bpf.o").exists());
}

/// An execsnoop-like program whose event struct is only used through a
/// local pointer: clang leaves it out of BTF, bpfkit-build must add it.
const LOCAL_POINTER_ONLY: &str = r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "event.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->kind = EV_EXEC;
	e->parent = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

const EVENT_H: &str = r#"
enum ev_kind { EV_EXEC = 1, EV_EXIT = 2 };
typedef struct { int a; int b; } pair_t;
struct event {
	int pid;
	int ppid;
	enum ev_kind kind;
	struct task_struct *parent;
	char comm[16];
};
"#;

#[test]
fn own_types_used_only_through_local_pointers_reach_btf() {
    let Some(clang) = bpfkit_testkit::clang("own_types_reach_btf") else {
        return;
    };
    let dir = TempDir::new("own-types");
    let source = dir.path().join("execlike.bpf.c");
    std::fs::write(&source, LOCAL_POINTER_ONLY).unwrap();
    std::fs::write(dir.path().join("event.h"), EVENT_H).unwrap();
    let opts = BuildOptions {
        vmlinux_header: Some(pinned_header()),
        clang: Some(clang),
        ..BuildOptions::new(&source)
    };
    let out = build(&opts).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(
        out.own_types_added,
        ["enum ev_kind", "pair_t", "struct event"]
    );
    eprintln!(
        "BTF grew from {} to {} bytes (+{})",
        out.btf_size_before,
        out.btf_size_after,
        out.btf_size_after - out.btf_size_before
    );

    let object = std::fs::read(&out.object).unwrap();
    let btf = bpfkit_btf::elf::btf_from_elf(&object).unwrap();
    let event = btf.find_struct("event").expect("struct event in BTF");
    assert_eq!(btf.size_of(event).unwrap(), 40);
    let Kind::Struct(c) = &btf.get(event).unwrap().kind else {
        unreachable!()
    };
    let names: Vec<_> = c.members.iter().map(|m| btf.str_at(m.name_off)).collect();
    assert_eq!(names, ["pid", "ppid", "kind", "parent", "comm"]);
    let pair = btf
        .find("pair_t", |k| matches!(k, Kind::Typedef(_)))
        .expect("typedef pair_t in BTF");
    assert_eq!(btf.size_of(pair).unwrap(), 8);
    // The kernel struct behind the pointer member stays a forward
    // declaration or reuses what the program already had: one task_struct.
    assert!(btf.ids_by_name("task_struct").len() <= 2);
    // .BTF.ext still parses against the grown BTF.
    assert!(
        bpfkit_btf::elf::btf_ext_from_elf(&object, &btf)
            .unwrap()
            .is_some()
    );
    // The raw BTF re-parses as a whole.
    Btf::parse(&bpfkit_btf::encode::encode(&btf)).unwrap();

    if bpfkit_testkit::privileged("own_types_reach_btf (aya load)") {
        load_with_aya(&object);
    }
}

/// Loads every program of the object into the kernel with aya; everything
/// is released when `ebpf` drops.
fn load_with_aya(object: &[u8]) {
    let mut ebpf = aya::Ebpf::load(object).expect("aya parses and loads the object");
    let names: Vec<String> = ebpf.programs().map(|(n, _)| n.to_string()).collect();
    for name in names {
        let program: &mut aya::programs::TracePoint = ebpf
            .program_mut(&name)
            .unwrap()
            .try_into()
            .expect("a tracepoint program");
        program.load().expect("the verifier accepts the program");
    }
}

#[test]
fn stripping_keeps_btf_and_code_byte_for_byte() {
    let Some(clang) = bpfkit_testkit::clang("stripping_keeps_btf") else {
        return;
    };
    let dir = TempDir::new("strip");
    let raw_path = dir.path().join("raw.o");
    let include = format!("-I{}", pinned_header().parent().unwrap().display());
    let status = std::process::Command::new(&clang)
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-fno-addrsig",
            &include,
            "-c",
        ])
        .arg(bpfkit_testkit::repo_path("examples/sigsnoop.bpf.c"))
        .arg("-o")
        .arg(&raw_path)
        .status()
        .unwrap();
    assert!(status.success());
    let raw = std::fs::read(&raw_path).unwrap();
    let stripped = bpfkit_build::elf::finish_object(&raw, None).unwrap();
    assert!(stripped.len() < raw.len());
    assert!(
        !section_names(&stripped)
            .iter()
            .any(|s| s.starts_with(".debug"))
    );
    for section in [
        ".BTF",
        ".BTF.ext",
        "tp/syscalls/sys_enter_kill",
        ".maps",
        "license",
    ] {
        let before = bpfkit_btf::elf::section_data(&raw, section).unwrap();
        let after = bpfkit_btf::elf::section_data(&stripped, section).unwrap();
        assert!(before.is_some(), "{section} missing");
        assert_eq!(before, after, "{section} changed");
    }
}
