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
pub mod syscall_table;
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
    for (arg, conv) in probe.args.iter().zip(convs) {
        if conv.wants_string() {
            untyped_to_string(&arg.kind, ctx);
        }
    }
}

/// Makes an untyped argument or user function return value (`arg1`,
/// `retval`) a `char *`, as bcc does for one printed with `%s` or given
/// argdist's TYPE `char*`.
fn untyped_to_string(kind: &parse::ExprKind, ctx: &mut ProbeContext) {
    // A user function's return value has no type either (`r:bash:readline
    // "%s", retval`); a kernel function's has its BTF type.
    let (name, untyped) = match kind {
        parse::ExprKind::Arg(name) => (name.as_str(), uprobe::UNTYPED),
        parse::ExprKind::Retval if ctx.user_strings => ("retval", uprobe::UNTYPED_RETURN),
        _ => return,
    };
    if let Some(field) = ctx.fields.iter_mut().find(|f| f.name == name)
        && field.c_type == untyped
    {
        field.kind = match field.kind {
            tracefs::FieldKind::Usdt { arg, .. } => tracefs::FieldKind::Usdt { arg, string: true },
            _ => tracefs::FieldKind::CharPointer,
        };
    }
}

/// One argdist `-C` (count) or `-H` (histogram) specifier.
pub struct ArgdistSpec {
    pub text: String,
    pub aggregate: Aggregate,
}

/// One value of a specifier, as the output shows it.
#[derive(Debug, Clone)]
pub struct ArgdistValue {
    /// The expression as written (`args->filename`, `fd`).
    pub text: String,
    /// Its member in the map key; `None`: the key is this value alone.
    pub member: Option<String>,
    pub string: bool,
}

/// How to show what one specifier gathered.
#[derive(Debug, Clone)]
pub struct ArgdistOutput {
    /// The map its values are in.
    pub map: String,
    pub aggregate: Aggregate,
    /// bcc's heading over a count: the `#label`, else the specifier.
    pub heading: String,
    /// A histogram's value label: the `#label`, else the expression.
    pub label: String,
    pub values: Vec<ArgdistValue>,
    /// An entry probe with no TYPE:EXPR: bcc counts "total calls".
    pub total_calls: bool,
}

/// Argdist specifiers compiled into one object, a map each.
pub struct Argdist {
    pub elf: Vec<u8>,
    pub outputs: Vec<ArgdistOutput>,
}

/// bcc argdist's default `-z`: characters kept of each string value.
pub const ARGDIST_STRING_SIZE: u32 = 80;

/// Compiles bcc's argdist specifiers
/// `PROBE[(SIGNATURE)]:TYPE[,TYPE...]:EXPR[,EXPR...][:FILTER][#LABEL]`
/// (`p:c:malloc(size_t size):size_t:size`, `t:syscalls:sys_enter_openat():char*:args->filename`,
/// `U:LIB:PROVIDER:NAME():int:arg1`) into one object, one map each.
/// A TYPE of `char*` makes its value a string (at most `string_size`
/// characters, bcc's `-z`); other TYPEs are accepted as bcc writes them,
/// the value's type coming from EXPR.
pub fn build_argdist(
    specs: &[ArgdistSpec],
    string_size: u32,
    opts: &CodegenOptions,
    tracefs: &Path,
) -> Result<Argdist, ProbeError> {
    let mut compiled = Vec::with_capacity(specs.len());
    let mut outputs = Vec::with_capacity(specs.len());
    let mut texts = Vec::with_capacity(specs.len());
    let (mut counts, mut hists) = (0, 0);
    for spec in specs {
        let n = match spec.aggregate {
            Aggregate::Count => &mut counts,
            Aggregate::Log2 => &mut hists,
        };
        *n += 1;
        let base = match spec.aggregate {
            Aggregate::Count => COUNTS_MAP,
            Aggregate::Log2 => funclatency::HIST_MAP,
        };
        let map = match *n {
            1 => base.to_string(),
            n => format!("{base}_{n}"),
        };
        let (aggregate_spec, output, text) = argdist_spec(spec, map, opts, tracefs)?;
        compiled.push(aggregate_spec);
        outputs.push(output);
        texts.push(text);
    }
    let aggregated =
        compile::compile_aggregates(&compiled, string_size, opts).map_err(|(i, e)| ProbeError {
            probe: specs[i].text.clone(),
            message: e.render(&texts[i]),
        })?;
    for (output, key) in outputs.iter_mut().zip(aggregated.keys) {
        for (value, member) in output.values.iter_mut().zip(key) {
            value.member = member.name;
        }
    }
    Ok(Argdist {
        elf: aggregated.elf,
        outputs,
    })
}

