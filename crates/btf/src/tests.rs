use super::*;

/// Assembles raw little-endian BTF from (name, info, size_or_type, extra words).
pub(crate) fn assemble(strings: &[&str], types: &[(u32, u32, u32, Vec<u32>)]) -> Vec<u8> {
    let mut str_sec = vec![0u8];
    for s in strings {
        str_sec.extend_from_slice(s.as_bytes());
        str_sec.push(0);
    }
    let mut type_sec = Vec::new();
    for (name, info, size, extra) in types {
        for w in [*name, *info, *size].iter().chain(extra) {
            type_sec.extend_from_slice(&w.to_le_bytes());
        }
    }
    crate::encode::raw_btf(&type_sec, &str_sec)
}

fn info(kind: u8, vlen: u32, kind_flag: bool) -> u32 {
    (kind as u32) << 24 | vlen | (kind_flag as u32) << 31
}

/// `int` (1), `struct pair { int a; int b:3; }` (2), `pair *` (3), typedef.
pub(crate) fn sample() -> Vec<u8> {
    // strings: "int"=1, "pair"=5, "a"=10, "b"=12, "pair_t"=14
    assemble(
        &["int", "pair", "a", "b", "pair_t"],
        &[
            (1, info(kind_no::INT, 0, false), 4, vec![1 << 24 | 32]),
            (
                5,
                info(kind_no::STRUCT, 2, true),
                8,
                vec![10, 1, 0, 12, 1, 3 << 24 | 32],
            ),
            (0, info(kind_no::PTR, 0, false), 2, vec![]),
            (14, info(kind_no::TYPEDEF, 0, false), 2, vec![]),
        ],
    )
}

#[test]
fn parses_small_btf() {
    let btf = Btf::parse(&sample()).unwrap();
    assert_eq!(btf.next_id(), 5);
    assert_eq!(btf.name_of(2), "pair");
    let Kind::Struct(c) = &btf.get(2).unwrap().kind else {
        panic!("not a struct")
    };
    assert_eq!(c.members[1].bitfield_size, 3);
    assert_eq!(c.members[1].bit_offset, 32);
    assert_eq!(btf.size_of(4).unwrap(), 8);
    assert_eq!(btf.resolve(4).unwrap(), 2);
    assert_eq!(btf.find_struct("pair"), Some(2));
    assert_eq!(btf.ids_by_name("int"), &[1]);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let data = sample();
    for len in 0..data.len() {
        assert!(
            Btf::parse(&data[..len]).is_err(),
            "prefix of {len} bytes parsed"
        );
    }
}

#[test]
fn every_single_byte_corruption_is_handled() {
    let data = sample();
    for i in 0..data.len() {
        for v in [0u8, 0x7f, 0xff] {
            let mut d = data.clone();
            d[i] = v;
            let _ = Btf::parse(&d); // must not panic or hang
        }
    }
}

#[test]
fn rejects_dangling_type_id() {
    let data = assemble(&["x"], &[(0, info(kind_no::PTR, 0, false), 9, vec![])]);
    let err = Btf::parse(&data).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn rejects_typedef_cycle() {
    let data = assemble(
        &["a", "b"],
        &[
            (1, info(kind_no::TYPEDEF, 0, false), 2, vec![]),
            (3, info(kind_no::TYPEDEF, 0, false), 1, vec![]),
        ],
    );
    let err = Btf::parse(&data).unwrap_err().to_string();
    assert!(err.contains("contains itself"), "{err}");
}

#[test]
fn pointer_cycles_are_fine() {
    // struct node { struct node *next; }
    let data = assemble(
        &["node", "next"],
        &[
            (1, info(kind_no::STRUCT, 1, false), 8, vec![6, 2, 0]),
            (0, info(kind_no::PTR, 0, false), 1, vec![]),
        ],
    );
    Btf::parse(&data).unwrap();
}

#[test]
fn rejects_bad_name_offset() {
    let data = assemble(
        &["int"],
        &[(999, info(kind_no::INT, 0, false), 4, vec![32])],
    );
    assert!(Btf::parse(&data).is_err());
}

#[test]
fn rejects_bad_magic() {
    assert!(matches!(
        Btf::parse(b"hello world, not btf at all"),
        Err(Error::BadMagic(_))
    ));
}

#[test]
fn parses_running_kernel_btf() {
    if !std::path::Path::new(VMLINUX_PATH).exists() {
        eprintln!("skipping: {VMLINUX_PATH} not present");
        return;
    }
    let btf = Btf::vmlinux().unwrap();
    assert!(btf.next_id() > 10_000);
    let task = btf.find_struct("task_struct").expect("task_struct");
    assert!(btf.size_of(task).unwrap() > 1000);
}

mod kernel_names {
    use super::*;

    fn struct_named(name: &str) -> Vec<u8> {
        assemble(
            &["int", name],
            &[
                (1, info(kind_no::INT, 0, false), 4, vec![1 << 24 | 32]),
                (5, info(kind_no::STRUCT, 0, false), 0, vec![]),
            ],
        )
    }

    fn check(data: &[u8]) -> Result<()> {
        Btf::parse(data)?.check_kernel_names()
    }

    #[test]
    fn identifiers_and_sections_pass() {
        check(&sample()).unwrap();
        check(&struct_named("task_struct.isra")).unwrap();
        check(&struct_named("_x9")).unwrap();
    }

    #[test]
    fn a_latin1_byte_in_a_struct_name_is_refused() {
        let mut data = struct_named("pair");
        let at = data.len() - 2; // the 'r' of "pair", before its NUL
        data[at] = 0xff;
        let err = check(&data).unwrap_err().to_string();
        assert!(err.contains("not UTF-8") && err.contains("0xff"), "{err}");
    }

    #[test]
    fn non_identifier_names_are_refused_like_the_kernel_does() {
        for (name, why) in [
            ("9lives", "0x39 at position 0"),
            ("a-b", "0x2d at position 1"),
            ("a b", "0x20 at position 1"),
        ] {
            let err = check(&struct_named(name)).unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains("type [2]"),
                "{name}: {err}"
            );
        }
        let long = "a".repeat(513);
        let err = check(&struct_named(&long)).unwrap_err().to_string();
        assert!(err.contains("513 bytes long"), "{err}");
    }

    #[test]
    fn a_named_pointer_and_an_unnamed_typedef_are_refused() {
        let named_ptr = assemble(
            &["int", "p"],
            &[
                (1, info(kind_no::INT, 0, false), 4, vec![1 << 24 | 32]),
                (5, info(kind_no::PTR, 0, false), 1, vec![]),
            ],
        );
        let err = check(&named_ptr).unwrap_err().to_string();
        assert!(err.contains("has no name"), "{err}");
        let anonymous_typedef = assemble(
            &["int"],
            &[
                (1, info(kind_no::INT, 0, false), 4, vec![1 << 24 | 32]),
                (0, info(kind_no::TYPEDEF, 0, false), 1, vec![]),
            ],
        );
        let err = check(&anonymous_typedef).unwrap_err().to_string();
        assert!(err.contains("is empty"), "{err}");
    }
}

#[test]
fn device_files_are_refused_as_btf_input() {
    for result in [
        crate::read_input_file("/dev/zero").map(|_| ()),
        crate::view::BtfView::open("/dev/zero").map(|_| ()),
    ] {
        let err = result.expect_err("/dev/zero is no BTF file").to_string();
        assert!(
            err.starts_with("/dev/zero: is a character device, not a regular file"),
            "{err}"
        );
    }
}
