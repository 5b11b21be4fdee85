//! C header generation: vmlinux.h must compile with clang for BPF, reproduce
//! every struct layout exactly, and agree with bpftool; small hand-built
//! BTF checks the individual C constructs.

mod common;

use bpfkit_btf::c::{CDumpError, CDumpOptions, dump_c, find_roots, type_closure, type_decl};
use bpfkit_btf::{Btf, Kind, TypeId, kind_no};
use common::{Builder, TempDir, info};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

// ---------------------------------------------------------------------------
// Helpers

fn vmlinux(test: &str) -> Option<Btf> {
    if !Path::new(bpfkit_btf::VMLINUX_PATH).exists() {
        eprintln!("skipping {test}: {} not present", bpfkit_btf::VMLINUX_PATH);
        return None;
    }
    Some(Btf::vmlinux().expect("parse vmlinux BTF"))
}

fn dump(btf: &Btf, opts: &CDumpOptions) -> String {
    let mut out = Vec::new();
    dump_c(btf, opts, &mut out).expect("dump_c");
    String::from_utf8(out).expect("C header is UTF-8")
}

/// Compiles `file` in `dir` for the BPF target, panicking with clang's
/// diagnostics on failure. `extra` adds flags (`-c -o x.o`, `-fsyntax-only`).
fn clang_bpf(clang: &Path, dir: &TempDir, file: &Path, extra: &[&str]) {
    let out = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g", "-D__TARGET_ARCH_x86"])
        .arg("-I")
        .arg(dir.path())
        .args(["-I", "/usr/include"])
        .args(extra)
        .arg(file)
        .current_dir(dir.path())
        .output()
        .expect("run clang");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "clang failed on {}:\n{}",
        file.display(),
        stderr.lines().take(60).collect::<Vec<_>>().join("\n")
    );
}

/// Tag names (struct/union/enum) that only one type uses, so that the C
/// name equals the BTF name (no `___N` suffix).
fn unique_tags(btf: &Btf) -> HashMap<&str, usize> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for id in 1..btf.next_id() {
        let t = btf.get(id).expect("valid id");
        let tagged = match &t.kind {
            Kind::Struct(_) | Kind::Union(_) => true,
            Kind::Enum(e) => !e.values.is_empty(),
            _ => false,
        };
        if tagged && t.name_off != 0 {
            *count.entry(btf.str_at(t.name_off)).or_default() += 1;
        }
    }
    count
}

/// Whether `id` holds a `__builtin_va_list` by value: that is a compiler
/// built-in whose size differs between the kernel's target (24 bytes on
/// x86-64) and BPF (8), so no header can reproduce such a layout.
fn embeds_va_list(btf: &Btf, id: TypeId, depth: usize) -> bool {
    let Some(t) = btf.get(id) else { return false };
    if depth > 32 {
        return false;
    }
    match &t.kind {
        Kind::Typedef(_) if btf.str_at(t.name_off) == "__builtin_va_list" => true,
        Kind::Ptr(_) => false,
        Kind::Struct(c) | Kind::Union(c) => c
            .members
            .iter()
            .any(|m| embeds_va_list(btf, m.ty, depth + 1)),
        Kind::Array(a) => embeds_va_list(btf, a.elem, depth + 1),
        k => k
            .referenced()
            .is_some_and(|r| embeds_va_list(btf, r, depth + 1)),
    }
}

/// `_Static_assert`s on the size of each named struct/union in `ids` and
/// the offset of each of its named, non-bitfield members, from BTF.
fn layout_asserts(btf: &Btf, ids: impl IntoIterator<Item = TypeId>) -> (String, usize) {
    let tags = unique_tags(btf);
    let mut src = String::new();
    let mut checked = 0;
    for id in ids {
        let t = btf.get(id).expect("valid id");
        let (word, c) = match &t.kind {
            Kind::Struct(c) => ("struct", c),
            Kind::Union(c) => ("union", c),
            _ => continue,
        };
        let name = btf.str_at(t.name_off);
        if name.is_empty() || tags.get(name) != Some(&1) || embeds_va_list(btf, id, 0) {
            continue;
        }
        checked += 1;
        src += &format!(
            "_Static_assert(sizeof({word} {name}) == {}, \"{name} size\");\n",
            c.size
        );
        for m in &c.members {
            let field = btf.str_at(m.name_off);
            if field.is_empty() || m.bitfield_size != 0 {
                continue;
            }
            src += &format!(
                "_Static_assert(__builtin_offsetof({word} {name}, {field}) == {}, \"{name}.{field}\");\n",
                m.bit_offset / 8
            );
        }
    }
    (src, checked)
}

