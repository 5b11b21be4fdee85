//! A tool's [`Output`] as bpfkit-output settings: event columns, histogram
//! labels, summary tables.

use bpfkit_output::Record;
use bpfkit_output::semantic::TimeUnit;
use bpfkit_output::{
    Align, CellFn, ColumnSpec, CustomCell, Render, SnapshotOptions, hist::HistKind, write_c_string,
};
use bpfkit_symbolize::{Sym, Symbolizer, stack_ips};
use bpfkit_tools::{ArgKind, Call, Column, Format, Output, Scale, SentencePart};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// What the columns need to know about the run.
pub struct Context<'a> {
    pub given: &'a dyn Fn(&str) -> bool,
    /// The time unit (`usecs`, `msecs`, `nsecs`).
    pub unit: &'a str,
    /// `-q`: quote argument lists.
    pub quote: bool,
    /// Current values of integer parameters (`max_args`), given or default.
    pub param: &'a dyn Fn(&str) -> Option<i128>,
    /// The render bpfkit-output would choose for a field by itself.
    pub auto: &'a dyn Fn(&str) -> Option<Render>,
}

/// The shown columns (their `when` holds) as column specs.
pub fn columns(columns: &[Column], ctx: &Context) -> Vec<ColumnSpec> {
    columns
        .iter()
        .filter(|c| c.when.holds(ctx.given))
        .map(|c| column(c, ctx))
        .collect()
}

fn column(c: &Column, ctx: &Context) -> ColumnSpec {
    let header = c.header.replace("{unit}", ctx.unit);
    let mut spec = match custom(c, ctx) {
        Some(f) => ColumnSpec {
            custom: Some(CustomCell(f)),
            ..ColumnSpec::new(&header).header(&header)
        },
        None => {
            let spec = ColumnSpec::new(c.field).header(&header);
            match render(c.format, ctx.unit) {
                Some(r) => spec.render(r),
                None if c.format == Format::Plain && names_a_number((ctx.auto)(c.field)) => {
                    spec.render(Render::Plain)
                }
                None => spec,
            }
        }
    };
    if let Format::Stack { pid, .. } = c.format {
        spec = json_stack(spec, c.field, pid);
    }
    spec.width = Some(c.width as usize);
    spec.align = match c.align {
        bpfkit_tools::Align::Left => Align::Left,
        bpfkit_tools::Align::Right => Align::Right,
    };
    spec
}

/// Formats bpfkit-output renders directly; `None` for plain fields and the
/// formats that need the whole record.
fn render(format: Format, unit: &str) -> Option<Render> {
    Some(match format {
        Format::Plain => return None,
        Format::Octal => Render::Octal,
        Format::Hex => Render::Hex,
        Format::Errno => Render::Errno,
        Format::Signal => Render::Signal,
        Format::Syscall => Render::Syscall,
        Format::Disk => Render::Disk,
        Format::Nanos(decimals) => Render::Scaled {
            divisor: unit_nanos(unit),
            decimals,
        },
        Format::Scaled(divisor, decimals) => Render::Scaled { divisor, decimals },
        Format::Names(table) => Render::Names(table),
        Format::PercentOf(_)
        | Format::SumOf(_)
        | Format::DividedBy(_)
        | Format::ArgList { .. }
        | Format::ExitStatus { .. }
        | Format::Stack { .. }
        | Format::Call { .. }
        | Format::Sentence(_) => {
            return None;
        }
    })
}

/// Renders that turn a number into a name or a unit-suffixed text. A spec
/// asks for those with a [`Format`]; a plain column shows the number, as
/// libbpf-tools do (execsnoop's RET, killsnoop's SIG without `-n`).
/// Addresses, ports and times keep their render: their raw form is no
/// number anyone reads.
fn names_a_number(auto: Option<Render>) -> bool {
    matches!(
        auto,
        Some(
            Render::Errno
                | Render::ErrnoName
                | Render::Signal
                | Render::Syscall
                | Render::Duration(_)
        )
    )
}

