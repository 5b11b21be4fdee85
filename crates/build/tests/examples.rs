//! Every example builds against a vmlinux.h generated from the running
//! kernel, and loads into it (verifier included) with aya.

mod common;

use aya::programs::Program;
use bpfkit_build::{BuildOptions, build};
use common::TempDir;

/// Section prefixes aya 0.14 refuses to parse (bpfkit's runtime handles
/// these objects itself); such objects are only built here.
const AYA_UNSUPPORTED: &[&str] = &["tc_ingress"];

#[test]
fn examples_build_for_the_running_kernel_and_load() {
    let Some(clang) = bpfkit_testkit::clang("examples_build_for_the_running_kernel") else {
        return;
    };
    if !std::path::Path::new(bpfkit_btf::VMLINUX_PATH).exists() {
        eprintln!("skipping: no kernel BTF");
        return;
    }
    let dir = TempDir::new("examples");
    let root = std::fs::canonicalize(bpfkit_testkit::repo_path("")).unwrap();
    let sources = bpfkit_build::committed::committed_sources(&root);
    let sources: Vec<_> = sources
        .into_iter()
        .filter(|s| s.starts_with(root.join("examples")))
        .collect();
    assert!(sources.len() >= 14, "{sources:?}");
    let may_load = bpfkit_testkit::privileged("examples load");
    for source in sources {
        let name = source.file_name().unwrap().to_string_lossy().into_owned();
        let opts = BuildOptions {
            output: Some(dir.path().join(name.replace(".c", ".o"))),
            clang: Some(clang.clone()),
            cache_dir: Some(dir.path().join("cache")),
            ..BuildOptions::new(&source)
        };
        let out = build(&opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out.warnings.is_empty(), "{name}: {:?}", out.warnings);
        let stem = name.trim_end_matches(".bpf.c");
        if may_load && !AYA_UNSUPPORTED.contains(&stem) {
            load_all(&std::fs::read(&out.object).unwrap(), &name);
        }
    }
}

/// Loads (verifies) every program; nothing is attached, and dropping
/// `ebpf` unloads everything.
fn load_all(object: &[u8], name: &str) {
    let mut ebpf = aya::EbpfLoader::new()
        .load(object)
        .unwrap_or_else(|e| panic!("{name}: aya: {e}"));
    let btf = aya::Btf::from_sys_fs().unwrap();
    for (prog_name, program) in ebpf.programs_mut() {
        let result = match program {
            Program::TracePoint(p) => p.load(),
            Program::UProbe(p) => p.load(),
            Program::KProbe(p) => p.load(),
            Program::Xdp(p) => p.load(),
            Program::SchedClassifier(p) => p.load(),
            // The examples name tp_btf functions after their tracepoint.
            Program::BtfTracePoint(p) => p.load(prog_name, &btf),
            other => panic!("{name}: unexpected program type {:?}", other.prog_type()),
        };
        result.unwrap_or_else(|e| panic!("{name}/{prog_name}: {e:?}"));
    }
}