/// Whether a value of type `id` can be assigned to (no `const` on the way
/// to its underlying type).
fn assignable(btf: &Btf, mut id: TypeId) -> bool {
    for _ in 0..64 {
        match btf.get(id).map(|t| &t.kind) {
            Some(Kind::Const(_)) | None => return false,
            Some(k) if k.is_modifier() => id = k.referenced().unwrap_or(0),
            Some(_) => return true,
        }
    }
    false
}

/// A host C program that sets each named bitfield of the structs in `ids`
/// to all ones in an otherwise zeroed value and prints where the set bits
/// are, plus the positions BTF gives for them.
fn bitfield_probe(btf: &Btf, ids: impl IntoIterator<Item = TypeId>) -> (String, Vec<String>) {
    let tags = unique_tags(btf);
    let mut src = String::from(
        "#define BPF_NO_PRESERVE_ACCESS_INDEX\n#define BPF_NO_KFUNC_PROTOTYPES\n\
         #include \"types.h\"\nint printf(const char *, ...);\n\
         static void where(const char *what, const unsigned char *p, unsigned long n)\n{\n\
         \tint lo = -1, bits = 0;\n\
         \tfor (unsigned long i = 0; i < n * 8; i++)\n\
         \t\tif (p[i / 8] >> (i % 8) & 1) { if (lo < 0) lo = i; bits++; }\n\
         \tprintf(\"%s %d %d\\n\", what, lo, bits);\n}\n\
         int main(void)\n{\n",
    );
    let mut expected = Vec::new();
    for id in ids {
        let t = btf.get(id).expect("valid id");
        let (word, c) = match &t.kind {
            Kind::Struct(c) => ("struct", c),
            Kind::Union(c) => ("union", c),
            _ => continue,
        };
        let name = btf.str_at(t.name_off);
        if name.is_empty() || tags.get(name) != Some(&1) {
            continue;
        }
        for m in c.members.iter().filter(|m| m.bitfield_size != 0) {
            let field = btf.str_at(m.name_off);
            if field.is_empty() || !assignable(btf, m.ty) {
                continue;
            }
            src += &format!(
                "\t{{ {word} {name} v; __builtin_memset(&v, 0, sizeof(v)); v.{field} = -1; \
                 where(\"{name}.{field}\", (const unsigned char *)&v, sizeof(v)); }}\n"
            );
            expected.push(format!(
                "{name}.{field} {} {}",
                m.bit_offset, m.bitfield_size
            ));
        }
    }
    src += "\treturn 0;\n}\n";
    (src, expected)
}

/// Compiles and runs `bitfield_probe` output natively (the kernel's BTF
/// describes the host, so its bitfields must land where BTF says).
fn assert_bitfields_in_place(
    test: &str,
    btf: &Btf,
    ids: impl IntoIterator<Item = TypeId>,
) -> usize {
    if !cfg!(all(target_arch = "x86_64", target_endian = "little")) {
        eprintln!("skipping bitfield probe of {test}: not an x86-64 host");
        return 0;
    }
    let Some(clang) = bpfkit_testkit::clang(test) else {
        return 0;
    };
    let (src, expected) = bitfield_probe(btf, ids);
    let dir = TempDir::new(&format!("{test}-bits"));
    dir.write("types.h", &dump(btf, &CDumpOptions::default()));
    let c = dir.write("probe.c", &src);
    let exe = dir.file("probe");
    let out = Command::new(&clang)
        .args(["-O0", "-w", "-o"])
        .arg(&exe)
        .arg(&c)
        .output()
        .expect("run clang");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run probe");
    assert!(run.status.success(), "bitfield probe failed");
    let got: Vec<String> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e, "bitfield misplaced (got vs BTF)");
    }
    expected.len()
}

const BPF_PROG: &str = r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t target_pid = 0;

