//! Types a parsed probe against its tracepoint's fields and emits the
//! program: reserve a ring buffer record, fill the header and the values
//! the format and filter need, evaluate the filter, submit or discard.

use crate::elf::{self, MapDecl, ProgramCode};
use crate::format::{self, Conv, Piece};
use crate::insn::{Alu, Asm, CTX, Cond, EVENT, FP, Label, R0, R1, R2, R3, Size, helper};
use crate::parse::{BinOp, Expr, ExprKind, Probe, SyntaxError, UnOp};
use crate::tracefs::{Field, FieldKind};
use bpfkit_btf::encode::BtfBuilder;
use bpfkit_btf::{Array, Composite, Enum, EnumValue, Int, Kind, Member, Type, TypeId};
use std::collections::HashMap;

/// The ring buffer every probe writes to.
pub const EVENTS_MAP: &str = "events";
const RINGBUF: u32 = 27;
const RINGBUF_BYTES: u32 = 256 * 1024;
/// Bytes kept of each string (bcc's trace keeps 80).
pub const STRING_LEN: u32 = 80;
const HEADER_LEN: u32 = 32;
const COMM_OFFSET: u32 = 16;
const COMM_LEN: u32 = 16;
/// Scratch stack slots for intermediate values (8 bytes each).
const MAX_DEPTH: usize = 32;

/// What a probe's program can read.
pub struct ProbeContext {
    pub fields: Vec<Field>,
    /// Whether `char *` fields point into user memory (syscall arguments).
    pub user_strings: bool,
    /// The `SEC()` name to attach by.
    pub section: String,
    /// Struct member walks of kernel function arguments, resolved.
    pub walks: Vec<crate::kfunc::Walk>,
    /// A return probe's entry (its arguments, where its companion program
    /// attaches), when it reads `$latency` or `$entry(NAME)`.
    pub entry: Option<Box<ProbeContext>>,
}

/// Options that become part of every program.
#[derive(Debug, Clone, Default)]
pub struct CodegenOptions {
    /// `-p PID`: only this process (tgid).
    pub pid: Option<u32>,
    /// `-n NAME`: only tasks whose name contains NAME. Checked in the
    /// program, so that `-M MAX` counts only the events shown.
    pub name: Option<String>,
    /// `-L TID`: only this thread.
    pub tid: Option<u32>,
    /// Never this process (tgid): the tracer's own. Printing an event
    /// mallocs, so `trace ':c:malloc'` would see itself, each line causing
    /// the next, until the ring buffer is full and others' events are lost.
    pub exclude_pid: Option<u32>,
    /// `-K`/`-U`: the kernel/user stack in every event (see `stacks.rs`).
    pub kernel_stack: bool,
    pub user_stack: bool,
    /// The running kernel's hooks and BTF, for kernel function probes
    /// (`p::FUNC`); without it they are refused.
    pub kernel: Option<std::sync::Arc<dyn crate::kfunc::Kernel>>,
}

/// One probe's part of the output.
#[derive(Debug, Clone)]
pub struct ProbeOutput {
    pub function: String,
    pub message: Vec<Piece>,
    /// Event member holding each format argument.
    pub arg_fields: Vec<String>,
}

/// The generated object and how to render its events.
pub struct Compiled {
    pub elf: Vec<u8>,
    pub probes: Vec<ProbeOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Int {
        signed: bool,
    },
    Str,
    /// Frame addresses written by `bpf_get_stack` (`stacks.rs`).
    Stack {
        user: bool,
    },
    /// Room for an argdist map key (`compile_aggregates`).
    Bytes {
        len: u32,
    },
}

struct Slot {
    name: String,
    kind: SlotKind,
    offset: u32,
}

/// The type of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Int {
        signed: bool,
    },
    /// A string and where it comes from.
    Str(StrSource),
    /// A string literal (only in comparisons).
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StrSource {
    Field(Field),
    Comm,
}

/// The event record every probe fills: a fixed header, then value slots
/// shared by name among the probes.
struct Layout {
    slots: Vec<Slot>,
    size: u32,
}

impl Layout {
    const HEADER: [&'static str; 5] = ["pid", "tid", "probe", "cpu", "comm"];

    /// The slot for a value named `base` of `kind`, not yet used by this
    /// probe (`used`): an existing one of another probe, or a new one.
    fn slot(&mut self, base: &str, kind: SlotKind, used: &[usize]) -> usize {
        for n in 1.. {
            let name = if n == 1 {
                base.to_string()
            } else {
                format!("{base}_{n}")
            };
            if Self::HEADER.contains(&name.as_str()) {
                continue;
            }
            match self.slots.iter().position(|s| s.name == name) {
                Some(i) if self.slots[i].kind == kind && !used.contains(&i) => return i,
                Some(_) => continue,
                None => {
                    let len = match kind {
                        SlotKind::Int { .. } => 8,
                        SlotKind::Str => STRING_LEN,
                        SlotKind::Stack { .. } => crate::stacks::BYTES,
                        SlotKind::Bytes { len } => len.next_multiple_of(8),
                    };
                    self.slots.push(Slot {
                        name,
                        kind,
                        offset: self.size,
                    });
                    self.size += len;
                    return self.slots.len() - 1;
                }
            }
        }
        unreachable!("1.. never ends")
    }
}

/// A probe after typing: which slot each string and format argument uses.
struct Typed<'p> {
    probe: &'p Probe,
    ctx: &'p ProbeContext,
    /// Slots of this probe by expression text.
    slots: HashMap<String, usize>,
    /// The slot of each format argument, or the header's comm.
    args: Vec<Option<usize>>,
    message: Vec<Piece>,
    /// The `$entry(NAME)` arguments read, in the order the entry program
    /// keeps them after the timestamp.
    entry_names: Vec<String>,
    /// Whether `$latency` or `$entry(...)` is read: the program has an
    /// entry half.
    uses_entry: bool,
}

/// Compiles `probes` (with their contexts) into one object.
pub fn compile(
    probes: &[(Probe, ProbeContext)],
    opts: &CodegenOptions,
) -> Result<Compiled, (usize, SyntaxError)> {
    let mut layout = Layout {
        slots: Vec::new(),
        size: HEADER_LEN,
    };
    let mut typed = Vec::new();
    for (i, (probe, ctx)) in probes.iter().enumerate() {
        typed.push(type_probe(probe, ctx, &mut layout).map_err(|e| (i, e))?);
    }
    // Last, so that the zeroing of the other slots can stop before them.
    for (wanted, name, user) in [
        (opts.kernel_stack, crate::stacks::KERNEL_STACK, false),
        (opts.user_stack, crate::stacks::USER_STACK, true),
    ] {
        if wanted {
            layout.slot(name, SlotKind::Stack { user }, &[]);
        }
    }
    let mut btf = BtfBuilder::new();
    let event = event_btf(&mut btf, &layout, probes);
    let mut programs = Vec::new();
    let mut maps = vec![MapDecl {
        name: EVENTS_MAP.into(),
        map_type: RINGBUF,
        max_entries: RINGBUF_BYTES,
        key: None,
        value: None,
        sizes: None,
    }];
    let mut entries = Vec::new();
    for (i, t) in typed.iter().enumerate() {
        let entry_map = entry_map_name(i);
        let asm = generate(t, i as u32, &layout, opts, &entry_map).map_err(|e| (i, e))?;
        programs.push(ProgramCode {
            name: format!("probe_{i}"),
            section: t.ctx.section.clone(),
            code: asm.bytes(),
            map_relocs: asm.map_relocs,
        });
        entries.extend(entry_half(t, i, opts, &mut btf).map_err(|e| (i, e))?);
    }
    let _ = event;
    for (program, map) in entries {
        programs.push(program);
        maps.push(map);
    }
    let outputs = typed
        .iter()
        .map(|t| ProbeOutput {
            function: t.probe.target.function_name().to_string(),
            message: t.message.clone(),
            arg_fields: t
                .args
                .iter()
                .map(|slot| slot.map_or("comm".into(), |s| layout.slots[s].name.clone()))
                .collect(),
        })
        .collect();
    Ok(Compiled {
        elf: elf::write(&programs, &maps, btf),
        probes: outputs,
    })
}

