//! The `raw` text format of `bpftool btf dump` (bpftool 7.1), byte for byte:
//! one `[id] KIND 'name' key=value ...` line per type, members, values,
//! parameters and section variables on tab-indented lines below it. The
//! fields themselves come from [`crate::dump`], shared with the JSON dump.

use std::io::{self, BufWriter, Write};

use crate::Btf;
use crate::dump::{Child, Fields, children, for_each_type, kind_str, name_bytes, type_fields};
use crate::types::*;

/// Writes `roots` (or every type this BTF defines, when `None`) in
/// bpftool's raw format. For split BTF ids continue from the base and only
/// the split part is printed, as `bpftool btf dump file X base Y` does.
pub fn dump_raw(btf: &Btf, roots: Option<&[TypeId]>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    for_each_type(btf, roots, |id, ty| write_type(btf, id, ty, &mut out))?;
    out.flush()
}

fn write_type(btf: &Btf, id: TypeId, ty: &Type, out: &mut impl Write) -> io::Result<()> {
    write!(out, "[{id}] {} ", kind_str(&ty.kind))?;
    write_name(btf, ty.name_off, out)?;
    // The comma before a VAR's linkage is bpftool's.
    let comma = matches!(ty.kind, Kind::Var { .. });
    for (key, value) in type_fields(ty).into_iter().flatten() {
        let sep = if comma && key == "linkage" { ", " } else { " " };
        write!(out, "{sep}{key}={value}")?;
    }
    if let Some((_, items)) = children(ty) {
        for (i, child) in items.iter().enumerate() {
            out.write_all(b"\n\t")?;
            write_child(btf, child, out)?;
            write_child_suffix(btf, ty, i, out)?;
        }
    }
    out.write_all(b"\n")
}

fn write_name(btf: &Btf, off: u32, out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"'")?;
    out.write_all(name_bytes(btf, off))?;
    out.write_all(b"'")
}

/// `'name' key=value ...`, or without a name `key=value ...`.
fn write_child(btf: &Btf, child: &Child, out: &mut impl Write) -> io::Result<()> {
    let mut sep = "";
    if let Some(off) = child.name_off {
        write_name(btf, off, out)?;
        sep = " ";
    }
    write_fields(&child.fields, sep, out)
}

fn write_fields(fields: &Fields, mut sep: &str, out: &mut impl Write) -> io::Result<()> {
    for (key, value) in fields.iter().flatten() {
        write!(out, "{sep}{key}={value}")?;
        sep = " ";
    }
    Ok(())
}

/// What raw prints after the fields of child `i`: the C suffix of 64-bit
/// enumerators, the kind and name of a section variable's type.
fn write_child_suffix(btf: &Btf, ty: &Type, i: usize, out: &mut impl Write) -> io::Result<()> {
    match &ty.kind {
        Kind::Enum(e) if e.is_64 => out.write_all(if e.signed { b"LL" } else { b"ULL" }),
        Kind::Datasec(d) => {
            // Validation guarantees the id resolves; bpftool prints nothing otherwise.
            match d.vars.get(i).and_then(|v| btf.get(v.ty)) {
                Some(vt) => {
                    write!(out, " ({} ", kind_str(&vt.kind))?;
                    write_name(btf, vt.name_off, out)?;
                    out.write_all(b")")
                }
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
