//! Kernel function probes (`p::FUNC`, `r::FUNC`, `funccount 'vfs_*'`,
//! `funclatency vfs_read`, `stackcount FUNC`): which hook each target gets
//! on this kernel, and the arguments a probe can read there.
//!
//! fentry/fexit where the kernel has BPF trampolines and the function is in
//! its BTF (the context is the arguments as an array of u64, the return
//! value after them), otherwise kprobe/kretprobe (the context is
//! `struct pt_regs`: arguments in the x86-64 argument registers, the return
//! value in rax). Either way the arguments are named and typed from the
//! function's BTF prototype, and `args->file->f_flags` walks are resolved
//! to offsets in the running kernel's BTF: the program is generated for
//! this very kernel, so no CO-RE relocation is needed.

use crate::ProbeError;
use crate::compile::ProbeContext;
use crate::funccount::CountTarget;
use crate::insn::{Alu, Asm, CTX, Cond, EVENT, FP, R0, R1, R2, R3, Size, helper};
use crate::parse::{Expr, ExprKind, Probe, SyntaxError};
use crate::tracefs::{Field, FieldKind};
use bpfkit_btf::view::BtfView;
use bpfkit_btf::{Kind, Type, TypeId};
use std::collections::HashMap;

/// The one line for kernels that cannot probe kernel functions at all.
pub const NEITHER: &str = "kernel function probes need kprobes or fentry; this kernel has neither";

/// What the running kernel offers; the CLI answers from bpfkit-runtime's
/// feature probes, tests with a stand-in.
pub trait Kernel {
    /// BPF trampolines work (fentry/fexit programs load).
    fn fentry(&self) -> bool;
    /// kprobes/kretprobes can be created.
    fn kprobes(&self) -> bool;
    /// kprobe.multi links can be created (CONFIG_FPROBE).
    fn kprobe_multi(&self) -> bool;
    /// Whether `function` can take a kprobe (tracefs
    /// `available_filter_functions`); `None` when that cannot be told.
    fn traceable(&self, function: &str) -> Option<bool>;
    /// The functions matching `pattern` (`*`, `?`) that can take a kprobe,
    /// sorted by name: the order kprobe.multi gives them cookies in.
    fn matching(&self, pattern: &str) -> Option<Vec<String>>;
    /// The kernel's BTF.
    fn btf(&self) -> Option<&BtfView>;
}

impl std::fmt::Debug for dyn Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("fentry", &self.fentry())
            .field("kprobes", &self.kprobes())
            .finish()
    }
}

/// The hook a kernel function target gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Fentry,
    Kprobe,
}

impl Hook {
    /// The `SEC()` name for `function`, on entry or on return.
    pub fn section(self, function: &str, ret: bool) -> String {
        let kind = match (self, ret) {
            (Hook::Fentry, false) => "fentry",
            (Hook::Fentry, true) => "fexit",
            (Hook::Kprobe, false) => "kprobe",
            (Hook::Kprobe, true) => "kretprobe",
        };
        format!("{kind}/{function}")
    }
}

/// fentry where the kernel has trampolines and BTF describes `function`,
/// else a kprobe where the kernel has kprobes and `function` can take one.
pub fn choose_hook(kernel: &dyn Kernel, function: &str) -> Result<Hook, String> {
    if !kernel.fentry() && !kernel.kprobes() {
        return Err(NEITHER.into());
    }
    if kernel.traceable(function) == Some(false) {
        return Err(format!(
            "{function} cannot be traced here (not in available_filter_functions: \
             absent, inlined or notrace)"
        ));
    }
    if kernel.fentry() && btf_function(kernel, function).is_some() {
        return Ok(Hook::Fentry);
    }
    if kernel.kprobes() {
        return Ok(Hook::Kprobe);
    }
    Err(format!(
        "{function} is not a function in kernel BTF (fentry needs one) and this kernel has no kprobes"
    ))
}

/// A kernel function's prototype: parameters (name, type) and return type.
struct Prototype {
    params: Vec<(String, TypeId)>,
    ret: TypeId,
}

/// The prototype of the BTF `FUNC` called `name`, if BTF has one.
fn btf_function(kernel: &dyn Kernel, name: &str) -> Option<Prototype> {
    let btf = kernel.btf()?;
    let mut found = None;
    btf.for_each_named(
        |kind| kind == bpfkit_btf::types::kind_no::FUNC,
        |id, _, n| {
            if found.is_none() && n == name {
                found = Some(id);
            }
        },
    )
    .ok()?;
    let Kind::Func { proto, .. } = btf.type_by_id(found?).ok()?.kind else {
        return None;
    };
    let Kind::FuncProto(proto) = btf.type_by_id(proto).ok()?.kind else {
        return None;
    };
    let params = proto
        .params
        .iter()
        .filter(|p| p.ty != 0)
        .map(|p| (btf.str_at(p.name_off).unwrap_or("").to_string(), p.ty))
        .collect();
    Some(Prototype {
        params,
        ret: proto.ret,
    })
}

/// Offsets in `struct pt_regs` of the argument registers and of rax (as
/// for user functions).
use crate::uprobe::{ARG_OFFSETS as PT_REGS_ARGS, RAX_OFFSET as PT_REGS_RAX};
/// fentry programs see at most this many u64 argument slots.
const FENTRY_SLOTS: u32 = 12;

