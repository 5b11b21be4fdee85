//! bpfkit's own CO-RE relocation (`relocate_core`) on the committed
//! objects against the running kernel's BTF. Equivalence with aya is
//! checked in the kernel by crates/runtime/tests/co_re.rs.

use bpfkit_btf::view::BtfView;
use bpfkit_btf::{Btf, Kind, TypeId};
use bpfkit_object::{Object, analyze, has_core_relocations, relocate_core};

/// Every committed object with CO-RE relocations.
#[test]
fn every_committed_object_relocates() {
    let Ok(kernel) = BtfView::vmlinux() else {
        eprintln!("skipping: no kernel BTF");
        return;
    };
    let mut relocated = 0;
    for path in bpfkit_testkit::committed_objects() {
        let elf = std::fs::read(&path).unwrap();
        let object = analyze(&elf).unwrap();
        if !has_core_relocations(&object) {
            continue;
        }
        let patched =
            relocate_core(&object, &kernel).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(patched.len(), object.loadable_elf.len());
        relocated += 1;
    }
    assert!(
        relocated > 10,
        "only {relocated} objects have CO-RE relocations"
    );
}

/// tests/bpf/co_re.bpf.c, built now; None (skip) without clang.
fn flavored_object(test: &str) -> Option<Object> {
    let dir = bpfkit_testkit::TempDir::new(test);
    let source = bpfkit_testkit::repo_path("crates/object/tests/bpf/co_re.bpf.c");
    let path = bpfkit_testkit::build_bpf_object_needing(
        test,
        &source,
        dir.path(),
        CO_RE_CLANG,
        "CO-RE type_matches relocations (bpf_core_type_matches)",
    )?;
    Some(analyze(&std::fs::read(path).expect("reading object")).expect("analyzing object"))
}

/// co_re.bpf.c uses `bpf_core_type_matches`, which clang 14 cannot
/// compile ("Incorrect flag for llvm.bpf.preserve.type.info"): clang 15+.
const CO_RE_CLANG: u32 = 15;
const POISON_CALL: i32 = 0xbad2310;

/// The value a relocated instruction holds (ALU immediate, load/store
/// offset, 64-bit immediate), or None for a poisoned one.
fn insn_value(code: &[u8]) -> Option<u64> {
    let imm = |at: usize| i32::from_le_bytes(code[at..at + 4].try_into().expect("4 bytes"));
    match code[0] & 7 {
        _ if code[0] == 0x85 && imm(4) == POISON_CALL => None,
        0 => Some(imm(4) as u32 as u64 | (imm(12) as u32 as u64) << 32),
        1..=3 => Some(i16::from_le_bytes([code[2], code[3]]) as u64),
        _ => Some(imm(4) as i64 as u64),
    }
}

/// The kernel member `name` of `struct_id`: (bit offset, bitfield size, type).
fn kernel_member(btf: &Btf, struct_id: TypeId, name: &str) -> (u32, u8, TypeId) {
    let Kind::Struct(c) = &btf.type_by_id(struct_id).unwrap().kind else {
        panic!("not a struct");
    };
    let m = c
        .members
        .iter()
        .find(|m| btf.str_at(m.name_off) == name)
        .unwrap_or_else(|| panic!("no member {name}"));
    (m.bit_offset, m.bitfield_size, m.ty)
}

