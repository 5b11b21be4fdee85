//! Random probes from a xorshift generator: each gives an error or a
//! program that the kernel's verifier accepts, never a panic. The compile
//! half runs anywhere (against a copy of a real format file); loading needs
//! root.

use bpfkit_probe::{Aggregate, ArgdistSpec, CodegenOptions, build_argdist, build_trace};
use bpfkit_testkit::{Rng, TempDir};

/// `sys_enter_openat`'s format on Linux 6.x, plus a char array and a
/// `__data_loc` string so every field kind is drawn.
const FORMAT: &str = "name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
";

const INT_LEAVES: &[&str] = &[
    "args->dfd",
    "args->flags",
    "args->mode",
    "args->__syscall_nr",
    "$pid",
    "$tgid",
    "$uid",
    "$gid",
    "$cpu",
    "0",
    "1",
    "-1",
    "4096",
    "0x7fffffff",
    "123456789012",
    "$task",
    "$task->tgid",
    "$task->real_parent->tgid",
    "$task->sched_reset_on_fork",
    "$task->cred->uid.val",
];
const STR_LEAVES: &[&str] = &["args->filename", "$comm", "$task->comm"];

/// What random probes are made of: the probe and its leaves.
struct Grammar {
    head: String,
    int_leaves: &'static [&'static str],
    str_leaves: &'static [&'static str],
}

impl Grammar {
    fn openat() -> Grammar {
        Grammar {
            head: "t:syscalls:sys_enter_openat".into(),
            int_leaves: INT_LEAVES,
            str_leaves: STR_LEAVES,
        }
    }
}

/// A return probe of libc's usleep: `$latency` and `$entry(NAME)` (from a
/// companion entry program) among the values.
const RETURN_INT_LEAVES: &[&str] = &[
    "$latency",
    "$entry(us)",
    "$entry(arg1)",
    "retval",
    "$pid",
    "$cpu",
    "0",
    "-1",
    "1000000",
    "$task->tgid",
];
const RETURN_STR_LEAVES: &[&str] = &["$comm", "$task->comm"];

/// usdt_args.c's probe: arguments in stack memory, registers, a constant
/// (arg3), and a string pointer (arg4).
const USDT_INT_LEAVES: &[&str] = &[
    "arg1",
    "arg2",
    "arg3",
    "arg4",
    "arg5",
    "$pid",
    "$uid",
    "0",
    "-1",
    "4096",
    "$task->real_parent->pid",
    "$task->sched_reset_on_fork",
];
const USDT_STR_LEAVES: &[&str] = &["arg4", "$comm", "$task->group_leader->comm"];
const LITERALS: &[&str] = &[
    "\"\"",
    "\"/etc/passwd\"",
    "\"bash\"",
    "\"a-literal-longer-than-eighty-bytes-is-never-equal-to-what-is-kept-of-a-string!!\"",
];
const OPS: &[&str] = &[
    "==", "!=", "<", ">", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%",
];
/// Tokens for the garbage half: valid pieces in invalid orders.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "\"%d\"",
    ",",
    "args",
    "->",
    "filename",
    "$",
    "!",
    "==",
    "&&",
    "1",
    "\"",
    "%s",
    "arg1",
    "retval",
    " ",
    "args->dfd",
    "0x",
    "-",
    "$task",
    "->real_parent",
    ".val",
];

fn int_expr(g: &Grammar, rng: &mut Rng, depth: usize) -> String {
    match rng.below(if depth == 0 { 2 } else { 6 }) {
        0 | 1 => g.int_leaves[rng.below(g.int_leaves.len())].to_string(),
        2 => format!("!{}", int_expr(g, rng, depth - 1)),
        3 => format!("-({})", int_expr(g, rng, depth - 1)),
        4 => {
            let string = g.str_leaves[rng.below(g.str_leaves.len())];
            let literal = LITERALS[rng.below(LITERALS.len())];
            let op = if rng.below(2) == 0 { "==" } else { "!=" };
            if rng.below(2) == 0 {
                format!("{string} {op} {literal}")
            } else {
                format!("{literal} {op} {string}")
            }
        }
        _ => format!(
            "({} {} {})",
            int_expr(g, rng, depth - 1),
            OPS[rng.below(OPS.len())],
            int_expr(g, rng, depth - 1)
        ),
    }
}