/// The context of kernel function probe `probe`: its section, its
/// arguments (`arg1`.. and the prototype's names) or `retval`, and the
/// struct walks its expressions make.
pub fn context(probe: &Probe, kernel: &dyn Kernel) -> Result<ProbeContext, SyntaxError> {
    let crate::parse::Target::Function {
        function,
        return_probe,
        ..
    } = &probe.target
    else {
        return Err(SyntaxError::new(1, "not a kernel function probe"));
    };
    // About the whole probe: no caret.
    let at_target = |m: String| SyntaxError::new(0, m);
    let hook = choose_hook(kernel, function).map_err(at_target)?;
    let btf = kernel.btf();
    let (fields, types) = match (btf_function(kernel, function), btf) {
        (Some(proto), Some(btf)) => {
            let mut values = typed_values(btf, &proto, hook, *return_probe);
            signature_names(probe, &mut values.0, &mut values.1);
            values
        }
        // No prototype (a kprobe on a function BTF does not describe):
        // untyped registers, as for user functions.
        _ => {
            let signature = probe.signature.as_deref().unwrap_or(&[]);
            let fields = crate::uprobe::fields(signature, *return_probe).map_err(at_target)?;
            (fields, HashMap::new())
        }
    };
    let mut ctx = ProbeContext {
        fields,
        user_strings: false,
        section: hook.section(function, *return_probe),
        walks: Vec::new(),
        entry: None,
    };
    for expr in probe.args.iter().chain(probe.filter.as_ref()) {
        collect_walks(expr, btf, &types, false, &mut ctx.walks)?;
    }
    Ok(ctx)
}

/// The name a `$task` walk starts from (`Walk::base`).
pub const TASK: &str = "$task";

/// The `$task->...` walks of a probe that is not on a kernel function
/// (tracepoint, uprobe, USDT): `$task` is typed from the kernel's BTF
/// wherever the probe is.
pub fn task_walks(probe: &Probe, kernel: Option<&dyn Kernel>) -> Result<Vec<Walk>, SyntaxError> {
    let btf = kernel.and_then(|k| k.btf());
    let mut walks = Vec::new();
    for expr in probe.args.iter().chain(probe.filter.as_ref()) {
        collect_walks(expr, btf, &HashMap::new(), true, &mut walks)?;
    }
    Ok(walks)
}

/// The values a probe of `hook` on a function of prototype `proto` can
/// read, as context fields (`arg1`.. and the BTF names; `retval` on
/// return), with their BTF types (where struct walks start). A kretprobe
/// sees no arguments: the registers that held them are reused by then.
fn typed_values(
    btf: &BtfView,
    proto: &Prototype,
    hook: Hook,
    ret: bool,
) -> (Vec<Field>, HashMap<String, TypeId>) {
    let mut fields = Vec::new();
    let mut types = HashMap::new();
    let mut add = |name: String, offset: u32, ty: TypeId| {
        if let Ok((kind, c_type)) = scalar(btf, ty) {
            fields.push(Field {
                name: name.clone(),
                c_type,
                offset,
                size: 8,
                kind,
            });
            types.insert(name, ty);
        }
    };
    // Arguments take whole u64 words (structs passed by value: one or two).
    let mut slot = 0u32;
    for (i, (name, ty)) in proto.params.iter().enumerate() {
        let offset = arg_offset(hook, slot);
        slot += value_size(btf, *ty).div_ceil(8).max(1);
        let Some(offset) = offset.filter(|_| !(ret && hook == Hook::Kprobe)) else {
            continue;
        };
        add(format!("arg{}", i + 1), offset, *ty);
        if !name.is_empty() {
            add(name.clone(), offset, *ty);
        }
    }
    if ret && proto.ret != 0 {
        // fexit: the return value follows the arguments.
        let offset = match hook {
            Hook::Fentry => 8 * slot,
            Hook::Kprobe => PT_REGS_RAX,
        };
        add("retval".into(), offset, proto.ret);
    }
    (fields, types)
}

/// bcc's signature (`p::do_sys_open(int dfd, char *name)`) names the
/// arguments in its own words: each name is one more name for the BTF-typed
/// argument at its place.
fn signature_names(probe: &Probe, fields: &mut Vec<Field>, types: &mut HashMap<String, TypeId>) {
    for (i, (_, name)) in probe.signature.iter().flatten().enumerate() {
        let arg = format!("arg{}", i + 1);
        if name.is_empty() || fields.iter().any(|f| &f.name == name) {
            continue;
        }
        let Some(field) = fields.iter().find(|f| f.name == arg).cloned() else {
            continue;
        };
        if let Some(ty) = types.get(&arg).copied() {
            types.insert(name.clone(), ty);
        }
        fields.push(Field {
            name: name.clone(),
            ..field
        });
    }
}

/// Where argument word `slot` is in the context of `hook`.
fn arg_offset(hook: Hook, slot: u32) -> Option<u32> {
    match hook {
        Hook::Fentry => (slot < FENTRY_SLOTS).then_some(8 * slot),
        Hook::Kprobe => PT_REGS_ARGS.get(slot as usize).copied(),
    }
}

/// A member walk (`args->file->f_flags`, `retval->d_name.name`,
/// `$task->real_parent->tgid`) resolved against the kernel's BTF: start
/// from the pointer in field `base` (or the current task for [`TASK`]),
/// replace it by the pointer read at each of `loads` in turn, then read the
/// value at `last`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// The expression's text (`compile::expr_text`).
    pub text: String,
    pub base: String,
    pub loads: Vec<u32>,
    pub last: u32,
    /// Bytes read at `last` (integers): the value's, or for a bitfield
    /// those of the storage that holds it.
    pub size: u32,
    /// Where the value is in those bytes, for a bitfield member.
    pub bitfield: Option<Bitfield>,
    pub kind: FieldKind,
    pub c_type: String,
}

/// A bitfield member: `bits` bits starting at bit `shift` (from the least
/// significant: BPF and its hosts here are little-endian, as BTF's bit
/// offsets then count) of the bytes read for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitfield {
    pub shift: u32,
    pub bits: u32,
}

impl Bitfield {
    /// A bitfield of `bits` bits at bit `bit_offset` of its struct: the
    /// byte offset its bytes start at, how many to read (1, 2, 4 or 8),
    /// and where the value is in them.
    pub fn locate(bit_offset: u32, bits: u32) -> Result<(u32, u32, Bitfield), String> {
        let shift = bit_offset % 8;
        let needed = shift + bits;
        let read = [1u32, 2, 4, 8]
            .into_iter()
            .find(|bytes| 8 * bytes >= needed)
            .ok_or_else(|| format!("a bitfield of {bits} bits over more than 8 bytes"))?;
        Ok((bit_offset / 8, read, Bitfield { shift, bits }))
    }

