//! The `raw` text format of `bpftool btf dump` (bpftool 7.1), byte for byte:
//! one `[id] KIND 'name' ...` line per type, members, values, parameters and
//! section variables on tab-indented lines below it.
//!
//! The helpers for names, int encodings and linkages are shared with the
//! JSON dump, which prints the same fields.

use std::io::{self, BufWriter, Write};

use crate::Btf;
use crate::types::*;

/// Writes `roots` (or every type this BTF defines, when `None`) in
/// bpftool's raw format. For split BTF ids continue from the base and only
/// the split part is printed, as `bpftool btf dump file X base Y` does.
pub fn dump_raw(btf: &Btf, roots: Option<&[TypeId]>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    match roots {
        Some(ids) => {
            for &id in ids {
                write_type(btf, id, type_for_dump(btf, id)?, &mut out)?;
            }
        }
        None => {
            for (id, ty) in btf.iter() {
                write_type(btf, id, ty, &mut out)?;
            }
        }
    }
    out.flush()
}

/// The type to dump for a requested root id; id 0 and unknown ids are errors.
pub(crate) fn type_for_dump(btf: &Btf, id: TypeId) -> io::Result<&Type> {
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
pub(crate) fn int_encoding(i: &Int) -> &'static str {
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
pub(crate) fn linkage_str(l: Linkage) -> &'static str {
    match l {
        Linkage::Static => "static",
        Linkage::Global => "global",
        Linkage::Extern => "extern",
        Linkage::Other(_) => "(unknown)",
    }
}

pub(crate) fn enum_encoding(e: &Enum) -> &'static str {
    if e.signed { "SIGNED" } else { "UNSIGNED" }
}

fn write_type(btf: &Btf, id: TypeId, ty: &Type, out: &mut impl Write) -> io::Result<()> {
    write!(out, "[{id}] {} '", kind_str(&ty.kind))?;
    out.write_all(name_bytes(btf, ty.name_off))?;
    out.write_all(b"'")?;
    match &ty.kind {
        Kind::Void => {}
        Kind::Int(i) => write!(
            out,
            " size={} bits_offset={} nr_bits={} encoding={}",
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
        | Kind::TypeTag(t) => write!(out, " type_id={t}")?,
        Kind::Array(a) => write!(
            out,
            " type_id={} index_type_id={} nr_elems={}",
            a.elem, a.index, a.len
        )?,
        Kind::Struct(c) | Kind::Union(c) => write_members(btf, c, out)?,
        Kind::Enum(e) => write_enum(btf, e, out)?,
        Kind::Fwd { is_union } => write!(
            out,
            " fwd_kind={}",
            if *is_union { "union" } else { "struct" }
        )?,
        Kind::Func { proto, linkage } => {
            write!(out, " type_id={proto} linkage={}", linkage_str(*linkage))?
        }
        Kind::FuncProto(p) => {
            write!(out, " ret_type_id={} vlen={}", p.ret, p.params.len())?;
            for p in &p.params {
                out.write_all(b"\n\t'")?;
                out.write_all(name_bytes(btf, p.name_off))?;
                write!(out, "' type_id={}", p.ty)?;
            }
        }
        // The comma is bpftool's.
        Kind::Var { ty, linkage } => {
            write!(out, " type_id={ty}, linkage={}", linkage_str(*linkage))?
        }
        Kind::Datasec(d) => write_datasec(btf, d, out)?,
        Kind::Float { size } => write!(out, " size={size}")?,
        Kind::DeclTag { ty, component_idx } => {
            write!(out, " type_id={ty} component_idx={component_idx}")?
        }
    }
    out.write_all(b"\n")
}

fn write_members(btf: &Btf, c: &Composite, out: &mut impl Write) -> io::Result<()> {
    write!(out, " size={} vlen={}", c.size, c.members.len())?;
    for m in &c.members {
        out.write_all(b"\n\t'")?;
        out.write_all(name_bytes(btf, m.name_off))?;
        write!(out, "' type_id={} bits_offset={}", m.ty, m.bit_offset)?;
        if m.bitfield_size != 0 {
            write!(out, " bitfield_size={}", m.bitfield_size)?;
        }
    }
    Ok(())
}

fn write_enum(btf: &Btf, e: &Enum, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        " encoding={} size={} vlen={}",
        enum_encoding(e),
        e.size,
        e.values.len()
    )?;
    for v in &e.values {
        out.write_all(b"\n\t'")?;
        out.write_all(name_bytes(btf, v.name_off))?;
        match (e.is_64, e.signed) {
            (false, true) => write!(out, "' val={}", v.value as i32)?,
            (false, false) => write!(out, "' val={}", v.value as u32)?,
            (true, true) => write!(out, "' val={}LL", v.as_i64())?,
            (true, false) => write!(out, "' val={}ULL", v.value)?,
        }
    }
    Ok(())
}

fn write_datasec(btf: &Btf, d: &Datasec, out: &mut impl Write) -> io::Result<()> {
    write!(out, " size={} vlen={}", d.size, d.vars.len())?;
    for v in &d.vars {
        write!(
            out,
            "\n\ttype_id={} offset={} size={}",
            v.ty, v.offset, v.size
        )?;
        // Validation guarantees the id resolves; bpftool prints nothing otherwise.
        if let Some(vt) = btf.get(v.ty) {
            write!(out, " ({} '", kind_str(&vt.kind))?;
            out.write_all(name_bytes(btf, vt.name_off))?;
            out.write_all(b"')")?;
        }
    }
    Ok(())
}
