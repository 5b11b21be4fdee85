//! The object cache of `build_cached`.

mod common;

use bpfkit_build::{BuildOptions, build_cached};
use common::{TempDir, pinned_header};
use std::path::Path;

/// A clang that logs each call and then runs the real one.
fn logging_clang(dir: &Path, real: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("clang-logged");
    let log = dir.join("clang.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn calls(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("clang.log")).map_or(0, |log| log.lines().count())
}

#[test]
fn cache_hit_returns_same_object_without_running_clang() {
    let Some(real) = bpfkit_testkit::clang("cache_hit") else {
        return;
    };
    let real = which(&real);
    let dir = TempDir::new("cache");
    let source = dir.path().join("prog.bpf.c");
    std::fs::copy(
        bpfkit_testkit::repo_path("examples/bootstrap.bpf.c"),
        &source,
    )
    .unwrap();
    std::fs::copy(
        bpfkit_testkit::repo_path("examples/bootstrap.h"),
        dir.path().join("bootstrap.h"),
    )
    .unwrap();
    let opts = BuildOptions {
        vmlinux_header: Some(pinned_header()),
        clang: Some(logging_clang(dir.path(), &real)),
        cache_dir: Some(dir.path().join("cache")),
        ..BuildOptions::new(&source)
    };

    let first = build_cached(&opts).unwrap();
    assert!(first.starts_with(dir.path().join("cache/obj")));
    let after_first = calls(dir.path());
    assert!(after_first > 0);

    let second = build_cached(&opts).unwrap();
    assert_eq!(first, second);
    assert_eq!(calls(dir.path()), after_first, "clang ran on a cache hit");

    // A change in an included header is a miss.
    let header = dir.path().join("bootstrap.h");
    let text = std::fs::read_to_string(&header).unwrap();
    std::fs::write(&header, format!("{text}\n/* changed */\n")).unwrap();
    let third = build_cached(&opts).unwrap();
    assert_ne!(third, first);
    assert!(calls(dir.path()) > after_first);
}

/// `clang-16` → `/usr/bin/clang-16`, for the wrapper script.
fn which(program: &Path) -> std::path::PathBuf {
    if program.is_absolute() {
        return program.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}
