//! Writing C syntax: struct/union/enum/typedef definitions, declarators
//! (libbpf's `btf_dump_emit_type_decl` / `_type_chain`) and the padding
//! that makes every member offset exact.

use super::names::Namespace;
use super::{CDumpError, Dumper, Result};
use crate::{Composite, Enum, Kind, TypeId};

pub(super) const ALIGN_UNKNOWN: u32 = u32::MAX;

/// The largest `aligned(N)` given to an over-sized union (a page); larger
/// sizes are hostile input, and the bound keeps `8 * align` in range.
const MAX_UNION_ALIGN: u32 = 1 << 12;

/// A declarator chain longer than this can only come from a pointer loop
/// through function prototypes (`typedef T (*T)(void)`), not from C.
const MAX_CHAIN: usize = 64;

/// Padding gaps wider than this many bits are filled with one byte array
/// instead of a line per `long`, so a hostile struct size cannot blow up
/// the output.
const MAX_BITFIELD_PADDING: i64 = 1 << 16;

impl<'a> Dumper<'a> {
    /// Writes the (possibly `___N`-suffixed) C name of type `id`.
    fn put_name(&mut self, id: TypeId, ns: Namespace) {
        let t = self.ty(id);
        if t.name_off == 0 {
            return;
        }
        let name = self.name(t.name_off);
        // Forward declarations and empty (32-bit, as in libbpf) enums may
        // legally repeat.
        let counted = match &t.kind {
            Kind::Fwd { .. } => false,
            Kind::Enum(e) => e.is_64 || !e.values.is_empty(),
            _ => true,
        };
        let n = self.names.resolve(id as usize, name, ns, counted);
        self.out.s(name);
        if n > 1 {
            self.out.s("___");
            self.out.u64(n as u64);
        }
    }

    pub(super) fn emit_struct_fwd(&mut self, id: TypeId, is_union: bool) {
        self.out.s(if is_union { "union" } else { "struct" });
        if self.ty(id).name_off != 0 {
            self.out.s(" ");
        }
        self.put_name(id, Namespace::Tag);
    }

    pub(super) fn emit_fwd_def(&mut self, id: TypeId, is_union: bool) {
        self.out.s(if is_union { "union " } else { "struct " });
        self.put_name(id, Namespace::Tag);
    }

    pub(super) fn emit_typedef_def(
        &mut self,
        id: TypeId,
        target: TypeId,
        lvl: usize,
    ) -> Result<()> {
        let name = self.name(self.ty(id).name_off);
        // Old GCCs describe __gnuc_va_list as a typedef of void.
        if target == 0 && name == "__gnuc_va_list" {
            self.out.s("typedef __builtin_va_list __gnuc_va_list");
            return Ok(());
        }
        self.out.s("typedef ");
        // The suffixed name is the declarator: render it into the output,
        // then move it to a reused buffer so no typedef allocates.
        let start = self.out.buf.len();
        self.put_name(id, Namespace::Ident);
        let mut declarator = std::mem::take(&mut self.scratch);
        declarator.clear();
        declarator.push_str(&String::from_utf8_lossy(&self.out.buf[start..]));
        self.out.buf.truncate(start);
        let result = self.emit_type_decl(target, &declarator, lvl);
        self.scratch = declarator;
        result
    }

    pub(super) fn emit_struct_def(
        &mut self,
        id: TypeId,
        c: &'a Composite,
        is_struct: bool,
        lvl: usize,
    ) -> Result<()> {
        self.enter(id)?;
        let result = self.emit_struct_body(id, c, is_struct, lvl);
        self.leave();
        result
    }

