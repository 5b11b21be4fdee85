//! bpfkit's CO-RE relocation is equivalent to aya's on everything bpfkit
//! ships: every program of every committed object with CO-RE relocations
//! is loaded once relocated by aya (kernel BTF given to the loader) and
//! once relocated by `bpfkit_object::relocate_core` (loader without BTF),
//! and the kernel's translated instructions must be identical. For the
//! kinds no shipped object uses (flavors, missing fields, bitfields, enum
//! values, type matches: crates/object/tests/bpf/co_re.bpf.c), libbpf
//! (through bpftool) is the reference.

use std::os::fd::AsFd;
use std::path::PathBuf;

use aya::programs::Program;
use aya::{Btf, Ebpf, EbpfLoader};
use bpfkit_btf::view::BtfView;
use bpfkit_object::{Object, analyze, has_core_relocations, relocate_core};

/// co_re.bpf.c uses `bpf_core_type_matches`, which clang 14 cannot
/// compile ("Incorrect flag for llvm.bpf.preserve.type.info"): clang 15+.
const CO_RE_CLANG: u32 = 15;
const LD_IMM64: u8 = 0x18;
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;

/// Loads a program that needs no kernel BTF of its own (tp_btf, fentry,
/// lsm and extensions are left out: they cannot take bpfkit's path).
fn load(program: &mut Program) -> Option<Result<(), String>> {
    let result = match program {
        Program::TracePoint(p) => p.load(),
        Program::RawTracePoint(p) => p.load(),
        Program::UProbe(p) => p.load(),
        Program::KProbe(p) => p.load(),
        Program::PerfEvent(p) => p.load(),
        Program::Xdp(p) => p.load(),
        Program::SchedClassifier(p) => p.load(),
        Program::SocketFilter(p) => p.load(),
        _ => return None,
    };
    Some(result.map_err(|e| format!("{e:?}")))
}

/// The translated instructions with map ids replaced by their order of
/// first appearance (the two loads create different maps).
fn normalized_insns(program: &Program) -> Vec<u8> {
    let fd = program.fd().expect("loaded program fd");
    normalized(fd.as_fd())
}

fn normalized(fd: std::os::fd::BorrowedFd<'_>) -> Vec<u8> {
    let mut insns = bpfkit_sys::prog_xlated_insns(fd).expect("xlated instructions");
    assert!(!insns.is_empty(), "the kernel gave no xlated instructions");
    let mut maps: Vec<[u8; 4]> = Vec::new();
    for insn in insns.chunks_exact_mut(8) {
        let src_reg = insn[1] >> 4;
        if insn[0] == LD_IMM64 && matches!(src_reg, PSEUDO_MAP_FD | PSEUDO_MAP_VALUE) {
            let id: [u8; 4] = insn[4..8].try_into().expect("4 bytes");
            let order = maps.iter().position(|m| *m == id).unwrap_or_else(|| {
                maps.push(id);
                maps.len() - 1
            });
            insn[4..8].copy_from_slice(&(order as u32).to_le_bytes());
        }
    }
    insns
}

fn open(elf: &[u8], btf: Option<&Btf>) -> Result<Ebpf, String> {
    EbpfLoader::new()
        .btf(btf)
        .allow_unsupported_maps()
        .load(elf)
        .map_err(|e| format!("{e:?}"))
}

