//! Failures say what is missing: kernel features, verifier rejections (with
//! the C line), tracepoints, parameters. Nothing stays loaded after them.

mod common;

use bpfkit_runtime::{LoadOptions, RuntimeError, Session};
use common::{build, setup, tgid_param};

fn load_error(object: &bpfkit_object::Object, opts: &LoadOptions) -> RuntimeError {
    match Session::load(object, opts) {
        Ok(_) => panic!("loading should have failed"),
        Err(e) => e,
    }
}

/// Only the program `keep` of kprobe.bpf.c, all others disabled.
fn only(object: &bpfkit_object::Object, keep: &str) -> LoadOptions {
    LoadOptions {
        disabled: object
            .programs
            .iter()
            .map(|p| p.name.clone())
            .filter(|n| n != keep)
            .collect(),
        ..LoadOptions::default()
    }
}

#[test]
fn missing_kernel_features_are_named() {
    let Some(clang) = setup("missing_kernel_features_are_named") else {
        return;
    };
    let kernel = bpfkit_runtime::features::kernel();
    if kernel.kprobes {
        eprintln!("skipping missing_kernel_features_are_named: this kernel has kprobes");
        return;
    }
    let object = build(&clang, "kprobe");

    let e = load_error(&object, &only(&object, "handle_kill")).to_string();
    println!("{e}");
    assert!(e.contains("program 'handle_kill' (ksyscall/kill)"), "{e}");
    assert!(e.contains("no kprobe support"), "{e}");
    assert!(e.contains("SEC(\"tp/syscalls/sys_enter_kill\")"), "{e}");

    let e = load_error(&object, &only(&object, "handle_getpid")).to_string();
    println!("{e}");
    assert!(e.contains("SEC(\"tp/syscalls/sys_enter_getpid\")"), "{e}");

    let e = load_error(&object, &only(&object, "handle_unlink")).to_string();
    println!("{e}");
    assert!(e.contains("handle_unlink") && e.contains("fentry"), "{e}");

    let e = load_error(&object, &only(&object, "handle_open")).to_string();
    println!("{e}");
    assert!(e.contains("program 'handle_open' (lsm/file_open)"), "{e}");
    assert!(e.contains("this kernel has no"), "{e}");
}

#[test]
fn unsupported_programs_can_be_skipped() {
    let Some(clang) = setup("unsupported_programs_can_be_skipped") else {
        return;
    };
    if bpfkit_runtime::features::kernel().kprobes {
        return;
    }
    let object = build(&clang, "kprobe");
    let opts = LoadOptions {
        skip_unsupported: true,
        ..LoadOptions::default()
    };
    let session = Session::load(&object, &opts).expect("load the supported rest");
    let attached: Vec<&str> = session
        .attachments()
        .iter()
        .map(|a| a.program.as_str())
        .collect();
    assert_eq!(attached, ["fine"]);
    let mut skipped: Vec<&str> = session
        .skipped()
        .iter()
        .map(|s| s.program.as_str())
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "handle_getpid",
            "handle_kill",
            "handle_open",
            "handle_unlink"
        ]
    );
    let ids = session.program_ids();
    drop(session);
    common::assert_unloaded(&ids);
}

#[test]
fn verifier_rejection_shows_the_source_line() {
    let Some(clang) = setup("verifier_rejection_shows_the_source_line") else {
        return;
    };
    let object = build(&clang, "bad");
    let e = load_error(&object, &LoadOptions::default());
    let text = e.to_string();
    println!("{text}");
    let RuntimeError::Verifier(rejection) = e else {
        panic!("expected a verifier rejection, got: {text}");
    };
    assert_eq!(rejection.program, "deref_scalar");
    let line = rejection.source_line.as_ref().expect("source line");
    assert!(line.file.ends_with("bad.bpf.c"), "{line:?}");
    assert!(line.text.contains("*bad_pointer"), "{line:?}");
    assert!(text.contains("invalid mem access"), "{text}");
    assert!(text.lines().count() <= 25, "{text}");
}