/// Cells computed from several fields.
fn custom(c: &Column, ctx: &Context) -> Option<Arc<CellFn>> {
    let field = c.field;
    Some(match c.format {
        Format::SumOf(fields) => Arc::new(move |r, out| {
            let sum: i128 = fields.iter().filter_map(|f| r.num(f)).sum();
            out.extend_from_slice(sum.to_string().as_bytes());
        }),
        Format::DividedBy(divisor) => Arc::new(move |r, out| {
            let value = r.num(field).unwrap_or(0);
            let quotient = match r.num(divisor) {
                Some(d) if d != 0 => value / d,
                _ => 0,
            };
            out.extend_from_slice(quotient.to_string().as_bytes());
        }),
        Format::PercentOf(fields) => Arc::new(move |r, out| {
            let total: i128 = fields.iter().filter_map(|f| r.num(f)).sum();
            let value = r.num(field).unwrap_or(0);
            // Whole percent, rounded down, as libbpf-tools biopattern prints.
            let percent = if total == 0 { 0 } else { value * 100 / total };
            out.extend_from_slice(percent.to_string().as_bytes());
        }),
        Format::ArgList { count, max_param } => {
            let quote = ctx.quote;
            let max = (ctx.param)(max_param);
            let size_field = format!("{field}_size");
            Arc::new(move |r, out| {
                let Some(args) = r.raw(field) else { return };
                let mut n = r.num(count).unwrap_or(0).max(0);
                let truncated = max.is_some_and(|m| n == m + 1);
                if truncated {
                    n -= 1;
                }
                let size = r
                    .num(&size_field)
                    .map_or(args.len(), |s| (s.max(0) as usize).min(args.len()));
                bpfkit_output::semantic::write_arg_list(
                    out.buffer(),
                    args,
                    size,
                    n as usize,
                    quote,
                    false,
                );
                // write_arg_list separates with a space after every item;
                // trimming stops at this cell's start (an empty list stays
                // empty instead of eating the previous column's separator).
                out.trim_end(b' ');
                if truncated {
                    out.extend_from_slice(b" ...");
                }
            })
        }
        Format::ExitStatus { signal, core } => Arc::new(move |r, out| {
            let text = exit_status(
                r.num(field).unwrap_or(0),
                r.num(signal).unwrap_or(0),
                r.num(core).unwrap_or(0) != 0,
            );
            out.extend_from_slice(text.as_bytes());
        }),
        Format::Stack { pid, missing } => Arc::new(move |r, out| {
            let ips = r.raw(field).map(stack_ips).unwrap_or_default();
            let process = pid.and_then(|p| r.num(p)).map(|n| n as u32);
            write_frames(out.buffer(), &ips, process, missing);
        }),
        Format::Call { op, calls } => Arc::new(move |r, out| {
            let call = usize::try_from(r.num(op).unwrap_or(-1))
                .ok()
                .and_then(|i| calls.get(i));
            if let Some(call) = call {
                write_call(out.buffer(), call, r.num(field).unwrap_or(0), r);
            }
        }),
        Format::Sentence(text) => Arc::new(move |r, out| {
            for part in bpfkit_tools::sentence_parts(text) {
                match part {
                    SentencePart::Text(t) => out.extend_from_slice(t.as_bytes()),
                    SentencePart::Field(name) => match r.num(name) {
                        Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
                        // Escaped: a comm can neither split the line nor
                        // send escape sequences.
                        None => write_c_string(out.buffer(), r.raw(name).unwrap_or_default()),
                    },
                    SentencePart::File(path) => {
                        let text = std::fs::read(path).unwrap_or_default();
                        let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
                        write_c_string(out.buffer(), line);
                    }
                }
            }
        }),
        _ => return None,
    })
}

/// A stack column's JSON member: `kernel` or `user` (a user stack is one
/// with a process), an array of frame names innermost first, unknown ones
/// in hex: the shape of `stack` records and `bpfkit trace -K`/`-U`. The
/// event's `data` keeps the addresses.
fn json_stack(spec: ColumnSpec, field: &'static str, pid: Option<&'static str>) -> ColumnSpec {
    let key = if pid.is_some() { "user" } else { "kernel" };
    spec.json_with(key, move |r, out| {
        let ips = r.raw(field).map(stack_ips).unwrap_or_default();
        let frames = FRAME_NAMES.with_borrow_mut(|names| match pid {
            Some(p) => {
                let process = r.num(p).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
                names.symbolizer.user_frames(process, &ips)
            }
            None => names.symbolizer.kernel_frames(&ips),
        });
        // A list of strings always serializes.
        let _ = serde_json::to_writer(out.buffer(), &frames);
    })
}