struct event {
    u32 pid;
    u32 ppid;
    u64 start;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_execve")
int handle_exec(struct trace_event_raw_sys_enter *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = BPF_CORE_READ(task, tgid);
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->start = BPF_CORE_READ(task, start_time);
    bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
    if (target_pid && e->pid != target_pid) {
        bpf_ringbuf_discard(e, 0);
        return 0;
    }
    bpf_ringbuf_submit(e, 0);
    return (int)ctx->args[0] & 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(next);
    return bpf_core_field_exists(prev->pid) && regs ? 0 : 1;
}

SEC("xdp")
int pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}
"#;

// ---------------------------------------------------------------------------
// vmlinux

#[test]
fn vmlinux_h_compiles_with_a_bpf_program() {
    let Some(btf) = vmlinux("vmlinux_h_compiles_with_a_bpf_program") else {
        return;
    };
    let Some(clang) = bpfkit_testkit::clang("vmlinux_h_compiles_with_a_bpf_program") else {
        return;
    };
    let header = dump(&btf, &CDumpOptions::default());
    assert!(header.starts_with("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
    assert!(header.contains(
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)"
    ));
    assert!(header.ends_with("#endif /* __VMLINUX_H__ */\n"));
    assert!(header.contains("struct task_struct {"));
    let dir = TempDir::new("prog");
    dir.write("vmlinux.h", &header);
    let prog = dir.write("prog.c", BPF_PROG);
    clang_bpf(&clang, &dir, &prog, &["-c", "-o", "prog.o"]);
    assert!(dir.file("prog.o").exists());
}

#[test]
fn vmlinux_layouts_are_exact() {
    let Some(btf) = vmlinux("vmlinux_layouts_are_exact") else {
        return;
    };
    let Some(clang) = bpfkit_testkit::clang("vmlinux_layouts_are_exact") else {
        return;
    };
    let must = [
        "task_struct",
        "sk_buff",
        "sock",
        "file",
        "inode",
        "mm_struct",
        "pt_regs",
        "trace_event_raw_sys_enter",
    ];
    let mut ids: Vec<TypeId> = (1..btf.next_id())
        .filter(|&id| {
            matches!(
                btf.get(id).map(|t| &t.kind),
                Some(Kind::Struct(_) | Kind::Union(_))
            )
        })
        .filter(|&id| !btf.name_of(id).is_empty())
        .collect();
    for name in must {
        ids.push(
            btf.find_struct(name)
                .unwrap_or_else(|| panic!("no struct {name}")),
        );
    }
    // Every named struct and union, not a sample: it costs clang ~2 s.
    let (asserts, checked) = layout_asserts(&btf, ids);
    assert!(checked > 5000, "only {checked} structs checked");
    for name in must {
        assert!(
            asserts.contains(&format!("sizeof(struct {name})")),
            "{name} not checked"
        );
    }
    let dir = TempDir::new("layout");
    dir.write("vmlinux.h", &dump(&btf, &CDumpOptions::default()));
    let src = dir.write("layout.c", &format!("#include \"vmlinux.h\"\n{asserts}"));
    clang_bpf(&clang, &dir, &src, &["-fsyntax-only"]);
}

#[test]
fn vmlinux_bitfields_land_where_btf_says() {
    let Some(btf) = vmlinux("vmlinux_bitfields_land_where_btf_says") else {
        return;
    };
    let n = assert_bitfields_in_place("vmlinux_bitfields", &btf, 1..btf.next_id());
    assert!(n == 0 || n > 1000, "only {n} bitfields probed");
    eprintln!("{n} bitfields probed");
}

#[test]
fn single_type_closure_compiles_on_its_own() {
    let Some(btf) = vmlinux("single_type_closure_compiles_on_its_own") else {
        return;
    };
    let roots = find_roots(&btf, &["task_struct"]).expect("task_struct");
    let header = dump(&btf, &CDumpOptions::for_roots(roots.clone()));
    let full_lines = dump(&btf, &CDumpOptions::default()).lines().count();
    let lines = header.lines().count();
    assert!(header.contains("struct task_struct {"));
    assert!(
        !header.contains("BPF kfuncs"),
        "kfuncs belong to full dumps only"
    );
    assert!(
        lines < full_lines / 2,
        "{lines} of {full_lines} lines for one struct"
    );
    // Everything the header defines is in the type closure.
    let closure = type_closure(&btf, &roots);
    assert!(closure.contains(&roots[0]));
    assert!(closure.len() < btf.next_id() as usize);

    let Some(clang) = bpfkit_testkit::clang("single_type_closure_compiles_on_its_own") else {
        return;
    };
    let (asserts, _) = layout_asserts(&btf, roots);
    let dir = TempDir::new("closure");
    dir.write("task.h", &header);
    let src = dir.write(
        "use.c",
        &format!(
            "#include \"task.h\"\nint pid_of(struct task_struct *t) {{ return t->pid; }}\n{asserts}"
        ),
    );
    clang_bpf(&clang, &dir, &src, &["-fsyntax-only"]);
}

#[test]
fn headers_for_single_types_are_self_contained() {
    let Some(btf) = vmlinux("headers_for_single_types_are_self_contained") else {
        return;
    };
    let Some(clang) = bpfkit_testkit::clang("headers_for_single_types_are_self_contained") else {
        return;
    };
    // A spread of named structs, unions, enums and typedefs across the ids.
    let candidates: Vec<TypeId> = (1..btf.next_id())
        .filter(|&id| {
            !btf.name_of(id).is_empty()
                && matches!(
                    btf.get(id).map(|t| &t.kind),
                    Some(Kind::Struct(_) | Kind::Union(_) | Kind::Enum(_) | Kind::Typedef(_))
                )
        })
        .collect();
    let step = (candidates.len() / 24).max(1);
    let dir = TempDir::new("single-types");
    for &id in candidates.iter().step_by(step) {
        let header = dump(&btf, &CDumpOptions::for_roots(vec![id]));
        dir.write("one.h", &header);
        let src = dir.write(
            "one.c",
            &format!(
                "#include \"one.h\"\n{} *use_it;\n",
                type_decl(&btf, id, "").expect("decl")
            ),
        );
        clang_bpf(&clang, &dir, &src, &["-fsyntax-only"]);
    }
}

#[test]
fn find_roots_understands_tags_and_typedefs() {
    let Some(btf) = vmlinux("find_roots_understands_tags_and_typedefs") else {
        return;
    };
    let s = find_roots(&btf, &["struct sk_buff"]).unwrap();
    assert_eq!(s, vec![btf.find_struct("sk_buff").unwrap()]);
    let u = find_roots(&btf, &["union bpf_attr"]).unwrap();
    assert!(matches!(btf.get(u[0]).unwrap().kind, Kind::Union(_)));
    let t = find_roots(&btf, &["u64"]).unwrap();
    assert!(matches!(btf.get(t[0]).unwrap().kind, Kind::Typedef(_)));
    assert!(matches!(
        find_roots(&btf, &["no_such_type_anywhere"]),
        Err(CDumpError::NoSuchName(_))
    ));
    let id = btf.find_struct("task_struct").unwrap();
    assert_eq!(type_decl(&btf, id, "t").unwrap(), "struct task_struct t");
}

#[test]
fn agrees_with_bpftool() {
    let Some(btf) = vmlinux("agrees_with_bpftool") else {
        return;
    };
    let Some(bpftool) = bpfkit_testkit::peer_tool("agrees_with_bpftool", "bpftool") else {
        return;
    };
    let Some(clang) = bpfkit_testkit::clang("agrees_with_bpftool") else {
        return;
    };
    let theirs = Command::new(&bpftool)
        .args([
            "btf",
            "dump",
            "file",
            bpfkit_btf::VMLINUX_PATH,
            "format",
            "c",
        ])
        .output()
        .expect("run bpftool");
    assert!(theirs.status.success(), "bpftool failed");
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    let ours = dump(&btf, &CDumpOptions::default());

    // Both headers compile.
    for (name, header) in [("ours", &ours), ("bpftool", &theirs)] {
        let dir = TempDir::new(&format!("peer-{name}"));
        dir.write("vmlinux.h", header);
        let prog = dir.write("prog.c", BPF_PROG);
        clang_bpf(&clang, &dir, &prog, &["-c", "-o", "prog.o"]);
    }

    // The same type definitions, under the same (possibly ___N) names.
    let defs = |h: &str| -> Vec<String> {
        let mut v: Vec<String> = h
            .lines()
            .filter(|l| {
                (l.starts_with("struct ") || l.starts_with("union ") || l.starts_with("enum "))
                    && l.ends_with(" {")
                    || l.starts_with("typedef ")
            })
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    let (d_ours, d_theirs) = (defs(&ours), defs(&theirs));
    assert_eq!(
        d_ours.len(),
        d_theirs.len(),
        "number of definitions differs"
    );
    let differing = d_ours.iter().zip(&d_theirs).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "definitions differ from bpftool's");
    eprintln!(
        "ours: {} lines, bpftool: {} lines, {} definitions each",
        ours.lines().count(),
        theirs.lines().count(),
        d_ours.len()
    );
}

// ---------------------------------------------------------------------------
// Hand-built BTF (`common::Builder`)

/// Asserts the dump `text` contains `want`, showing the dump when not.
#[track_caller]
fn assert_contains(text: &str, want: &str) {
    assert!(text.contains(want), "missing {want:?} in\n{text}");
}

/// Dumps `btf`, asserts the dump contains each of `wants`, and compiles it
/// with exact layout checks plus `extra_c`; returns the dump.
#[track_caller]
fn assert_dump(test: &str, btf: &Btf, wants: &[&str], extra_c: &str) -> String {
    let text = body(btf);
    for want in wants {
        assert_contains(&text, want);
    }
    assert_compiles_with_exact_layout(test, btf, extra_c);
    text
}

/// The dump without header guard.
fn body(btf: &Btf) -> String {
    dump(
        btf,
        &CDumpOptions {
            header_guard: false,
            ..CDumpOptions::default()
        },
    )
}

/// Compiles the dump of `btf` plus layout assertions for all its structs.
fn assert_compiles_with_exact_layout(test: &str, btf: &Btf, extra_c: &str) {
    let Some(clang) = bpfkit_testkit::clang(test) else {
        return;
    };
    let (asserts, _) = layout_asserts(btf, 1..btf.next_id());
    let dir = TempDir::new(test);
    dir.write("types.h", &dump(btf, &CDumpOptions::default()));
    let src = dir.write(
        "check.c",
        &format!("#include \"types.h\"\n{asserts}{extra_c}"),
    );
    clang_bpf(&clang, &dir, &src, &["-fsyntax-only"]);
}

#[test]
fn bitfields_keep_their_offsets() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let uchar = b.int("unsigned char", 1, false); // 2
    let bf = b.structure(
        "bf",
        12,
        &[
            ("a", int, 0, 3),
            ("b", int, 3, 5),
            ("c", uchar, 8, 0),
            ("d", int, 32, 12),
            ("e", int, 64, 20),
        ],
    );
    let btf = b.build();
    assert_dump(
        "bitfields",
        &btf,
        &[
            "\tint a: 3;\n\tint b: 5;\n\tunsigned char c;\n",
            "\tint d: 12;\n",
            "\tint e: 20;\n",
            // After the plain `c`, `d` would pack right behind it without padding.
            "\tunsigned char c;\n\tint: 16;\n\tint d: 12;\n",
        ],
        "",
    );
    // Setting each bitfield in a real value checks its bit position too.
    assert_bitfields_in_place("bitfields", &btf, [bf]);

    // A bitfield straddling an int boundary only exists in packed structs.
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let st = b.structure("straddle", 5, &[("a", int, 0, 30), ("b", int, 30, 4)]);
    let btf = b.build();
    assert_dump("straddle", &btf, &["} __attribute__((packed));"], "");
    assert_bitfields_in_place("straddle", &btf, [st]);
}