/// Each relocation of co_re.bpf.c, found by (kind, local type, access
/// string), against values computed from the fully parsed kernel BTF.
#[test]
fn flavors_missing_fields_bitfields_enums_and_types_relocate() {
    let Some(object) = flavored_object("flavors_missing_fields_bitfields_enums_and_types_relocate")
    else {
        return;
    };
    let Ok(kernel) = BtfView::vmlinux() else {
        eprintln!("skipping: no kernel BTF");
        return;
    };
    let vmlinux = Btf::vmlinux().expect("kernel BTF");
    let task = vmlinux.find_struct("task_struct").expect("task_struct");
    let (tgid_bits, _, _) = kernel_member(&vmlinux, task, "tgid");
    let (bit_off, bit_size, _) = kernel_member(&vmlinux, task, "sched_reset_on_fork");
    assert!(bit_size > 0, "sched_reset_on_fork is a bitfield");
    let patched = relocate_core(&object, &kernel).expect("relocating");

    let ext = object.ext.as_ref().expect(".BTF.ext");
    let section = &ext.core_relos[0];
    let program = object.program("co_re").expect("program");
    let code = &patched[code_offset(&object, program.section_index)..];
    let mut bitfield = (None, None, None, None);
    let mut seen = 0;
    for relo in &section.records {
        let local = object.btf.name_of(relo.type_id);
        let value = insn_value(&code[relo.insn_off as usize..]);
        let expected = match (relo.kind, local, relo.access.as_str()) {
            (0, "task_struct___local", "0:2") => Some(tgid_bits as u64 / 8),
            // The guarded read of a field the kernel lacks: poisoned.
            (0, "task_struct___local", "0:3") => None,
            (2, "task_struct___local", "0:3") => Some(0),
            (2, "task_struct___local", "0:1") => Some(1),
            (1, "task_struct___local", "0:1") => Some(4),
            (8, "no_such_type___local", _) => Some(0),
            (8, "task_struct___local", _) => Some(1),
            (9, "task_struct___local", _) => Some(vmlinux.size_of(task).unwrap()),
            (10, "pid_type___local", "0") => Some(1),
            (11, "pid_type___local", "0") => Some(1),
            (10, "pid_type___local", "1") => Some(0),
            (12, "list_head___local", _) => Some(1),
            (12, "list_head___bad", _) => Some(0),
            // The kernel's task_struct has no `no_such_field`.
            (12, "task_struct___local", _) => Some(0),
            (kind @ (0 | 1 | 3 | 4 | 5), "task_struct___local", "0:0") => {
                let slot = match kind {
                    0 => &mut bitfield.0,
                    1 => &mut bitfield.1,
                    4 => &mut bitfield.2,
                    5 => &mut bitfield.3,
                    _ => {
                        assert_eq!(value, Some(0), "unsigned bitfield");
                        seen += 1;
                        continue;
                    }
                };
                *slot = value;
                seen += 1;
                continue;
            }
            other => panic!("unexpected relocation {other:?}"),
        };
        assert_eq!(value, expected, "{} {local} {}", relo.kind, relo.access);
        seen += 1;
    }
    assert_eq!(seen, section.records.len());
    // The bitfield: a load of `size` bytes at `offset`, shifted left and
    // right, leaves exactly the kernel's bits.
    let (Some(offset), Some(size), Some(lshift), Some(rshift)) = bitfield else {
        panic!("bitfield relocations missing: {bitfield:?}");
    };
    let (bit_off, bit_size) = (bit_off as u64, bit_size as u64);
    assert!(offset * 8 <= bit_off && bit_off + bit_size <= (offset + size) * 8);
    assert_eq!(rshift, 64 - bit_size);
    assert_eq!(lshift + (bit_off - offset * 8) + bit_size, 64);
}

/// File offset of section `index` of the loadable ELF.
fn code_offset(object: &Object, index: usize) -> usize {
    use object::{Object as _, ObjectSection};
    let file = object::File::parse(&*object.loadable_elf).expect("ELF");
    let section = file
        .section_by_index(object::SectionIndex(index))
        .expect("section");
    section.file_range().expect("file range").0 as usize
}