/// Each address on a line of its own under the row (`name+0xoff`, bcc's
/// `[unknown]`), or `missing` for an empty stack; `pid` is the process of
/// user addresses, `None` for kernel ones.
fn write_frames(out: &mut Vec<u8>, ips: &[u64], pid: Option<u32>, missing: &str) {
    if ips.is_empty() && !missing.is_empty() {
        out.extend_from_slice(b"\n    ");
        out.extend_from_slice(missing.as_bytes());
    }
    FRAME_NAMES.with_borrow_mut(|names| {
        for name in names.names(pid, ips) {
            out.extend_from_slice(b"\n        ");
            // Escaped: a name can neither split the line nor send escapes.
            write_c_string(out, name.as_bytes());
        }
    });
}

thread_local! {
    /// Kept for the run: the same frames come again and again (every
    /// capability check of a syscall has the same kernel stack), and every
    /// process of a binary has the same user frames (the symbolizer caches
    /// them per mapped file).
    static FRAME_NAMES: RefCell<FrameNames> = RefCell::new(FrameNames::default());
}

/// Symbolized frames: kernel ones by address, user ones through the
/// symbolizer's per-file cache.
#[derive(Default)]
struct FrameNames {
    symbolizer: Symbolizer,
    kernel: HashMap<u64, String>,
}

impl FrameNames {
    /// Kernel frames remembered at most; then the cache starts over.
    const LIMIT: usize = 100_000;

    /// Names for `ips` (`name+0xoff`, bcc's `[unknown]`) in process `pid`,
    /// `None` for kernel addresses: the process's maps are read once for
    /// the whole stack.
    fn names(&mut self, pid: Option<u32>, ips: &[u64]) -> Vec<String> {
        let show =
            |sym: Option<Sym>| sym.map_or_else(|| "[unknown]".to_string(), |s| s.to_string());
        if let Some(pid) = pid {
            return self
                .symbolizer
                .user_syms(pid, ips)
                .into_iter()
                .map(show)
                .collect();
        }
        if self.kernel.len() >= Self::LIMIT {
            self.kernel.clear();
        }
        let symbolizer = &mut self.symbolizer;
        ips.iter()
            .map(|&ip| {
                self.kernel
                    .entry(ip)
                    .or_insert_with(|| show(symbolizer.kernel(ip)))
                    .clone()
            })
            .collect()
    }
}

/// `name(arg, ...) = ret`, libbpf-tools mountsnoop's line.
fn write_call(out: &mut Vec<u8>, call: &Call, ret: i128, r: &Record) {
    out.extend_from_slice(call.name.as_bytes());
    out.push(b'(');
    for (i, arg) in call.args.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        let number = r.num(arg.field).unwrap_or(0);
        match arg.kind {
            ArgKind::Str => {
                out.push(b'"');
                // Escaped: a path can neither split the line nor send escapes.
                write_c_string(out, r.raw(arg.field).unwrap_or_default());
                out.push(b'"');
            }
            ArgKind::Int => out.extend_from_slice(number.to_string().as_bytes()),
            ArgKind::DirFd if number == AT_FDCWD => out.extend_from_slice(b"AT_FDCWD"),
            ArgKind::DirFd => out.extend_from_slice(number.to_string().as_bytes()),
            ArgKind::Flags(names) => out.extend_from_slice(flag_names(number, names).as_bytes()),
            ArgKind::QuotedFlags(names) => {
                out.extend_from_slice(format!("\"{}\"", flag_names(number, names)).as_bytes())
            }
            ArgKind::Names(names) => {
                let name = usize::try_from(number).ok().and_then(|i| names.get(i));
                match name {
                    Some(name) => out.extend_from_slice(format!("\"{name}\"").as_bytes()),
                    None => out.extend_from_slice(number.to_string().as_bytes()),
                }
            }
        }
    }
    out.extend_from_slice(b") = ");
    let errno = (ret < 0)
        .then(|| i64::try_from(-ret).ok())
        .flatten()
        .and_then(bpfkit_output::names::errno_name);
    match errno {
        Some(name) => out.extend_from_slice(format!("-{name}").as_bytes()),
        None => out.extend_from_slice(ret.to_string().as_bytes()),
    }
}

