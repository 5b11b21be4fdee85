//! Real addresses: a kernel function from /proc/kallsyms, a function of
//! this test binary through /proc/self/maps, and a flame graph of them.

use bpfkit_symbolize::{Symbolizer, flamegraph, fold};

/// The address of `name` in /proc/kallsyms (0 without privileges).
fn kallsyms_addr(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let addr = fields.next()?;
        let _kind = fields.next()?;
        (fields.next()? == name).then(|| u64::from_str_radix(addr, 16).ok())?
    })
}

#[test]
fn a_kernel_function_by_address() {
    if !bpfkit_testkit::privileged("a_kernel_function_by_address") {
        return;
    }
    let addr = kallsyms_addr("vfs_read").expect("vfs_read in kallsyms");
    assert_ne!(addr, 0, "kallsyms shows addresses to root");
    let mut symbolizer = Symbolizer::new();
    let sym = symbolizer.kernel(addr + 4).expect("symbolized");
    assert_eq!((sym.name.as_str(), sym.offset), ("vfs_read", 4));
}

#[inline(never)]
fn a_function_of_this_test(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(31).rotate_left(7))
}

#[test]
fn a_function_of_this_binary_by_address() {
    if !bpfkit_testkit::privileged("a_function_of_this_binary_by_address") {
        return;
    }
    let addr = a_function_of_this_test as *const () as u64;
    assert_eq!(a_function_of_this_test(1), 31 << 7);
    let mut symbolizer = Symbolizer::new();
    let sym = symbolizer
        .user(std::process::id(), addr + 1)
        .expect("symbolized");
    assert!(sym.name.ends_with("a_function_of_this_test"), "got {sym:?}");
    assert_eq!(sym.offset, 1);
    let frames = symbolizer.user_frames(std::process::id(), &[addr, 0x10]);
    assert!(frames[0].ends_with("a_function_of_this_test"));
    assert_eq!(frames[1], "0x10", "unknown addresses stay hex");
}

#[test]
fn folded_stacks_become_a_flame_graph_with_their_names() {
    let lines = [
        fold(Some("busy"), &["spin_here".into(), "main".into()], &[], 90),
        fold(
            Some("busy"),
            &["main".into()],
            &["vfs_read".into(), "ksys_read".into()],
            10,
        ),
    ];
    let mut svg = Vec::new();
    flamegraph(
        lines.iter().map(String::as_str),
        &mut svg,
        "test",
        "samples",
    )
    .expect("svg");
    let svg = String::from_utf8(svg).expect("utf-8");
    assert!(svg.starts_with("<?xml"), "an SVG document");
    assert!(svg.contains("spin_here"));
    // inferno shows kernel frames without the suffix, in kernel colors.
    assert!(svg.contains("vfs_read"));
}
