//! bcc-style probe one-liners compiled straight to BPF: no clang, no LLVM,
//! no kernel headers at run time.
//!
//! `parse` reads bcc's probe syntax (errors point at a column), `tracefs`
//! types tracepoint fields from their format files, `compile` types the
//! expressions and emits instructions (`insn`), and `elf` wraps them into
//! an ordinary BPF object with BTF, which bpfkit-object analyzes and
//! bpfkit-runtime loads like any compiled one. The printf-style message is
//! rendered in user space from the decoded record (`format`).

pub mod compile;
pub mod elf;
pub mod format;
pub mod funccount;
pub mod funclatency;
pub mod insn;
pub mod kfunc;
pub mod parse;
pub mod regex;
pub mod stackcount;
pub mod stacks;
pub mod tracefs;
pub mod uprobe;
pub mod usdt;

pub use compile::{Aggregate, COUNTS_MAP, CodegenOptions, Compiled, EVENTS_MAP, ProbeOutput};
pub use parse::{Probe, SyntaxError, Target, parse_probe};

use compile::ProbeContext;
use std::path::Path;

/// A probe that cannot be compiled, with the message that says why (and,
/// for syntax errors, a caret under the column).
#[derive(Debug, thiserror::Error)]
#[error("probe '{probe}': {message}")]
pub struct ProbeError {
    pub probe: String,
    pub message: String,
}

/// Parses, types and compiles `probes` into one object; tracepoint fields
/// come from `tracefs`.
pub fn build_trace(
    probes: &[String],
    opts: &CodegenOptions,
    tracefs: &Path,
) -> Result<Compiled, ProbeError> {
    if let Some(name) = &opts.name
        && name.len() >= 16
    {
        return Err(ProbeError {
            probe: String::new(),
            message: format!("-n {name}: task names have at most 15 characters"),
        });
    }
    let mut parsed = Vec::new();
    // The probe text of each program (a USDT probe may have several).
    let mut text_of = Vec::new();
    for (index, text) in probes.iter().enumerate() {
        let error = |e: SyntaxError| ProbeError {
            probe: text.clone(),
            message: e.render(text),
        };
        let probe = parse_probe(text).map_err(error)?;
        for mut ctx in contexts(&probe, tracefs, opts.kernel.as_ref()).map_err(error)? {
            strings_by_use(&probe, &mut ctx);
            parsed.push((probe.clone(), ctx));
            text_of.push(index);
        }
    }
    compile::compile(&parsed, opts).map_err(|(i, e)| {
        let text = &probes[text_of[i]];
        ProbeError {
            probe: text.clone(),
            message: e.render(text),
        }
    })
}

/// bcc prints an untyped argument (or user function return value) given to
/// `%s` as the string it points to (`trace 'p:c:open "%s", arg1'`): such
/// values become `char *`.
fn strings_by_use(probe: &Probe, ctx: &mut ProbeContext) {
    let Some((text, column)) = &probe.format else {
        return;
    };
    let Ok(pieces) = format::parse_format(text, *column) else {
        return;
    };
    let convs = pieces.iter().filter_map(|p| match p {
        format::Piece::Value { conv, .. } => Some(*conv),
        format::Piece::Text(_) => None,
    });
    // A user function's return value has no type either (`r:bash:readline
    // "%s", retval`); a kernel function's has its BTF type.
    let untyped_return = ctx.user_strings;
    for (arg, conv) in probe.args.iter().zip(convs) {
        let (name, untyped) = match &arg.kind {
            parse::ExprKind::Arg(name) => (name.as_str(), uprobe::UNTYPED),
            parse::ExprKind::Retval if untyped_return => ("retval", uprobe::UNTYPED_RETURN),
            _ => continue,
        };
        if let Some(field) = ctx.fields.iter_mut().find(|f| f.name == name)
            && conv.wants_string()
            && field.c_type == untyped
        {
            field.kind = match field.kind {
                tracefs::FieldKind::Usdt { arg, .. } => {
                    tracefs::FieldKind::Usdt { arg, string: true }
                }
                _ => tracefs::FieldKind::CharPointer,
            };
        }
    }
}

/// An `argdist` specifier compiled: the object and the value's text (its
/// label in the output).
pub struct Argdist {
    pub elf: Vec<u8>,
    pub label: String,
}

