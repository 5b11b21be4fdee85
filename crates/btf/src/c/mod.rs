//! C header generation from BTF: the `vmlinux.h` that
//! `bpftool btf dump file /sys/kernel/btf/vmlinux format c` writes.
//!
//! The algorithm follows libbpf's `btf_dump.c` so that the output diffs
//! cleanly against bpftool's: types are topologically ordered so that every
//! type embedded by value is defined before its user, types reachable only
//! through pointers get forward declarations, anonymous types are inlined,
//! and struct layouts are reproduced exactly with `packed` and explicit
//! padding bitfields. Names used by several different types get a `___N`
//! suffix. For the running kernel the output matches bpftool's line for
//! line (apart from bpftool-version details such as `mode(byte)` enums).
//!
//! Where libbpf's output would not reproduce the BTF layout, this module
//! goes further: a bitfield that follows a plain member gets explicit
//! padding when the compiler would otherwise pack it early; structs with
//! bitfields straddling their storage unit, and unions whose size is not a
//! multiple of their alignment, are `packed`; unions larger than their
//! members get `__attribute__((aligned(N)))`. Split BTF is dumped together
//! with its base, like bpftool does. Inputs that C cannot express (pointer
//! loops through anonymous types or prototypes, absurd nesting) give a
//! [`CDumpError`], never a panic or unbounded recursion.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bpfkit_btf::{Btf, c};
//! let btf = Btf::vmlinux()?;
//! let mut out = std::io::stdout().lock();
//! c::dump_c(&btf, &c::CDumpOptions::default(), &mut out)?;
//! // Only `struct task_struct` and what it needs:
//! let roots = c::find_roots(&btf, &["task_struct"])?;
//! c::dump_c(&btf, &c::CDumpOptions::for_roots(roots), &mut out)?;
//! # Ok(()) }
//! ```

mod decl;
mod names;
mod order;
mod out;

use crate::{Btf, Kind, Type, TypeId};
use names::Names;
use out::Out;
use std::io::Write;

/// What [`dump_c`] writes.
#[derive(Debug, Clone)]
pub struct CDumpOptions {
    /// Dump only these types and everything they depend on; `None` dumps
    /// every type.
    pub roots: Option<Vec<TypeId>>,
    /// Wrap the output in `#ifndef __VMLINUX_H__` with the
    /// `preserve_access_index` pragma and the `__ksym`/`__weak` helpers,
    /// like bpftool.
    pub header_guard: bool,
    /// Append `extern` prototypes of the kernel's kfuncs (functions with a
    /// `bpf_kfunc` decl tag), like bpftool 7.5+. Only for full dumps with
    /// `header_guard`, which defines the `__ksym`/`__weak` they use.
    pub kfuncs: bool,
}

impl Default for CDumpOptions {
    fn default() -> Self {
        CDumpOptions {
            roots: None,
            header_guard: true,
            kfuncs: true,
        }
    }
}