    /// The value from the bytes read as a u64 (zero-extended): shifted
    /// left by the first count to drop the bits above it, then right by the
    /// second (arithmetically for a signed bitfield, which sign-extends).
    pub fn shifts(self) -> (u32, u32) {
        (64 - self.shift - self.bits, 64 - self.bits)
    }
}

/// Resolves the member walks of `e` into `walks`; with `task_only`, those
/// from `$task` only (elsewhere the compiler says where members can be
/// read).
fn collect_walks(
    e: &Expr,
    btf: Option<&BtfView>,
    types: &HashMap<String, TypeId>,
    task_only: bool,
    walks: &mut Vec<Walk>,
) -> Result<(), SyntaxError> {
    match &e.kind {
        ExprKind::Member { .. } => {
            let from_task = flatten(e).is_ok_and(|(root, _)| root == TASK);
            let text = crate::compile::expr_text(e);
            if (from_task || !task_only) && !walks.iter().any(|w| w.text == text) {
                let walk = resolve_walk(e, btf, types)?;
                walks.push(walk);
            }
            Ok(())
        }
        ExprKind::Unary(_, inner) => collect_walks(inner, btf, types, task_only, walks),
        ExprKind::Binary(_, l, r) => {
            collect_walks(l, btf, types, task_only, walks)?;
            collect_walks(r, btf, types, task_only, walks)
        }
        _ => Ok(()),
    }
}

/// `(base name, [(member, through a pointer)])` of a member expression.
fn flatten(e: &Expr) -> Result<(String, Vec<(String, bool)>), SyntaxError> {
    match &e.kind {
        ExprKind::Member {
            base,
            member,
            arrow,
        } => {
            let (root, mut chain) = flatten(base)?;
            chain.push((member.clone(), *arrow));
            Ok((root, chain))
        }
        ExprKind::Field(name) | ExprKind::Arg(name) => Ok((name.clone(), Vec::new())),
        ExprKind::Retval => Ok(("retval".into(), Vec::new())),
        ExprKind::Builtin(b) if b == "task" => Ok((TASK.into(), Vec::new())),
        _ => Err(SyntaxError::new(
            e.column,
            "members can be read from arguments, retval and $task only",
        )),
    }
}

fn resolve_walk(
    e: &Expr,
    btf: Option<&BtfView>,
    types: &HashMap<String, TypeId>,
) -> Result<Walk, SyntaxError> {
    let err = |m: String| SyntaxError::new(e.column, m);
    let (base, chain) = flatten(e)?;
    let btf = match btf {
        Some(btf) => btf,
        // About the whole probe: one line, no caret.
        None if base == TASK => {
            return Err(SyntaxError::new(
                0,
                "$task needs the running kernel's BTF (/sys/kernel/btf/vmlinux), which is absent",
            ));
        }
        None => return Err(err("struct walks need the kernel's BTF".into())),
    };
    let (mut ty, mut pointee) = start_type(btf, &base, types, e.column)?;
    let mut loads = Vec::new();
    // None: the value is the pointer itself; Some(off): it is in memory at
    // the current pointer + off.
    let mut at: Option<u32> = None;
    let mut bitfield = None;
    let mut path = base.clone();
    for (member, arrow) in &chain {
        if bitfield.is_some() {
            return Err(err(format!("'{path}' is a bitfield: it has no members")));
        }
        if *arrow {
            let target = match pointee.take() {
                Some(target) => target,
                None => match strip(btf, ty).map_err(&err)?.kind {
                    Kind::Ptr(target) => target,
                    _ => {
                        return Err(err(format!(
                            "'{path}' is not a pointer: use '.' for its members"
                        )));
                    }
                },
            };
            if let Some(off) = at {
                loads.push(off);
            }
            at = Some(0);
            ty = target;
        } else if at.is_none() {
            return Err(err(format!(
                "'{path}' is a pointer: use '->' for its members"
            )));
        }
        let found = find_member(btf, ty, member)
            .map_err(&err)?
            .ok_or_else(|| err(no_member(btf, ty, &path, member)))?;
        let mut offset = found.bit_offset / 8;
        if found.bits != 0 {
            let (start, read, field) =
                Bitfield::locate(found.bit_offset, found.bits).map_err(&err)?;
            offset = start;
            bitfield = Some((read, field));
        }
        at = at.map(|a| a + offset);
        ty = found.ty;
        path = format!("{path}{}{member}", if *arrow { "->" } else { "." });
    }
    let (kind, c_type) = scalar(btf, ty).map_err(|m| err(format!("'{path}': {m}")))?;
    let size = match (bitfield, &kind) {
        (Some((read, _)), _) => read,
        (None, FieldKind::Int { width, .. }) => *width,
        _ => 8,
    };
    Ok(Walk {
        text: crate::compile::expr_text(e),
        base,
        loads,
        last: at.unwrap_or(0),
        size,
        bitfield: bitfield.map(|(_, field)| field),
        kind,
        c_type,
    })
}

/// The type of a walk's base, or (for `$task`, a `struct task_struct *`
/// with no pointer type of its own to strip) the struct its first '->'
/// goes to. Errors point at `column`.
fn start_type(
    btf: &BtfView,
    base: &str,
    types: &HashMap<String, TypeId>,
    column: usize,
) -> Result<(TypeId, Option<TypeId>), SyntaxError> {
    if base == TASK {
        let task = btf
            .find_named(bpfkit_btf::types::kind_no::STRUCT, "task_struct")
            .ok_or_else(|| SyntaxError::new(0, "the kernel's BTF has no struct task_struct"))?;
        return Ok((0, Some(task)));
    }
    let ty = types.get(base).ok_or_else(|| {
        SyntaxError::new(
            column,
            format!(
                "'{base}' has no type from kernel BTF: members can be read from typed arguments only"
            ),
        )
    })?;
    Ok((*ty, None))
}

