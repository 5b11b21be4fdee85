//! What `scripts/build-bpf.sh --check` (CI) verifies: the committed objects
//! are exactly what their sources build to.

use bpfkit_build::committed::{PINNED_CLANG, check_committed, committed_sources};

#[test]
fn committed_objects_match_their_sources() {
    if bpfkit_testkit::clang("committed_objects_match").is_none() {
        return;
    }
    // The clang check_committed builds with: $BPFKIT_CLANG, else clang-16.
    let builder = std::env::var_os("BPFKIT_CLANG").unwrap_or_else(|| PINNED_CLANG.into());
    let builder_major = bpfkit_build::find_clang(Some(builder.as_ref()))
        .ok()
        .and_then(|clang| bpfkit_testkit::clang_major(&clang));
    let pinned_major: u32 = PINNED_CLANG
        .trim_start_matches("clang-")
        .parse()
        .expect("PINNED_CLANG is clang-N");
    if builder_major != Some(pinned_major) {
        // Another clang builds other (equally valid) bytes: no verdict.
        // CI must not skip the check that catches stale objects.
        bpfkit_testkit::clang_skip(
            "committed_objects_match",
            &format!(
                "the committed objects are built with {PINNED_CLANG} exactly, and {} is {}",
                builder.to_string_lossy(),
                builder_major.map_or("missing".to_string(), |v| format!("clang {v}"))
            ),
        );
        return;
    }
    let root = std::fs::canonicalize(bpfkit_testkit::repo_path("")).unwrap();
    assert!(committed_sources(&root).len() >= 14);
    let stale = check_committed(&root).unwrap();
    assert!(
        stale.is_empty(),
        "stale committed objects (run scripts/build-bpf.sh): {stale:?}"
    );
}