fn type_probe<'p>(
    probe: &'p Probe,
    ctx: &'p ProbeContext,
    layout: &mut Layout,
) -> Result<Typed<'p>, SyntaxError> {
    let mut t = Typed {
        probe,
        ctx,
        slots: HashMap::new(),
        args: Vec::new(),
        message: Vec::new(),
        entry_names: Vec::new(),
        uses_entry: false,
    };
    if let Some((text, column)) = &probe.format {
        t.message = format::parse_format(text, *column)?;
    }
    let wanted = format::conversions(&t.message);
    if wanted != probe.args.len() {
        let column = probe.format.as_ref().map_or(1, |(_, c)| *c);
        return Err(SyntaxError::new(
            column,
            format!(
                "the format has {wanted} conversion(s) but {} argument(s) follow it",
                probe.args.len()
            ),
        ));
    }
    let convs: Vec<Conv> = t
        .message
        .iter()
        .filter_map(|p| match p {
            Piece::Value { conv, .. } => Some(*conv),
            Piece::Text(_) => None,
        })
        .collect();
    for (index, (arg, conv)) in probe.args.iter().zip(convs).enumerate() {
        let ty = t.check_expr(arg, layout)?;
        let slot = match (&ty, conv.wants_string()) {
            (Ty::Str(StrSource::Comm), true) => None,
            (Ty::Str(_), true) => Some(t.string_slot(arg, layout)),
            (Ty::Int { signed }, false) => {
                let name = value_name(arg, index);
                Some(t.value_slot(arg, &name, SlotKind::Int { signed: *signed }, layout))
            }
            (Ty::Literal(_), _) => {
                return Err(SyntaxError::new(
                    arg.column,
                    "a string literal as an argument: write it into the format",
                ));
            }
            (_, true) => {
                return Err(SyntaxError::new(
                    arg.column,
                    "%s needs a string (a char * or char[] field, $comm)",
                ));
            }
            (_, false) => {
                return Err(SyntaxError::new(
                    arg.column,
                    "this is a string: print it with %s",
                ));
            }
        };
        t.args.push(slot);
    }
    if let Some(filter) = &probe.filter
        && !matches!(t.check_expr(filter, layout)?, Ty::Int { .. })
    {
        return Err(SyntaxError::new(
            filter.column,
            "a filter must be a condition; compare strings with == or != and a \"literal\"",
        ));
    }
    Ok(t)
}

/// The event member name of format argument `index`.
fn value_name(arg: &Expr, index: usize) -> String {
    match &arg.kind {
        ExprKind::Field(name) | ExprKind::Arg(name) | ExprKind::Builtin(name) => name.clone(),
        ExprKind::Retval => "retval".into(),
        ExprKind::Latency => "latency".into(),
        ExprKind::Entry(name) => format!("entry_{name}"),
        ExprKind::Member { member, .. } => member.clone(),
        _ => format!("arg{}", index + 1),
    }
}

impl Typed<'_> {
    fn used(&self) -> Vec<usize> {
        self.slots.values().copied().collect()
    }

    fn value_slot(&mut self, arg: &Expr, name: &str, kind: SlotKind, layout: &mut Layout) -> usize {
        let key = expr_text(arg);
        if let Some(&slot) = self.slots.get(&key) {
            return slot;
        }
        let slot = layout.slot(name, kind, &self.used());
        self.slots.insert(key, slot);
        slot
    }

    fn string_slot(&mut self, arg: &Expr, layout: &mut Layout) -> usize {
        let name = value_name(arg, 0);
        self.value_slot(arg, &name, SlotKind::Str, layout)
    }

    /// Types an expression (the filter, a format argument), giving every
    /// string it compares a slot.
    fn check_expr(&mut self, e: &Expr, layout: &mut Layout) -> Result<Ty, SyntaxError> {
        let int_operand = |ty: &Ty, e: &Expr| match ty {
            Ty::Int { signed } => Ok(*signed),
            _ => Err(SyntaxError::new(
                e.column,
                "this is a string: compare it with == or != and a \"literal\"",
            )),
        };
        match &e.kind {
            ExprKind::Unary(op, inner) => {
                let ty = self.check_expr(inner, layout)?;
                let signed = int_operand(&ty, inner)?;
                Ok(Ty::Int {
                    signed: match op {
                        UnOp::Cast { signed, .. } => *signed,
                        UnOp::Neg => true,
                        UnOp::Not => signed,
                    },
                })
            }
            ExprKind::Binary(op, l, r) => {
                let lt = self.check_expr(l, layout)?;
                let rt = self.check_expr(r, layout)?;
                match (&lt, &rt) {
                    (Ty::Str(s), Ty::Literal(_)) | (Ty::Literal(_), Ty::Str(s)) => {
                        if !matches!(op, BinOp::Eq | BinOp::Ne) {
                            return Err(SyntaxError::new(
                                e.column,
                                format!("strings compare with == and != only, not {op}"),
                            ));
                        }
                        if !matches!(s, StrSource::Comm) {
                            let string = if matches!(lt, Ty::Str(_)) { l } else { r };
                            self.string_slot(string, layout);
                        }
                        Ok(Ty::Int { signed: false })
                    }
                    _ => {
                        let ls = int_operand(&lt, l)?;
                        let rs = int_operand(&rt, r)?;
                        Ok(Ty::Int {
                            signed: ls && rs && !op.is_comparison(),
                        })
                    }
                }
            }
            ExprKind::Entry(name) => {
                let ty = type_of(e, self.ctx)?;
                if !self.entry_names.contains(name) {
                    self.entry_names.push(name.clone());
                }
                self.uses_entry = true;
                Ok(ty)
            }
            ExprKind::Latency => {
                let ty = type_of(e, self.ctx)?;
                self.uses_entry = true;
                Ok(ty)
            }
            _ => type_of(e, self.ctx),
        }
    }
}

/// For an unknown name in capitals (bcc's `TASK_STATE_MAX`): bcc compiles
/// against the kernel's headers, bpfkit reads BTF, which has no macros.
fn macro_hint(name: &str) -> String {
    let capitals = name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if capitals {
        format!(
            " ('{name}' looks like a C macro of the kernel's headers: bpfkit reads \
             no headers and BTF has no macros; write its value)"
        )
    } else {
        String::new()
    }
}

