//! `dump_raw` must print exactly what `bpftool btf dump file X` prints.

mod common;

use std::sync::Arc;

use bpfkit_btf::encode::raw_btf;
use bpfkit_btf::raw::dump_raw;
use bpfkit_btf::{Btf, VMLINUX_PATH};
use common::{ENUM64_CLANG, assert_same_text, bpftool, bpftool_and_kinds_object, btf_section};

fn ours(btf: &Btf, roots: Option<&[u32]>) -> Vec<u8> {
    let mut out = Vec::new();
    dump_raw(btf, roots, &mut out).unwrap();
    out
}

#[test]
fn raw_dump_of_vmlinux_matches_bpftool() {
    let Some(tool) = bpfkit_testkit::peer_tool("raw_dump_of_vmlinux_matches_bpftool", "bpftool")
    else {
        return;
    };
    let btf = Btf::vmlinux().unwrap();
    let theirs = bpftool(&tool, &["btf", "dump", "file", VMLINUX_PATH]);
    assert_same_text(&ours(&btf, None), &theirs, "vmlinux");
}

#[test]
fn raw_dump_of_clang_object_matches_bpftool() {
    let test = "raw_dump_of_clang_object_matches_bpftool";
    let Some(kinds) = bpftool_and_kinds_object(test) else {
        return;
    };
    let (tool, obj) = (&kinds.bpftool, &kinds.obj);
    let btf = Btf::from_any_file(obj).unwrap();
    let theirs = bpftool(tool, &["btf", "dump", "file", obj.to_str().unwrap()]);
    let ours = ours(&btf, None);
    assert_same_text(&ours, &theirs, "raw_kinds.bpf.o");
    // The object is meant to cover every kind bpftool prints.
    let text = String::from_utf8(ours).unwrap();
    for kind in [
        "INT",
        "PTR",
        "ARRAY",
        "STRUCT",
        "UNION",
        "ENUM",
        "FWD",
        "TYPEDEF",
        "VOLATILE",
        "CONST",
        "RESTRICT",
        "FUNC",
        "FUNC_PROTO",
        "VAR",
        "DATASEC",
        "FLOAT",
        "DECL_TAG",
        "TYPE_TAG",
    ] {
        assert!(
            text.contains(&format!("] {kind} '")),
            "no {kind} in the test object"
        );
    }
    if kinds.clang_major >= ENUM64_CLANG {
        assert!(text.contains("] ENUM64 '"), "no ENUM64 in the test object");
    } else {
        bpfkit_testkit::newer_clang_needed(
            test,
            ENUM64_CLANG,
            "the ENUM64 part (clang 14 writes 64-bit enums as ENUM)",
            Some(kinds.clang_major),
        );
    }
}

/// Root ids print just those types, in the order given.
#[test]
fn raw_dump_of_roots_prints_only_those_types() {
    let btf = Btf::vmlinux().unwrap();
    let task = btf.find_struct("task_struct").unwrap();
    let int = btf
        .find("int", |k| matches!(k, bpfkit_btf::Kind::Int(_)))
        .unwrap();
    let full = String::from_utf8(ours(&btf, None)).unwrap();
    let block = |id: u32| -> String {
        let start = full.find(&format!("\n[{id}] ")).unwrap() + 1;
        let end = full[start..]
            .find("\n[")
            .map_or(full.len(), |e| start + e + 1);
        full[start..end].to_string()
    };
    let roots = ours(&btf, Some(&[task, int]));
    assert_eq!(String::from_utf8(roots).unwrap(), block(task) + &block(int));

    let mut sink = Vec::new();
    assert!(dump_raw(&btf, Some(&[0]), &mut sink).is_err());
    assert!(dump_raw(&btf, Some(&[btf.next_id()]), &mut sink).is_err());
}

/// Split BTF on top of the test object: ids and string offsets continue
/// from the base, and only the split types are printed (`bpftool -B base`).
#[test]
fn raw_dump_of_split_btf_matches_bpftool() {
    let test = "raw_dump_of_split_btf_matches_bpftool";
    let Some(kinds) = bpftool_and_kinds_object(test) else {
        return;
    };
    let (tool, obj) = (&kinds.bpftool, &kinds.obj);
    let base_raw = btf_section(obj);
    let base = Arc::new(Btf::parse(&base_raw).unwrap());
    let split_raw = split_btf(&base);
    let split = Btf::parse_split(&split_raw, base.clone()).unwrap();
    let (base_path, split_path) = (kinds.dir.file("base.btf"), kinds.dir.file("split.btf"));
    std::fs::write(&base_path, &base_raw).unwrap();
    std::fs::write(&split_path, &split_raw).unwrap();
    let theirs = bpftool(
        tool,
        &[
            "-B",
            base_path.to_str().unwrap(),
            "btf",
            "dump",
            "file",
            split_path.to_str().unwrap(),
        ],
    );
    let ours = ours(&split, None);
    assert_same_text(&ours, &theirs, "split BTF");
    assert!(
        String::from_utf8(ours)
            .unwrap()
            .starts_with(&format!("[{}] ", base.next_id()))
    );
}

/// Hand-assembled split BTF: a struct using a base int and a new string,
/// a typedef naming a base struct with a base string, and a pointer to it.
fn split_btf(base: &Btf) -> Vec<u8> {
    let int = base
        .find("int", |k| matches!(k, bpfkit_btf::Kind::Int(_)))
        .unwrap();
    let holder = base.find_struct("holder").unwrap();
    let holder_name = base.get(holder).unwrap().name_off;
    let str_base = base.string_section().len() as u32;
    // libbpf wants split strings to start with an empty string too.
    let strings = b"\0split_s\0field\0";
    let (split_s, field) = (str_base + 1, str_base + 9);
    let first = base.next_id();
    let words: Vec<u32> = vec![
        // [first] STRUCT 'split_s' size=4 vlen=1 { 'field' int @0 }
        split_s,
        4 << 24 | 1,
        4,
        field,
        int,
        0,
        // [first+1] TYPEDEF 'holder' -> holder (base string reused)
        holder_name,
        8 << 24,
        holder,
        // [first+2] PTR -> [first]
        0,
        2 << 24,
        first,
    ];
    let types: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    raw_btf(&types, strings)
}
