//! Enum fields named after the running kernel's enumerators
//! (`use_kernel_enums`): an object built against one kernel's vmlinux.h
//! gets values that follow another kernel's numbering (`enum
//! skb_drop_reason` grows and renumbers between releases).
//!
//! Its own test binary: the kernel BTF is set once per process.

use bpfkit_btf::encode::{BtfBuilder, encode};
use bpfkit_btf::view::{BtfView, Bytes};
use bpfkit_btf::{Btf, Composite, Enum, EnumValue, Int, Kind, Member, Type, TypeId};
use bpfkit_output::{EventFormatter, FormatOptions, Mode};

/// BTF with `enum drop_reason { NAMES[0] = 3, NAMES[1] = 4 }` and, when
/// `event` is set, `struct event { enum drop_reason reason; }`.
fn btf_with_enum(names: [&str; 2], event: bool) -> (Btf, TypeId) {
    let mut b = BtfBuilder::new();
    let values = names
        .iter()
        .zip([3u64, 4])
        .map(|(name, value)| EnumValue {
            name_off: b.add_string(name),
            value,
        })
        .collect();
    let name_off = b.add_string("drop_reason");
    let enum_id = b.add_type(Type {
        name_off,
        kind: Kind::Enum(Enum {
            size: 4,
            signed: false,
            is_64: false,
            values,
        }),
    });
    // An int, so that the kernel side looks like BTF with other types too.
    let int_name = b.add_string("int");
    b.add_type(Type {
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
    let mut event_id = 0;
    if event {
        let member = b.add_string("reason");
        let name_off = b.add_string("event");
        event_id = b.add_type(Type {
            name_off,
            kind: Kind::Struct(Composite {
                size: 4,
                kind_flag: false,
                members: vec![Member {
                    name_off: member,
                    ty: enum_id,
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            }),
        });
    }
    (
        Btf::parse(&b.encode()).expect("parsing built BTF"),
        event_id,
    )
}

fn formatted(btf: &Btf, ty: TypeId, reason: u32) -> String {
    let opts = FormatOptions {
        mode: Mode::Json,
        ..FormatOptions::default()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).expect("a formatter");
    let mut out = Vec::new();
    f.write_event(&reason.to_le_bytes(), &mut out)
        .expect("formatting");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn enum_fields_take_the_running_kernels_names() {
    // Built against a kernel where 3 was OLD_THREE; this kernel says NEW_THREE.
    let (object, event) = btf_with_enum(["OLD_THREE", "OLD_FOUR"], true);
    assert!(formatted(&object, event, 3).contains("OLD_THREE"));
    bpfkit_output::use_kernel_enums(|| {
        let kernel = encode(&btf_with_enum(["NEW_THREE", "NEW_FOUR"], false).0);
        BtfView::new(Bytes::Owned(kernel)).ok()
    });
    let text = formatted(&object, event, 3);
    assert!(
        text.contains("NEW_THREE") && !text.contains("OLD_THREE"),
        "{text}"
    );
}