/// The type of a leaf expression (operators are typed by the filter walk).
fn type_of(e: &Expr, ctx: &ProbeContext) -> Result<Ty, SyntaxError> {
    match &e.kind {
        ExprKind::Int(_) => Ok(Ty::Int { signed: true }),
        ExprKind::Str(s) => Ok(Ty::Literal(s.clone())),
        ExprKind::Builtin(b) if b == "comm" => Ok(Ty::Str(StrSource::Comm)),
        ExprKind::Builtin(_) => Ok(Ty::Int { signed: false }),
        ExprKind::Field(name) | ExprKind::Arg(name) => {
            let field = ctx.fields.iter().find(|f| &f.name == name).ok_or_else(|| {
                let known: Vec<&str> = ctx.fields.iter().map(|f| f.name.as_str()).collect();
                SyntaxError::new(
                    e.column,
                    format!(
                        "no field '{name}' here; the fields are: {}{}",
                        known.join(", "),
                        macro_hint(name)
                    ),
                )
            })?;
            match field.kind {
                FieldKind::Int { width: 0, .. } => Err(SyntaxError::new(
                    e.column,
                    format!(
                        "field '{name}' is an array of {}: not supported",
                        field.c_type
                    ),
                )),
                FieldKind::Int { signed, .. } => Ok(Ty::Int { signed }),
                FieldKind::Usdt { arg, string: false } => Ok(Ty::Int { signed: arg.signed }),
                _ => Ok(Ty::Str(StrSource::Field(field.clone()))),
            }
        }
        ExprKind::Retval => {
            let retval = Expr {
                column: e.column,
                kind: ExprKind::Arg("retval".into()),
            };
            type_of(&retval, ctx).map_err(|_| {
                SyntaxError::new(e.column, "retval belongs to r: probes (function returns)")
            })
        }
        ExprKind::Latency => {
            entry_of(e, ctx)?;
            Ok(Ty::Int { signed: false })
        }
        ExprKind::Entry(name) => {
            let entry = entry_of(e, ctx)?;
            let arg = Expr {
                column: e.column,
                kind: ExprKind::Arg(name.clone()),
            };
            match type_of(&arg, entry)? {
                Ty::Int { signed } => Ok(Ty::Int { signed }),
                _ => Err(SyntaxError::new(
                    e.column,
                    format!("$entry({name}) is a string: $entry keeps numbers (and pointers) only"),
                )),
            }
        }
        ExprKind::Member { .. } => {
            let walk = walk_of(e, ctx)?;
            match walk.kind {
                FieldKind::Int { signed, .. } => Ok(Ty::Int { signed }),
                _ => Ok(Ty::Str(StrSource::Field(Field {
                    name: walk.text.clone(),
                    c_type: walk.c_type.clone(),
                    offset: 0,
                    size: walk.size,
                    kind: walk.kind.clone(),
                }))),
            }
        }
        ExprKind::Unary(..) | ExprKind::Binary(..) => Ok(Ty::Int { signed: true }),
    }
}

/// The entry of the return probe that `e` (`$latency`, `$entry(NAME)`) is in.
fn entry_of<'c>(e: &Expr, ctx: &'c ProbeContext) -> Result<&'c ProbeContext, SyntaxError> {
    ctx.entry.as_deref().ok_or_else(|| {
        SyntaxError::new(
            e.column,
            "$latency and $entry(ARGUMENT) belong to r: probes (function returns): \
             they are kept from the function's entry",
        )
    })
}

/// The resolved walk of member expression `e`.
fn walk_of<'c>(e: &Expr, ctx: &'c ProbeContext) -> Result<&'c crate::kfunc::Walk, SyntaxError> {
    let text = expr_text(e);
    ctx.walks.iter().find(|w| w.text == text).ok_or_else(|| {
        SyntaxError::new(
            e.column,
            "struct members can be read from kernel function arguments and $task only",
        )
    })
}

/// A canonical text of an expression (without columns), to share slots.
pub fn expr_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Builtin(b) => format!("${b}"),
        ExprKind::Field(f) => format!("args->{f}"),
        ExprKind::Arg(a) => a.clone(),
        ExprKind::Retval => "retval".into(),
        ExprKind::Latency => "$latency".into(),
        ExprKind::Entry(name) => format!("$entry({name})"),
        ExprKind::Member {
            base,
            member,
            arrow,
        } => format!(
            "{}{}{member}",
            expr_text(base),
            if *arrow { "->" } else { "." }
        ),
        ExprKind::Unary(op, inner) => {
            let op = match op {
                UnOp::Not => "!".to_string(),
                UnOp::Neg => "-".to_string(),
                UnOp::Cast { bytes, signed } => {
                    format!("({}{})", if *signed { "s" } else { "u" }, bytes * 8)
                }
            };
            format!("{op}({})", expr_text(inner))
        }
        ExprKind::Binary(op, l, r) => format!("({} {op} {})", expr_text(l), expr_text(r)),
    }
}

/// BTF of the record: `struct event` with a `probe` enum naming each probe.
fn event_btf(btf: &mut BtfBuilder, layout: &Layout, probes: &[(Probe, ProbeContext)]) -> TypeId {
    let int = |btf: &mut BtfBuilder, name: &str, size: u32, signed: bool, char: bool| {
        elf::named(
            btf,
            name,
            Kind::Int(Int {
                size,
                signed,
                char,
                bool: false,
                offset: 0,
                bits: (size * 8) as u8,
            }),
        )
    };
    let u32_ty = int(btf, "unsigned int", 4, false, false);
    let u64_ty = int(btf, "unsigned long long", 8, false, false);
    let s64_ty = int(btf, "long long", 8, true, false);
    // SIGNED alone, as clang writes `char`: the kernel refuses SIGNED|CHAR.
    let char_ty = int(btf, "char", 1, true, false);
    let char_array = |btf: &mut BtfBuilder, len: u32| {
        btf.add_type(Type {
            name_off: 0,
            kind: Kind::Array(Array {
                elem: char_ty,
                index: u32_ty,
                len,
            }),
        })
    };
    let comm = char_array(btf, COMM_LEN);
    let string = char_array(btf, STRING_LEN);
    let stack = btf.add_type(Type {
        name_off: 0,
        kind: Kind::Array(Array {
            elem: u64_ty,
            index: u32_ty,
            len: crate::stacks::DEPTH,
        }),
    });
    let values = probes
        .iter()
        .enumerate()
        .map(|(i, (p, _))| EnumValue {
            name_off: btf.add_string(&identifier(p.target.function_name())),
            value: i as u64,
        })
        .collect();
    let probe_enum = elf::named(
        btf,
        "probe",
        Kind::Enum(Enum {
            size: 4,
            signed: false,
            is_64: false,
            values,
        }),
    );
    let mut members = vec![
        ("pid", u32_ty, 0),
        ("tid", u32_ty, 4),
        ("probe", probe_enum, 8),
        ("cpu", u32_ty, 12),
        ("comm", comm, COMM_OFFSET),
    ];
    for slot in &layout.slots {
        let ty = match slot.kind {
            SlotKind::Int { signed: true } => s64_ty,
            SlotKind::Int { signed: false } => u64_ty,
            SlotKind::Str => string,
            SlotKind::Stack { .. } => stack,
            SlotKind::Bytes { len } => char_array(btf, len.next_multiple_of(8)),
        };
        members.push((&slot.name, ty, slot.offset));
    }
    let members = members
        .into_iter()
        .map(|(name, ty, offset)| Member {
            name_off: btf.add_string(name),
            ty,
            bit_offset: offset * 8,
            bitfield_size: 0,
        })
        .collect();
    elf::named(
        btf,
        "event",
        Kind::Struct(Composite {
            size: layout.size,
            kind_flag: false,
            members,
        }),
    )
}

