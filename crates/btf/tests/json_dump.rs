//! `dump_json` must print what `bpftool -j btf dump file X` prints, except
//! for bpftool 7.1's sign-extension of unsigned 32-bit enumerators (see
//! `bpfkit_btf::json`), which the comparison undoes on bpftool's side.

mod common;

use bpfkit_btf::json::dump_json;
use bpfkit_btf::{Btf, VMLINUX_PATH};
use common::{bpftool, bpftool_and_kinds_object};

fn ours(btf: &Btf, roots: Option<&[u32]>) -> String {
    let mut out = Vec::new();
    dump_json(btf, roots, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Splits `{"types":[{"id":1,...},{"id":2,...}]}` into one chunk per type
/// (nested objects never carry an "id" key).
fn type_chunks(json: &str) -> Vec<&str> {
    json.split("{\"id\":").skip(1).collect()
}

/// Undoes bpftool's sign extension in unsigned 32-bit enum values:
/// 2^64 - x becomes 2^32 - x.
fn fix_bpftool_chunk(chunk: &str) -> String {
    if !(chunk.contains("\"kind\":\"ENUM\",") && chunk.contains("\"encoding\":\"UNSIGNED\"")) {
        return chunk.to_string();
    }
    let mut fixed = String::new();
    let mut rest = chunk;
    while let Some(at) = rest.find("\"val\":") {
        let (head, tail) = rest.split_at(at + 6);
        fixed.push_str(head);
        let end = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        let v: u64 = tail[..end].parse().unwrap();
        let v = if v > u64::from(u32::MAX) {
            v as u32 as u64
        } else {
            v
        };
        fixed.push_str(&v.to_string());
        rest = &tail[end..];
    }
    fixed + rest
}

fn assert_same_json(ours: &str, theirs: &[u8], what: &str) {
    let theirs = String::from_utf8(theirs.to_vec()).unwrap();
    assert!(
        ours.starts_with("{\"types\":[") && ours.ends_with("]}\n"),
        "{what}: frame"
    );
    assert!(
        theirs.starts_with("{\"types\":[") && theirs.ends_with("]}\n"),
        "{what}: bpftool frame"
    );
    let (a, b) = (type_chunks(ours), type_chunks(&theirs));
    assert_eq!(a.len(), b.len(), "{what}: type counts differ");
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(
            *a,
            fix_bpftool_chunk(b),
            "{what}: type differs (left: ours)"
        );
    }
}

#[test]
fn json_dump_of_clang_object_matches_bpftool() {
    let test = "json_dump_of_clang_object_matches_bpftool";
    let Some(kinds) = bpftool_and_kinds_object(test) else {
        return;
    };
    let (tool, obj) = (&kinds.bpftool, &kinds.obj);
    let btf = Btf::from_any_file(obj).unwrap();
    let theirs = bpftool(tool, &["-j", "btf", "dump", "file", obj.to_str().unwrap()]);
    let ours = ours(&btf, None);
    assert_same_json(&ours, &theirs, "raw_kinds.bpf.o");
    // The one value bpftool gets wrong, right here.
    assert!(ours.contains("{\"name\":\"F_B\",\"val\":2147483648}"));
}

#[test]
fn json_dump_of_vmlinux_matches_bpftool() {
    let Some(tool) = bpfkit_testkit::peer_tool("json_dump_of_vmlinux_matches_bpftool", "bpftool")
    else {
        return;
    };
    let btf = Btf::vmlinux().unwrap();
    let theirs = bpftool(&tool, &["-j", "btf", "dump", "file", VMLINUX_PATH]);
    assert_same_json(&ours(&btf, None), &theirs, "vmlinux");
}

#[test]
fn json_dump_parses_back_with_every_type() {
    let btf = Btf::vmlinux().unwrap();
    let task = btf.find_struct("task_struct").unwrap();
    let all: serde_json::Value = serde_json::from_str(&ours(&btf, None)).unwrap();
    let types = all["types"].as_array().unwrap();
    assert_eq!(types.len() as u32, btf.next_id() - 1);
    let t = &types[task as usize - 1];
    assert_eq!(t["id"], task);
    assert_eq!(t["kind"], "STRUCT");
    assert_eq!(t["name"], "task_struct");
    assert_eq!(
        t["members"].as_array().unwrap().len(),
        t["vlen"].as_u64().unwrap() as usize
    );

    let roots: serde_json::Value = serde_json::from_str(&ours(&btf, Some(&[task, 1]))).unwrap();
    assert_eq!(roots["types"][0], *t);
    assert_eq!(roots["types"][1], types[0]);
    assert!(dump_json(&btf, Some(&[0]), &mut Vec::new()).is_err());
}
