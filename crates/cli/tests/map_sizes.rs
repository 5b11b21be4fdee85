//! Map sizes left to user space (libbpf-tools set `max_entries` and a stack
//! trace map's `value_size` from their C front end): `bpfkit run` creates
//! such maps with libbpf-tools' defaults, `--map-size NAME=N` overrides
//! `max_entries`, and a size the kernel refuses is explained by map and
//! field. The program, crates/runtime/tests/bpf/mapsize.bpf.c, inserts keys
//! 1..8 into its hash map `seen` (as many as fit) on each getpgid() of this
//! test process, with the id of its user stack as the value.

mod common;

use common::{BPFKIT, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

const PROG: &str = "on_getpgid";

/// The test object; `None` (skip) without root or clang.
fn object(test: &str) -> Option<PathBuf> {
    object_from(test, "mapsize.bpf.c")
}

fn object_from(test: &str, source: &str) -> Option<PathBuf> {
    if !bpfkit_testkit::privileged(test) {
        return None;
    }
    let source = bpfkit_testkit::repo_path(&format!("crates/runtime/tests/bpf/{source}"));
    bpfkit_testkit::build_bpf_object(test, &source, Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// Runs the object with `args`, calls getpgid() once attached, and returns
/// the values of map `seen` (one per key) from the final map print.
fn seen_after_getpgid(object: &Path, args: &[&str]) -> Vec<i64> {
    let (values, stderr) = seen_after_getpgid_with_stderr(object, args);
    assert!(!stderr.contains("is full"), "stderr:\n{stderr}");
    values
}

/// [`seen_after_getpgid`], with the run's stderr.
fn seen_after_getpgid_with_stderr(object: &Path, args: &[&str]) -> (Vec<i64>, String) {
    let tgid = std::process::id().to_string();
    let mut all_args = vec!["--target_tgid", tgid.as_str()];
    all_args.extend_from_slice(args);
    let mut run = Run::start(&object.to_string_lossy(), &all_args);
    run.wait_attached(&[PROG]);
    // SAFETY: getpgid has no memory preconditions.
    unsafe { libc::getpgid(0) };
    let done = run.stop();
    let print = done
        .records
        .iter()
        .find(|r| r["type"] == "map" && r["map"] == "seen")
        .unwrap_or_else(|| panic!("no print of map 'seen': {:?}", done.records));
    let values = print["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["value"].as_i64().expect("an integer value"))
        .collect();
    (values, done.stderr)
}

#[test]
fn maps_left_to_user_space_get_default_sizes() {
    let Some(object) = object("maps_left_to_user_space_get_default_sizes") else {
        return;
    };
    let values = seen_after_getpgid(&object, &[]);
    // All 8 keys fit in the default max_entries (10240), and the stack
    // trace map (default value_size 127 frames) took the user stack.
    assert_eq!(values.len(), 8, "{values:?}");
    assert!(values.iter().all(|&id| id >= 0), "stack ids: {values:?}");
}

#[test]
fn map_size_flag_sets_max_entries() {
    let Some(object) = object("map_size_flag_sets_max_entries") else {
        return;
    };
    let (values, stderr) = seen_after_getpgid_with_stderr(&object, &["--map-size", "seen=3"]);
    assert_eq!(values.len(), 3, "{values:?}");
    // The five keys that did not fit are said to be missing, once.
    let warning = "map 'seen' is full (3 entries): later entries were dropped";
    assert_eq!(stderr.matches(warning).count(), 1, "stderr:\n{stderr}");
}

/// Runs the object with `args`, expecting it to fail before attaching.
fn refused(object: &Path, args: &[&str]) -> String {
    let out = Command::new(BPFKIT)
        .arg("run")
        .arg(object)
        .args(args)
        .output()
        .expect("running bpfkit");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "bpfkit succeeded; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
    stderr
}

#[test]
fn refused_map_names_the_map_and_the_field() {
    let test = "refused_map_names_the_map_and_the_field";
    let Some(object) = object_from(test, "mapsize_novalue.bpf.c") else {
        return;
    };
    let stderr = refused(&object, &["-d", "1s"]);
    assert!(
        stderr.contains("creating map 'pending' (hash, key_size 4, value_size 0")
            && stderr.contains("value_size is 0"),
        "stderr:\n{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "stderr:\n{stderr}");
}

#[test]
fn bad_map_size_flags_are_usage_errors() {
    let Some(object) = object("bad_map_size_flags_are_usage_errors") else {
        return;
    };
    for (arg, expected) in [
        ("seen", "expected MAP=N"),
        ("seen=many", "not a number"),
        ("seen=0", "at least 1"),
        ("nosuch=4", "nosuch"),
    ] {
        let stderr = refused(&object, &["--map-size", arg, "-d", "1s"]);
        assert!(stderr.contains(expected), "--map-size {arg}: {stderr}");
    }
}

/// A one-entry hash holds a single record by design (vfsstat's `stats`):
/// it is always "full", and saying so would be a false alarm.
#[test]
fn a_one_entry_map_is_not_called_full() {
    if !bpfkit_testkit::privileged("a_one_entry_map_is_not_called_full") {
        return;
    }
    let out = Command::new(BPFKIT)
        .args(["vfsstat", "1", "1"])
        .output()
        .expect("running bpfkit vfsstat");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert!(!stderr.contains("is full"), "stderr:\n{stderr}");
}