#[test]
fn packed_and_padded_structs() {
    let mut b = Builder::new();
    let chr = b.int("char", 1, true); // 1
    let int = b.int("int", 4, true); // 2
    let long = b.int("long", 8, true); // 3
    // Member b at byte 1 needs `packed`.
    b.structure("pk", 5, &[("a", chr, 0, 0), ("b", int, 8, 0)]);
    // Member b at byte 16 (aligned(16) in the source) needs padding; the
    // size of 32 needs tail padding.
    b.structure("gap", 32, &[("a", chr, 0, 0), ("b", long, 128, 0)]);
    // A packed struct embedded at an odd offset.
    b.structure(
        "outer",
        7,
        &[("x", chr, 0, 0), ("p", 4, 8, 0), ("y", chr, 48, 0)],
    );
    // A union bigger than its members (`__aligned(16)` in the source).
    let au = b.union("au", 16, &[("i", int, 0, 0), ("c", chr, 0, 0)]);
    b.structure("holds_au", 32, &[("x", chr, 0, 0), ("u", au, 128, 0)]);
    // A packed union: 5 bytes although it holds an int.
    let five = b.array(chr, int, 5);
    b.union("pu", 5, &[("i", int, 0, 0), ("b", five, 0, 0)]);
    let btf = b.build();
    assert_dump(
        "packed",
        &btf,
        &[
            "struct pk {\n\tchar a;\n\tint b;\n} __attribute__((packed));",
            "struct gap {\n\tchar a;\n\tlong: 64;\n\tlong b;\n\tlong: 64;\n};",
            "\tchar c;\n} __attribute__((aligned(16)));",
            "\tchar b[5];\n} __attribute__((packed));",
        ],
        "",
    );
}