/// "'PATH' has no member 'NAME'", with the struct's members of a name
/// close to it (a typo, a prefix).
fn no_member(btf: &BtfView, ty: TypeId, path: &str, name: &str) -> String {
    let mut message = format!("'{path}' has no member '{name}'");
    let mut near = Vec::new();
    member_names(btf, ty, &mut near);
    near.retain(|m| is_near(m, name));
    near.sort();
    near.dedup();
    if !near.is_empty() {
        near.truncate(6);
        message.push_str(&format!(" (near: {})", near.join(", ")));
    }
    message
}

/// The member names of struct/union `ty`, anonymous members' included.
fn member_names(btf: &BtfView, ty: TypeId, out: &mut Vec<String>) {
    let Ok(Kind::Struct(c) | Kind::Union(c)) = strip(btf, ty).map(|t| t.kind) else {
        return;
    };
    for m in &c.members {
        match btf.str_at(m.name_off) {
            Ok("") => member_names(btf, m.ty, out),
            Ok(name) => out.push(name.to_string()),
            Err(_) => {}
        }
    }
}

/// Whether `candidate` is close to the `wanted` name: one begins with the
/// other, or at most two single-character edits apart.
fn is_near(candidate: &str, wanted: &str) -> bool {
    if wanted.len() >= 3 && (candidate.starts_with(wanted) || wanted.starts_with(candidate)) {
        return true;
    }
    edit_distance(candidate.as_bytes(), wanted.as_bytes()) <= 2.min(wanted.len() / 2)
}

/// Levenshtein distance, one row at a time.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Type `id` without typedefs, qualifiers and type tags.
fn strip(btf: &BtfView, mut id: TypeId) -> Result<Type, String> {
    for _ in 0..32 {
        let ty = btf.type_by_id(id).map_err(|e| e.to_string())?;
        match ty.kind {
            Kind::Typedef(next)
            | Kind::Const(next)
            | Kind::Volatile(next)
            | Kind::Restrict(next)
            | Kind::TypeTag(next) => id = next,
            _ => return Ok(ty),
        }
    }
    Err(format!("type {id}: a typedef chain too long"))
}

/// Bytes a value of type `id` takes.
fn value_size(btf: &BtfView, id: TypeId) -> u32 {
    match strip(btf, id).map(|t| t.kind) {
        Ok(Kind::Int(i)) => i.size,
        Ok(Kind::Enum(e)) => e.size,
        Ok(Kind::Struct(c) | Kind::Union(c)) => c.size,
        _ => 8,
    }
}

/// A member found in a struct: where it starts, in bits from the start of
/// the struct, its bits if it is a bitfield (else 0), and its type.
struct FoundMember {
    bit_offset: u32,
    bits: u32,
    ty: TypeId,
}

/// Member `name` of struct/union `id`, looking into anonymous members.
/// A bitfield is one as BTF says: a member size (struct kind_flag), or
/// (without kind_flag) an integer type of fewer bits than its bytes.
fn find_member(btf: &BtfView, id: TypeId, name: &str) -> Result<Option<FoundMember>, String> {
    let composite = match strip(btf, id)?.kind {
        Kind::Struct(c) | Kind::Union(c) => c,
        _ => return Err(format!("'{name}': not a member of a struct or union")),
    };
    for m in &composite.members {
        let member_name = btf.str_at(m.name_off).map_err(|e| e.to_string())?;
        if member_name == name {
            let mut found = FoundMember {
                bit_offset: m.bit_offset,
                bits: u32::from(m.bitfield_size),
                ty: m.ty,
            };
            if let Kind::Int(int) = strip(btf, m.ty)?.kind
                && found.bits == 0
                && (u32::from(int.bits) != 8 * int.size || int.offset != 0)
            {
                found.bit_offset += u32::from(int.offset);
                found.bits = u32::from(int.bits);
            }
            if found.bits == 0 && !found.bit_offset.is_multiple_of(8) {
                return Err(format!(
                    "'{name}' starts inside a byte but BTF gives it no bitfield size"
                ));
            }
            return Ok(Some(found));
        }
        if member_name.is_empty()
            && let Ok(Some(inner)) = find_member(btf, m.ty, name)
        {
            return Ok(Some(FoundMember {
                bit_offset: m.bit_offset + inner.bit_offset,
                ..inner
            }));
        }
    }
    Ok(None)
}

/// How a value of type `id` is read, and its C type's name.
fn scalar(btf: &BtfView, id: TypeId) -> Result<(FieldKind, String), String> {
    let ty = strip(btf, id)?;
    let name = btf.str_at(ty.name_off).unwrap_or("").to_string();
    match ty.kind {
        Kind::Int(i) if matches!(i.size, 1 | 2 | 4 | 8) => Ok((
            FieldKind::Int {
                width: i.size,
                signed: i.signed,
            },
            name,
        )),
        Kind::Enum(e) => Ok((
            FieldKind::Int {
                width: e.size,
                signed: e.signed,
            },
            format!("enum {name}"),
        )),
        Kind::Ptr(target) => {
            let pointee = strip(btf, target)?;
            let pointee_name = btf.str_at(pointee.name_off).unwrap_or("");
            if matches!(pointee.kind, Kind::Int(i) if i.size == 1) && pointee_name.contains("char")
            {
                return Ok((FieldKind::CharPointer, "char *".into()));
            }
            let prefix = match pointee.kind {
                Kind::Struct(_) => "struct ",
                Kind::Union(_) => "union ",
                _ => "",
            };
            let shown = if pointee_name.is_empty() {
                "void"
            } else {
                pointee_name
            };
            Ok((
                FieldKind::Int {
                    width: 8,
                    signed: false,
                },
                format!("{prefix}{shown} *"),
            ))
        }
        Kind::Array(a) => {
            let elem = strip(btf, a.elem)?;
            if matches!(elem.kind, Kind::Int(i) if i.size == 1) {
                Ok((FieldKind::CharArray { len: a.len }, "char []".into()))
            } else {
                Err("an array other than char[]: not supported".into())
            }
        }
        Kind::Struct(_) | Kind::Union(_) => Err(format!(
            "'{name}' is a struct or union: read one of its members"
        )),
        _ => Err("a type that is not an integer, enum or pointer: not supported".into()),
    }
}