/// The relocated program passes the verifier (the poisoned instruction is
/// unreachable) and computes the expected values when it runs.
#[test]
fn relocated_program_loads_and_runs() {
    const TEST: &str = "relocated_program_loads_and_runs";
    if !bpfkit_testkit::privileged(TEST) {
        return;
    }
    let Some(object) = flavored_object(TEST) else {
        return;
    };
    let kernel = BtfView::vmlinux().expect("kernel BTF");
    let patched = relocate_core(&object, &kernel).expect("relocating");
    let mut ebpf = aya::EbpfLoader::new()
        .btf(None)
        .load(&patched)
        .expect("opening the relocated object");
    let program: &mut aya::programs::TracePoint = ebpf
        .program_mut("co_re")
        .expect("program")
        .try_into()
        .expect("tracepoint");
    program
        .load()
        .expect("verifier accepts the relocated program");
    program
        .attach("syscalls", "sys_enter_getpid")
        .expect("attaching");
    // getpid(2), not cached by glibc: the tracepoint fires.
    std::hint::black_box(std::process::id());
    let bss =
        aya::maps::Array::<_, [u64; 15]>::try_from(ebpf.map(".bss").expect(".bss")).expect("array");
    let out = bss.get(&0, 0).expect("reading .bss");
    let task_size = Btf::vmlinux()
        .ok()
        .and_then(|b| b.find_struct("task_struct").and_then(|t| b.size_of(t).ok()))
        .expect("task_struct size");
    assert_ne!(out[0], 0, "a tgid");
    assert_eq!(&out[1..4], &[0, 1, 4]);
    assert!(out[4] <= 1);
    assert_eq!(&out[5..], &[0, 1, task_size, 1, 1, 0, 0, 1, 0, 0]);
}

/// Against corrupted "kernel" BTF (the object's own BTF, which has types
/// of the right names once flavors are dropped, truncated and with bytes
/// flipped), relocation succeeds or fails with an error: it never panics
/// or hangs.
#[test]
fn corrupted_kernel_btf_gives_errors_not_panics() {
    let Some(object) = flavored_object("corrupted_kernel_btf_gives_errors_not_panics") else {
        return;
    };
    let good = bpfkit_btf::encode::encode(&object.btf);
    let view = BtfView::new(&good[..]).expect("own BTF as a view");
    relocate_core(&object, &view).expect("relocating against its own types");
    let try_bytes = |bytes: &[u8]| {
        if let Ok(view) = BtfView::new(bytes) {
            let _ = relocate_core(&object, &view);
        }
    };
    for len in (0..good.len()).step_by(7) {
        try_bytes(&good[..len]);
    }
    for i in 0..good.len() {
        for flip in [0x01u8, 0x10, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            try_bytes(&bad);
        }
    }
}

/// The one poisoned relocation of co_re.bpf.c (the guarded read of a field
/// task_struct lacks) is reported by program, with what the kernel lacks,
/// at an instruction that holds the poisoned call.
#[test]
fn poisoned_relocations_are_reported_by_program() {
    let Some(object) = flavored_object("poisoned_relocations_are_reported_by_program") else {
        return;
    };
    let Ok(kernel) = BtfView::vmlinux() else {
        eprintln!("skipping: no kernel BTF");
        return;
    };
    let relocated = bpfkit_object::relocate_core_report(&object, &kernel).expect("relocates");
    assert_eq!(
        relocated.poisoned.keys().collect::<Vec<_>>(),
        ["co_re"],
        "{:?}",
        relocated.poisoned
    );
    let [poisoned] = relocated.poisoned_in("co_re") else {
        panic!("one poisoned relocation: {:?}", relocated.poisoned);
    };
    assert_eq!(poisoned.kind, "byte_off");
    assert_eq!(poisoned.local_type, "struct task_struct___local");
    assert_eq!(
        poisoned.access_path,
        "struct task_struct___local.no_such_field"
    );
    assert_eq!(
        poisoned.missing,
        "the running kernel's struct task_struct has no field no_such_field of a compatible type"
    );
    let program = object.program("co_re").expect("program co_re");
    let code = bpfkit_btf::elf::section_data(&relocated.elf, &program.section)
        .expect("ELF")
        .expect("the program's section");
    let at = poisoned.insn * 8;
    assert_eq!(
        insn_value(&code[at..at + 16]),
        None,
        "not poisoned: insn {}",
        poisoned.insn
    );
}