/// `name` with every character a C identifier cannot hold replaced.
pub(crate) fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn generate(
    t: &Typed,
    index: u32,
    layout: &Layout,
    opts: &CodegenOptions,
    entry_map: &str,
) -> Result<Asm, SyntaxError> {
    let mut g = Gen {
        asm: Asm::default(),
        t,
        layout,
        entry_map: entry_map.to_string(),
    };
    let out = g.asm.label();
    let discard = g.asm.label();
    g.asm.mov(CTX, R1);
    only_traced_threads(&mut g.asm, opts, out);
    g.take_entry(out);
    g.asm.ld_map(R1, EVENTS_MAP);
    g.asm.mov_imm(R2, layout.size as i32);
    g.asm.mov_imm(R3, 0);
    g.asm.call(helper::RINGBUF_RESERVE);
    g.asm.jump_imm(Cond::Eq, R0, 0, out);
    g.asm.mov(EVENT, R0);
    // Ring buffer memory is not zeroed: no stale bytes in unused slots
    // (stacks are zeroed by the helper that writes them).
    let stacks: Vec<&Slot> = layout
        .slots
        .iter()
        .filter(|s| matches!(s.kind, SlotKind::Stack { .. }))
        .collect();
    let zero_end = stacks.first().map_or(layout.size, |s| s.offset);
    for offset in (HEADER_LEN..zero_end).step_by(8) {
        g.asm.store_imm(Size::DW, EVENT, offset as i16, 0);
    }
    g.header(index);
    for slot in stacks {
        let SlotKind::Stack { user } = slot.kind else {
            continue;
        };
        crate::stacks::emit(&mut g.asm, slot.offset, user);
    }
    let has_name = opts.name.as_ref().is_some_and(|n| !n.is_empty());
    if let Some(name) = opts.name.as_deref().filter(|n| !n.is_empty()) {
        g.comm_contains(name, discard);
    }
    let mut slots: Vec<(&String, usize)> = t.slots.iter().map(|(k, v)| (k, *v)).collect();
    slots.sort_by_key(|(_, slot)| *slot);
    for (key, slot) in slots {
        let expr = find_expr(t.probe, key).expect("every slot comes from an expression");
        g.fill(expr, &layout.slots[slot])?;
    }
    if let Some(filter) = &t.probe.filter {
        g.eval(filter, 0)?;
        g.asm.jump_imm(Cond::Eq, R0, 0, discard);
    }
    g.asm.mov(R1, EVENT);
    g.asm.mov_imm(R2, 0);
    g.asm.call(helper::RINGBUF_SUBMIT);
    // The verifier refuses unreachable code: no discard without a filter.
    if t.probe.filter.is_some() || has_name {
        g.asm.jump(out);
        g.asm.bind(discard);
        g.asm.mov(R1, EVENT);
        g.asm.mov_imm(R2, 0);
        g.asm.call(helper::RINGBUF_DISCARD);
    }
    g.asm.bind(out);
    g.asm.mov_imm(R0, 0);
    g.asm.exit();
    g.asm
        .finish()
        .map_err(|e| SyntaxError::new(1, format!("internal error: {e}")))
}

/// Jumps to `out` in a thread not traced: outside `-p PID` or `-L TID`, or
/// in the tracer itself.
fn only_traced_threads(a: &mut Asm, opts: &CodegenOptions, out: Label) {
    for (pid, skip) in [(opts.pid, Cond::Ne), (opts.exclude_pid, Cond::Eq)] {
        if let Some(pid) = pid {
            a.call(helper::GET_CURRENT_PID_TGID);
            a.alu_imm(Alu::Rsh, R0, 32);
            a.jump_imm(skip, R0, pid as i32, out);
        }
    }
    if let Some(tid) = opts.tid {
        a.call(helper::GET_CURRENT_PID_TGID);
        truncate_or_shift(a, false);
        a.jump_imm(Cond::Ne, R0, tid as i32, out);
    }
}

/// The expression of `probe` (format argument or filter operand) whose
/// text is `key`.
fn find_expr<'p>(probe: &'p Probe, key: &str) -> Option<&'p Expr> {
    fn walk<'p>(e: &'p Expr, key: &str) -> Option<&'p Expr> {
        if expr_text(e) == key {
            return Some(e);
        }
        match &e.kind {
            ExprKind::Unary(_, inner) => walk(inner, key),
            ExprKind::Binary(_, l, r) => walk(l, key).or_else(|| walk(r, key)),
            _ => None,
        }
    }
    probe
        .args
        .iter()
        .chain(probe.filter.as_ref())
        .find_map(|e| walk(e, key))
}

struct Gen<'a> {
    asm: Asm,
    t: &'a Typed<'a>,
    layout: &'a Layout,
    /// The map a return probe's entry half keeps its record in.
    entry_map: String,
}

