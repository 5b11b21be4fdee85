//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;

pub use bpfkit_testkit::TempDir;

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
