//! A `BPF_KSYSCALL` program (scripts/matrix/ksyscall.bpf.c, the kernel
//! matrix's ksyscall case) reads LINUX_HAS_SYSCALL_WRAPPER, a `.kconfig`
//! extern: with bpfkit's CO-RE relocation and extern resolution applied,
//! the kernel accepts it. Loading (not attaching) a kprobe program needs no
//! kprobe support, so this runs where the kernel has none.

use aya::EbpfLoader;
use aya::programs::KProbe;
use bpfkit_btf::view::BtfView;
use bpfkit_object::{KernelFacts, analyze, relocate_core, resolve_externs};

#[test]
fn ksyscall_program_loads_with_its_kconfig_extern() {
    let test = "ksyscall_program_loads_with_its_kconfig_extern";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(clang) = bpfkit_testkit::clang(test) else {
        return;
    };
    let source = bpfkit_testkit::repo_path("scripts/matrix/ksyscall.bpf.c");
    let vmlinux_h = bpfkit_testkit::repo_path("include/vmlinux");
    let object_path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ksyscall-{}.bpf.o", std::process::id()));
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x86",
    };
    let status = std::process::Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g"])
        .arg(format!("-D__TARGET_ARCH_{arch}"))
        .arg("-I")
        .arg(&vmlinux_h)
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&object_path)
        .status()
        .expect("running clang");
    assert!(status.success(), "clang failed on {}", source.display());

    let bytes = std::fs::read(&object_path).expect("reading the object");
    let object = analyze(&bytes).expect("analyzing the object");
    assert!(
        object
            .externs
            .iter()
            .any(|e| e.name == "LINUX_HAS_SYSCALL_WRAPPER"),
        "{:?}",
        object.externs
    );
    let kernel = BtfView::vmlinux().expect("kernel BTF");
    let mut elf = relocate_core(&object, &kernel).expect("CO-RE relocation");
    let facts = KernelFacts::gather(&object, Some(&kernel));
    resolve_externs(&object, &mut elf, &facts).expect("resolving externs");

    let mut ebpf = EbpfLoader::new().load(&elf).expect("creating the maps");
    let program: &mut KProbe = ebpf
        .program_mut("on_ksyscall")
        .expect("program on_ksyscall")
        .try_into()
        .expect("a kprobe program");
    program
        .load()
        .expect("the kernel accepts the ksyscall program");
    let _ = std::fs::remove_file(&object_path);
}
