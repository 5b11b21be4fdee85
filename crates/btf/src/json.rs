//! The JSON form of `bpftool btf dump -j`: `{"types":[{"id":1,"kind":"INT",
//! "name":"int",...},...]}`, same keys in the same order, compact, with a
//! trailing newline.
//!
//! One deliberate difference: bpftool 7.1 sign-extends the `val` of an
//! unsigned 32-bit enumerator with the top bit set (0x80000000 prints as
//! 18446744071562067968); this prints the real value (2147483648).

use std::io::{self, BufWriter, Write};

use crate::Btf;
use crate::raw::{enum_encoding, int_encoding, kind_str, linkage_str, name_bytes, type_for_dump};
use crate::types::*;

/// Writes `roots` (or every type this BTF defines) as bpftool's JSON.
pub fn dump_json(btf: &Btf, roots: Option<&[TypeId]>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    out.write_all(b"{\"types\":[")?;
    let mut first = true;
    let mut emit = |id: TypeId, ty: &Type, out: &mut BufWriter<&mut dyn Write>| {
        if !std::mem::take(&mut first) {
            out.write_all(b",")?;
        }
        write_type(btf, id, ty, out)
    };
    match roots {
        Some(ids) => {
            for &id in ids {
                emit(id, type_for_dump(btf, id)?, &mut out)?;
            }
        }
        None => {
            for (id, ty) in btf.iter() {
                emit(id, ty, &mut out)?;
            }
        }
    }
    out.write_all(b"]}\n")?;
    out.flush()
}

/// Writes a JSON string for a BTF name (`(anon)` when unnamed; invalid
/// UTF-8 replaced, since JSON text must be UTF-8).
fn name(btf: &Btf, off: u32, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    let text = String::from_utf8_lossy(name_bytes(btf, off));
    serde_json::to_writer(&mut *out, text.as_ref()).map_err(io::Error::other)
}

fn write_type(btf: &Btf, id: TypeId, ty: &Type, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "{{\"id\":{id},\"kind\":\"{}\",\"name\":",
        kind_str(&ty.kind)
    )?;
    name(btf, ty.name_off, out)?;
    match &ty.kind {
        Kind::Void => {}
        Kind::Int(i) => write!(
            out,
            ",\"size\":{},\"bits_offset\":{},\"nr_bits\":{},\"encoding\":\"{}\"",
            i.size,
            i.offset,
            i.bits,
            int_encoding(i)
        )?,
        Kind::Ptr(t)
        | Kind::Const(t)
        | Kind::Volatile(t)
        | Kind::Restrict(t)
        | Kind::Typedef(t)
        | Kind::TypeTag(t) => write!(out, ",\"type_id\":{t}")?,
        Kind::Array(a) => write!(
            out,
            ",\"type_id\":{},\"index_type_id\":{},\"nr_elems\":{}",
            a.elem, a.index, a.len
        )?,
        Kind::Struct(c) | Kind::Union(c) => write_members(btf, c, out)?,
        Kind::Enum(e) => write_enum(btf, e, out)?,
        Kind::Fwd { is_union } => write!(
            out,
            ",\"fwd_kind\":\"{}\"",
            if *is_union { "union" } else { "struct" }
        )?,
        Kind::Func { proto: t, linkage } | Kind::Var { ty: t, linkage } => write!(
            out,
            ",\"type_id\":{t},\"linkage\":\"{}\"",
            linkage_str(*linkage)
        )?,
        Kind::FuncProto(p) => write_params(btf, p, out)?,
        Kind::Datasec(d) => write_datasec(d, out)?,
        Kind::Float { size } => write!(out, ",\"size\":{size}")?,
        Kind::DeclTag { ty, component_idx } => {
            write!(out, ",\"type_id\":{ty},\"component_idx\":{component_idx}")?
        }
    }
    out.write_all(b"}")
}

/// Writes `,"key":[item,item,...]` with `item` writing one element.
fn array<T>(
    out: &mut impl Write,
    key: &str,
    items: &[T],
    mut item: impl FnMut(&T, &mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write!(out, ",\"{key}\":[")?;
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        item(it, out)?;
    }
    out.write_all(b"]")
}

fn write_members(btf: &Btf, c: &Composite, out: &mut impl Write) -> io::Result<()> {
    write!(out, ",\"size\":{},\"vlen\":{}", c.size, c.members.len())?;
    array(out, "members", &c.members, |m, out| {
        out.write_all(b"{\"name\":")?;
        name(btf, m.name_off, out)?;
        write!(
            out,
            ",\"type_id\":{},\"bits_offset\":{}",
            m.ty, m.bit_offset
        )?;
        if m.bitfield_size != 0 {
            write!(out, ",\"bitfield_size\":{}", m.bitfield_size)?;
        }
        out.write_all(b"}")
    })
}

fn write_enum(btf: &Btf, e: &Enum, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        ",\"encoding\":\"{}\",\"size\":{},\"vlen\":{}",
        enum_encoding(e),
        e.size,
        e.values.len()
    )?;
    array(out, "values", &e.values, |v, out| {
        out.write_all(b"{\"name\":")?;
        name(btf, v.name_off, out)?;
        match (e.is_64, e.signed) {
            (false, true) => write!(out, ",\"val\":{}}}", v.value as i32),
            (false, false) => write!(out, ",\"val\":{}}}", v.value as u32),
            (true, true) => write!(out, ",\"val\":{}}}", v.as_i64()),
            (true, false) => write!(out, ",\"val\":{}}}", v.value),
        }
    })
}

fn write_params(btf: &Btf, p: &FuncProto, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        ",\"ret_type_id\":{},\"vlen\":{}",
        p.ret,
        p.params.len()
    )?;
    array(out, "params", &p.params, |p, out| {
        out.write_all(b"{\"name\":")?;
        name(btf, p.name_off, out)?;
        write!(out, ",\"type_id\":{}}}", p.ty)
    })
}

fn write_datasec(d: &Datasec, out: &mut impl Write) -> io::Result<()> {
    write!(out, ",\"size\":{},\"vlen\":{}", d.size, d.vars.len())?;
    array(out, "vars", &d.vars, |v, out| {
        write!(
            out,
            "{{\"type_id\":{},\"offset\":{},\"size\":{}}}",
            v.ty, v.offset, v.size
        )
    })
}