impl Gen<'_> {
    /// A return probe that reads `$latency` or `$entry(NAME)`: takes the
    /// thread's entry record out of the entry map (no entry, as for a
    /// function entered before tracing began: `out`, no event), with the
    /// latency and the kept arguments left in their stack slots.
    fn take_entry(&mut self, out: Label) {
        if !self.t.uses_entry {
            return;
        }
        let values: Vec<i16> = (0..self.t.entry_names.len()).map(entry_slot).collect();
        let slots = (ENTRY_KEY_SLOT, LATENCY_SLOT);
        crate::funclatency::take_entry(&mut self.asm, &self.entry_map, slots, &values, out);
    }

    /// pid, tid, probe index, cpu, comm.
    fn header(&mut self, index: u32) {
        let a = &mut self.asm;
        a.call(helper::GET_CURRENT_PID_TGID);
        a.store(Size::W, EVENT, 4, R0);
        a.alu_imm(Alu::Rsh, R0, 32);
        a.store(Size::W, EVENT, 0, R0);
        a.store_imm(Size::W, EVENT, 8, index as i32);
        a.call(helper::GET_SMP_PROCESSOR_ID);
        a.store(Size::W, EVENT, 12, R0);
        a.mov(R1, EVENT);
        a.alu_imm(Alu::Add, R1, COMM_OFFSET as i32);
        a.mov_imm(R2, COMM_LEN as i32);
        a.call(helper::GET_CURRENT_COMM);
    }

    /// Jumps to `otherwise` unless the task name (already in the record)
    /// contains `name`: every start position, byte by byte, unrolled.
    fn comm_contains(&mut self, name: &str, otherwise: Label) {
        let needle = name.as_bytes();
        let found = self.asm.label();
        let positions = (COMM_LEN as usize).saturating_sub(needle.len());
        for start in 0..positions {
            let next = self.asm.label();
            for (i, b) in needle.iter().enumerate() {
                let at = (COMM_OFFSET as usize + start + i) as i16;
                self.asm.load(Size::B, R0, EVENT, at);
                self.asm.jump_imm(Cond::Ne, R0, *b as i32, next);
            }
            self.asm.jump(found);
            self.asm.bind(next);
        }
        self.asm.jump(otherwise);
        self.asm.bind(found);
    }

    fn fill(&mut self, e: &Expr, slot: &Slot) -> Result<(), SyntaxError> {
        match slot.kind {
            SlotKind::Int { .. } => {
                self.eval(e, 0)?;
                self.asm.store(Size::DW, EVENT, slot.offset as i16, R0);
            }
            SlotKind::Stack { .. } | SlotKind::Bytes { .. } => {}
            SlotKind::Str => self.string_into(e, slot.offset, STRING_LEN)?,
        }
        Ok(())
    }

    /// Copies string expression `e` (a field, a struct member's string,
    /// `$comm`) into the record at `offset`: at most `max` bytes, its NUL
    /// included.
    fn string_into(&mut self, e: &Expr, offset: u32, max: u32) -> Result<(), SyntaxError> {
        if matches!(e.kind, ExprKind::Member { .. }) {
            let walk = walk_of(e, self.t.ctx)?;
            return self.read_walk_string(walk, offset, max);
        }
        match type_of(e, self.t.ctx)? {
            Ty::Str(StrSource::Field(field)) => self.read_string(&field, offset, max),
            Ty::Str(StrSource::Comm) => {
                self.asm.mov(R1, EVENT);
                self.asm.alu_imm(Alu::Add, R1, offset as i32);
                self.asm.mov_imm(R2, max.min(COMM_LEN) as i32);
                self.asm.call(helper::GET_CURRENT_COMM);
            }
            _ => {}
        }
        Ok(())
    }

    /// Copies string field `field` into the record at `offset` (at most
    /// `max` bytes with the NUL).
    fn read_string(&mut self, field: &Field, offset: u32, max: u32) {
        let a = &mut self.asm;
        let mut len = max;
        let mut read = helper::PROBE_READ_KERNEL_STR;
        match field.kind {
            FieldKind::CharPointer if !self.t.ctx.user_strings => {
                // Kernel function arguments may point into user memory
                // (`char __user *`), which BTF does not always say.
                let source = |a: &mut Asm| a.load(Size::DW, R3, CTX, field.offset as i16);
                crate::kfunc::read_kernel_or_user_string(a, offset, max, source);
                return;
            }
            FieldKind::CharPointer => {
                a.load(Size::DW, R3, CTX, field.offset as i16);
                read = helper::PROBE_READ_USER_STR;
            }
            FieldKind::CharArray { len: array } => {
                a.mov(R3, CTX);
                a.alu_imm(Alu::Add, R3, field.offset as i32);
                len = len.min(array);
            }
            FieldKind::DataLocString => {
                // The low 16 bits are the string's offset in the record.
                a.load(Size::W, R3, CTX, field.offset as i16);
                a.alu_imm(Alu::And, R3, 0xffff);
                a.alu_reg(Alu::Add, R3, CTX);
            }
            FieldKind::Usdt { arg, .. } => {
                crate::usdt::load_arg(a, &arg);
                a.mov(R3, R0);
                read = helper::PROBE_READ_USER_STR;
            }
            FieldKind::Int { .. } => return,
        }
        a.mov(R1, EVENT);
        a.alu_imm(Alu::Add, R1, offset as i32);
        a.mov_imm(R2, len as i32);
        a.call(read);
    }

    /// Evaluates an integer expression into R0. `depth` is the number of
    /// scratch stack slots in use.
    fn eval(&mut self, e: &Expr, depth: usize) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Int(v) => match i32::try_from(*v) {
                Ok(small) => self.asm.mov_imm(R0, small),
                Err(_) => self.asm.ld_imm64(R0, *v),
            },
            ExprKind::Builtin(name) => self.builtin(name),
            ExprKind::Field(name) | ExprKind::Arg(name) => {
                let Ty::Int { .. } = type_of(e, self.t.ctx)? else {
                    return Err(SyntaxError::new(e.column, "this is a string"));
                };
                let field = self.t.ctx.fields.iter().find(|f| &f.name == name);
                let field = field.expect("typed before");
                self.load_field(field, e.column)?;
            }
            ExprKind::Member { .. } => {
                let Ty::Int { .. } = type_of(e, self.t.ctx)? else {
                    return Err(SyntaxError::new(e.column, "this is a string"));
                };
                let walk = walk_of(e, self.t.ctx)?;
                self.load_walk(walk, e.column)?;
            }
            ExprKind::Unary(UnOp::Neg, inner) => {
                self.eval(inner, depth)?;
                self.asm.alu_imm(Alu::Neg, R0, 0);
            }
            ExprKind::Unary(UnOp::Not, inner) => {
                self.eval(inner, depth)?;
                self.truth(Cond::Eq, None);
            }
            ExprKind::Unary(UnOp::Cast { bytes, signed }, inner) => {
                self.eval(inner, depth)?;
                let shift = 64 - 8 * i32::from(*bytes);
                if shift > 0 {
                    self.asm.alu_imm(Alu::Lsh, R0, shift);
                    self.asm
                        .alu_imm(if *signed { Alu::Arsh } else { Alu::Rsh }, R0, shift);
                }
            }
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), l, r) => {
                let short = self.asm.label();
                let end = self.asm.label();
                // && stops at the first false, || at the first true.
                let stop = if *op == BinOp::And {
                    Cond::Eq
                } else {
                    Cond::Ne
                };
                self.eval(l, depth)?;
                self.asm.jump_imm(stop, R0, 0, short);
                self.eval(r, depth)?;
                self.asm.jump_imm(stop, R0, 0, short);
                self.asm.mov_imm(R0, (*op == BinOp::And) as i32);
                self.asm.jump(end);
                self.asm.bind(short);
                self.asm.mov_imm(R0, (*op == BinOp::Or) as i32);
                self.asm.bind(end);
            }
            ExprKind::Binary(op, l, r) => {
                if let Some(result) = self.string_compare(*op, l, r)? {
                    return Ok(result);
                }
                self.binary(*op, l, r, depth, e.column)?;
            }
            ExprKind::Retval => {
                let retval = Expr {
                    column: e.column,
                    kind: ExprKind::Arg("retval".into()),
                };
                self.eval(&retval, depth)?;
            }
            ExprKind::Latency => self.asm.load(Size::DW, R0, FP, LATENCY_SLOT),
            ExprKind::Entry(name) => {
                let index = self.t.entry_names.iter().position(|n| n == name);
                let index = index.ok_or_else(|| {
                    SyntaxError::new(e.column, "internal error: $entry() not typed")
                })?;
                self.asm.load(Size::DW, R0, FP, entry_slot(index));
            }
            ExprKind::Str(_) => {
                return Err(SyntaxError::new(e.column, "not a number"));
            }
        }
        Ok(())
    }

    /// R0 = 1 when `R0 cond R1` (or `R0 cond 0` without `rhs`), else 0.
    fn truth(&mut self, cond: Cond, rhs: Option<u8>) {
        let yes = self.asm.label();
        let end = self.asm.label();
        match rhs {
            Some(reg) => self.asm.jump_reg(cond, R0, reg, yes),
            None => self.asm.jump_imm(cond, R0, 0, yes),
        }
        self.asm.mov_imm(R0, 0);
        self.asm.jump(end);
        self.asm.bind(yes);
        self.asm.mov_imm(R0, 1);
        self.asm.bind(end);
    }

    fn binary(
        &mut self,
        op: BinOp,
        l: &Expr,
        r: &Expr,
        depth: usize,
        column: usize,
    ) -> Result<(), SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(SyntaxError::new(column, "this expression nests too deeply"));
        }
        let scratch = -8 * (depth as i16 + 1);
        self.eval(l, depth)?;
        self.asm.store(Size::DW, FP, scratch, R0);
        self.eval(r, depth + 1)?;
        self.asm.mov(R1, R0);
        self.asm.load(Size::DW, R0, FP, scratch);
        let signed = self.signed(l) && self.signed(r);
        let alu = match op {
            BinOp::Add => Some(Alu::Add),
            BinOp::Sub => Some(Alu::Sub),
            BinOp::Mul => Some(Alu::Mul),
            // Unsigned, as BPF divides before v4 instructions.
            BinOp::Div => Some(Alu::Div),
            BinOp::Mod => Some(Alu::Mod),
            _ => None,
        };
        if let Some(alu) = alu {
            self.asm.alu_reg(alu, R0, R1);
            return Ok(());
        }
        let cond = match (op, signed) {
            (BinOp::Eq, _) => Cond::Eq,
            (BinOp::Ne, _) => Cond::Ne,
            (BinOp::Lt, false) => Cond::Lt,
            (BinOp::Lt, true) => Cond::Slt,
            (BinOp::Gt, false) => Cond::Gt,
            (BinOp::Gt, true) => Cond::Sgt,
            (BinOp::Le, false) => Cond::Le,
            (BinOp::Le, true) => Cond::Sle,
            (BinOp::Ge, false) => Cond::Ge,
            (BinOp::Ge, true) => Cond::Sge,
            _ => unreachable!("&& and || are handled before"),
        };
        self.truth(cond, Some(R1));
        Ok(())
    }

    /// Whether an operand counts as signed (literals adapt to the other side).
    fn signed(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Int(_) => true,
            ExprKind::Unary(UnOp::Neg, _) => true,
            ExprKind::Unary(UnOp::Not, _) => false,
            ExprKind::Unary(UnOp::Cast { signed, .. }, _) => *signed,
            ExprKind::Binary(op, l, r) => !op.is_comparison() && self.signed(l) && self.signed(r),
            _ => matches!(type_of(e, self.t.ctx), Ok(Ty::Int { signed: true })),
        }
    }

    /// `STRING == "literal"` (or `!=`, either order): byte by byte over the
    /// literal and its NUL, so the loop is unrolled and bounded.
    fn string_compare(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Result<Option<()>, SyntaxError> {
        let (string, literal) = match (&l.kind, &r.kind) {
            (_, ExprKind::Str(s)) => (l, s),
            (ExprKind::Str(s), _) => (r, s),
            _ => return Ok(None),
        };
        let (offset, len) = match type_of(string, self.t.ctx)? {
            Ty::Str(StrSource::Comm) => (COMM_OFFSET, COMM_LEN),
            Ty::Str(StrSource::Field(_)) => {
                let slot = self.t.slots[&expr_text(string)];
                (self.layout.slots[slot].offset, STRING_LEN)
            }
            _ => {
                return Err(SyntaxError::new(
                    string.column,
                    "compare strings with strings",
                ));
            }
        };
        let equal = (op == BinOp::Eq) as i32;
        let mut bytes = literal.as_bytes().to_vec();
        bytes.push(0);
        if bytes.len() > len as usize {
            // Longer than what is kept: never equal.
            self.asm.mov_imm(R0, 1 - equal);
            return Ok(Some(()));
        }
        let differ = self.asm.label();
        let end = self.asm.label();
        for (i, b) in bytes.iter().enumerate() {
            self.asm
                .load(Size::B, R0, EVENT, (offset as usize + i) as i16);
            self.asm.jump_imm(Cond::Ne, R0, *b as i32, differ);
        }
        self.asm.mov_imm(R0, equal);
        self.asm.jump(end);
        self.asm.bind(differ);
        self.asm.mov_imm(R0, 1 - equal);
        self.asm.bind(end);
        Ok(Some(()))
    }

    fn builtin(&mut self, name: &str) {
        let a = &mut self.asm;
        match name {
            "pid" | "tgid" => {
                a.call(helper::GET_CURRENT_PID_TGID);
                truncate_or_shift(a, name == "tgid");
            }
            "uid" | "gid" => {
                a.call(helper::GET_CURRENT_UID_GID);
                truncate_or_shift(a, name == "gid");
            }
            "task" => a.call(helper::GET_CURRENT_TASK),
            _ => a.call(helper::GET_SMP_PROCESSOR_ID),
        }
    }

    /// Where the first pointer of a walk is: the current task, or the
    /// context field it starts from.
    fn walk_base(
        &self,
        walk: &crate::kfunc::Walk,
        column: usize,
    ) -> Result<crate::kfunc::WalkBase, SyntaxError> {
        if walk.base == crate::kfunc::TASK {
            return Ok(crate::kfunc::WalkBase::CurrentTask);
        }
        let field = self.t.ctx.fields.iter().find(|f| f.name == walk.base);
        field
            .map(|f| crate::kfunc::WalkBase::Context(f.offset))
            .ok_or_else(|| SyntaxError::new(column, format!("no argument '{}'", walk.base)))
    }

    /// R0 = the integer at the end of `walk`.
    fn load_walk(&mut self, walk: &crate::kfunc::Walk, column: usize) -> Result<(), SyntaxError> {
        let base = self.walk_base(walk, column)?;
        crate::kfunc::load_walk(&mut self.asm, base, walk).map_err(|m| SyntaxError::new(column, m))
    }

    /// Copies the string at the end of `walk` into the record at `offset`.
    fn read_walk_string(
        &mut self,
        walk: &crate::kfunc::Walk,
        offset: u32,
        max: u32,
    ) -> Result<(), SyntaxError> {
        let base = self.walk_base(walk, 1)?;
        crate::kfunc::read_walk_string(&mut self.asm, base, walk, offset, max);
        Ok(())
    }

    /// Loads an integer field from the context, cut to its C type.
    fn load_field(&mut self, field: &Field, column: usize) -> Result<(), SyntaxError> {
        if let FieldKind::Usdt { arg, .. } = &field.kind {
            crate::usdt::load_arg(&mut self.asm, arg);
            return Ok(());
        }
        let FieldKind::Int { width, signed } = field.kind else {
            return Err(SyntaxError::new(column, "not an integer field"));
        };
        let size = Size::of(field.size).ok_or_else(|| {
            SyntaxError::new(
                column,
                format!(
                    "field '{}' has size {}: not supported",
                    field.name, field.size
                ),
            )
        })?;
        self.asm.load(size, R0, CTX, field.offset as i16);
        let shift = 64 - 8 * width as i32;
        if shift > 0 && (signed || width < field.size) {
            self.asm.alu_imm(Alu::Lsh, R0, shift);
            self.asm
                .alu_imm(if signed { Alu::Arsh } else { Alu::Rsh }, R0, shift);
        }
        Ok(())
    }
}