#[test]
fn bad_targets_and_parameters_are_clear() {
    let Some(clang) = setup("bad_targets_and_parameters_are_clear") else {
        return;
    };
    let object = build(&clang, "kill");

    let mut opts = LoadOptions::default();
    opts.attach_overrides.insert(
        "count_kill".into(),
        "syscalls/sys_enter_no_such_call".into(),
    );
    let e = load_error(&object, &opts).to_string();
    println!("{e}");
    assert!(
        e.contains("no tracepoint syscalls:sys_enter_no_such_call"),
        "{e}"
    );

    let mut opts = LoadOptions::default();
    opts.params.insert("target_tgid".into(), vec![1, 2]);
    let e = load_error(&object, &opts).to_string();
    assert!(e.contains("target_tgid") && e.contains("4 bytes"), "{e}");

    let mut opts = LoadOptions::default();
    opts.params.insert("nope".into(), vec![0; 4]);
    let e = load_error(&object, &opts).to_string();
    assert!(
        e.contains("unknown parameter 'nope'") && e.contains("target_tgid"),
        "{e}"
    );

    let mut opts = LoadOptions::default();
    opts.disabled.insert("not_a_program".into());
    let e = load_error(&object, &opts).to_string();
    assert!(
        e.contains("not_a_program") && e.contains("count_kill"),
        "{e}"
    );
}

#[test]
fn uprobe_target_from_attach_override() {
    let Some(clang) = setup("uprobe_target_from_attach_override") else {
        return;
    };
    let object = build(&clang, "uprobe");
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    opts.attach_overrides
        .insert("on_getpid".into(), "libc:no_such_function_here".into());
    let e = Session::load(&object, &opts)
        .err()
        .expect("must fail")
        .to_string();
    println!("{e}");
    assert!(
        e.contains("on_getpid") && e.contains("no_such_function_here"),
        "{e}"
    );
}

/// The rejection of the one enabled program of poisoned.bpf.c.
fn poisoned_rejection(
    object: &bpfkit_object::Object,
    program: &str,
    verbose: bool,
) -> (String, Box<bpfkit_runtime::VerifierRejection>) {
    let opts = LoadOptions {
        verbose,
        ..only(object, program)
    };
    let e = load_error(object, &opts);
    let text = e.to_string();
    println!("{text}");
    let RuntimeError::Verifier(rejection) = e else {
        panic!("expected a verifier rejection, got: {text}");
    };
    (text, rejection)
}

#[test]
fn poisoned_core_relocation_names_struct_and_field() {
    let Some(clang) = setup("poisoned_core_relocation_names_struct_and_field") else {
        return;
    };
    let object = build(&clang, "poisoned");

    let (text, rejection) = poisoned_rejection(&object, "read_missing_struct", false);
    assert!(
        text.starts_with(
            "program 'read_missing_struct' (tp/syscalls/sys_enter_getppid) cannot run on this \
             kernel: CO-RE relocation byte_off of struct bpfkit_no_such_struct.missing_field \
             (access 0:1) at instruction"
        ),
        "{text}"
    );
    assert!(
        text.contains(": the running kernel has no struct bpfkit_no_such_struct"),
        "{text}"
    );
    assert!(text.contains("poisoned.bpf.c:"), "the C line: {text}");
    assert!(!text.contains("unknown#195896080"), "no raw dump: {text}");
    let poisoned = rejection
        .poisoned
        .as_ref()
        .expect("the poisoned relocation");
    assert_eq!(Some(poisoned.insn), rejection.insn, "{poisoned:?}");

    let (text, _) = poisoned_rejection(&object, "read_missing_field", false);
    assert!(
        text.contains("of struct task_struct___bpfkit.bpfkit_no_such_field (access 0:0)"),
        "{text}"
    );
    assert!(
        text.contains("the running kernel's struct task_struct has no field bpfkit_no_such_field"),
        "{text}"
    );

    let (text, rejection) = poisoned_rejection(&object, "read_in_subprogram", false);
    assert!(
        text.contains("(in subprogram 'read_field_of'): the running kernel has no struct bpfkit_no_such_struct"),
        "{text}"
    );
    // The C line is the subprogram's (the verifier's index is past the
    // program's own instructions, where line info would be wrong).
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/poisoned.bpf.c"),
    )
    .expect("reading poisoned.bpf.c");
    let body_start = 1 + source
        .lines()
        .position(|l| l.contains("int read_field_of("))
        .expect("read_field_of in poisoned.bpf.c") as u32;
    let line = rejection.source_line.as_ref().expect("a source line").line;
    assert!(
        (body_start..body_start + 7).contains(&line),
        "line {line} is not in read_field_of (from line {body_start}): {text}"
    );

    // -v keeps the verifier's own words.
    let (text, _) = poisoned_rejection(&object, "read_missing_field", true);
    assert!(text.contains("verifier log (last"), "{text}");
    assert!(text.contains("unknown#195896080"), "{text}");
}