    fn emit_struct_body(
        &mut self,
        id: TypeId,
        c: &'a Composite,
        is_struct: bool,
        lvl: usize,
    ) -> Result<()> {
        let align = self.align_of(id)? as i64;
        // libbpf never packs unions, but one whose size is not a multiple
        // of its members' alignment needs it as much as a struct does.
        let packed = self.is_packed(c)?;
        self.emit_struct_fwd(id, !is_struct);
        self.out.s(" {");
        let mut off: i64 = 0;
        let mut prev_bitfield = false;
        for m in &c.members {
            let bits = if c.kind_flag {
                m.bitfield_size as i64
            } else {
                0
            };
            let m_off = m.bit_offset as i64;
            let m_align = if packed {
                1
            } else {
                self.align_of(m.ty)? as i64
            };
            // libbpf only forces bitfield padding after another bitfield;
            // a bitfield after a plain member is not aligned by the
            // compiler either, so force it whenever it would land early.
            let in_bitfield = bits != 0
                && (prev_bitfield || self.bitfield_lands_at(off, bits, m.ty, packed) != m_off);
            self.emit_padding(off, m_off, m_align, in_bitfield, lvl + 1);
            self.out.line(lvl + 1);
            self.emit_type_decl(m.ty, self.name(m.name_off), lvl + 1)?;
            if bits != 0 {
                self.out.s(": ");
                self.out.i64(bits);
                off = m_off + bits;
                prev_bitfield = true;
            } else {
                off = m_off + self.bits_of(m.ty);
                prev_bitfield = false;
            }
            self.out.s(";");
        }
        if is_struct {
            self.emit_padding(off, c.size as i64 * 8, align, false, lvl + 1);
        }
        // `struct empty {}` stays on one line.
        if !c.members.is_empty() || c.size != 0 {
            self.out.line(lvl);
        }
        self.out.s("}");
        if packed {
            self.out.s(" __attribute__((packed))");
        } else if !is_struct && let Some(n) = self.union_overalignment(c)? {
            self.out.s(" __attribute__((aligned(");
            self.out.u64(n as u64);
            self.out.s(")))");
        }
        Ok(())
    }

    /// A union cannot be padded with members (they all start at 0), so one
    /// larger than its biggest member (`__aligned` in the kernel source)
    /// gets the alignment that rounds it up to its BTF size. Libbpf leaves
    /// such unions too small.
    fn union_overalignment(&mut self, c: &Composite) -> Result<Option<u32>> {
        let mut natural_align = 1;
        let mut max_bytes = 0u64;
        for m in &c.members {
            natural_align = natural_align.max(self.align_of(m.ty)?);
            let bytes = if c.kind_flag && m.bitfield_size != 0 {
                (m.bit_offset as u64 + m.bitfield_size as u64).div_ceil(8)
            } else {
                (self.btf.size_of(m.ty).unwrap_or(0)).saturating_add(m.bit_offset as u64 / 8)
            };
            max_bytes = max_bytes.max(bytes);
        }
        let size = c.size as u64;
        let rounds_to = |n: u32| max_bytes.checked_next_multiple_of(n as u64);
        if c.members.is_empty() || rounds_to(natural_align).is_none_or(|s| s >= size) {
            return Ok(None);
        }
        let mut n = natural_align.next_power_of_two();
        while n <= MAX_UNION_ALIGN {
            if rounds_to(n) == Some(size) {
                return Ok(Some(n));
            }
            n *= 2;
        }
        Ok(None)
    }

    /// Size of type `id` in bits, 0 when it has none, capped so that
    /// hostile sizes cannot overflow offset arithmetic.
    fn bits_of(&self, id: TypeId) -> i64 {
        let bytes = self.btf.size_of(id).unwrap_or(0);
        i64::try_from(bytes)
            .unwrap_or(i64::MAX)
            .saturating_mul(8)
            .min(1 << 40)
    }

    /// Where the compiler puts a `bits`-wide bitfield of type `ty` that
    /// follows bit `cur`: right there, unless it would straddle a storage
    /// unit of its type (never in packed structs).
    fn bitfield_lands_at(&self, cur: i64, bits: i64, ty: TypeId, packed: bool) -> i64 {
        let unit = self.bits_of(ty);
        if packed || unit == 0 || cur / unit == (cur + bits - 1) / unit {
            cur
        } else {
            round_up(cur, unit)
        }
    }