#[test]
fn anonymous_members_are_inlined() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let long = b.int("long", 8, true); // 2
    let u = b.union("", 8, &[("i", int, 0, 0), ("l", long, 0, 0)]); // 3
    let s = b.structure("", 8, &[("lo", int, 0, 0), ("hi", int, 32, 0)]); // 4
    b.structure(
        "outer",
        24,
        &[("x", int, 0, 0), ("", u, 64, 0), ("", s, 128, 0)],
    ); // 5
    let btf = b.build();
    let text = assert_dump(
        "anon",
        &btf,
        &[
            "struct outer {\n\tint x;\n\tunion {\n\t\tint i;\n\t\tlong l;\n\t};\n\tstruct {\n\t\tint lo;\n\t\tint hi;\n\t};\n};",
        ],
        "_Static_assert(__builtin_offsetof(struct outer, l) == 8, \"\");\n\
         _Static_assert(__builtin_offsetof(struct outer, hi) == 20, \"\");\n",
    );
    assert!(
        !text.contains("\nunion {"),
        "anonymous types are not top-level: {text}"
    );
}

#[test]
fn enums_of_every_flavor() {
    let mut b = Builder::new();
    b.enumeration("color", 4, false, &[("RED", 0), ("BIG", 0xffff_fff0)]);
    b.enumeration("sgn", 4, true, &[("NEG", -1), ("POS", 7)]);
    b.enumeration("tiny", 1, false, &[("T0", 0), ("T1", 1)]);
    b.enum64("wide", false, &[("W1", 1 << 40), ("WMAX", u64::MAX)]);
    b.enum64("swide", true, &[("S1", (-5i64) as u64), ("S2", 1 << 35)]);
    b.enum64("narrow64", false, &[("N1", 1)]);
    // Anonymous, unreferenced: a top-level list of constants.
    b.enumeration("", 4, false, &[("CONST_A", 3)]);
    let btf = b.build();
    assert_dump(
        "enums",
        &btf,
        &[
            "enum color {\n\tRED = 0,\n\tBIG = 4294967280,\n};",
            "enum sgn {\n\tNEG = -1,\n\tPOS = 7,\n};",
            "enum tiny {\n\tT0 = 0,\n\tT1 = 1,\n} __attribute__((mode(byte)));",
            "enum wide {\n\tW1 = 1099511627776ULL,\n\tWMAX = 18446744073709551615ULL,\n};",
            "enum swide {\n\tS1 = -5LL,\n\tS2 = 34359738368LL,\n};",
            "enum narrow64 {\n\tN1 = 1ULL,\n} __attribute__((mode(word)));",
            "enum {\n\tCONST_A = 3,\n};",
        ],
        "_Static_assert(sizeof(enum tiny) == 1, \"\");\n\
         _Static_assert(sizeof(enum wide) == 8, \"\");\n\
         _Static_assert(sizeof(enum narrow64) == 8, \"\");\n\
         _Static_assert(CONST_A == 3, \"\");\n",
    );
}