/// A kernel function pattern of funccount/stackcount (`vfs_*`, `p::vfs_*`),
/// without its `p::`; `None` for other kinds of patterns.
pub fn function_pattern(pattern: &str) -> Option<&str> {
    let bare = pattern.strip_prefix("p::").unwrap_or(pattern);
    (!bare.is_empty() && !bare.contains(':')).then_some(bare)
}

/// Functions a pattern may match where each takes its own probe (bcc's
/// funccount has the same limit).
const MAX_SINGLE_PROBES: usize = 1000;

/// The programs for kernel function `patterns` (`vfs_*`, `p::vfs_read`).
/// A pattern that matches one function only still takes a multi link:
/// one kind of program for every pattern keeps the output alike.
/// The programs that count or sample kernel function `patterns` (`vfs_*`,
/// `p::vfs_read`): one kprobe.multi program per pattern (cookie i is
/// `names[i - 1]`) where the kernel has kprobe.multi, else one program per
/// function.
pub fn programs(patterns: &[&str], kernel: &dyn Kernel) -> Result<Vec<CountTarget>, ProbeError> {
    let mut out = Vec::new();
    for pattern in patterns {
        let error = |message: String| ProbeError {
            probe: pattern.to_string(),
            message,
        };
        if !kernel.fentry() && !kernel.kprobes() {
            return Err(error(NEITHER.into()));
        }
        let pattern = function_pattern(pattern)
            .ok_or_else(|| error("expected a kernel function (FUNC, p::FUNC; * and ?)".into()))?;
        let functions = match kernel.matching(pattern) {
            Some(found) => found,
            None if !pattern.contains(['*', '?']) => vec![pattern.to_string()],
            None => {
                return Err(error(
                    "cannot read available_filter_functions to expand the pattern".into(),
                ));
            }
        };
        if functions.is_empty() {
            return Err(error(format!(
                "no kernel function matching '{pattern}' can be traced here \
                 (see available_filter_functions)"
            )));
        }
        if kernel.kprobes() && kernel.kprobe_multi() {
            // One link, one file descriptor, however many functions.
            out.push(CountTarget {
                section: format!("kprobe.multi/{pattern}"),
                names: functions,
                cookies: true,
                note: None,
                syscalls: None,
            });
            continue;
        }
        if functions.len() > MAX_SINGLE_PROBES {
            return Err(error(format!(
                "'{pattern}' matches {} functions; without kprobe.multi links each takes a \
                 probe of its own, at most {MAX_SINGLE_PROBES}: narrow the pattern",
                functions.len()
            )));
        }
        for function in functions {
            let hook = if kernel.kprobes() {
                Hook::Kprobe
            } else {
                choose_hook(kernel, &function).map_err(error)?
            };
            out.push(CountTarget {
                section: hook.section(&function, false),
                names: vec![function],
                cookies: false,
                note: None,
                syscalls: None,
            });
        }
    }
    Ok(out)
}

/// `funclatency FUNC`: the entry and return sections for kernel function
/// `function` (fentry/fexit or kprobe/kretprobe).
pub fn latency_sections(function: &str, kernel: &dyn Kernel) -> Result<(String, String), String> {
    let hook = choose_hook(kernel, function)?;
    Ok((hook.section(function, false), hook.section(function, true)))
}

const PROBE_READ_KERNEL: i32 = 113;
/// Below the expression evaluator's scratch slots (32 of 8 bytes).
const WALK_SLOT: i16 = -264;

/// Where a walk's first pointer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkBase {
    /// The context's u64 at this offset (an argument, retval).
    Context(u32),
    /// `bpf_get_current_task()`: `$task`.
    CurrentTask,
}

/// R3 = the address of the value at the end of `walk`.
fn walk_address(a: &mut Asm, base: WalkBase, walk: &Walk) {
    match base {
        WalkBase::Context(offset) => a.load(Size::DW, R3, CTX, offset as i16),
        WalkBase::CurrentTask => {
            a.call(helper::GET_CURRENT_TASK);
            a.mov(R3, R0);
        }
    }
    for off in &walk.loads {
        a.alu_imm(Alu::Add, R3, *off as i32);
        read_into_slot(a, 8);
        a.load(Size::DW, R3, FP, WALK_SLOT);
    }
    a.alu_imm(Alu::Add, R3, walk.last as i32);
}

/// `bpf_probe_read_kernel(fp + WALK_SLOT, size, R3)` (zeroes the slot on
/// a fault).
fn read_into_slot(a: &mut Asm, size: u32) {
    a.mov(R1, FP);
    a.alu_imm(Alu::Add, R1, WALK_SLOT as i32);
    a.mov_imm(R2, size as i32);
    a.call(PROBE_READ_KERNEL);
}

/// R0 = the integer at the end of `walk`, extended from its size (a
/// bitfield: cut out of the bytes that hold it, then extended).
pub(crate) fn load_walk(a: &mut Asm, base: WalkBase, walk: &Walk) -> Result<(), String> {
    let FieldKind::Int { signed, .. } = walk.kind else {
        return Err("this is a string".into());
    };
    let bytes = walk.size;
    let size = Size::of(bytes).ok_or_else(|| format!("a member of {bytes} bytes"))?;
    walk_address(a, base, walk);
    read_into_slot(a, bytes);
    a.load(size, R0, FP, WALK_SLOT);
    let (left, right) = match walk.bitfield {
        Some(field) => field.shifts(),
        None => (64 - 8 * bytes, 64 - 8 * bytes),
    };
    if right == 0 || (walk.bitfield.is_none() && !signed) {
        return Ok(());
    }
    if left > 0 {
        a.alu_imm(Alu::Lsh, R0, left as i32);
    }
    a.alu_imm(if signed { Alu::Arsh } else { Alu::Rsh }, R0, right as i32);
    Ok(())
}