    /// Fills the bits from `cur` to `next` with unnamed bitfields so that
    /// the next member (aligned to `next_align` bytes) lands at `next`.
    /// Unnamed bitfields do not change a struct's alignment, so the widest
    /// type that reaches an aligned boundary can be used freely.
    fn emit_padding(
        &mut self,
        mut cur: i64,
        next: i64,
        next_align: i64,
        in_bitfield: bool,
        lvl: usize,
    ) {
        if cur >= next {
            return;
        }
        let pads: [(&str, i64); 4] = [
            ("long", self.ptr_size as i64 * 8),
            ("int", 32),
            ("short", 16),
            ("char", 8),
        ];
        let (mut pad_type, mut pad_bits, mut new_off) = ("char", 8, 0);
        for (name, bits) in pads {
            (pad_type, pad_bits, new_off) = (name, bits, round_up(cur, bits));
            if new_off <= next {
                break;
            }
        }
        if new_off > cur && new_off <= next {
            // An explicit `<type>: 0` forces the boundary when the next
            // member's own alignment would not, or when the following
            // `<type>: N` would otherwise fit in the hole and be ignored.
            if in_bitfield
                || (new_off == next && round_up(cur, next_align.max(1) * 8) != new_off)
                || (new_off != next && next - new_off <= new_off - cur)
            {
                self.pad_line(lvl, pad_type, if in_bitfield { new_off - cur } else { 0 });
            }
            cur = new_off;
        }
        if next - cur > MAX_BITFIELD_PADDING && cur % 8 == 0 {
            let bytes = (next - cur) / 8;
            self.out.line(lvl);
            self.out.s("unsigned char __pad_");
            self.out.i64(cur / 8);
            self.out.s("[");
            self.out.i64(bytes);
            self.out.s("];");
            cur += bytes * 8;
        }
        while cur < next {
            let bits = (next - cur).min(pad_bits);
            if bits == pad_bits {
                self.pad_line(lvl, pad_type, pad_bits);
                cur += bits;
                continue;
            }
            // The remainder gets the smallest type that holds it.
            let Some(&(name, _)) = pads.iter().rev().find(|(_, b)| *b >= bits) else {
                break;
            };
            self.pad_line(lvl, name, bits);
            cur += bits;
        }
    }

    fn pad_line(&mut self, lvl: usize, ty: &str, bits: i64) {
        self.out.line(lvl);
        self.out.s(ty);
        self.out.s(": ");
        self.out.i64(bits);
        self.out.s(";");
    }

    pub(super) fn emit_enum_def(&mut self, id: TypeId, e: &'a Enum, lvl: usize) -> Result<()> {
        self.out.s("enum");
        if self.ty(id).name_off != 0 {
            self.out.s(" ");
        }
        self.put_name(id, Namespace::Tag);
        if e.values.is_empty() {
            return Ok(());
        }
        self.out.s(" {");
        for v in &e.values {
            let name = self.name(v.name_off);
            let n = self.names.enumerator(name);
            self.out.line(lvl + 1);
            self.out.s(name);
            if n > 1 {
                self.out.s("___");
                self.out.u64(n as u64);
            }
            self.out.s(" = ");
            match (e.is_64, e.signed) {
                (false, true) => self.out.i64(v.value as i64 as i32 as i64),
                (false, false) => self.out.u64(v.value as u32 as u64),
                (true, true) => {
                    self.out.i64(v.value as i64);
                    self.out.s("LL");
                }
                (true, false) => {
                    self.out.u64(v.value);
                    self.out.s("ULL");
                }
            }
            self.out.s(",");
        }
        self.out.line(lvl);
        self.out.s("}");
        // C gives enums int size unless told otherwise.
        if e.size == 1 {
            self.out.s(" __attribute__((mode(byte)))");
        } else if e.size == 8 && self.ptr_size == 8 {
            // An enum64 with a value above 32 bits is 64-bit by itself.
            let needs_word = !e.is_64 || e.values.iter().all(|v| v.value >> 32 == 0);
            if needs_word {
                self.out.s(" __attribute__((mode(word)))");
            }
        }
        Ok(())
    }

    /// Writes the declaration of `fname` with type `id`, e.g.
    /// `const char *(*names)[4]`.
    ///
    /// BTF lists a declarator from the outside in (`ptr -> const -> int`)
    /// while C reads partly inside out, so the chain is pushed onto a
    /// stack down to its terminal type and written from there. Nested
    /// declarators (function parameters) push their own frame on top.
    pub(super) fn emit_type_decl(&mut self, mut id: TypeId, fname: &str, lvl: usize) -> Result<()> {
        self.enter(id)?;
        let start = self.decl_stack.len();
        loop {
            if self.decl_stack.len() - start > MAX_CHAIN {
                self.decl_stack.truncate(start);
                self.leave();
                return Err(CDumpError::TooDeep(id));
            }
            self.decl_stack.push(id);
            if id == 0 {
                break;
            }
            id = match &self.ty(id).kind {
                Kind::Ptr(t)
                | Kind::Volatile(t)
                | Kind::Const(t)
                | Kind::Restrict(t)
                | Kind::TypeTag(t) => *t,
                Kind::FuncProto(p) => p.ret,
                Kind::Array(a) => a.elem,
                _ => break,
            };
        }
        let mut cnt = self.decl_stack.len() - start;
        let result = self.emit_chain(start, &mut cnt, fname, lvl);
        self.decl_stack.truncate(start);
        self.leave();
        result
    }

    /// The type on top of the chain frame `[start, start + cnt)`.
    fn chain_top(&self, start: usize, cnt: usize) -> Option<TypeId> {
        cnt.checked_sub(1).map(|i| self.decl_stack[start + i])
    }