fn probe(g: &Grammar, rng: &mut Rng) -> String {
    if rng.below(4) == 0 {
        let tokens: Vec<&str> = (0..rng.below(12))
            .map(|_| TOKENS[rng.below(TOKENS.len())])
            .collect();
        return format!("{} {}", g.head, tokens.concat());
    }
    let mut text = g.head.clone();
    if rng.below(3) != 0 {
        text += &format!(" ({})", int_expr(g, rng, 4));
    }
    let mut format = String::new();
    let mut args = Vec::new();
    for _ in 0..rng.below(4) {
        if rng.below(3) == 0 {
            format += "%s ";
            args.push(g.str_leaves[rng.below(g.str_leaves.len())].to_string());
        } else {
            format += ["%d ", "%u ", "%x ", "%llu ", "%c ", "%p "][rng.below(6)];
            args.push(int_expr(g, rng, 2));
        }
    }
    if !args.is_empty() || rng.below(2) == 0 {
        text += &format!(" \"{format}\"");
        for a in args {
            text += &format!(", {a}");
        }
    }
    text
}

#[test]
fn random_probes_give_an_error_or_a_program_the_verifier_accepts() {
    let dir = TempDir::new("probe-fuzz");
    let events = dir.path().join("events/syscalls/sys_enter_openat");
    std::fs::create_dir_all(&events).expect("creating the fake tracefs");
    std::fs::write(events.join("format"), FORMAT).expect("writing the format file");
    let load =
        bpfkit_testkit::privileged("random_probes_give_an_error_or_a_program_the_verifier_accepts");
    fuzz(&Grammar::openat(), dir.path(), load, 300);
}

/// USDT probes of a test program (built with clang and <sys/sdt.h>):
/// every kind of argument location, in filters, values and strings.
#[test]
fn random_usdt_probes_give_an_error_or_a_program_the_verifier_accepts() {
    const TEST: &str = "random_usdt_probes_give_an_error_or_a_program_the_verifier_accepts";
    let dir = TempDir::new("probe-fuzz-usdt");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/usdt_args.c");
    let Some(binary) = bpfkit_testkit::build_usdt_program(TEST, &source, dir.path()) else {
        return;
    };
    let grammar = Grammar {
        head: format!("U:{}:bpfkit_trace:args", binary.display()),
        int_leaves: USDT_INT_LEAVES,
        str_leaves: USDT_STR_LEAVES,
    };
    fuzz(&grammar, dir.path(), bpfkit_testkit::privileged(TEST), 200);
}

/// The running kernel's BTF for `$task` (without it `$task` is refused).
fn kernel_btf() -> Option<std::sync::Arc<dyn bpfkit_probe::kfunc::Kernel>> {
    match bpfkit_btf::view::BtfView::vmlinux() {
        Ok(btf) => Some(std::sync::Arc::new(BtfOnly { fentry: false, btf })),
        Err(_) => None,
    }
}

/// `rounds` random probes of `grammar`: compiled, analyzed, and every
/// fourth loaded when `load`.
fn fuzz(grammar: &Grammar, tracefs: &std::path::Path, load: bool, rounds: usize) {
    let mut rng = Rng::new(0x005e_ed0f_7ace);
    let (mut compiled, mut loaded, mut refused) = (0, 0, 0);
    let kernel = kernel_btf();
    for _ in 0..rounds {
        let text = probe(grammar, &mut rng);
        let opts = CodegenOptions {
            pid: (rng.below(3) == 0).then_some(1),
            name: (rng.below(3) == 0).then(|| "sh".to_string()),
            tid: (rng.below(4) == 0).then_some(1),
            exclude_pid: (rng.below(3) == 0).then_some(2),
            kernel_stack: rng.below(4) == 0,
            user_stack: rng.below(4) == 0,
            kernel: kernel.clone(),
        };
        let object = match build_trace(std::slice::from_ref(&text), &opts, tracefs) {
            Ok(object) => object,
            Err(e) => {
                assert!(!e.message.is_empty(), "{text}");
                refused += 1;
                continue;
            }
        };
        compiled += 1;
        let analyzed = bpfkit_object::analyze(&object.elf)
            .unwrap_or_else(|e| panic!("{text}: the generated object does not analyze: {e}"));
        // Loading every program would take long; every fourth one is plenty.
        if load && compiled % 4 == 0 {
            let session = bpfkit_runtime::Session::load(&analyzed, &Default::default());
            if let Err(e) = session {
                panic!("{text}: the kernel refused the generated program: {e}");
            }
            loaded += 1;
        }
    }
    eprintln!("{compiled} compiled, {refused} refused, {loaded} loaded");
    assert!(
        compiled > rounds / 3 && refused > rounds / 15,
        "{compiled} compiled, {refused} refused"
    );
}

