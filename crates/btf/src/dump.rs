//! What bpftool's `raw` and JSON dumps print for a type, independent of the
//! format: which types, then per type its scalar fields and the list below
//! it (members, enum values, parameters, section variables), with bpftool's
//! key names and in its order. `raw` and `json` only spell them.

use std::fmt;
use std::io;

use crate::Btf;
use crate::types::*;

/// Calls `visit` for each of `roots`, or for every type this BTF defines.
pub(crate) fn for_each_type(
    btf: &Btf,
    roots: Option<&[TypeId]>,
    mut visit: impl FnMut(TypeId, &Type) -> io::Result<()>,
) -> io::Result<()> {
    match roots {
        Some(ids) => ids
            .iter()
            .try_for_each(|&id| visit(id, type_for_dump(btf, id)?)),
        None => btf.iter().try_for_each(|(id, ty)| visit(id, ty)),
    }
}

/// The type to dump for a requested root id; id 0 and unknown ids are errors.
fn type_for_dump(btf: &Btf, id: TypeId) -> io::Result<&Type> {
    btf.get(id).filter(|_| id != 0).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("BTF type id {id} does not exist"),
        )
    })
}

/// A name as bpftool prints it: `(anon)` for offset 0, else the raw bytes
/// (not necessarily UTF-8) from this BTF or its base.
pub(crate) fn name_bytes(btf: &Btf, off: u32) -> &[u8] {
    if off == 0 {
        return b"(anon)";
    }
    raw_str(btf, off)
}

fn raw_str(btf: &Btf, off: u32) -> &[u8] {
    if off < btf.str_base {
        return btf.base.as_deref().map_or(b"", |b| raw_str(b, off));
    }
    let rest = btf
        .strings
        .get((off - btf.str_base) as usize..)
        .unwrap_or_default();
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    &rest[..end]
}

/// bpftool's kind names; type id 0 (void) is `UNKNOWN`.
pub(crate) fn kind_str(kind: &Kind) -> &'static str {
    match kind {
        Kind::Void => "UNKNOWN",
        other => other.name(),
    }
}

/// `BTF_INT_ENCODING` as bpftool names it. Only one flag may be set; the
/// model keeps the three defined bits, so a combination prints `UNKN` as
/// bpftool does, while undefined bits (which the kernel rejects) are lost.
fn int_encoding(i: &Int) -> &'static str {
    match (i.signed, i.char, i.bool) {
        (false, false, false) => "(none)",
        (true, false, false) => "SIGNED",
        (false, true, false) => "CHAR",
        (false, false, true) => "BOOL",
        _ => "UNKN",
    }
}

/// FUNC linkage (`static`, `global`, `extern`) and VAR linkage (`static`,
/// `global` for allocated globals, `extern`) share their spelling.
fn linkage_str(l: Linkage) -> &'static str {
    match l {
        Linkage::Static => "static",
        Linkage::Global => "global",
        Linkage::Extern => "extern",
        Linkage::Other(_) => "(unknown)",
    }
}

fn enum_encoding(e: &Enum) -> &'static str {
    if e.signed { "SIGNED" } else { "UNSIGNED" }
}

/// A field's value: a number, or a word (JSON quotes words, raw does not).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value {
    Num(i128),
    Word(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) => write!(f, "{n}"),
            Value::Word(w) => f.write_str(w),
        }
    }
}