    /// Pops and writes `const`/`volatile`/`restrict` qualifiers that come
    /// before a terminal type.
    fn emit_mods(&mut self, start: usize, cnt: &mut usize) {
        while let Some(top) = self.chain_top(start, *cnt) {
            let word = match self.ty(top).kind {
                Kind::Volatile(_) => "volatile ",
                Kind::Const(_) => "const ",
                Kind::Restrict(_) => "restrict ",
                _ => return,
            };
            self.out.s(word);
            *cnt -= 1;
        }
    }

    /// Pops qualifiers that C cannot express at this position (on arrays
    /// and functions, where GCC sometimes records them).
    fn drop_mods(&mut self, start: usize, cnt: &mut usize) {
        while let Some(top) = self.chain_top(start, *cnt) {
            if !self.ty(top).kind.is_modifier() || matches!(self.ty(top).kind, Kind::Typedef(_)) {
                return;
            }
            *cnt -= 1;
        }
    }

    fn emit_decl_name(&mut self, fname: &str, last_was_ptr: bool) {
        if !fname.is_empty() && !last_was_ptr {
            self.out.s(" ");
        }
        self.out.s(fname);
    }

    fn emit_chain(&mut self, start: usize, cnt: &mut usize, fname: &str, lvl: usize) -> Result<()> {
        // `int ***p`, not `int * * *p`; true at first so that a lone
        // pointer before a prototype comes out as `(*name)`.
        let mut last_was_ptr = true;
        while *cnt > 0 {
            *cnt -= 1;
            let id = self.decl_stack[start + *cnt];
            if id == 0 {
                self.emit_mods(start, cnt);
                self.out.s("void");
                last_was_ptr = false;
                continue;
            }
            let t = self.ty(id);
            match &t.kind {
                Kind::Int(_) | Kind::Float { .. } => {
                    self.emit_mods(start, cnt);
                    self.out.s(self.name(t.name_off));
                }
                Kind::Struct(c) | Kind::Union(c) => {
                    self.emit_mods(start, cnt);
                    let is_struct = matches!(t.kind, Kind::Struct(_));
                    if t.name_off == 0 {
                        self.emit_struct_def(id, c, is_struct, lvl)?;
                    } else {
                        self.emit_struct_fwd(id, !is_struct);
                    }
                }
                Kind::Enum(e) => {
                    self.emit_mods(start, cnt);
                    if t.name_off == 0 {
                        self.emit_enum_def(id, e, lvl)?;
                    } else {
                        self.out.s("enum ");
                        self.put_name(id, Namespace::Tag);
                    }
                }
                Kind::Fwd { is_union } => {
                    self.emit_mods(start, cnt);
                    self.emit_fwd_def(id, *is_union);
                }
                Kind::Typedef(_) => {
                    self.emit_mods(start, cnt);
                    self.put_name(id, Namespace::Ident);
                }
                Kind::Ptr(_) => self.out.s(if last_was_ptr { "*" } else { " *" }),
                Kind::Volatile(_) => self.out.s(" volatile"),
                Kind::Const(_) => self.out.s(" const"),
                Kind::Restrict(_) => self.out.s(" restrict"),
                Kind::TypeTag(_) => {
                    self.emit_mods(start, cnt);
                    self.emit_type_tag(self.name(t.name_off));
                }
                Kind::Array(a) => {
                    self.drop_mods(start, cnt);
                    let Some(next) = self.chain_top(start, *cnt) else {
                        self.emit_decl_name(fname, last_was_ptr);
                        self.emit_dim(a.len);
                        return Ok(());
                    };
                    // `int a[2][3]`, but `int (*a)[3]`.
                    let multidim = matches!(self.ty(next).kind, Kind::Array(_));
                    if !fname.is_empty() && !last_was_ptr {
                        self.out.s(" ");
                    }
                    if !multidim {
                        self.out.s("(");
                    }
                    self.emit_chain(start, cnt, fname, lvl)?;
                    if !multidim {
                        self.out.s(")");
                    }
                    self.emit_dim(a.len);
                    return Ok(());
                }
                Kind::FuncProto(p) => {
                    self.drop_mods(start, cnt);
                    if *cnt > 0 {
                        self.out.s(" (");
                        self.emit_chain(start, cnt, fname, lvl)?;
                        self.out.s(")");
                    } else {
                        self.emit_decl_name(fname, last_was_ptr);
                    }
                    self.out.s("(");
                    // Clang encodes `f(void)` as a single void parameter.
                    if p.params.is_empty() || (p.params.len() == 1 && p.params[0].ty == 0) {
                        self.out.s("void)");
                        return Ok(());
                    }
                    for (i, param) in p.params.iter().enumerate() {
                        if i > 0 {
                            self.out.s(", ");
                        }
                        if i == p.params.len() - 1 && param.ty == 0 {
                            self.out.s("...");
                            break;
                        }
                        self.emit_type_decl(param.ty, self.name(param.name_off), lvl)?;
                    }
                    self.out.s(")");
                    return Ok(());
                }
                // Not part of declarators; validated BTF cannot put them here.
                _ => {
                    return Err(CDumpError::Unrepresentable(
                        id,
                        "unexpected kind in declaration",
                    ));
                }
            }
            last_was_ptr = matches!(t.kind, Kind::Ptr(_));
        }
        self.emit_decl_name(fname, last_was_ptr);
        Ok(())
    }

