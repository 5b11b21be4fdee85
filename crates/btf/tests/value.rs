//! Decoding values through hand-assembled BTF and through vmlinux types.

mod common;

use bpfkit_btf::value::{DecodeError, Value, decode, to_json, typedef_chain};
use bpfkit_btf::{Btf, TypeId, kind_no};
use common::{Builder, info};

const SIGNED: u32 = 1;
const CHAR: u32 = 2;
const BOOL: u32 = 4;

struct Event {
    btf: Btf,
    ty: TypeId,
}

/// ```c
/// struct event {
///     pid_t pid;              // 0   typedef int
///     char comm[8];           // 4
///     u8 addr[4];             // 12  typedef unsigned char
///     __u64 ts;               // 16
///     int neg:5;              // 24 (bits 192..197)
///     unsigned int flags:3;   // bits 197..200
///     bool on;                // 25
///     short s;                // 26
///     enum state st;          // 28  {IDLE=0, RUN=1, DEAD=-1} signed
///     int *p;                 // 32
///     double d;               // 40
///     float f;                // 48
///     union { unsigned int v4; unsigned short half[2]; }; // 52
///     int grid[2][2];         // 56
///     unsigned __int128 big;  // 72
///     char c;                 // 88
/// };                          // size 96
/// ```
fn event_btf() -> Event {
    let mut b = Builder::new();
    let int = b.int_with("int", 4, SIGNED, 32);
    let uint = b.int_with("unsigned int", 4, 0, 32);
    let ch = b.int_with("char", 1, SIGNED, 8);
    let uch = b.int_with("unsigned char", 1, 0, 8);
    let u64t = b.int_with("unsigned long long", 8, 0, 64);
    let boolt = b.int_with("_Bool", 1, BOOL, 8);
    let short = b.int_with("short", 2, SIGNED, 16);
    let ushort = b.int_with("unsigned short", 2, 0, 16);
    let u128t = b.int_with("unsigned __int128", 16, 0, 128);
    let pid_t = b.add("pid_t", info(kind_no::TYPEDEF, 0, false), int, &[]);
    let u8t = b.add("u8", info(kind_no::TYPEDEF, 0, false), uch, &[]);
    let u64_td = b.add("__u64", info(kind_no::TYPEDEF, 0, false), u64t, &[]);
    let comm = b.array(ch, int, 8);
    let addr = b.array(u8t, int, 4);
    let (idle, run, dead) = (b.name("IDLE"), b.name("RUN"), b.name("DEAD"));
    let state = b.add(
        "state",
        info(kind_no::ENUM, 3, true),
        4,
        &[idle, 0, run, 1, dead, u32::MAX],
    );
    let ptr = b.add("", info(kind_no::PTR, 0, false), int, &[]);
    let dbl = b.add("double", info(kind_no::FLOAT, 0, false), 8, &[]);
    let flt = b.add("float", info(kind_no::FLOAT, 0, false), 4, &[]);
    let halves = b.array(ushort, int, 2);
    let anon = b.composite(
        kind_no::UNION,
        "",
        4,
        &[("v4", uint, 0, 0), ("half", halves, 0, 0)],
    );
    let row = b.array(int, int, 2);
    let grid = b.array(row, int, 2);
    let cst = b.add("", info(kind_no::CONST, 0, false), pid_t, &[]);
    let _ = cst;
    let ty = b.composite(
        kind_no::STRUCT,
        "event",
        96,
        &[
            ("pid", pid_t, 0, 0),
            ("comm", comm, 32, 0),
            ("addr", addr, 96, 0),
            ("ts", u64_td, 128, 0),
            ("neg", int, 192, 5),
            ("flags", uint, 197, 3),
            ("on", boolt, 200, 0),
            ("s", short, 208, 0),
            ("st", state, 224, 0),
            ("p", ptr, 256, 0),
            ("d", dbl, 320, 0),
            ("f", flt, 384, 0),
            ("", anon, 416, 0),
            ("grid", grid, 448, 0),
            ("big", u128t, 576, 0),
            ("c", ch, 704, 0),
        ],
    );
    Event { btf: b.build(), ty }
}

fn event_bytes() -> Vec<u8> {
    let mut d = vec![0u8; 96];
    d[0..4].copy_from_slice(&1234i32.to_le_bytes());
    d[4..8].copy_from_slice(b"bash");
    d[12..16].copy_from_slice(&[10, 0, 0, 1]);
    d[16..24].copy_from_slice(&(1u64 << 60).to_le_bytes());
    // neg = -3 in 5 bits (0b11101), flags = 5 (0b101) above it.
    d[24] = 0b101_11101;
    d[25] = 1;
    d[26..28].copy_from_slice(&(-2i16).to_le_bytes());
    d[28..32].copy_from_slice(&(-1i32).to_le_bytes());
    d[32..40].copy_from_slice(&0xffff_8880_1234_5678u64.to_le_bytes());
    d[40..48].copy_from_slice(&1.5f64.to_le_bytes());
    d[48..52].copy_from_slice(&(-0.25f32).to_le_bytes());
    d[52..56].copy_from_slice(&0x0002_0001u32.to_le_bytes());
    for (i, v) in [1i32, 2, 3, -4].iter().enumerate() {
        d[56 + i * 4..60 + i * 4].copy_from_slice(&v.to_le_bytes());
    }
    d[72..88].copy_from_slice(&(u128::MAX - 1).to_le_bytes());
    d[88] = b'x';
    d
}