/// Compiles bcc's argdist specifier `PROBE[(SIGNATURE)]:TYPE:EXPR[:FILTER]`
/// (`p:c:malloc(size_t size):size_t:size`, `t:syscalls:sys_enter_read():int:args->count`,
/// `U:LIB:PROVIDER:NAME():int:arg1`).
/// TYPE is accepted as bcc writes it; the value's type comes from EXPR.
pub fn build_argdist(
    spec: &str,
    aggregate: compile::Aggregate,
    opts: &CodegenOptions,
    tracefs: &Path,
) -> Result<Argdist, ProbeError> {
    let error = |message: String| ProbeError {
        probe: spec.to_string(),
        message,
    };
    // bcc: everything after '#' is the label printed for the values.
    let (spec_text, label) = match spec.split_once('#') {
        Some((text, label)) => (text, Some(label.trim().to_string())),
        None => (spec, None),
    };
    let (probe_text, rest) = split_argdist(spec_text).ok_or_else(|| {
        error("expected PROBE(SIGNATURE)[:TYPE:EXPR[:FILTER]][#LABEL], e.g. p:c:malloc(size_t size):size_t:size".into())
    })?;
    let mut parts = rest.splitn(3, ':');
    let (_type, expr, filter) = (parts.next(), parts.next(), parts.next());
    let expr = match expr.filter(|e| !e.trim().is_empty()) {
        Some(expr) => expr,
        // bcc: with no TYPE:EXPR, a return probe's value is $retval and
        // an entry probe's is 1 (so -C counts calls).
        None if rest.trim().is_empty() => default_argdist_expr(&probe_text),
        None => return Err(error("no expression after the type".into())),
    };
    // One probe text, so that errors point into it.
    let text = match filter {
        Some(filter) => format!("{probe_text} ({filter}) \"%d\", {expr}"),
        None => format!("{probe_text} \"%d\", {expr}"),
    };
    let syntax = |e: SyntaxError| error(e.render(&text));
    let probe = parse_probe(&text).map_err(syntax)?;
    let contexts = contexts(&probe, tracefs, opts.kernel.as_ref()).map_err(syntax)?;
    let value = probe.args[0].clone();
    let bare = Probe {
        args: Vec::new(),
        format: None,
        ..probe
    };
    let elf =
        compile::compile_aggregate(&bare, &contexts, &value, aggregate, opts).map_err(syntax)?;
    Ok(Argdist {
        elf,
        label: label.unwrap_or_else(|| expr.trim().to_string()),
    })
}

/// bcc's value for a specifier without TYPE:EXPR (`r:c:read()`).
fn default_argdist_expr(probe_text: &str) -> &'static str {
    if probe_text.starts_with("r:") {
        "$retval"
    } else {
        "1"
    }
}

/// `(PROBE, TYPE:EXPR[:FILTER])`; a tracepoint's empty `()` is dropped.
fn split_argdist(spec: &str) -> Option<(String, &str)> {
    let (probe, rest) = match spec.find('(') {
        Some(open) => {
            let close = open + spec[open..].find(')')?;
            let probe = &spec[..=close];
            // bcc writes `()` after tracepoints and USDT probes too.
            let bare = ["t:", "u:", "U:"].iter().any(|k| probe.starts_with(k));
            let probe = if bare && probe.ends_with("()") {
                &probe[..probe.len() - 2]
            } else {
                probe
            };
            // Nothing after the signature: bcc's default value.
            let after = &spec[close + 1..];
            let rest = match after {
                "" => after,
                _ => after.strip_prefix(':')?,
            };
            (probe.to_string(), rest)
        }
        None => {
            // U:LIB:PROVIDER:NAME has one part more than the others.
            let parts = if spec.starts_with("U:") || spec.starts_with("u:") {
                4
            } else {
                3
            };
            let mut at = 0;
            for _ in 0..parts {
                at += spec[at..].find(':')? + 1;
            }
            (spec[..at - 1].to_string(), &spec[at..])
        }
    };
    Some((probe, rest))
}

/// What the probe's programs can read and where they attach: one context
/// per program (several for a USDT probe whose sites differ).
fn contexts(
    probe: &Probe,
    tracefs: &Path,
    kernel: Option<&std::sync::Arc<dyn kfunc::Kernel>>,
) -> Result<Vec<ProbeContext>, SyntaxError> {
    if let Target::Usdt {
        library,
        provider,
        name,
    } = &probe.target
    {
        if probe.signature.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(SyntaxError::new(
                1,
                "a USDT probe takes no signature: its arguments are arg1..argN, typed by its notes",
            ));
        }
        return usdt::contexts(library, provider.as_deref(), name)
            .map_err(|m| SyntaxError::new(1, m));
    }
    context(probe, tracefs, kernel).map(|ctx| vec![ctx])
}

fn context(
    probe: &Probe,
    tracefs: &Path,
    kernel: Option<&std::sync::Arc<dyn kfunc::Kernel>>,
) -> Result<ProbeContext, SyntaxError> {
    match &probe.target {
        Target::Tracepoint { category, name } => {
            let fields = tracefs::read_format(tracefs, category, name)
                .map_err(|message| SyntaxError::new(1, message))?;
            Ok(ProbeContext {
                fields,
                user_strings: category == "syscalls",
                section: format!("tracepoint/{category}/{name}"),
                walks: Vec::new(),
            })
        }
        Target::Function {
            library,
            function,
            return_probe,
        } if library.is_empty() && syscall_of(function, tracefs, kernel).is_some() => {
            old_syscall_context(tracefs, function, *return_probe)
        }
        Target::Function { library, .. } if library.is_empty() => match kernel {
            Some(kernel) => kfunc::context(probe, kernel.as_ref()),
            None => Err(SyntaxError::new(0, kfunc::NEITHER)),
        },
        Target::Function {
            library,
            function,
            return_probe,
        } => {
            let path = uprobe::resolve_library(library).map_err(|m| SyntaxError::new(1, m))?;
            let fields = uprobe::fields(probe.signature.as_deref().unwrap_or(&[]), *return_probe)
                .map_err(|m| SyntaxError::new(1, m))?;
            let kind = if *return_probe { "uretprobe" } else { "uprobe" };
            Ok(ProbeContext {
                fields,
                user_strings: true,
                section: format!("{kind}/{}:{function}", path.display()),
                walks: Vec::new(),
            })
        }
        // `contexts` handles them (several programs per probe).
        Target::Usdt { .. } => Err(SyntaxError::new(
            1,
            "internal error: a USDT probe reached the single-program path",
        )),
    }
}