/// One specifier parsed and typed: what to compile, how to show it, and
/// the probe text its errors point into.
fn argdist_spec(
    spec: &ArgdistSpec,
    map: String,
    opts: &CodegenOptions,
    tracefs: &Path,
) -> Result<(compile::AggregateSpec, ArgdistOutput, String), ProbeError> {
    let error = |message: String| ProbeError {
        probe: spec.text.clone(),
        message,
    };
    // bcc: everything after '#' is the label printed for the values.
    let (spec_text, label) = match spec.text.split_once('#') {
        Some((text, label)) => (text, Some(label.trim().to_string())),
        None => (spec.text.as_str(), None),
    };
    let (probe_text, rest) = split_argdist(spec_text).ok_or_else(|| {
        error("expected PROBE(SIGNATURE)[:TYPE:EXPR[:FILTER]][#LABEL], e.g. p:c:malloc(size_t size):size_t:size".into())
    })?;
    let mut parts = rest.splitn(3, ':');
    let (types, exprs, filter) = (parts.next(), parts.next(), parts.next());
    let default = exprs.is_none_or(|e| e.trim().is_empty());
    let exprs = match exprs.filter(|e| !e.trim().is_empty()) {
        Some(exprs) => split_top_level(exprs),
        // bcc: with no TYPE:EXPR, a return probe's value is $retval and
        // an entry probe's is 1 (so -C counts calls).
        None if rest.trim().is_empty() => vec![default_argdist_expr(&probe_text)],
        None => return Err(error("no expression after the type".into())),
    };
    let types: Vec<&str> = match types.filter(|_| !default) {
        Some(types) => types.split(',').map(str::trim).collect(),
        None => vec![""; exprs.len()],
    };
    if types.len() != exprs.len() {
        return Err(error(format!(
            "{} type(s) for {} expression(s): each expression has its TYPE, in order",
            types.len(),
            exprs.len()
        )));
    }
    // One probe text, so that errors point into it.
    let format = vec!["%d"; exprs.len()].join(" ");
    let text = match filter {
        Some(filter) => format!("{probe_text} ({filter}) \"{format}\", {}", exprs.join(",")),
        None => format!("{probe_text} \"{format}\", {}", exprs.join(",")),
    };
    let syntax = |e: SyntaxError| error(e.render(&text));
    let probe = parse_probe(&text).map_err(syntax)?;
    let strings: Vec<bool> = types.iter().map(|t| is_string_type(t)).collect();
    let mut contexts = contexts(&probe, tracefs, opts.kernel.as_ref()).map_err(syntax)?;
    for ctx in &mut contexts {
        for (value, _) in probe.args.iter().zip(&strings).filter(|(_, s)| **s) {
            untyped_to_string(&value.kind, ctx);
        }
    }
    let values: Vec<(parse::Expr, bool)> = probe.args.iter().cloned().zip(strings).collect();
    let output = ArgdistOutput {
        map: map.clone(),
        aggregate: spec.aggregate,
        heading: label.clone().unwrap_or_else(|| spec.text.clone()),
        label: label.unwrap_or_else(|| exprs.join(", ")),
        values: exprs
            .iter()
            .zip(&values)
            .map(|(text, (_, string))| ArgdistValue {
                text: text.to_string(),
                member: None,
                string: *string,
            })
            .collect(),
        total_calls: default && !probe_text.starts_with("r:"),
    };
    let bare = Probe {
        args: Vec::new(),
        format: None,
        ..probe
    };
    let compiled = compile::AggregateSpec {
        probe: bare,
        contexts,
        values,
        aggregate: spec.aggregate,
        map,
    };
    Ok((compiled, output, text))
}