/// AT_FDCWD (fcntl.h): "the working directory" where a dirfd goes.
const AT_FDCWD: i128 = -100;

/// The names of the bits set in `value`, ` | ` between them, then any
/// bits without a name in hex; `0x0` when none is set.
pub fn flag_names(value: i128, names: &[(u64, &str)]) -> String {
    let value = value as u64;
    if value == 0 {
        return "0x0".into();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut left = value;
    for &(bits, name) in names {
        if bits != 0 && value & bits == bits {
            parts.push(name.to_string());
            left &= !bits;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    parts.join(" | ")
}

/// libbpf-tools exitsnoop's EXIT_CODE text: the signal, when one ended
/// the process, with strsignal(3)'s description, else the exit code.
pub fn exit_status(code: i128, signal: i128, core_dumped: bool) -> String {
    if signal == 0 && !core_dumped {
        return match code {
            0 => "0".to_string(),
            code => format!("code {code}"),
        };
    }
    let mut text = String::new();
    if signal != 0 {
        text = format!("signal {signal} ({})", signal_description(signal));
    }
    if core_dumped {
        text.push_str(", core dumped");
    }
    text
}

/// strsignal(3): `Killed` for 9, `Unknown signal 99` for numbers it lacks.
fn signal_description(signal: i128) -> String {
    let Ok(number) = i32::try_from(signal) else {
        return format!("Unknown signal {signal}");
    };
    // SAFETY: strsignal returns a NUL-terminated string (never NULL in
    // glibc), copied at once, before another call can reuse its buffer.
    let text = unsafe { libc::strsignal(number) };
    if text.is_null() {
        return format!("Unknown signal {signal}");
    }
    // SAFETY: non-NULL and NUL-terminated, see above.
    unsafe { std::ffi::CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

pub fn unit_nanos(unit: &str) -> u64 {
    let unit = match unit {
        "nsecs" => TimeUnit::Ns,
        "msecs" => TimeUnit::Ms,
        "secs" => TimeUnit::S,
        _ => TimeUnit::Us,
    };
    unit.nanos() as u64
}

/// How the map of a histogram or table output is rendered; `None` for
/// event outputs.
pub fn snapshot(
    output: &Output,
    ctx: &Context,
    top: Option<usize>,
) -> Option<(String, SnapshotOptions)> {
    match output {
        Output::Events { .. } => None,
        Output::Histogram {
            map, scale, keys, ..
        } => {
            let labels = keys
                .iter()
                .filter(|c| c.when.holds(ctx.given))
                .map(|c| {
                    let mut spec = column(c, ctx);
                    spec.width = None;
                    spec
                })
                .collect();
            Some((
                map.to_string(),
                SnapshotOptions {
                    unit: Some(ctx.unit.to_string()),
                    hist: Some(match scale {
                        Scale::Log2 => HistKind::Log2,
                        Scale::Linear => HistKind::Linear { base: 0, step: 1 },
                    }),
                    labels: Some(labels),
                    skip_empty: true,
                    ..Default::default()
                },
            ))
        }
        Output::Table {
            map,
            columns: cols,
            sort,
            ..
        } => Some((
            map.to_string(),
            SnapshotOptions {
                top,
                columns: Some(columns(cols, ctx)),
                sort_by: sort
                    .iter()
                    .find(|(when, _)| when.holds(ctx.given))
                    .map(|(_, field)| field.to_string()),
                force_table: true,
                skip_empty: true,
                ..Default::default()
            },
        )),
    }
}

/// The time unit of an output before `Runtime::Unit` flags.
pub fn default_unit(output: &Output) -> &'static str {
    match output {
        Output::Histogram { unit, .. } | Output::Table { unit, .. } => unit,
        Output::Events { .. } => "usecs",
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "output_fuzz.rs"]
mod fuzz;