/// The syscall a kernel function probe of bcc's examples names by the
/// syscall functions of kernels before 4.17: `SyS_NAME` always (no kernel
/// has had those since), `sys_NAME` where the running kernel's BTF has no
/// such function (x86-64 syscalls became `__x64_sys_NAME(struct pt_regs *)`)
/// and a tracepoint `syscalls:sys_enter_NAME` exists.
fn syscall_of<'a>(
    function: &'a str,
    tracefs: &Path,
    kernel: Option<&std::sync::Arc<dyn kfunc::Kernel>>,
) -> Option<&'a str> {
    if let Some(syscall) = function.strip_prefix("SyS_") {
        return Some(syscall);
    }
    let syscall = function.strip_prefix("sys_")?;
    let btf = kernel?.btf()?;
    let is_function = btf
        .find_named(bpfkit_btf::types::kind_no::FUNC, function)
        .is_some();
    let tracepoint = tracefs
        .join("events/syscalls")
        .join(format!("sys_enter_{syscall}"));
    (!is_function && tracepoint.exists()).then_some(syscall)
}

/// `p::SyS_NAME`/`r::SyS_NAME` (and `sys_NAME`, see [`syscall_of`]): the
/// syscall's entry and return, which bcc's examples name by functions
/// today's kernels lack, take the syscall's tracepoints
/// (`syscalls:sys_enter_NAME`, `sys_exit_NAME`), which every kernel has,
/// kprobes or not. The arguments are `arg1`.. in the tracepoint's order
/// (besides their names), the return value `retval`, as on a function.
fn old_syscall_context(
    tracefs: &Path,
    function: &str,
    return_probe: bool,
) -> Result<ProbeContext, SyntaxError> {
    let syscall = function
        .strip_prefix("SyS_")
        .or_else(|| function.strip_prefix("sys_"))
        .unwrap_or(function);
    let name = if return_probe {
        format!("sys_exit_{syscall}")
    } else {
        format!("sys_enter_{syscall}")
    };
    let mut fields = tracefs::read_format(tracefs, "syscalls", &name).map_err(|_| {
        SyntaxError::new(
            1,
            format!(
                "{function}: no syscall {syscall} on this kernel \
                 (no tracepoint syscalls:{name}); SyS_NAME stands for syscall NAME"
            ),
        )
    })?;
    let arguments: Vec<tracefs::Field> = fields
        .iter()
        .filter(|f| f.name != "__syscall_nr")
        .cloned()
        .collect();
    if return_probe {
        fields.extend(
            arguments
                .into_iter()
                .filter(|f| f.name == "ret")
                .map(|f| tracefs::Field {
                    name: "retval".into(),
                    ..f
                }),
        );
    } else {
        fields.extend(
            arguments
                .into_iter()
                .enumerate()
                .map(|(i, f)| tracefs::Field {
                    name: format!("arg{}", i + 1),
                    ..f
                }),
        );
    }
    Ok(ProbeContext {
        fields,
        user_strings: true,
        section: format!("tracepoint/syscalls/{name}"),
        walks: Vec::new(),
    })
}

/// The message of an event of probe `output`: its format, with numbers
/// from `num(member)` and strings from `bytes(member)` of the decoded
/// record, and `%K`/`%U` addresses named by `symbol(conv, address)`.
pub fn render_message<'a>(
    output: &ProbeOutput,
    num: impl Fn(&str) -> Option<i128>,
    bytes: impl Fn(&str) -> Option<&'a [u8]>,
    symbol: impl Fn(format::Conv, u64) -> Option<String>,
    out: &mut Vec<u8>,
) {
    let arg = |i: usize, conv: format::Conv| {
        let field = output.arg_fields.get(i)?;
        if conv.wants_string() {
            return bytes(field).map(format::Arg::Bytes);
        }
        let n = num(field)?;
        match conv {
            format::Conv::KernelSym | format::Conv::UserSym => {
                Some(symbol(conv, n as u64).map_or(format::Arg::Num(n), format::Arg::Text))
            }
            _ => Some(format::Arg::Num(n)),
        }
    };
    format::render(&output.message, arg, out);
}