#[test]
fn function_pointers_and_arrays() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let chr = b.int("char", 1, true); // 2
    let pchar = b.ptr(chr); // 3
    let proto = b.proto(int, &[("x", int), ("buf", pchar)]); // 4
    let pproto = b.ptr(proto); // 5
    b.typedef("handler_t", pproto); // 6
    let void_proto = b.proto(int, &[]); // 7
    let pvoid_proto = b.ptr(void_proto); // 8
    let arr4 = b.array(pvoid_proto, int, 4); // 9
    let row = b.array(int, int, 3); // 10
    let grid = b.array(row, int, 2); // 11
    let prow = b.ptr(row); // 12
    let varargs = b.proto(int, &[("fmt", pchar), ("", 0)]); // 13
    let pvarargs = b.ptr(varargs); // 14
    b.structure(
        "ops",
        88,
        &[
            ("h", 6, 0, 0),
            ("table", arr4, 64, 0),
            ("grid", grid, 320, 0),
            ("rowp", prow, 512, 0),
            ("log", pvarargs, 576, 0),
            ("cb", pvoid_proto, 640, 0),
        ],
    );
    let btf = b.build();
    assert_dump(
        "funcs",
        &btf,
        &[
            "typedef int (*handler_t)(int x, char *buf);",
            "\thandler_t h;\n",
            "\tint (*table[4])(void);\n",
            "\tint grid[2][3];\n",
            "\tint (*rowp)[3];\n",
            "\tint (*log)(char *fmt, ...);\n",
            "\tint (*cb)(void);\n",
        ],
        "",
    );
    assert_eq!(type_decl(&btf, 6, "").unwrap(), "handler_t");
    assert_eq!(
        type_decl(&btf, 5, "f").unwrap(),
        "int (*f)(int x, char *buf)"
    );
}