/// Compares every loadable program of `object`; how many were compared.
fn compare_object(name: &str, object: &Object, kernel: &BtfView, aya_btf: &Btf) -> usize {
    let relocated = relocate_core(object, kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
    let by_aya = open(&object.loadable_elf, Some(aya_btf));
    let by_bpfkit = open(&relocated, None);
    let (mut by_aya, mut by_bpfkit) = match (by_aya, by_bpfkit) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(_)) => {
            eprintln!("{name}: neither path opens it here: {a}");
            return 0;
        }
        (a, b) => panic!("{name}: aya {:?} / bpfkit {:?}", a.err(), b.err()),
    };
    let mut compared = 0;
    for program in &object.programs {
        let aya_result = by_aya.program_mut(&program.name).and_then(load);
        let bpfkit_result = by_bpfkit.program_mut(&program.name).and_then(load);
        let (Some(aya_result), Some(bpfkit_result)) = (aya_result, bpfkit_result) else {
            continue;
        };
        let what = format!("{name}: program {} ({})", program.name, program.section);
        match (aya_result, bpfkit_result) {
            (Ok(()), Ok(())) => {}
            (Err(_), Err(_)) => {
                eprintln!("{what}: not loadable here by either path");
                continue;
            }
            (a, b) => panic!("{what}: aya {a:?}, bpfkit {b:?}"),
        }
        let aya_insns = normalized_insns(by_aya.program(&program.name).expect("program"));
        let bpfkit_insns = normalized_insns(by_bpfkit.program(&program.name).expect("program"));
        assert!(
            aya_insns == bpfkit_insns,
            "{what}: translated instructions differ"
        );
        compared += 1;
    }
    compared
}

#[test]
fn bpfkit_co_re_loads_the_same_code_as_aya() {
    if !bpfkit_testkit::privileged("bpfkit_co_re_loads_the_same_code_as_aya") {
        return;
    }
    let kernel = BtfView::vmlinux().expect("kernel BTF view");
    let aya_btf = Btf::from_sys_fs().expect("kernel BTF for aya");
    let mut compared = 0;
    for path in bpfkit_testkit::committed_objects() {
        let elf = std::fs::read(&path).expect("reading object");
        let object = analyze(&elf).expect("analyzing object");
        if !has_core_relocations(&object) {
            continue;
        }
        let name = path.file_name().expect("file name").to_string_lossy();
        compared += compare_object(&name, &object, &kernel, &aya_btf);
    }
    assert!(compared > 20, "only {compared} programs compared");
    eprintln!("{compared} programs load identically");
}

/// Removes a bpffs pin on drop (the program goes with it).
struct Pin(PathBuf);

impl Drop for Pin {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn bpfkit_co_re_loads_the_same_code_as_libbpf() {
    const TEST: &str = "bpfkit_co_re_loads_the_same_code_as_libbpf";
    if !bpfkit_testkit::privileged(TEST) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(TEST, "bpftool") else {
        return;
    };
    let dir = bpfkit_testkit::TempDir::new(TEST);
    let source = bpfkit_testkit::repo_path("crates/object/tests/bpf/co_re.bpf.c");
    let Some(path) = bpfkit_testkit::build_bpf_object_needing(
        TEST,
        &source,
        dir.path(),
        CO_RE_CLANG,
        "CO-RE type_matches relocations (bpf_core_type_matches)",
    ) else {
        return;
    };
    let pin = Pin(PathBuf::from(format!(
        "/sys/fs/bpf/bpfkit-co-re-{}",
        std::process::id()
    )));
    let status = std::process::Command::new(bpftool)
        .args(["prog", "load"])
        .arg(&path)
        .arg(&pin.0)
        .status()
        .expect("running bpftool");
    assert!(status.success(), "bpftool prog load");
    let by_libbpf = aya::programs::ProgramInfo::from_pin(&pin.0)
        .and_then(|info| info.fd())
        .expect("libbpf's program");

    let object = analyze(&std::fs::read(&path).expect("object")).expect("analyzing");
    let kernel = BtfView::vmlinux().expect("kernel BTF view");
    let relocated = relocate_core(&object, &kernel).expect("relocating");
    let mut by_bpfkit = open(&relocated, None).expect("opening");
    let program = by_bpfkit.program_mut("co_re").expect("program");
    load(program).expect("a tracepoint").expect("loading");
    assert!(
        normalized(by_libbpf.as_fd()) == normalized_insns(program),
        "translated instructions differ from libbpf's"
    );
}
