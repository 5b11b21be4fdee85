//! `$BPFKIT_CLANG` pointing nowhere gives the install command. Alone in its
//! test binary because it sets an environment variable.

use bpfkit_build::{BuildError, BuildOptions, INSTALL_HINT, build};

#[test]
fn missing_clang_names_the_install_command() {
    // SAFETY: the only test in this binary, so no other thread reads the
    // environment concurrently.
    unsafe { std::env::set_var("BPFKIT_CLANG", "/nonexistent") };
    let source = bpfkit_testkit::repo_path("examples/minimal.bpf.c");
    let err = build(&BuildOptions::new(source)).unwrap_err();
    assert!(matches!(err, BuildError::MissingToolchain(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("/nonexistent"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim() == "apt-get install -y clang libbpf-dev"),
        "{text}"
    );
    assert_eq!(INSTALL_HINT, "apt-get install -y clang libbpf-dev");
}