#[test]
fn decodes_every_member_kind() {
    let e = event_btf();
    let v = decode(&e.btf, e.ty, &event_bytes()).unwrap();
    assert_eq!(v.field("pid"), Some(&Value::Signed(1234)));
    assert_eq!(
        v.field("comm"),
        Some(&Value::Str {
            text: "bash".into(),
            raw: b"bash\0\0\0\0".to_vec()
        })
    );
    assert_eq!(v.field("addr"), Some(&Value::Bytes(vec![10, 0, 0, 1])));
    assert_eq!(v.field("ts"), Some(&Value::Unsigned(1 << 60)));
    assert_eq!(v.field("neg"), Some(&Value::Signed(-3)));
    assert_eq!(v.field("flags"), Some(&Value::Unsigned(5)));
    assert_eq!(v.field("on"), Some(&Value::Bool(true)));
    assert_eq!(v.field("s"), Some(&Value::Signed(-2)));
    assert_eq!(
        v.field("st"),
        Some(&Value::Enum {
            name: Some("DEAD".into()),
            value: -1
        })
    );
    assert_eq!(v.field("p"), Some(&Value::Ptr(0xffff_8880_1234_5678)));
    assert_eq!(v.field("d"), Some(&Value::Float(1.5)));
    assert_eq!(v.field("f"), Some(&Value::Float(-0.25)));
    // Anonymous union members are reachable from the parent.
    assert_eq!(v.field("v4"), Some(&Value::Unsigned(0x0002_0001)));
    assert_eq!(
        v.field("half"),
        Some(&Value::Array(vec![Value::Unsigned(1), Value::Unsigned(2)]))
    );
    let grid = Value::Array(vec![
        Value::Array(vec![Value::Signed(1), Value::Signed(2)]),
        Value::Array(vec![Value::Signed(3), Value::Signed(-4)]),
    ]);
    assert_eq!(v.field("grid"), Some(&grid));
    assert_eq!(v.field("big"), Some(&Value::Unsigned(u128::MAX - 1)));
    assert_eq!(v.field("c"), Some(&Value::Signed(b'x' as i128)));
}

#[test]
fn keeps_typedef_names() {
    let e = event_btf();
    let v = decode(&e.btf, e.ty, &event_bytes()).unwrap();
    let Value::Struct(fields) = &v else {
        panic!("not a struct: {v:?}")
    };
    let type_of = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .type_name
            .clone()
    };
    assert_eq!(type_of("pid").as_deref(), Some("pid_t"));
    assert_eq!(type_of("ts").as_deref(), Some("__u64"));
    assert_eq!(type_of("neg"), None);
    // const pid_t → typedef chain through the qualifier.
    let cst = (1..e.btf.next_id())
        .find(|&id| matches!(e.btf.get(id).unwrap().kind, bpfkit_btf::Kind::Const(_)))
        .unwrap();
    assert_eq!(typedef_chain(&e.btf, cst), vec!["pid_t"]);
}

#[test]
fn json_and_text() {
    let e = event_btf();
    let v = decode(&e.btf, e.ty, &event_bytes()).unwrap();
    let j = to_json(&v);
    assert_eq!(j["pid"], 1234);
    assert_eq!(j["comm"], "bash");
    assert_eq!(j["ts"], "1152921504606846976", "u64 above 2^53 is a string");
    assert_eq!(j["st"], "DEAD");
    assert_eq!(j["p"], "0xffff888012345678");
    assert_eq!(j["v4"], 0x0002_0001);
    assert_eq!(j["grid"], serde_json::json!([[1, 2], [3, -4]]));
    assert_eq!(j["addr"], serde_json::json!([10, 0, 0, 1]));
    let text = v.to_string();
    assert!(
        text.starts_with("{.pid = 1234, .comm = \"bash\", .addr = [10, 0, 0, 1], .ts = 1152921504606846976, .neg = -3, .flags = 5, .on = true"),
        "{text}"
    );
    assert!(text.contains(".p = 0xffff888012345678"), "{text}");
    assert!(text.contains("{.v4 = 131073, .half = [1, 2]}"), "{text}");
}