/// Up to four `key`, value pairs, in bpftool's order.
pub(crate) type Fields = [Option<(&'static str, Value)>; 4];

fn num(key: &'static str, n: impl Into<i128>) -> Option<(&'static str, Value)> {
    Some((key, Value::Num(n.into())))
}

fn word(key: &'static str, w: &'static str) -> Option<(&'static str, Value)> {
    Some((key, Value::Word(w)))
}

/// The fields printed after a type's kind and name.
pub(crate) fn type_fields(ty: &Type) -> Fields {
    match &ty.kind {
        Kind::Void => [None; 4],
        Kind::Int(i) => [
            num("size", i.size),
            num("bits_offset", i.offset),
            num("nr_bits", i.bits),
            word("encoding", int_encoding(i)),
        ],
        Kind::Ptr(t)
        | Kind::Const(t)
        | Kind::Volatile(t)
        | Kind::Restrict(t)
        | Kind::Typedef(t)
        | Kind::TypeTag(t) => [num("type_id", *t), None, None, None],
        Kind::Array(a) => [
            num("type_id", a.elem),
            num("index_type_id", a.index),
            num("nr_elems", a.len),
            None,
        ],
        Kind::Struct(c) | Kind::Union(c) => sized(c.size, c.members.len()),
        Kind::Enum(e) => [
            word("encoding", enum_encoding(e)),
            num("size", e.size),
            num("vlen", e.values.len() as u64),
            None,
        ],
        Kind::Fwd { is_union } => [
            word("fwd_kind", if *is_union { "union" } else { "struct" }),
            None,
            None,
            None,
        ],
        Kind::Func { proto: t, linkage } | Kind::Var { ty: t, linkage } => [
            num("type_id", *t),
            word("linkage", linkage_str(*linkage)),
            None,
            None,
        ],
        Kind::FuncProto(p) => [
            num("ret_type_id", p.ret),
            num("vlen", p.params.len() as u64),
            None,
            None,
        ],
        Kind::Datasec(d) => sized(d.size, d.vars.len()),
        Kind::Float { size } => [num("size", *size), None, None, None],
        Kind::DeclTag { ty, component_idx } => [
            num("type_id", *ty),
            num("component_idx", *component_idx),
            None,
            None,
        ],
    }
}

fn sized(size: u32, vlen: usize) -> Fields {
    [num("size", size), num("vlen", vlen as u64), None, None]
}

/// One line of the list below a type: its name (none for section
/// variables) and fields.
pub(crate) struct Child {
    pub name_off: Option<u32>,
    pub fields: Fields,
}

/// The list below a type, by its JSON key; `None` for types without one.
pub(crate) fn children(ty: &Type) -> Option<(&'static str, Vec<Child>)> {
    let named = |name_off, fields| Child {
        name_off: Some(name_off),
        fields,
    };
    Some(match &ty.kind {
        Kind::Struct(c) | Kind::Union(c) => (
            "members",
            c.members
                .iter()
                .map(|m| {
                    let bitfield = (m.bitfield_size != 0)
                        .then_some(("bitfield_size", Value::Num(m.bitfield_size.into())));
                    named(
                        m.name_off,
                        [
                            num("type_id", m.ty),
                            num("bits_offset", m.bit_offset),
                            bitfield,
                            None,
                        ],
                    )
                })
                .collect(),
        ),
        Kind::Enum(e) => (
            "values",
            e.values
                .iter()
                .map(|v| named(v.name_off, [num("val", enum_value(e, v)), None, None, None]))
                .collect(),
        ),
        Kind::FuncProto(p) => (
            "params",
            p.params
                .iter()
                .map(|p| named(p.name_off, [num("type_id", p.ty), None, None, None]))
                .collect(),
        ),
        Kind::Datasec(d) => (
            "vars",
            d.vars
                .iter()
                .map(|v| Child {
                    name_off: None,
                    fields: [
                        num("type_id", v.ty),
                        num("offset", v.offset),
                        num("size", v.size),
                        None,
                    ],
                })
                .collect(),
        ),
        _ => return None,
    })
}

/// An enumerator's value at the enum's width and signedness.
fn enum_value(e: &Enum, v: &EnumValue) -> i128 {
    match (e.is_64, e.signed) {
        (false, true) => (v.value as i32).into(),
        (false, false) => (v.value as u32).into(),
        (true, true) => v.as_i64().into(),
        (true, false) => v.value.into(),
    }
}
