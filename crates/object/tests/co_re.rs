//! bpfkit's own CO-RE relocation (`relocate_core`) on the committed
//! objects against the running kernel's BTF. Equivalence with aya is
//! checked in the kernel by crates/runtime/tests/co_re.rs.

use bpfkit_btf::view::BtfView;
use bpfkit_object::{analyze, has_core_relocations, relocate_core};

/// Every committed object with CO-RE relocations.
fn committed_objects() -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for dir in ["examples", "crates/tools/bpf"] {
        let dir = bpfkit_testkit::repo_path(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.to_string_lossy().ends_with(".bpf.o") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_committed_object_relocates() {
    let Ok(kernel) = BtfView::vmlinux() else {
        eprintln!("skipping: no kernel BTF");
        return;
    };
    let mut relocated = 0;
    for path in committed_objects() {
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
