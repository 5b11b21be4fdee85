//! What `scripts/build-bpf.sh --check` (CI) verifies: the committed objects
//! are exactly what their sources build to.

use bpfkit_build::committed::{PINNED_CLANG, check_committed, committed_sources};

#[test]
fn committed_objects_match_their_sources() {
    if bpfkit_testkit::clang("committed_objects_match").is_none() {
        return;
    }
    let pinned_available = std::env::var_os("BPFKIT_CLANG").is_some()
        || bpfkit_build::find_clang(Some(PINNED_CLANG.as_ref())).is_ok();
    if !pinned_available {
        // CI must not skip the check that catches stale objects.
        if std::env::var("BPFKIT_REQUIRE_CLANG").is_ok_and(|v| v == "1") {
            panic!("committed objects are built with {PINNED_CLANG}, which is missing");
        }
        eprintln!("skipping: committed objects are built with {PINNED_CLANG}");
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