/// bcc's string TYPE: `char*` (also `const char *`).
fn is_string_type(ty: &str) -> bool {
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    ty.ends_with("char*")
}

/// `a, b` split at the commas outside parentheses, each trimmed.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
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
    let mut contexts = if let Target::Usdt {
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
        usdt::contexts(library, provider.as_deref(), name).map_err(|m| SyntaxError::new(1, m))?
    } else {
        vec![context(probe, tracefs, kernel)?]
    };
    if let Some(entry) = entry_probe(probe) {
        // One entry program for every site of the return probe.
        let entry = context(&entry, tracefs, kernel)?;
        for ctx in &mut contexts {
            ctx.entry = Some(Box::new(ProbeContext {
                fields: entry.fields.clone(),
                user_strings: entry.user_strings,
                section: entry.section.clone(),
                walks: Vec::new(),
                entry: None,
            }));
        }
    }
    // A kernel function's context has its walks, `$task`'s among them.
    if !is_kernel_function(probe) {
        let walks = kfunc::task_walks(probe, kernel.map(|k| k.as_ref()))?;
        for ctx in &mut contexts {
            ctx.walks = walks.clone();
        }
    }
    Ok(contexts)
}

/// The entry probe of return probe `probe` when it reads `$latency` or
/// `$entry(NAME)`: the same function and signature, nothing to print.
fn entry_probe(probe: &Probe) -> Option<Probe> {
    let Target::Function {
        library,
        function,
        return_probe: true,
    } = &probe.target
    else {
        return None;
    };
    let mut exprs = probe.args.iter().chain(probe.filter.as_ref());
    if !exprs.any(reads_entry) {
        return None;
    }
    Some(Probe {
        target: Target::Function {
            library: library.clone(),
            function: function.clone(),
            return_probe: false,
        },
        signature: probe.signature.clone(),
        filter: None,
        format: None,
        args: Vec::new(),
    })
}

/// Whether `e` reads `$latency` or `$entry(NAME)`.
fn reads_entry(e: &parse::Expr) -> bool {
    match &e.kind {
        parse::ExprKind::Latency | parse::ExprKind::Entry(_) => true,
        parse::ExprKind::Unary(_, inner) => reads_entry(inner),
        parse::ExprKind::Binary(_, l, r) => reads_entry(l) || reads_entry(r),
        parse::ExprKind::Member { base, .. } => reads_entry(base),
        _ => false,
    }
}

/// `p::FUNC`, `r::FUNC`: a function with no library.
fn is_kernel_function(probe: &Probe) -> bool {
    matches!(&probe.target, Target::Function { library, .. } if library.is_empty())
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
                entry: None,
            })
        }
        Target::Function {
            library,
            function,
            return_probe,
        } if library.is_empty() && syscall_of(function, tracefs, kernel).is_some() => {
            old_syscall_context(tracefs, function, *return_probe)
        }
        Target::Function { .. } if is_kernel_function(probe) => match kernel {
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
                entry: None,
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
        entry: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argdist_expressions_split_at_top_level_commas() {
        assert_eq!(split_top_level("fd, count"), ["fd", "count"]);
        assert_eq!(split_top_level("(a, b) + 1,c"), ["(a, b) + 1", "c"]);
        assert_eq!(split_top_level("size"), ["size"]);
    }

    #[test]
    fn char_pointer_types_are_strings() {
        for ty in ["char*", "char *", "const char *", " char  * "] {
            assert!(is_string_type(ty), "{ty}");
        }
        for ty in ["int", "size_t", "char", "u64", ""] {
            assert!(!is_string_type(ty), "{ty}");
        }
    }
}
