//! Shared by the runtime integration tests: build a test BPF program,
//! check that nothing stays in the kernel.

#![allow(dead_code)]

pub mod getpgid;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bpfkit_object::Object;

/// The clang to use, when this test may load BPF and build objects.
pub fn setup(test: &str) -> Option<PathBuf> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    bpfkit_testkit::clang(test)
}

pub use bpfkit_testkit::TempDir;

/// Compiles `tests/bpf/<name>.bpf.c` and analyzes it.
pub fn build(clang: &Path, name: &str) -> Object {
    let src_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bpf");
    let tmp = TempDir::new(name);
    let out = tmp.file(&format!("{name}.bpf.o"));
    let status = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g", "-D__TARGET_ARCH_x86"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(&src_dir)
        .arg("-c")
        .arg(src_dir.join(format!("{name}.bpf.c")))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("running clang");
    assert!(status.success(), "clang failed on {name}.bpf.c");
    let elf = std::fs::read(&out).expect("reading the object");
    bpfkit_object::analyze(&elf).unwrap_or_else(|e| panic!("analyze {name}: {e}"))
}

/// Waits (bounded) until none of `ids` names a loaded program: the kernel
/// frees programs after an RCU grace period, not at close().
pub fn assert_unloaded(ids: &[u32]) {
    assert!(!ids.is_empty(), "no program ids to check");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&id| bpfkit_sys::prog_fd_by_id(id).is_ok())
            .collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "programs {alive:?} are still loaded after the session was dropped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Entries of /sys/fs/bpf (pins), to compare before and after.
pub fn pins() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/fs/bpf")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn tgid_param(pid: u32) -> (String, Vec<u8>) {
    ("target_tgid".to_string(), pid.to_ne_bytes().to_vec())
}

/// A u64 global's value from a session.
pub fn global_u64(session: &bpfkit_runtime::Session, name: &str) -> u64 {
    let globals = session.maps().globals().expect("globals");
    let (_, bytes) = globals
        .iter()
        .find(|(g, _)| g.name == name)
        .unwrap_or_else(|| panic!("no global {name}"));
    u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"))
}