/// Copies the string at the end of `walk` (a `char *` or a `char[]`)
/// into the record at `offset`, at most `max` bytes with its NUL.
pub(crate) fn read_walk_string(a: &mut Asm, base: WalkBase, walk: &Walk, offset: u32, max: u32) {
    match walk.kind {
        FieldKind::CharArray { len } => {
            walk_address(a, base, walk);
            read_string(a, offset, len.min(max), helper::PROBE_READ_KERNEL_STR);
        }
        _ => {
            let source = |a: &mut Asm| {
                walk_address(a, base, walk);
                read_into_slot(a, 8);
                a.load(Size::DW, R3, FP, WALK_SLOT);
            };
            read_kernel_or_user_string(a, offset, max, source);
        }
    }
}

/// Copies the string R3 points to into the record at `offset` with `read`.
fn read_string(a: &mut Asm, offset: u32, len: u32, read: i32) {
    a.mov(R1, EVENT);
    a.alu_imm(Alu::Add, R1, offset as i32);
    a.mov_imm(R2, len as i32);
    a.call(read);
}

/// Copies the string `source` puts in R3 into the record at `offset`: as
/// kernel memory, else (a fault: a `char __user *`, which kernel BTF does
/// not always mark) as user memory; at most `max` bytes with its NUL.
pub(crate) fn read_kernel_or_user_string(
    a: &mut Asm,
    offset: u32,
    max: u32,
    source: impl Fn(&mut Asm),
) {
    let done = a.label();
    source(a);
    read_string(a, offset, max, helper::PROBE_READ_KERNEL_STR);
    a.jump_imm(Cond::Sge, R0, 0, done);
    source(a);
    read_string(a, offset, max, helper::PROBE_READ_USER_STR);
    a.bind(done);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_probe;

    /// The running kernel's BTF with hooks as the test says.
    pub(crate) struct Fake {
        pub fentry: bool,
        pub kprobes: bool,
        pub multi: bool,
        pub btf: Option<BtfView>,
    }

    impl Kernel for Fake {
        fn fentry(&self) -> bool {
            self.fentry
        }
        fn kprobes(&self) -> bool {
            self.kprobes
        }
        fn kprobe_multi(&self) -> bool {
            self.multi
        }
        fn traceable(&self, _: &str) -> Option<bool> {
            None
        }
        fn matching(&self, pattern: &str) -> Option<Vec<String>> {
            let mut found = Vec::new();
            self.btf
                .as_ref()?
                .for_each_named(
                    |k| k == bpfkit_btf::types::kind_no::FUNC,
                    |_, _, n| {
                        if crate::funccount::glob(pattern.as_bytes(), n.as_bytes()) {
                            found.push(n.to_string());
                        }
                    },
                )
                .ok()?;
            found.sort();
            found.dedup();
            Some(found)
        }
        fn btf(&self) -> Option<&BtfView> {
            self.btf.as_ref()
        }
    }

    pub(crate) fn kernel(fentry: bool, kprobes: bool) -> Option<Fake> {
        let btf = BtfView::vmlinux().ok();
        if btf.is_none() {
            eprintln!("skipped: no /sys/kernel/btf/vmlinux");
            return None;
        }
        Some(Fake {
            fentry,
            kprobes,
            multi: false,
            btf,
        })
    }

    fn ctx(text: &str, k: &Fake) -> Result<ProbeContext, SyntaxError> {
        context(&parse_probe(text).unwrap(), k)
    }

    #[test]
    fn neither_hook_is_one_clear_error() {
        let k = Fake {
            fentry: false,
            kprobes: false,
            multi: false,
            btf: None,
        };
        let e = ctx("p::vfs_read", &k).err().expect("an error");
        assert_eq!(e.message, NEITHER);
        let e = programs(&["vfs_*"], &k).unwrap_err();
        assert_eq!(e.message, NEITHER);
        assert_eq!(latency_sections("vfs_read", &k).unwrap_err(), NEITHER);
    }

    #[test]
    fn fentry_arguments_are_named_and_typed_from_btf() {
        let Some(k) = kernel(true, true) else { return };
        let c = ctx("p::vfs_read", &k).unwrap();
        assert_eq!(c.section, "fentry/vfs_read");
        let field = |name: &str| c.fields.iter().find(|f| f.name == name).cloned().unwrap();
        // ssize_t vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
        assert_eq!(field("file").offset, 0);
        assert_eq!(field("file").c_type, "struct file *");
        assert_eq!(field("count").offset, 16);
        assert_eq!(
            field("arg3"),
            Field {
                name: "arg3".into(),
                ..field("count")
            }
        );
        assert_eq!(
            field("count").kind,
            FieldKind::Int {
                width: 8,
                signed: false
            }
        );
        assert_eq!(field("buf").kind, FieldKind::CharPointer);
        // bcc's signature names are more names for the same arguments.
        let c = ctx(
            "p::vfs_read(struct file *f, char *b, size_t n) \"%d\", f->f_flags",
            &k,
        )
        .unwrap();
        let n = c.fields.iter().find(|f| f.name == "n").unwrap();
        assert_eq!((n.offset, &n.kind), (16, &field("count").kind));
        assert_eq!(c.walks[0].base, "f");
        let c = ctx("r::vfs_read", &k).unwrap();
        assert_eq!(c.section, "fexit/vfs_read");
        let retval = c.fields.iter().find(|f| f.name == "retval").unwrap();
        // After the four arguments; ssize_t is signed.
        assert_eq!(retval.offset, 32);
        assert_eq!(
            retval.kind,
            FieldKind::Int {
                width: 8,
                signed: true
            }
        );
    }

    #[test]
    fn kprobe_arguments_are_registers_typed_from_btf() {
        let Some(k) = kernel(false, true) else { return };
        let c = ctx("p::do_unlinkat", &k).unwrap();
        assert_eq!(c.section, "kprobe/do_unlinkat");
        // int do_unlinkat(int dfd, struct filename *name): rdi, rsi.
        let dfd = c.fields.iter().find(|f| f.name == "dfd").unwrap();
        assert_eq!(
            (dfd.offset, &dfd.kind),
            (
                112,
                &FieldKind::Int {
                    width: 4,
                    signed: true
                }
            )
        );
        let c = ctx("r::do_unlinkat", &k).unwrap();
        assert_eq!(c.section, "kretprobe/do_unlinkat");
        let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["retval"]);
        assert_eq!(c.fields[0].offset, PT_REGS_RAX);
    }

    #[test]
    fn struct_walks_take_offsets_from_btf() {
        let Some(k) = kernel(true, false) else { return };
        let c = ctx(
            "p::vfs_read (args->file->f_flags != 0) \"%s\", file->f_path.dentry->d_name.name",
            &k,
        )
        .unwrap();
        let flags = c
            .walks
            .iter()
            .find(|w| w.text == "args->file->f_flags")
            .unwrap();
        assert_eq!(flags.base, "file");
        assert!(flags.loads.is_empty());
        assert_eq!(flags.size, 4);
        let name = c.walks.iter().find(|w| w.text != flags.text).unwrap();
        assert_eq!(name.base, "file");
        // file->f_path.dentry is read, then dentry->d_name.name is a char *.
        assert_eq!(name.loads.len(), 1);
        assert_eq!(name.kind, FieldKind::CharPointer);
        let errors = [
            (
                "p::vfs_read \"%d\", args->file->nope",
                "has no member 'nope'",
            ),
            ("p::vfs_read \"%d\", args->count->x", "is not a pointer"),
            ("p::vfs_read \"%d\", file.f_flags", "is a pointer: use '->'"),
            ("p::vfs_read \"%d\", file->f_path", "struct or union"),
        ];
        for (text, message) in errors {
            let e = ctx(text, &k).err().expect("an error");
            assert!(e.message.contains(message), "{text}: {e:?}");
        }
    }

    /// The generated program of `probe` on `k`: its section and code.
    fn generated(probe: &str, k: Fake) -> (String, Vec<u8>) {
        let opts = crate::CodegenOptions {
            kernel: Some(std::sync::Arc::new(k)),
            ..Default::default()
        };
        let compiled = crate::build_trace(&[probe.to_string()], &opts, std::path::Path::new("/"))
            .unwrap_or_else(|e| panic!("{probe}: {e}"));
        let object = bpfkit_object::analyze(&compiled.elf).expect("the object analyzes");
        (object.programs[0].section.clone(), compiled.elf)
    }

    /// `r0 = *(u64 *)(ctx + off)`: BPF_LDX|BPF_MEM|BPF_DW, dst r0, src r6.
    fn ctx_load(off: u8) -> [u8; 8] {
        [0x79, 0x60, off, 0, 0, 0, 0, 0]
    }

    fn has(code: &[u8], insn: [u8; 8]) -> bool {
        code.windows(8).any(|w| w == insn)
    }

    #[test]
    fn generated_programs_read_arguments_where_each_hook_has_them() {
        let probe = "p::vfs_read \"%d %d\", count, file->f_flags";
        let Some(k) = kernel(true, true) else { return };
        let (section, code) = generated(probe, k);
        assert_eq!(section, "fentry/vfs_read");
        // count is the third u64 of the fentry context.
        assert!(has(&code, ctx_load(16)));
        // The walk reads f_flags with bpf_probe_read_kernel.
        assert!(has(
            &code,
            [0x85, 0, 0, 0, PROBE_READ_KERNEL as u8, 0, 0, 0]
        ));
        let Some(k) = kernel(false, true) else { return };
        let (section, code) = generated(probe, k);
        assert_eq!(section, "kprobe/vfs_read");
        // count is rdx in pt_regs (offset 96), file rdi (112).
        assert!(has(&code, ctx_load(96)));
        assert!(!has(&code, ctx_load(16)));
        let Some(k) = kernel(false, true) else { return };
        let (section, code) = generated("r::vfs_read \"%d\", retval", k);
        assert_eq!(section, "kretprobe/vfs_read");
        assert!(has(&code, ctx_load(PT_REGS_RAX as u8)));
    }

    /// The value a generated program gets for `walk` from the struct bytes
    /// `memory`: the bytes it reads, then its shifts.
    fn read_as_generated(memory: &[u8], walk: &Walk) -> i64 {
        let start = walk.last as usize;
        let mut raw = [0u8; 8];
        raw[..walk.size as usize].copy_from_slice(&memory[start..start + walk.size as usize]);
        let value = u64::from_le_bytes(raw);
        let (left, right) = walk.bitfield.expect("a bitfield").shifts();
        match walk.kind {
            FieldKind::Int { signed: true, .. } => ((value << left) as i64) >> right,
            _ => ((value << left) >> right) as i64,
        }
    }

    #[test]
    fn bitfields_at_odd_offsets_are_cut_out_and_sign_extended() {
        use bpfkit_btf::encode::BtfBuilder;
        use bpfkit_btf::{Composite, Int, Member};
        let mut b = BtfBuilder::new();
        let int = |b: &mut BtfBuilder, name: &str, size: u32, signed: bool| {
            let name_off = b.add_string(name);
            b.add_type(Type {
                name_off,
                kind: Kind::Int(Int {
                    size,
                    signed,
                    char: false,
                    bool: false,
                    offset: 0,
                    bits: (8 * size) as u8,
                }),
            })
        };
        let s32 = int(&mut b, "int", 4, true);
        let u32_ = int(&mut b, "unsigned int", 4, false);
        let s64 = int(&mut b, "long long", 8, true);
        // (name, type, bit offset, bits, value stored)
        let fields: [(&str, TypeId, u32, u32, i64); 5] = [
            ("a", s32, 0, 3, -3),
            ("b", u32_, 3, 5, 27),
            ("c", s32, 13, 7, -50),
            ("d", s64, 21, 40, -(1 << 38) + 5),
            ("e", u32_, 61, 9, 300),
        ];
        let members = fields
            .iter()
            .map(|(name, ty, offset, bits, _)| Member {
                name_off: b.add_string(name),
                ty: *ty,
                bit_offset: *offset,
                bitfield_size: *bits as u8,
            })
            .collect();
        let name_off = b.add_string("bits");
        let strukt = b.add_type(Type {
            name_off,
            kind: Kind::Struct(Composite {
                size: 16,
                kind_flag: true,
                members,
            }),
        });
        let pointer = b.add_type(Type {
            name_off: 0,
            kind: Kind::Ptr(strukt),
        });
        let btf = BtfView::new(bpfkit_btf::view::Bytes::Owned(b.encode())).unwrap();
        // The struct's bytes, each value packed at its bits.
        let mut packed = 0u128;
        for (_, _, offset, bits, value) in fields {
            packed |= (value as u128 & ((1u128 << bits) - 1)) << offset;
        }
        let memory = packed.to_le_bytes();
        let types = HashMap::from([("p".to_string(), pointer)]);
        for (name, _, offset, bits, value) in fields {
            let probe = parse_probe(&format!("p::f \"%d\", p->{name}")).unwrap();
            let walk = resolve_walk(&probe.args[0], Some(&btf), &types).unwrap();
            assert_eq!(
                walk.bitfield,
                Some(Bitfield {
                    shift: offset % 8,
                    bits
                }),
                "{name}"
            );
            assert_eq!(walk.last, offset / 8, "{name}");
            assert_eq!(read_as_generated(&memory, &walk), value, "{name}: {walk:?}");
        }
        // 40 bits from bit 5 of byte 2: all 8 bytes; 7 from bit 5: two.
        let sizes: Vec<u32> = (["c", "d"].iter())
            .map(|n| {
                let probe = parse_probe(&format!("p::f \"%d\", p->{n}")).unwrap();
                resolve_walk(&probe.args[0], Some(&btf), &types)
                    .unwrap()
                    .size
            })
            .collect();
        assert_eq!(sizes, [2, 8]);
        assert!(Bitfield::locate(7, 64).is_err(), "over more than 8 bytes");
    }

    #[test]
    fn task_walks_are_typed_from_kernel_btf_in_any_probe() {
        let Some(k) = kernel(false, false) else {
            return;
        };
        let probe = parse_probe(
            "t:a:b ($task->real_parent->tgid == 1) \"%s %d %d\", $task->comm, \
             $task->sched_reset_on_fork, $task",
        )
        .unwrap();
        let walks = task_walks(&probe, Some(&k)).unwrap();
        let walk = |text: &str| walks.iter().find(|w| w.text == text).unwrap();
        let parent = walk("$task->real_parent->tgid");
        assert_eq!((parent.base.as_str(), parent.loads.len()), (TASK, 1));
        assert_eq!(walk("$task->comm").kind, FieldKind::CharArray { len: 16 });
        let reset = walk("$task->sched_reset_on_fork");
        assert_eq!(reset.bitfield.map(|b| b.bits), Some(1), "{reset:?}");
        assert_eq!(reset.size, 1);
        // Only $task's: a tracepoint field's members are the compiler's error.
        let probe = parse_probe("t:a:b \"%d\", args->x->y").unwrap();
        assert!(task_walks(&probe, Some(&k)).unwrap().is_empty());
    }

    #[test]
    fn task_errors_are_one_line_with_near_names() {
        let Some(k) = kernel(false, false) else {
            return;
        };
        let walks = |text: &str, k: Option<&dyn Kernel>| {
            task_walks(&parse_probe(text).unwrap(), k).expect_err("an error")
        };
        let e = walks("t:a:b \"%d\", $task->tgidd", Some(&k));
        assert_eq!(e.column, 13);
        assert!(e.message.contains("'$task' has no member 'tgidd'"), "{e:?}");
        assert!(e.message.contains("near: tgid"), "{e:?}");
        let e = walks("t:a:b \"%d\", $task.pid", Some(&k));
        assert!(
            e.message.contains("'$task' is a pointer: use '->'"),
            "{e:?}"
        );
        let e = walks("t:a:b \"%d\", $task->comm->x", Some(&k));
        assert!(e.message.contains("is not a pointer"), "{e:?}");
        let no_btf = Fake {
            fentry: false,
            kprobes: false,
            multi: false,
            btf: None,
        };
        for kernel in [Some(&no_btf as &dyn Kernel), None] {
            let e = walks("t:a:b ($task->pid == 1)", kernel);
            assert_eq!(e.column, 0, "one line, no caret: {e:?}");
            assert!(e.message.contains("$task needs the running kernel's BTF"));
        }
    }

    #[test]
    fn many_targets_use_one_multi_program_or_one_each() {
        let Some(mut k) = kernel(false, true) else {
            return;
        };
        k.multi = true;
        let p = programs(&["vfs_rea?"], &k).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].section, "kprobe.multi/vfs_rea?");
        assert!(p[0].cookies);
        assert!(p[0].names.contains(&"vfs_read".to_string()));
        k.multi = false;
        let p = programs(&["vfs_rea?"], &k).unwrap();
        assert!(p.iter().all(|p| !p.cookies && p.names.len() == 1));
        assert!(p.iter().any(|p| p.section == "kprobe/vfs_read"));
        k.kprobes = false;
        k.fentry = true;
        let p = programs(&["vfs_read"], &k).unwrap();
        assert_eq!(p[0].section, "fentry/vfs_read");
        assert!(programs(&["no_such_function_*"], &k).is_err());
        let e = programs(&["*"], &k).unwrap_err();
        assert!(e.message.contains("narrow the pattern"), "{e}");
    }
}