/// A random argdist specifier of `g`'s probe: one to three values, each
/// a number or a string with its TYPE (now and then the wrong one), an
/// optional filter and label.
fn argdist_spec(g: &Grammar, rng: &mut Rng) -> ArgdistSpec {
    let aggregate = if rng.below(3) == 0 {
        Aggregate::Log2
    } else {
        Aggregate::Count
    };
    let (mut types, mut exprs) = (Vec::new(), Vec::new());
    for _ in 0..1 + rng.below(3) {
        let string = rng.below(3) == 0;
        let wrong_type = rng.below(8) == 0;
        exprs.push(if string {
            g.str_leaves[rng.below(g.str_leaves.len())].to_string()
        } else {
            int_expr(g, rng, 2)
        });
        types.push(if string != wrong_type { "char*" } else { "u64" });
    }
    // A function's signature is part of its head already.
    let signature = if g.head.ends_with(')') { "" } else { "()" };
    let mut text = format!(
        "{}{signature}:{}:{}",
        g.head,
        types.join(","),
        exprs.join(",")
    );
    if rng.below(2) == 0 {
        text += &format!(":{}", int_expr(g, rng, 3));
    }
    if rng.below(4) == 0 {
        text += "#a label";
    }
    ArgdistSpec { text, aggregate }
}

/// Random sets of argdist specifiers (several maps in one object, string
/// keys of random sizes): an error or an object the verifier accepts.
#[test]
fn random_argdist_specifiers_give_an_error_or_a_program_the_verifier_accepts() {
    const TEST: &str = "random_argdist_specifiers_give_an_error_or_a_program_the_verifier_accepts";
    let dir = TempDir::new("probe-fuzz-argdist");
    let events = dir.path().join("events/syscalls/sys_enter_openat");
    std::fs::create_dir_all(&events).expect("creating the fake tracefs");
    std::fs::write(events.join("format"), FORMAT).expect("writing the format file");
    let load = bpfkit_testkit::privileged(TEST);
    fuzz_argdist(&Grammar::openat(), dir.path(), load, 150);
}

/// Return probes reading `$latency` and `$entry(NAME)` anywhere (filters,
/// format arguments, argdist values and keys): an error or a return
/// program and its entry half that the verifier accepts.
#[test]
fn random_return_probes_with_latency_and_entry_give_an_error_or_programs_the_verifier_accepts() {
    const TEST: &str = "random_return_probes_with_latency_and_entry_give_an_error_or_programs_the_verifier_accepts";
    let dir = TempDir::new("probe-fuzz-return");
    let grammar = Grammar {
        head: "r:c:usleep(unsigned int us)".into(),
        int_leaves: RETURN_INT_LEAVES,
        str_leaves: RETURN_STR_LEAVES,
    };
    let load = bpfkit_testkit::privileged(TEST);
    fuzz(&grammar, dir.path(), load, 200);
    fuzz_argdist(&grammar, dir.path(), load, 100);
}