/// Stack slots of a return probe's entry record, below the walk and USDT
/// read slots (`kfunc.rs`, `usdt.rs`): the thread id looked up, the
/// latency, then each `$entry(NAME)` value.
const ENTRY_KEY_SLOT: i16 = -280;
const LATENCY_SLOT: i16 = -288;
/// `$entry()` values kept at most (a function's register arguments).
const MAX_ENTRY_VALUES: usize = 6;

fn entry_slot(index: usize) -> i16 {
    LATENCY_SLOT - 8 * (index as i16 + 1)
}

/// The entry map of program `index`.
fn entry_map_name(index: usize) -> String {
    format!("entry_{index}")
}

/// The companion program and map of a return probe that reads `$latency`
/// or `$entry(NAME)` (as `funclatency`'s entry half): at the function's
/// entry, `map[tid] = { now, NAME... }`, for the threads the return
/// program counts (`-p`, `-L`, the tracer's own excluded), so that no
/// entry is kept that nothing takes out.
fn entry_half(
    t: &Typed,
    index: usize,
    opts: &CodegenOptions,
    btf: &mut BtfBuilder,
) -> Result<Option<(ProgramCode, MapDecl)>, SyntaxError> {
    let Some(entry_ctx) = t.ctx.entry.as_deref().filter(|_| t.uses_entry) else {
        return Ok(None);
    };
    let map = &entry_map_name(index);
    if t.entry_names.len() > MAX_ENTRY_VALUES {
        return Err(SyntaxError::new(
            1,
            format!("at most {MAX_ENTRY_VALUES} $entry() values per probe"),
        ));
    }
    let entry_typed = Typed {
        probe: t.probe,
        ctx: entry_ctx,
        slots: HashMap::new(),
        args: Vec::new(),
        message: Vec::new(),
        entry_names: Vec::new(),
        uses_entry: false,
    };
    let layout = Layout {
        slots: Vec::new(),
        size: 0,
    };
    let mut g = Gen {
        asm: Asm::default(),
        t: &entry_typed,
        layout: &layout,
        entry_map: map.to_string(),
    };
    let out = g.asm.label();
    g.asm.mov(CTX, R1);
    only_traced_threads(&mut g.asm, opts, out);
    // The record on the stack: the time at `base`, then the values (below
    // the slots that reading an argument may use, as the return half's).
    let base = LATENCY_SLOT - 8 * t.entry_names.len() as i16;
    for (i, name) in t.entry_names.iter().enumerate() {
        let arg = Expr {
            column: 1,
            kind: ExprKind::Arg(name.clone()),
        };
        g.eval(&arg, 0)?;
        g.asm.store(Size::DW, FP, base + 8 * (i as i16 + 1), R0);
    }
    crate::funclatency::keep_entry(&mut g.asm, map, (ENTRY_KEY_SLOT, base));
    g.asm.bind(out);
    g.asm.mov_imm(R0, 0);
    g.asm.exit();
    let asm = g
        .asm
        .finish()
        .map_err(|e| SyntaxError::new(1, format!("internal error: {e}")))?;
    let u32_ty = elf::int(btf, "unsigned int", 4, false);
    let u64_ty = elf::int(btf, "unsigned long long", 8, false);
    let record_ty = btf.add_type(Type {
        name_off: 0,
        kind: Kind::Array(Array {
            elem: u64_ty,
            index: u32_ty,
            len: 1 + t.entry_names.len() as u32,
        }),
    });
    let program = ProgramCode {
        name: format!("probe_{index}_entry"),
        section: entry_ctx.section.clone(),
        code: asm.bytes(),
        map_relocs: asm.map_relocs,
    };
    let map = crate::funclatency::map(map, HASH, ENTRY_THREADS, u32_ty, record_ty);
    Ok(Some((program, map)))
}

/// Threads a return probe's entry map keeps at once (as `funclatency`).
const ENTRY_THREADS: u32 = 10240;

