//! Round trips through the BTF encoder and the builder.

use bpfkit_btf::encode::{BtfBuilder, encode};
use bpfkit_btf::{Btf, Composite, Int, Kind, Member, Type};
use std::path::PathBuf;

fn assert_same(a: &Btf, b: &Btf) {
    assert_eq!(a.next_id(), b.next_id(), "type count differs");
    for ((ida, ta), (idb, tb)) in a.iter().zip(b.iter()) {
        assert_eq!(ida, idb);
        assert_eq!(ta, tb, "type {ida} differs");
    }
    assert_eq!(a.string_section(), b.string_section());
}

#[test]
fn vmlinux_round_trips() {
    let Ok(raw) = std::fs::read(bpfkit_btf::VMLINUX_PATH) else {
        eprintln!("skipping: no {}", bpfkit_btf::VMLINUX_PATH);
        return;
    };
    let btf = Btf::parse(&raw).unwrap();
    let encoded = encode(&btf);
    // Same layout as the kernel's; the bytes may still differ where the
    // kernel sets kind_flag on TYPE_TAG/DECL_TAG (attribute tags), a bit
    // the type model does not keep.
    assert_eq!(encoded.len(), raw.len());
    assert_same(&btf, &Btf::parse(&encoded).unwrap());
}

#[test]
fn committed_objects_round_trip() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".bpf.o") {
            continue;
        }
        let btf = Btf::from_any_file(&path).unwrap();
        assert_same(&btf, &Btf::parse(&encode(&btf)).unwrap());
        seen += 1;
    }
    eprintln!("{seen} objects round-tripped");
}

#[test]
fn builder_appends_without_moving_existing_ids() {
    let mut b = BtfBuilder::new();
    let int_name = b.add_string("int");
    let int = b.add_type(Type {
        name_off: int_name,
        kind: Kind::Int(Int {
            size: 4,
            signed: true,
            char: false,
            bool: false,
            offset: 0,
            bits: 32,
        }),
    });
    let first = b.build().unwrap();

    let mut b = BtfBuilder::from_btf(&first);
    assert_eq!(b.add_string("int"), int_name, "existing string reused");
    // A self-referencing struct: reserve the id, then fill it in.
    let node = b.add_type(Type {
        name_off: 0,
        kind: Kind::Fwd { is_union: false },
    });
    let ptr = b.add_type(Type {
        name_off: 0,
        kind: Kind::Ptr(node),
    });
    let member = |name, ty, bit_offset| Member {
        name_off: name,
        ty,
        bit_offset,
        bitfield_size: 0,
    };
    let members = vec![
        member(b.add_string("value"), int, 0),
        member(b.add_string("next"), ptr, 64),
    ];
    let node_name = b.add_string("node");
    assert!(b.set_type(
        node,
        Type {
            name_off: node_name,
            kind: Kind::Struct(Composite {
                size: 16,
                kind_flag: false,
                members,
            }),
        }
    ));
    let btf = b.build().unwrap();
    assert_eq!(btf.name_of(int), "int");
    assert_eq!(btf.find_struct("node"), Some(node));
    assert_eq!(btf.size_of(node).unwrap(), 16);
    assert_same(&btf, &Btf::parse(&encode(&btf)).unwrap());
}

#[test]
fn builder_rejects_dangling_references() {
    let mut b = BtfBuilder::new();
    b.add_type(Type {
        name_off: 0,
        kind: Kind::Ptr(7),
    });
    assert!(b.build().is_err());
}