    fn emit_dim(&mut self, len: u32) {
        self.out.s("[");
        self.out.u64(len as u64);
        self.out.s("]");
    }

    /// A type tag is a `btf_type_tag` string, or (with the BTF kind flag,
    /// which pahole sets for things like `address_space(1)`) a real type
    /// attribute. The kind flag is not kept by the parser, so attributes
    /// are recognized by their argument list.
    fn emit_type_tag(&mut self, tag: &str) {
        if tag.ends_with(')') && tag.contains('(') {
            self.out.s(" __attribute__((");
            self.out.s(tag);
            self.out.s("))");
        } else {
            self.out.s(" __attribute__((btf_type_tag(\"");
            self.out.s(tag);
            self.out.s("\")))");
        }
    }

    /// Natural alignment in bytes as C would compute it from BTF alone
    /// (libbpf's `btf__align_of`); 0 for kinds without one.
    pub(super) fn align_of(&mut self, id: TypeId) -> Result<u32> {
        let memo = self.align[id as usize];
        if memo != ALIGN_UNKNOWN {
            return Ok(memo);
        }
        self.enter(id)?;
        let result = self.compute_align(id);
        self.leave();
        let align = result?;
        self.align[id as usize] = align;
        Ok(align)
    }

    fn compute_align(&mut self, id: TypeId) -> Result<u32> {
        Ok(match &self.ty(id).kind {
            Kind::Int(i) => i.size.min(self.ptr_size),
            Kind::Enum(e) => e.size.min(self.ptr_size),
            Kind::Float { size } => (*size).min(self.ptr_size),
            Kind::Ptr(_) => self.ptr_size,
            Kind::Typedef(t)
            | Kind::Volatile(t)
            | Kind::Const(t)
            | Kind::Restrict(t)
            | Kind::TypeTag(t) => self.align_of(*t)?,
            Kind::Array(a) => self.align_of(a.elem)?,
            Kind::Struct(c) | Kind::Union(c) => {
                let mut max_align = 1;
                for m in &c.members {
                    let align = self.align_of(m.ty)?;
                    if align == 0 {
                        return Ok(0);
                    }
                    max_align = max_align.max(align);
                    if m.bitfield_size == 0 && !m.bit_offset.is_multiple_of(8 * align) {
                        return Ok(1);
                    }
                }
                if !c.size.is_multiple_of(max_align) {
                    return Ok(1);
                }
                if matches!(self.ty(id).kind, Kind::Union(_))
                    && let Some(n) = self.union_overalignment(c)?
                {
                    return Ok(n);
                }
                max_align
            }
            _ => 0,
        })
    }

    /// Whether the layout only comes out right with `packed`: some member
    /// is not naturally aligned, some bitfield straddles a storage unit of
    /// its type (libbpf misses this one), or the size is not a multiple of
    /// the alignment.
    fn is_packed(&mut self, c: &Composite) -> Result<bool> {
        let mut max_align = 1;
        for m in &c.members {
            let align = self.align_of(m.ty)?;
            if align != 0 && m.bitfield_size == 0 && !m.bit_offset.is_multiple_of(8 * align) {
                return Ok(true);
            }
            let (off, bits) = (m.bit_offset as i64, m.bitfield_size as i64);
            if bits != 0 && self.bitfield_lands_at(off, bits, m.ty, false) != off {
                return Ok(true);
            }
            max_align = max_align.max(align);
        }
        Ok(!c.size.is_multiple_of(max_align))
    }
}

fn round_up(x: i64, to: i64) -> i64 {
    (x + to - 1) / to * to
}