/// `rounds` random sets of argdist specifiers of `grammar` (several maps in
/// one object, string keys of random sizes): compiled, analyzed, and every
/// fourth loaded when `load`.
fn fuzz_argdist(grammar: &Grammar, tracefs: &std::path::Path, load: bool, rounds: usize) {
    let mut rng = Rng::new(0xa4_9d15_7000);
    let kernel = kernel_btf();
    let (mut compiled, mut loaded, mut refused) = (0, 0, 0);
    for _ in 0..rounds {
        let specs: Vec<ArgdistSpec> = (0..1 + rng.below(3))
            .map(|_| argdist_spec(grammar, &mut rng))
            .collect();
        let string_size = [1, 4, 80, 200, 500][rng.below(5)];
        let opts = CodegenOptions {
            pid: (rng.below(3) == 0).then_some(1),
            name: (rng.below(3) == 0).then(|| "sh".to_string()),
            kernel: kernel.clone(),
            ..Default::default()
        };
        let texts: Vec<&str> = specs.iter().map(|s| s.text.as_str()).collect();
        let argdist = match build_argdist(&specs, string_size, &opts, tracefs) {
            Ok(argdist) => argdist,
            Err(e) => {
                assert!(!e.message.is_empty(), "{texts:?}");
                refused += 1;
                continue;
            }
        };
        assert_eq!(argdist.outputs.len(), specs.len(), "{texts:?}");
        compiled += 1;
        let analyzed = bpfkit_object::analyze(&argdist.elf)
            .unwrap_or_else(|e| panic!("{texts:?}: the generated object does not analyze: {e}"));
        if load && compiled % 4 == 0 {
            let session = bpfkit_runtime::Session::load(&analyzed, &Default::default());
            if let Err(e) = session {
                panic!("{texts:?} -z {string_size}: the kernel refused the generated program: {e}");
            }
            loaded += 1;
        }
    }
    eprintln!("{compiled} compiled, {refused} refused, {loaded} loaded");
    assert!(
        compiled > rounds / 4 && refused > rounds / 15,
        "{compiled} compiled, {refused} refused"
    );
}

/// The running kernel's BTF, with fentry or kprobes as the test says: the
/// code generator's kernel function shapes without a kernel that has them
/// (the kernel matrix loads them).
struct BtfOnly {
    fentry: bool,
    btf: bpfkit_btf::view::BtfView,
}

impl bpfkit_probe::kfunc::Kernel for BtfOnly {
    fn fentry(&self) -> bool {
        self.fentry
    }
    fn kprobes(&self) -> bool {
        !self.fentry
    }
    fn kprobe_multi(&self) -> bool {
        false
    }
    fn traceable(&self, _: &str) -> Option<bool> {
        None
    }
    fn matching(&self, _: &str) -> Option<Vec<String>> {
        None
    }
    fn btf(&self) -> Option<&bpfkit_btf::view::BtfView> {
        Some(&self.btf)
    }
}

/// Leaves of `vfs_read(struct file *file, char *buf, size_t count, loff_t *pos)`.
const KFUNC_INT_LEAVES: &[&str] = &[
    "args->count",
    "count",
    "arg3",
    "args->file->f_flags",
    "file->f_mode",
    "file->f_path.dentry->d_name.len",
    "file->f_inode->i_ino",
    "args->pos",
    "retval",
    "$pid",
    "7",
    "-1",
    "$task->tgid",
    "$task->real_parent->tgid",
    "$task->sched_reset_on_fork",
    "$task->mm->total_vm",
];
const KFUNC_BAD_LEAVES: &[&str] = &[
    "file->nope",
    "count->x",
    "file.f_flags",
    "file->f_path",
    "arg9",
    "$comm->x",
    "args->file->",
    "$task->nope",
    "$task.pid",
    "$task->comm->x",
];
const KFUNC_STR_LEAVES: &[&str] = &[
    "file->f_path.dentry->d_name.name",
    "args->buf",
    "file->f_path.dentry->d_iname",
    "$comm",
    "$task->comm",
];

fn kfunc_expr(rng: &mut Rng, depth: usize) -> String {
    let leaf = |rng: &mut Rng| {
        if rng.below(8) == 0 {
            KFUNC_BAD_LEAVES[rng.below(KFUNC_BAD_LEAVES.len())]
        } else {
            KFUNC_INT_LEAVES[rng.below(KFUNC_INT_LEAVES.len())]
        }
    };
    match rng.below(if depth == 0 { 1 } else { 5 }) {
        0 => leaf(rng).to_string(),
        1 => format!("!{}", kfunc_expr(rng, depth - 1)),
        2 => {
            let string = KFUNC_STR_LEAVES[rng.below(KFUNC_STR_LEAVES.len())];
            format!(
                "{string} == \"{}\"",
                LITERALS[rng.below(LITERALS.len())].trim_matches('"')
            )
        }
        _ => format!(
            "({} {} {})",
            kfunc_expr(rng, depth - 1),
            OPS[rng.below(OPS.len())],
            kfunc_expr(rng, depth - 1)
        ),
    }
}

