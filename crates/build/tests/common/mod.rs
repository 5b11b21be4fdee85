//! Shared test helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A scratch directory removed on drop, also when the test fails.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "bpfkit-build-test-{tag}-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Names of the object's sections.
pub fn section_names(object: &[u8]) -> Vec<String> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(object).expect("parsing the object");
    file.sections()
        .filter_map(|s| s.name().ok().map(String::from))
        .collect()
}

/// The pinned header, so tests do not depend on the running kernel's BTF.
pub fn pinned_header() -> PathBuf {
    bpfkit_testkit::repo_path("include/vmlinux/vmlinux.h")
}