/// R0's high half (`high`) or low half.
fn truncate_or_shift(a: &mut Asm, high: bool) {
    if high {
        a.alu_imm(Alu::Rsh, R0, 32);
    } else {
        a.alu_imm(Alu::Lsh, R0, 32);
        a.alu_imm(Alu::Rsh, R0, 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_probe;

    fn compile_one(text: &str) -> Result<Compiled, (usize, SyntaxError)> {
        let format = "\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
                      \tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n";
        let ctx = ProbeContext {
            fields: crate::tracefs::parse_format(format),
            user_strings: true,
            section: "tracepoint/syscalls/sys_enter_openat".into(),
            walks: Vec::new(),
            entry: None,
        };
        compile(
            &[(parse_probe(text).unwrap(), ctx)],
            &CodegenOptions::default(),
        )
    }

    /// Found by the fuzz test: a string compare inside a format argument
    /// had no slot for its string (a panic in the code generator).
    #[test]
    fn string_compare_as_a_format_argument_gets_its_string() {
        let compiled = compile_one("t:a:b \"%d\", args->filename == \"/etc\"").unwrap();
        assert_eq!(compiled.probes[0].arg_fields, ["arg1"]);
    }

    #[test]
    fn probes_share_a_slot_by_name_and_kind() {
        let compiled =
            compile_one("t:a:b (args->flags > 1) \"%s %x\", args->filename, args->flags").unwrap();
        assert_eq!(compiled.probes[0].arg_fields, ["filename", "flags"]);
        let object = bpfkit_btf::elf::btf_from_elf(&compiled.elf);
        assert!(object.is_ok(), "the object has readable BTF");
    }
}

/// How `argdist` aggregates its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `-C`: a count per distinct value (hash map `counts`).
    Count,
    /// `-H`: a log2 histogram of the values (array map `hist`).
    Log2,
}

/// The map `argdist -C` counts in.
pub const COUNTS_MAP: &str = "counts";
const SCRATCH_MAP: &str = "scratch";
/// The kernel's limit on a hash map key (`MAX_BPF_STACK`).
pub const MAX_KEY_BYTES: u32 = 512;

/// One argdist specifier to compile.
pub struct AggregateSpec {
    /// The probe and its filter (no format, no arguments).
    pub probe: Probe,
    /// One program each (several for a USDT probe whose sites differ).
    pub contexts: Vec<ProbeContext>,
    /// The values, each with whether its TYPE says it is a string (`char*`).
    pub values: Vec<(Expr, bool)>,
    pub aggregate: Aggregate,
    /// The map its values are counted or bucketed in.
    pub map: String,
}

/// A member of a count's key: its name in the key struct (`None`: the key
/// is this one value) and whether it is a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMember {
    pub name: Option<String>,
    pub string: bool,
}

/// The object of [`compile_aggregates`] and each specifier's key members.
pub struct Aggregated {
    pub elf: Vec<u8>,
    pub keys: Vec<Vec<KeyMember>>,
}

/// The type of one value of a specifier, and where it is in the key.
#[derive(Debug, Clone)]
struct KeyPart {
    name: String,
    offset: u32,
    /// `None`: a number (signed or not); `Some(len)`: a string of `len`
    /// bytes with its NUL.
    string: Option<u32>,
    signed: bool,
}

/// Compiles argdist specifiers into one object: each specifier's values
/// are counted in (`-C`, a hash map keyed by the values) or bucketed into
/// (`-H`, a log2 histogram) its own map. A record of filter strings and
/// the key being built is a per-CPU scratch entry, so filters work exactly
/// as in `trace`. Strings keep at most `string_size` characters. The error
/// says which specifier it is about.
pub fn compile_aggregates(
    specs: &[AggregateSpec],
    string_size: u32,
    opts: &CodegenOptions,
) -> Result<Aggregated, (usize, SyntaxError)> {
    let mut layout = Layout {
        slots: Vec::new(),
        size: HEADER_LEN,
    };
    let mut typed_specs = Vec::with_capacity(specs.len());
    let mut keys = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let (typed, key) = type_aggregate(spec, string_size, &mut layout).map_err(|e| (i, e))?;
        typed_specs.push(typed);
        keys.push(key);
    }
    let key_bytes = keys.iter().map(|k| key_size(k)).max().unwrap_or(0);
    let key_slot = layout.slot("key", SlotKind::Bytes { len: key_bytes }, &[]);
    let key_offset = layout.slots[key_slot].offset;
    let mut btf = BtfBuilder::new();
    let stubs: Vec<(Probe, ProbeContext)> = specs
        .iter()
        .map(|spec| {
            let first = spec.contexts.first();
            let stub = ProbeContext {
                fields: Vec::new(),
                user_strings: first.is_some_and(|c| c.user_strings),
                section: first.map(|c| c.section.clone()).unwrap_or_default(),
                walks: Vec::new(),
                entry: None,
            };
            (spec.probe.clone(), stub)
        })
        .collect();
    let event = event_btf(&mut btf, &layout, &stubs);
    let u32_ty = elf::int(&mut btf, "unsigned int", 4, false);
    let mut maps = vec![MapDecl {
        name: SCRATCH_MAP.into(),
        map_type: PERCPU_ARRAY,
        // An entry per specifier: a fentry program may interrupt another
        // specifier's program on the same CPU, mid-key.
        max_entries: specs.len().max(1) as u32,
        key: Some(u32_ty),
        value: Some(event),
        sizes: None,
    }];
    let mut programs = Vec::new();
    let mut entries = Vec::new();
    for (i, (spec, typed)) in specs.iter().zip(&typed_specs).enumerate() {
        let map = match spec.aggregate {
            Aggregate::Count => {
                let key = key_btf(&mut btf, &spec.map, &keys[i]);
                let count = crate::funccount::count_type(&mut btf);
                crate::funclatency::map(&spec.map, HASH, COUNT_ENTRIES, key, count)
            }
            Aggregate::Log2 => {
                let hist = crate::funclatency::hist_type(&mut btf, u32_ty);
                crate::funclatency::map(&spec.map, ARRAY, 1, u32_ty, hist)
            }
        };
        maps.push(map);
        for t in typed {
            let key = (key_offset, keys[i].as_slice());
            let program = programs.len();
            let entry_map = entry_map_name(program);
            let asm = generate_aggregate(t, &layout, (i, spec), key, opts, &entry_map)
                .map_err(|e| (i, e))?;
            programs.push(ProgramCode {
                name: format!("probe_{}", programs.len()),
                section: t.ctx.section.clone(),
                code: asm.bytes(),
                map_relocs: asm.map_relocs,
            });
            entries.extend(entry_half(t, program, opts, &mut btf).map_err(|e| (i, e))?);
        }
    }
    for (program, map) in entries {
        programs.push(program);
        maps.push(map);
    }
    let members = keys
        .iter()
        .map(|key| {
            key.iter()
                .map(|part| KeyMember {
                    name: (key.len() > 1).then(|| part.name.clone()),
                    string: part.string.is_some(),
                })
                .collect()
        })
        .collect();
    Ok(Aggregated {
        elf: elf::write(&programs, &maps, btf),
        keys: members,
    })
}