#[test]
fn conflicting_names_get_suffixes() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let long = b.int("long", 8, true); // 2
    b.structure("dup", 4, &[("a", int, 0, 0)]); // 3
    b.structure("dup", 8, &[("b", long, 0, 0)]); // 4
    b.structure("user", 16, &[("one", 3, 0, 0), ("two", 4, 64, 0)]); // 5
    b.enumeration("e1", 4, false, &[("X", 1)]); // 6
    b.enumeration("e2", 4, false, &[("X", 2)]); // 7
    b.typedef("dup_t", 3); // 8
    b.typedef("dup_t", 4); // 9
    let btf = b.build();
    assert_dump(
        "names",
        &btf,
        &[
            "struct dup {\n\tint a;\n};",
            "struct dup___2 {\n\tlong b;\n};",
            "\tstruct dup one;\n\tstruct dup___2 two;\n",
            "enum e2 {\n\tX___2 = 2,\n};",
            "typedef struct dup dup_t;",
            "typedef struct dup___2 dup_t___2;",
        ],
        "_Static_assert(sizeof(struct dup___2) == 8, \"\");\n\
         _Static_assert(__builtin_offsetof(struct user, two) == 8, \"\");\n",
    );
}

#[test]
fn pointers_need_only_forward_declarations() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    b.structure("a", 8, &[("b", 3, 0, 0)]); // 2: struct a { struct b *b; }
    b.ptr(4); // 3
    b.structure("b", 16, &[("a", 2, 0, 0), ("x", int, 64, 0)]); // 4: struct b { struct a a; int x; }
    b.add("opaque", info(kind_no::FWD, 0, false), 0, &[]); // 5
    let p_opaque = b.ptr(5); // 6
    b.structure("holder", 8, &[("o", p_opaque, 0, 0)]); // 7
    let btf = b.build();
    assert_dump(
        "fwd",
        &btf,
        &[
            "struct b;\n\nstruct a {\n\tstruct b *b;\n};\n\nstruct b {\n\tstruct a a;\n\tint x;\n};",
            "struct opaque;\n\nstruct holder {\n\tstruct opaque *o;\n};",
        ],
        "",
    );
}

#[test]
fn type_tags_and_qualifiers() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let c = b.add("", info(kind_no::CONST, 0, false), int, &[]); // 2: const int
    let tag = b.add("rcu", info(kind_no::TYPE_TAG, 0, false), c, &[]); // 3
    let p = b.ptr(tag); // 4
    let v = b.add("", info(kind_no::VOLATILE, 0, false), p, &[]); // 5: int *volatile
    let f = b.add("float", info(kind_no::FLOAT, 0, false), 4, &[]); // 6
    b.structure("q", 16, &[("p", v, 0, 0), ("f", f, 64, 0)]); // 7
    let btf = b.build();
    assert_dump(
        "tags",
        &btf,
        &["\tconst int __attribute__((btf_type_tag(\"rcu\"))) * volatile p;\n\tfloat f;\n"],
        "",
    );
}