fn kfunc_probe(rng: &mut Rng) -> String {
    let mut text = if rng.below(2) == 0 {
        "p::vfs_read"
    } else {
        "r::vfs_read"
    }
    .to_string();
    if rng.below(2) == 0 {
        text += &format!(" ({})", kfunc_expr(rng, 3));
    }
    let (mut format, mut args) = (String::new(), Vec::new());
    for _ in 0..rng.below(4) {
        if rng.below(3) == 0 {
            format += "%s ";
            args.push(KFUNC_STR_LEAVES[rng.below(KFUNC_STR_LEAVES.len())].to_string());
        } else {
            format += ["%d ", "%u ", "%x "][rng.below(3)];
            args.push(kfunc_expr(rng, 2));
        }
    }
    if !args.is_empty() {
        text += &format!(" \"{format}\", {}", args.join(", "));
    }
    text
}

/// Loads (without attaching) the kprobe program of a generated object:
/// this kernel's verifier judges it though the kernel cannot attach kprobes.
fn verify_kprobe(elf: &[u8]) -> Result<(), String> {
    let mut ebpf = aya::EbpfLoader::new()
        .btf(None)
        .load(elf)
        .map_err(|e| format!("loading the object: {e}"))?;
    let program: &mut aya::programs::KProbe = ebpf
        .program_mut("probe_0")
        .ok_or("no probe_0")?
        .try_into()
        .map_err(|e| format!("not a kprobe: {e}"))?;
    program.load().map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text += &format!(": {s}");
            source = s.source();
        }
        text
    })
}

/// Random kernel function probes (fentry and kprobe shapes, BTF-typed
/// arguments, struct walks, good and bad) give an error or an object that
/// analyzes, never a panic; the kprobe ones pass the verifier (loaded, not
/// attached: this kernel cannot attach kprobes but judges their programs).
#[test]
fn random_kernel_function_probes_give_an_error_or_an_object() {
    let load =
        bpfkit_testkit::privileged("random_kernel_function_probes_give_an_error_or_an_object");
    let Ok(btf) = bpfkit_btf::view::BtfView::vmlinux() else {
        eprintln!("skipped: no kernel BTF");
        return;
    };
    let dir = TempDir::new("probe-fuzz-kfunc");
    let mut kernel = std::sync::Arc::new(BtfOnly { fentry: true, btf });
    let mut rng = Rng::new(0x0bad_c0ff_ee11);
    let (mut compiled, mut refused, mut verified) = (0, 0, 0);
    for round in 0..300 {
        if round == 150 {
            let btf = bpfkit_btf::view::BtfView::vmlinux().expect("opened before");
            kernel = std::sync::Arc::new(BtfOnly { fentry: false, btf });
        }
        let text = kfunc_probe(&mut rng);
        let opts = CodegenOptions {
            pid: (rng.below(3) == 0).then_some(1),
            name: None,
            kernel: Some(kernel.clone()),
            ..Default::default()
        };
        match build_trace(std::slice::from_ref(&text), &opts, dir.path()) {
            Ok(object) => {
                let analyzed = bpfkit_object::analyze(&object.elf).unwrap_or_else(|e| {
                    panic!("{text}: the generated object does not analyze: {e}")
                });
                compiled += 1;
                if load && round >= 150 {
                    if let Err(e) = verify_kprobe(&analyzed.loadable_elf) {
                        panic!("{text}: the kernel refused the generated program: {e}");
                    }
                    verified += 1;
                }
            }
            Err(e) => {
                assert!(!e.message.is_empty(), "{text}");
                refused += 1;
            }
        }
    }
    eprintln!("{compiled} compiled, {refused} refused, {verified} verified as kprobes");
    assert!(
        compiled > 50 && refused > 20,
        "{compiled} compiled, {refused} refused"
    );
}