/// Types a specifier's probe and values in each of its contexts: the
/// typed programs and the layout of its key.
fn type_aggregate<'s>(
    spec: &'s AggregateSpec,
    string_size: u32,
    layout: &mut Layout,
) -> Result<(Vec<Typed<'s>>, Vec<KeyPart>), SyntaxError> {
    let (first, _) = spec
        .values
        .first()
        .ok_or_else(|| SyntaxError::new(1, "no value to aggregate"))?;
    if spec.aggregate == Aggregate::Log2 && spec.values.len() > 1 {
        return Err(SyntaxError::new(
            first.column,
            "a histogram takes one value (count several together with -C)",
        ));
    }
    let mut typed_all = Vec::with_capacity(spec.contexts.len());
    let mut signed = vec![false; spec.values.len()];
    for ctx in &spec.contexts {
        let mut typed = type_probe(&spec.probe, ctx, layout)?;
        for (i, (value, string)) in spec.values.iter().enumerate() {
            let ty = typed.check_expr(value, layout)?;
            signed[i] |= value_type(&ty, *string, spec.aggregate, value)?;
        }
        typed.message.clear();
        typed_all.push(typed);
    }
    if typed_all.is_empty() {
        return Err(SyntaxError::new(1, "this probe has no program to generate"));
    }
    let mut key = Vec::with_capacity(spec.values.len());
    let mut offset: u32 = 0;
    let mut names: Vec<String> = Vec::new();
    for (i, (value, string)) in spec.values.iter().enumerate() {
        let mut name = identifier(&value_name(value, i));
        while names.contains(&name) {
            name.push('_');
        }
        names.push(name.clone());
        let string = string.then_some(string_size + 1);
        offset = offset.next_multiple_of(8);
        key.push(KeyPart {
            name,
            offset,
            string,
            signed: signed[i],
        });
        offset += string.unwrap_or(8);
    }
    if key_size(&key) > MAX_KEY_BYTES {
        return Err(SyntaxError::new(
            first.column,
            format!(
                "the key of these values is {} bytes: a map key has at most {MAX_KEY_BYTES} \
                 (keep fewer characters of each string: -z)",
                key_size(&key)
            ),
        ));
    }
    Ok((typed_all, key))
}

/// Checks a value's type against its TYPE (`string`: `char*`) and use;
/// whether it is a signed number.
fn value_type(
    ty: &Ty,
    string: bool,
    aggregate: Aggregate,
    value: &Expr,
) -> Result<bool, SyntaxError> {
    let error = |message: &str| Err(SyntaxError::new(value.column, message));
    match ty {
        Ty::Int { .. } if string => error("the TYPE is char* but this is a number"),
        Ty::Int { signed } => Ok(*signed),
        Ty::Str(_) if aggregate == Aggregate::Log2 => {
            error("a histogram needs a number, not a string: count strings with -C")
        }
        Ty::Str(_) if !string => error("this is a string: give it the TYPE char*"),
        Ty::Str(_) => Ok(false),
        Ty::Literal(_) => error("a string literal is not a value"),
    }
}

/// Bytes of a key, rounded up to 8.
fn key_size(key: &[KeyPart]) -> u32 {
    key.last()
        .map_or(0, |p| p.offset + p.string.unwrap_or(8))
        .next_multiple_of(8)
}

/// BTF of a count's key: the value itself when there is one, else a
/// struct with a member per value.
fn key_btf(btf: &mut BtfBuilder, map: &str, key: &[KeyPart]) -> TypeId {
    let member_type = |btf: &mut BtfBuilder, part: &KeyPart| match part.string {
        Some(len) => {
            let index = elf::int(btf, "unsigned int", 4, false);
            let char_ty = elf::int(btf, "char", 1, true);
            btf.add_type(Type {
                name_off: 0,
                kind: Kind::Array(Array {
                    elem: char_ty,
                    index,
                    len,
                }),
            })
        }
        None if part.signed => elf::int(btf, "long long", 8, true),
        None => elf::int(btf, "unsigned long long", 8, false),
    };
    if let [only] = key {
        return member_type(btf, only);
    }
    let members = key
        .iter()
        .map(|part| {
            let ty = member_type(btf, part);
            Member {
                name_off: btf.add_string(&part.name),
                ty,
                bit_offset: part.offset * 8,
                bitfield_size: 0,
            }
        })
        .collect();
    elf::named(
        btf,
        &format!("{map}_key"),
        Kind::Struct(Composite {
            size: key_size(key),
            kind_flag: false,
            members,
        }),
    )
}

const PERCPU_ARRAY: u32 = 6;
const HASH: u32 = 1;
const ARRAY: u32 = 2;
const COUNT_ENTRIES: u32 = 10240;

/// One program of specifier `spec` (the `index`th, whose scratch entry
/// it uses): its values into the key (at
/// `key.0` in the scratch record, laid out as `key.1`), then counted or
/// bucketed.
fn generate_aggregate(
    t: &Typed,
    layout: &Layout,
    (index, spec): (usize, &AggregateSpec),
    key: (u32, &[KeyPart]),
    opts: &CodegenOptions,
    entry_map: &str,
) -> Result<Asm, SyntaxError> {
    let mut g = Gen {
        asm: Asm::default(),
        t,
        layout,
        entry_map: entry_map.to_string(),
    };
    let out = g.asm.label();
    g.asm.mov(CTX, R1);
    if let Some(pid) = opts.pid {
        g.asm.call(helper::GET_CURRENT_PID_TGID);
        g.asm.alu_imm(Alu::Rsh, R0, 32);
        g.asm.jump_imm(Cond::Ne, R0, pid as i32, out);
    }
    g.take_entry(out);
    g.asm.store_imm(Size::W, FP, -4, index as i32);
    g.asm.ld_map(R1, SCRATCH_MAP);
    g.asm.mov(R2, FP);
    g.asm.alu_imm(Alu::Add, R2, -4);
    g.asm.call(helper::MAP_LOOKUP_ELEM);
    g.asm.jump_imm(Cond::Eq, R0, 0, out);
    g.asm.mov(EVENT, R0);
    // Strings end at their NUL: the bytes after it must be the same
    // (zero) for the same string, or it would be several keys.
    for offset in (HEADER_LEN..layout.size).step_by(8) {
        g.asm.store_imm(Size::DW, EVENT, offset as i16, 0);
    }
    g.header(0);
    if let Some(name) = opts.name.as_deref().filter(|n| !n.is_empty()) {
        g.comm_contains(name, out);
    }
    let values: Vec<&Expr> = spec.values.iter().map(|(e, _)| e).collect();
    let mut slots: Vec<(&String, usize)> = t.slots.iter().map(|(k, v)| (k, *v)).collect();
    slots.sort_by_key(|(_, slot)| *slot);
    for (text, slot) in slots {
        let expr = find_expr(t.probe, text)
            .or_else(|| values.iter().find_map(|v| find_in(v, text)))
            .expect("every slot comes from an expression");
        g.fill(expr, &layout.slots[slot])?;
    }
    if let Some(filter) = &t.probe.filter {
        g.eval(filter, 0)?;
        g.asm.jump_imm(Cond::Eq, R0, 0, out);
    }
    let (key_offset, parts) = key;
    match spec.aggregate {
        Aggregate::Log2 => {
            g.eval(values[0], 0)?;
            g.asm.store(Size::DW, FP, -16, R0);
            crate::funclatency::add_to_hist(&mut g.asm, &spec.map, out);
        }
        Aggregate::Count => {
            for (value, part) in values.iter().zip(parts) {
                let at = key_offset + part.offset;
                match part.string {
                    Some(len) => g.string_into(value, at, len)?,
                    None => {
                        g.eval(value, 0)?;
                        g.asm.store(Size::DW, EVENT, at as i16, R0);
                    }
                }
            }
            crate::funccount::add_one_at(&mut g.asm, &spec.map, (EVENT, key_offset as i16), out);
        }
    }
    g.asm.bind(out);
    g.asm.mov_imm(R0, 0);
    g.asm.exit();
    g.asm
        .finish()
        .map_err(|e| SyntaxError::new(1, format!("internal error: {e}")))
}

/// The sub-expression of `e` whose text is `key`.
fn find_in<'e>(e: &'e Expr, key: &str) -> Option<&'e Expr> {
    if expr_text(e) == key {
        return Some(e);
    }
    match &e.kind {
        ExprKind::Unary(_, inner) => find_in(inner, key),
        ExprKind::Binary(_, l, r) => find_in(l, key).or_else(|| find_in(r, key)),
        _ => None,
    }
}