#[test]
fn split_btf_dumps_with_its_base() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let a = b.structure("a", 4, &[("x", int, 0, 0)]); // 2
    let base = std::sync::Arc::new(b.build());
    let mut s = Builder::split(&base);
    let sb = s.structure("b", 8, &[("a", a, 0, 0), ("y", int, 32, 0)]); // 3
    let pb = s.ptr(sb); // 4
    s.structure("c", 8, &[("pb", pb, 0, 0)]); // 5
    let split = Btf::parse_split(&s.bytes(), base).expect("split BTF parses");
    assert_dump(
        "split",
        &split,
        &[
            "struct a {\n\tint x;\n};\n\nstruct b {\n\tstruct a a;\n\tint y;\n};",
            "struct c {\n\tstruct b *pb;\n};",
        ],
        "",
    );
}

#[test]
fn roots_outside_the_btf_are_an_error() {
    let mut b = Builder::new();
    b.int("int", 4, true);
    let btf = b.build();
    let mut out = Vec::new();
    let err = dump_c(&btf, &CDumpOptions::for_roots(vec![99]), &mut out).unwrap_err();
    assert!(matches!(err, CDumpError::NoSuchType(99)), "{err}");
}

#[test]
fn unprintable_loops_are_errors_not_crashes() {
    // typedef f_t (*f_t)(void): a pointer loop through a prototype, which
    // validation allows but C cannot express.
    let mut b = Builder::new();
    b.typedef("f_t", 2); // 1
    b.ptr(3); // 2
    b.proto(1, &[]); // 3
    let btf = b.build();
    let mut out = Vec::new();
    assert!(dump_c(&btf, &CDumpOptions::default(), &mut out).is_err());

    // An anonymous struct that points to itself cannot be named.
    let mut b = Builder::new();
    b.structure("", 8, &[("self", 2, 0, 0)]); // 1
    b.ptr(1); // 2
    b.structure("holder", 8, &[("s", 1, 0, 0)]); // 3
    let btf = b.build();
    let _ = dump_c(&btf, &CDumpOptions::default(), &mut Vec::new()); // no panic

    // Deep by-value nesting of anonymous structs hits the depth limit.
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let mut inner = int;
    for _ in 0..2000 {
        inner = b.structure("", 4, &[("x", inner, 0, 0)]);
    }
    b.structure("deep", 4, &[("x", inner, 0, 0)]);
    let btf = b.build();
    let err = dump_c(&btf, &CDumpOptions::default(), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, CDumpError::TooDeep(_)), "{err}");
}

#[test]
fn hostile_sizes_give_bounded_output() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    b.union("huge_u", 0xffff_fff0, &[("a", int, 0, 0)]); // 2
    b.structure(
        "huge_s",
        0xffff_ffff,
        &[("a", int, 0, 0), ("b", int, 0xffff_0000, 0)],
    ); // 3
    let big = b.array(2, int, u32::MAX); // 4: 2^32 unions of ~2^32 bytes
    b.structure("holder", 16, &[("x", big, 0, 0), ("y", 3, 64, 0)]); // 5
    let btf = b.build();
    let text = body(&btf);
    assert!(text.len() < 10_000, "{} bytes of output", text.len());
    assert_contains(&text, "unsigned char __pad_");
}

#[test]
fn corrupted_btf_never_panics_the_dumper() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true); // 1
    let p = b.ptr(3); // 2
    b.structure("s", 16, &[("a", int, 0, 3), ("p", p, 64, 0)]); // 3
    b.enum64("e", true, &[("A", 1)]); // 4
    let proto = b.proto(int, &[("x", p), ("", 0)]); // 5
    let fp = b.ptr(proto); // 6
    let arr = b.array(fp, int, 2); // 7
    let u = b.union("", 8, &[("f", fp, 0, 0), ("i", int, 0, 0)]); // 8
    b.typedef("t", arr); // 9
    b.structure("w", 32, &[("u", u, 0, 0), ("t", 9, 64, 0)]); // 10
    let data = b.bytes();
    for i in 0..data.len() {
        for v in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut d = data.clone();
            d[i] = v;
            if let Ok(btf) = Btf::parse(&d) {
                let _ = dump_c(&btf, &CDumpOptions::default(), &mut Vec::new());
                for id in 0..btf.next_id() {
                    let _ = type_decl(&btf, id, "x");
                }
            }
        }
    }
}