impl CDumpOptions {
    /// A complete header holding just `roots` and their dependencies.
    pub fn for_roots(roots: Vec<TypeId>) -> Self {
        CDumpOptions {
            roots: Some(roots),
            ..CDumpOptions::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CDumpError {
    #[error("writing C header: {0}")]
    Io(#[from] std::io::Error),
    #[error("BTF type id {0} does not exist")]
    NoSuchType(TypeId),
    #[error("no struct, union, enum or typedef named '{0}' in BTF")]
    NoSuchName(String),
    #[error("type [{0}] cannot be written as C: {1}")]
    Unrepresentable(TypeId, &'static str),
    #[error("type [{0}] nests too deeply to be written as C")]
    TooDeep(TypeId),
}

pub type Result<T, E = CDumpError> = std::result::Result<T, E>;

/// Writes BTF as a compilable C header.
pub fn dump_c(btf: &Btf, opts: &CDumpOptions, out: &mut dyn Write) -> Result<()> {
    let mut d = Dumper::new(btf);
    if opts.header_guard {
        d.out.s(HEADER_START);
    }
    match &opts.roots {
        Some(roots) => {
            for &id in roots {
                if id >= btf.next_id() {
                    return Err(CDumpError::NoSuchType(id));
                }
                d.dump_type(id)?;
                d.out.maybe_flush(out)?;
            }
        }
        None => {
            for id in 1..btf.next_id() {
                d.dump_type(id)?;
                d.out.maybe_flush(out)?;
            }
            if opts.kfuncs && opts.header_guard {
                d.dump_kfuncs()?;
            }
        }
    }
    if opts.header_guard {
        d.out.s(HEADER_END);
    }
    d.out.flush(out)?;
    out.flush()?;
    Ok(())
}

/// The C declaration of a value of type `id` named `name` (`name` may be
/// empty), e.g. `struct task_struct *p` or `int (*cb)(void *)`. Anonymous
/// types are written out inline; names carry no `___N` suffixes. Each call
/// sets up per-type state (a few ms for vmlinux), so it suits messages and
/// one-off declarations rather than loops over every type.
pub fn type_decl(btf: &Btf, id: TypeId, name: &str) -> Result<String> {
    if id >= btf.next_id() {
        return Err(CDumpError::NoSuchType(id));
    }
    let mut d = Dumper::new(btf);
    d.emit_type_decl(id, name, 0)?;
    Ok(String::from_utf8_lossy(&d.out.buf).into_owned())
}

/// Type ids for `--type NAME` arguments: `task_struct`, `struct sk_buff`,
/// `union bpf_attr`, `enum bpf_map_type` or a typedef name such as `u64`.
/// A bare name matches every struct, union, enum and typedef so named.
pub fn find_roots(btf: &Btf, names: &[impl AsRef<str>]) -> Result<Vec<TypeId>> {
    let mut roots = Vec::new();
    for spec in names {
        let spec = spec.as_ref().trim();
        let (want, name): (fn(&Kind) -> bool, &str) = match spec.split_once(' ') {
            Some(("struct", n)) => (|k| matches!(k, Kind::Struct(_)), n.trim()),
            Some(("union", n)) => (|k| matches!(k, Kind::Union(_)), n.trim()),
            Some(("enum", n)) => (|k| matches!(k, Kind::Enum(_)), n.trim()),
            _ => (
                |k| {
                    matches!(
                        k,
                        Kind::Struct(_) | Kind::Union(_) | Kind::Enum(_) | Kind::Typedef(_)
                    )
                },
                spec,
            ),
        };
        let before = roots.len();
        roots.extend(
            btf.ids_by_name(name)
                .iter()
                .copied()
                .filter(|&id| btf.get(id).is_some_and(|t| want(&t.kind))),
        );
        if roots.len() == before {
            return Err(CDumpError::NoSuchName(spec.to_string()));
        }
    }
    Ok(roots)
}

/// Every type reachable from `roots` through any reference (pointers
/// included), sorted by id. Id 0 (`void`) is never included.
pub fn type_closure(btf: &Btf, roots: &[TypeId]) -> Vec<TypeId> {
    let next = btf.next_id();
    let mut seen = vec![false; next as usize];
    let mut stack: Vec<TypeId> = roots.iter().copied().filter(|&r| r < next).collect();
    let mut found = Vec::new();
    while let Some(id) = stack.pop() {
        if id == 0 || std::mem::replace(&mut seen[id as usize], true) {
            continue;
        }
        found.push(id);
        if let Some(t) = btf.get(id) {
            stack.extend(t.kind.type_refs().into_iter().filter(|&r| r < next));
        }
    }
    found.sort_unstable();
    found
}

const HEADER_START: &str = "#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

#ifndef __ksym
#define __ksym __attribute__((section(\".ksyms\")))
#endif

#ifndef __weak
#define __weak __attribute__((weak))
#endif

#ifndef __bpf_fastcall
#if __has_attribute(bpf_fastcall)
#define __bpf_fastcall __attribute__((bpf_fastcall))
#else
#define __bpf_fastcall
#endif
#endif

";

const HEADER_END: &str = "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
";

/// Deeper recursion than this (type graph, declarator nesting) is taken as
/// hostile input rather than risking the stack.
const MAX_DEPTH: u32 = 256;

/// Per-type progress through ordering and emission.
#[derive(Clone, Copy, Default)]
struct TypeState {
    order: Progress,
    emit: Progress,
    /// A forward declaration (or, for typedefs, the typedef itself) is out.
    fwd_emitted: bool,
    /// Some other type refers to this one (tells top-level anonymous enums,
    /// which must be emitted on their own, from inline ones).
    referenced: bool,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Progress {
    #[default]
    Not,
    Doing,
    Done,
}

static VOID: Type = Type {
    name_off: 0,
    kind: Kind::Void,
};

/// The state of one dump: per-type flags in flat vectors indexed by id.
struct Dumper<'a> {
    btf: &'a Btf,
    out: Out,
    state: Vec<TypeState>,
    names: Names<'a>,
    /// Memoized `align_of`, `ALIGN_UNKNOWN` until computed.
    align: Vec<u32>,
    /// Shared stack of declarator chains (see `emit_type_decl`).
    decl_stack: Vec<TypeId>,
    /// Definitions to emit for the type being dumped, in order.
    queue: Vec<TypeId>,
    ptr_size: u32,
    depth: u32,
    /// Reused for typedef names (see `emit_typedef_def`).
    scratch: String,
}

impl<'a> Dumper<'a> {
    fn new(btf: &'a Btf) -> Self {
        let n = btf.next_id() as usize;
        let mut d = Dumper {
            btf,
            out: Out::default(),
            state: vec![TypeState::default(); n],
            names: Names::new(n),
            align: vec![decl::ALIGN_UNKNOWN; n],
            decl_stack: Vec::with_capacity(64),
            queue: Vec::with_capacity(64),
            ptr_size: pointer_size(btf),
            depth: 0,
            scratch: String::new(),
        };
        d.state[0].order = Progress::Done;
        d.state[0].emit = Progress::Done;
        d.mark_referenced();
        d
    }

    /// The type with this id; `void` for ids that do not exist (validated
    /// BTF never produces those).
    fn ty(&self, id: TypeId) -> &'a Type {
        self.btf.get(id).unwrap_or(&VOID)
    }

    fn st(&mut self, id: TypeId) -> &mut TypeState {
        &mut self.state[id as usize]
    }

    fn name(&self, off: u32) -> &'a str {
        self.btf.str_at(off)
    }

    /// Counts one level of recursion into `id`, failing past `MAX_DEPTH`.
    fn enter(&mut self, id: TypeId) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(CDumpError::TooDeep(id));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn mark_referenced(&mut self) {
        let btf = self.btf;
        for id in 1..btf.next_id() {
            let Some(t) = btf.get(id) else { continue };
            let mut mark = |r: TypeId| {
                if let Some(s) = self.state.get_mut(r as usize) {
                    s.referenced = true;
                }
            };
            match &t.kind {
                Kind::Array(a) => {
                    mark(a.elem);
                    mark(a.index);
                }
                Kind::Struct(c) | Kind::Union(c) => c.members.iter().for_each(|m| mark(m.ty)),
                // libbpf does not count a prototype's return type; keep the
                // same rule so the same anonymous enums come out top-level.
                Kind::FuncProto(p) => p.params.iter().for_each(|p| mark(p.ty)),
                Kind::Datasec(s) => s.vars.iter().for_each(|v| mark(v.ty)),
                other => {
                    if let Some(r) = other.referenced() {
                        mark(r);
                    }
                }
            }
        }
    }
}

/// The target's pointer size, guessed from `long` like libbpf does.
fn pointer_size(btf: &Btf) -> u32 {
    const LONGS: [&str; 5] = [
        "long",
        "long int",
        "long unsigned int",
        "unsigned long",
        "unsigned long int",
    ];
    for id in 1..btf.next_id() {
        if let Some(Type {
            name_off,
            kind: Kind::Int(i),
        }) = btf.get(id)
            && matches!(i.size, 4 | 8)
            && LONGS.contains(&btf.str_at(*name_off))
        {
            return i.size;
        }
    }
    8
}
