//! Which definitions to emit, in which order (libbpf's
//! `btf_dump_order_type` / `btf_dump_emit_type`).
//!
//! Ordering is a DFS over the type graph that tells *strong* links (the
//! target must be fully defined first: embedded by value, or an anonymous
//! type that gets inlined) from *weak* ones (a named type reached through a
//! pointer, for which a forward declaration is enough). Emission then walks
//! the queue and writes forward declarations wherever a type is needed
//! before its definition is out.

use super::{CDumpError, Dumper, Progress, Result};
use crate::{Kind, TypeId};

/// Name of the compiler built-in that must never be redefined.
const BUILTIN_VA_LIST: &str = "__builtin_va_list";

impl Dumper<'_> {
    /// Emits `id` and every definition it needs that is not out yet.
    pub(super) fn dump_type(&mut self, id: TypeId) -> Result<()> {
        self.queue.clear();
        self.order(id, false)?;
        let queue = std::mem::take(&mut self.queue);
        let result = queue.iter().try_for_each(|&q| self.emit(q, 0));
        self.queue = queue;
        result
    }

    /// Returns whether `id` is part of a strong link.
    fn order(&mut self, id: TypeId, through_ptr: bool) -> Result<bool> {
        self.enter(id)?;
        let result = self.order_inner(id, through_ptr);
        self.leave();
        result
    }

    fn order_inner(&mut self, id: TypeId, through_ptr: bool) -> Result<bool> {
        let state = self.st(id).order;
        if state == Progress::Done {
            return Ok(true);
        }
        let t = self.ty(id);
        let named = t.name_off != 0;
        if state == Progress::Doing {
            // A loop is fine only through a pointer to a named struct or
            // union, which a forward declaration resolves.
            if matches!(t.kind, Kind::Struct(_) | Kind::Union(_)) && through_ptr && named {
                return Ok(false);
            }
            return Err(CDumpError::Unrepresentable(id, "unsatisfiable type cycle"));
        }
        match &t.kind {
            Kind::Int(_) | Kind::Float { .. } => {
                self.st(id).order = Progress::Done;
                Ok(false)
            }
            Kind::Ptr(target) => {
                let strong = self.order(*target, true)?;
                self.st(id).order = Progress::Done;
                Ok(strong)
            }
            Kind::Array(a) => self.order(a.elem, false),
            Kind::Struct(c) | Kind::Union(c) => {
                if through_ptr && named {
                    return Ok(false);
                }
                self.st(id).order = Progress::Doing;
                for m in &c.members {
                    self.order(m.ty, false)?;
                }
                if named {
                    self.queue.push(id);
                }
                self.st(id).order = Progress::Done;
                Ok(true)
            }
            Kind::Enum(_) | Kind::Fwd { .. } => {
                // Named or unreferenced (top-level constant) enums are
                // definitions of their own; forward declarations likewise.
                if named || !self.st(id).referenced {
                    self.queue.push(id);
                }
                self.st(id).order = Progress::Done;
                Ok(true)
            }
            Kind::Typedef(target) => {
                let strong = self.order(*target, through_ptr)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.st(id).order = Progress::Done;
                Ok(true)
            }
            Kind::Volatile(target)
            | Kind::Const(target)
            | Kind::Restrict(target)
            | Kind::TypeTag(target) => self.order(*target, through_ptr),
            Kind::FuncProto(p) => {
                let mut strong = self.order(p.ret, through_ptr)?;
                for param in &p.params {
                    strong |= self.order(param.ty, through_ptr)?;
                }
                Ok(strong)
            }
            Kind::Func { .. } | Kind::Var { .. } | Kind::Datasec(_) | Kind::DeclTag { .. } => {
                self.st(id).order = Progress::Done;
                Ok(false)
            }
            Kind::Void => Ok(false),
        }
    }

    /// Emits the definition of `id` (when `cont_id` is 0) or what a
    /// definition of `cont_id` needs from `id` (forward declarations).
    fn emit(&mut self, id: TypeId, cont_id: TypeId) -> Result<()> {
        self.enter(id)?;
        let result = self.emit_inner(id, cont_id);
        self.leave();
        result
    }

    fn emit_inner(&mut self, id: TypeId, cont_id: TypeId) -> Result<()> {
        let state = *self.st(id);
        if state.emit == Progress::Done {
            return Ok(());
        }
        let t = self.ty(id);
        let top_level = cont_id == 0;
        let named = t.name_off != 0;
        if state.emit == Progress::Doing {
            return self.emit_needed_early(id, cont_id);
        }
        match &t.kind {
            Kind::Int(_) => {
                self.emit_missing_alias(id);
                self.st(id).emit = Progress::Done;
            }
            Kind::Enum(e) => {
                if top_level {
                    self.emit_enum_def(id, e, 0)?;
                    self.out.s(";\n\n");
                }
                self.st(id).emit = Progress::Done;
            }
            Kind::Ptr(target)
            | Kind::Volatile(target)
            | Kind::Const(target)
            | Kind::Restrict(target)
            | Kind::TypeTag(target) => self.emit(*target, cont_id)?,
            Kind::Array(a) => self.emit(a.elem, cont_id)?,
            Kind::Fwd { is_union } => {
                self.emit_fwd_def(id, *is_union);
                self.out.s(";\n\n");
                self.st(id).emit = Progress::Done;
            }
            Kind::Typedef(target) => {
                self.st(id).emit = Progress::Doing;
                self.emit(*target, id)?;
                // Someone may have needed the typedef (through a pointer)
                // while its target was being emitted; then it is out already.
                if !self.st(id).fwd_emitted && !self.is_builtin(id) {
                    self.emit_typedef_def(id, *target, 0)?;
                    self.out.s(";\n\n");
                }
                self.st(id).emit = Progress::Done;
            }
            Kind::Struct(c) | Kind::Union(c) => {
                let is_struct = matches!(t.kind, Kind::Struct(_));
                self.st(id).emit = Progress::Doing;
                // A definition (top-level, or inline because anonymous)
                // writes out every member, so their types need forward
                // declarations first.
                if top_level || !named {
                    let inner_cont = if named { id } else { cont_id };
                    for m in &c.members {
                        self.emit(m.ty, inner_cont)?;
                    }
                } else if !state.fwd_emitted && id != cont_id {
                    self.emit_struct_fwd(id, !is_struct);
                    self.out.s(";\n\n");
                    self.st(id).fwd_emitted = true;
                }
                if top_level {
                    self.emit_struct_def(id, c, is_struct, 0)?;
                    self.out.s(";\n\n");
                    self.st(id).emit = Progress::Done;
                } else {
                    self.st(id).emit = Progress::Not;
                }
            }
            Kind::FuncProto(p) => {
                self.emit(p.ret, cont_id)?;
                for param in &p.params {
                    self.emit(param.ty, cont_id)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `id` is needed while its own definition is being emitted: the best
    /// we can do is a forward declaration.
    fn emit_needed_early(&mut self, id: TypeId, cont_id: TypeId) -> Result<()> {
        if self.st(id).fwd_emitted {
            return Ok(());
        }
        let t = self.ty(id);
        match &t.kind {
            Kind::Struct(_) | Kind::Union(_) => {
                // A struct referring to itself needs no declaration.
                if id == cont_id {
                    return Ok(());
                }
                if t.name_off == 0 {
                    return Err(CDumpError::Unrepresentable(
                        id,
                        "anonymous struct/union loop",
                    ));
                }
                self.emit_struct_fwd(id, matches!(t.kind, Kind::Union(_)));
                self.out.s(";\n\n");
                self.st(id).fwd_emitted = true;
            }
            Kind::Typedef(target) => {
                // The typedef itself serves as the declaration; it is only
                // good for pointers, but ordering made sure of that.
                if !self.is_builtin(id) {
                    self.emit_typedef_def(id, *target, 0)?;
                    self.out.s(";\n\n");
                }
                self.st(id).fwd_emitted = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// True for typedefs of compiler built-ins that must not be redefined.
    fn is_builtin(&self, id: TypeId) -> bool {
        let t = self.ty(id);
        t.name_off != 0 && self.name(t.name_off) == BUILTIN_VA_LIST
    }

    /// Kernel BTF built by GCC can name ARM SIMD types that clang lacks.
    fn emit_missing_alias(&mut self, id: TypeId) {
        const MISSING: [(&str, &str); 4] = [
            ("__Poly8_t", "unsigned char"),
            ("__Poly16_t", "unsigned short"),
            ("__Poly64_t", "unsigned long long"),
            ("__Poly128_t", "unsigned __int128"),
        ];
        let name = self.name(self.ty(id).name_off);
        if let Some((_, base)) = MISSING.iter().find(|(n, _)| *n == name) {
            self.out.s("typedef ");
            self.out.s(base);
            self.out.s(" ");
            self.out.s(name);
            self.out.s(";\n\n");
        }
    }

    /// `extern` prototypes for kfuncs, sorted by name (bpftool's
    /// `dump_btf_kfuncs`).
    pub(super) fn dump_kfuncs(&mut self) -> Result<()> {
        let btf = self.btf;
        let mut kfuncs: Vec<(&str, TypeId)> = Vec::new();
        let mut fastcalls: Vec<TypeId> = Vec::new();
        for id in 1..btf.next_id() {
            let t = self.ty(id);
            let Kind::DeclTag {
                ty,
                component_idx: -1,
            } = t.kind
            else {
                continue;
            };
            let f = self.ty(ty);
            if !matches!(f.kind, Kind::Func { .. }) {
                continue;
            }
            match self.name(t.name_off) {
                "bpf_kfunc" => kfuncs.push((self.name(f.name_off), ty)),
                "bpf_fastcall" => fastcalls.push(ty),
                _ => {}
            }
        }
        kfuncs.sort_unstable();
        kfuncs.dedup();
        self.out
            .s("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n");
        for (name, func) in kfuncs {
            let Kind::Func { proto, .. } = self.ty(func).kind else {
                continue;
            };
            self.out.s("extern ");
            if fastcalls.contains(&func) {
                self.out.s("__bpf_fastcall ");
            }
            self.emit_type_decl(proto, name, 0)?;
            self.out.s(" __weak __ksym;\n");
        }
        self.out.s("#endif\n\n");
        Ok(())
    }
}