#[test]
fn strings_unterminated_and_invalid_utf8() {
    let e = event_btf();
    let mut d = event_bytes();
    d[4..12].copy_from_slice(b"abcdefgh");
    let v = decode(&e.btf, e.ty, &d).unwrap();
    assert_eq!(to_json(&v)["comm"], "abcdefgh");
    d[4..12].copy_from_slice(b"a\xffb\xc3\0zzz");
    let v = decode(&e.btf, e.ty, &d).unwrap();
    assert_eq!(to_json(&v)["comm"], "a\\xffb\\xc3");
}

#[test]
fn short_buffers_are_errors() {
    let e = event_btf();
    let d = event_bytes();
    for len in 0..d.len() {
        match decode(&e.btf, e.ty, &d[..len]) {
            Err(DecodeError::ShortBuffer { need: 96, got, .. }) => assert_eq!(got, len),
            other => panic!("len {len}: {other:?}"),
        }
    }
}

#[test]
fn enum64_and_unknown_enumerators() {
    let mut b = Builder::new();
    let big = b.name("BIG");
    let small = b.name("SMALL");
    let ty = b.add(
        "e64",
        info(kind_no::ENUM64, 2, false),
        8,
        &[small, 1, 0, big, 0, 0x8000_0000],
    );
    let btf = b.build();
    let v = decode(&btf, ty, &(0x8000_0000u64 << 32).to_le_bytes()).unwrap();
    assert_eq!(
        v,
        Value::Enum {
            name: Some("BIG".into()),
            value: 0x8000_0000_0000_0000
        }
    );
    let v = decode(&btf, ty, &7u64.to_le_bytes()).unwrap();
    assert_eq!(
        v,
        Value::Enum {
            name: None,
            value: 7
        }
    );
    assert_eq!(to_json(&v), serde_json::json!(7));
}

#[test]
fn ints_of_every_width() {
    let mut b = Builder::new();
    let ids: Vec<(TypeId, usize)> = [1u32, 2, 4, 8, 16]
        .iter()
        .flat_map(|&size| {
            [
                (b.int_with("s", size, SIGNED, size * 8), size as usize),
                (b.int_with("u", size, 0, size * 8), size as usize),
            ]
        })
        .collect();
    let c = b.int_with("c", 1, CHAR, 8);
    let btf = b.build();
    let ones = [0xffu8; 16];
    for (i, (ty, size)) in ids.iter().enumerate() {
        let v = decode(&btf, *ty, &ones).unwrap();
        let expect = if i % 2 == 0 {
            Value::Signed(-1)
        } else {
            Value::Unsigned(u128::MAX >> (128 - size * 8))
        };
        assert_eq!(v, expect, "size {size}");
    }
    assert_eq!(decode(&btf, c, b"A").unwrap(), Value::Char(b'A'));
}

#[test]
fn old_style_bitfields_in_int_type() {
    // struct { int a:4 (int type with bits=4); unsigned b:12 at bit 4 }
    let mut b = Builder::new();
    let a = b.int_with("int", 4, SIGNED, 4);
    let bt = b.int_with("unsigned int", 4, 0, 12);
    let ty = b.composite(
        kind_no::STRUCT,
        "old",
        4,
        &[("a", a, 0, 0), ("b", bt, 4, 0)],
    );
    let btf = b.build();
    let word: u32 = 0xabc << 4 | 0b1000; // a = -8, b = 0xabc
    let v = decode(&btf, ty, &word.to_le_bytes()).unwrap();
    assert_eq!(v.field("a"), Some(&Value::Signed(-8)));
    assert_eq!(v.field("b"), Some(&Value::Unsigned(0xabc)));
}

#[test]
fn vmlinux_task_struct_zeroed_with_pid() {
    let Ok(btf) = Btf::vmlinux() else {
        eprintln!("skipping: no vmlinux BTF");
        return;
    };
    let task = btf.find_struct("task_struct").unwrap();
    let size = btf.size_of(task).unwrap() as usize;
    let mut bytes = vec![0u8; size];
    let bpfkit_btf::Kind::Struct(c) = &btf.get(task).unwrap().kind else {
        panic!()
    };
    let pid = c
        .members
        .iter()
        .find(|m| btf.str_at(m.name_off) == "pid")
        .unwrap();
    let comm = c
        .members
        .iter()
        .find(|m| btf.str_at(m.name_off) == "comm")
        .unwrap();
    let (p, cm) = (
        (pid.bit_offset / 8) as usize,
        (comm.bit_offset / 8) as usize,
    );
    bytes[p..p + 4].copy_from_slice(&4321i32.to_le_bytes());
    bytes[cm..cm + 4].copy_from_slice(b"init");
    let v = decode(&btf, task, &bytes).unwrap();
    assert_eq!(v.field("pid"), Some(&Value::Signed(4321)));
    assert_eq!(to_json(&v)["comm"], "init");
    assert!(decode(&btf, task, &bytes[..size - 1]).is_err());
    // A smaller struct decodes from the front of the big buffer.
    let sc = btf.find_struct("sock_common").unwrap();
    let v = decode(&btf, sc, &bytes).unwrap();
    assert!(v.field("skc_family").is_some());
}
