//! The JSON form of `bpftool btf dump -j`: `{"types":[{"id":1,"kind":"INT",
//! "name":"int",...},...]}`, same keys in the same order, compact, with a
//! trailing newline. The fields come from [`crate::dump`], shared with the
//! raw dump.
//!
//! One deliberate difference: bpftool 7.1 sign-extends the `val` of an
//! unsigned 32-bit enumerator with the top bit set (0x80000000 prints as
//! 18446744071562067968); this prints the real value (2147483648).

use std::io::{self, BufWriter, Write};

use crate::Btf;
use crate::dump::{Child, Value, children, for_each_type, kind_str, name_bytes, type_fields};
use crate::types::*;

/// Writes `roots` (or every type this BTF defines) as bpftool's JSON.
pub fn dump_json(btf: &Btf, roots: Option<&[TypeId]>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    out.write_all(b"{\"types\":[")?;
    let mut first = true;
    for_each_type(btf, roots, |id, ty| {
        if !std::mem::take(&mut first) {
            out.write_all(b",")?;
        }
        write_type(btf, id, ty, &mut out)
    })?;
    out.write_all(b"]}\n")?;
    out.flush()
}

/// Writes a JSON string for a BTF name (`(anon)` when unnamed; invalid
/// UTF-8 replaced, since JSON text must be UTF-8).
fn name(btf: &Btf, off: u32, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    let text = String::from_utf8_lossy(name_bytes(btf, off));
    serde_json::to_writer(&mut *out, text.as_ref()).map_err(io::Error::other)
}

/// `"key":value`; words are bpftool's fixed ASCII spellings, quoted as they are.
fn field(key: &str, value: Value, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    match value {
        Value::Num(n) => write!(out, "\"{key}\":{n}"),
        Value::Word(w) => write!(out, "\"{key}\":\"{w}\""),
    }
}

fn write_type(btf: &Btf, id: TypeId, ty: &Type, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "{{\"id\":{id},\"kind\":\"{}\",\"name\":",
        kind_str(&ty.kind)
    )?;
    name(btf, ty.name_off, out)?;
    for (key, value) in type_fields(ty).into_iter().flatten() {
        out.write_all(b",")?;
        field(key, value, out)?;
    }
    if let Some((key, items)) = children(ty) {
        write!(out, ",\"{key}\":[")?;
        for (i, child) in items.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_child(btf, child, out)?;
        }
        out.write_all(b"]")?;
    }
    out.write_all(b"}")
}

/// `{"name":...,"key":value,...}`, without `name` for section variables.
fn write_child(btf: &Btf, child: &Child, out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"{")?;
    let mut sep = "";
    if let Some(off) = child.name_off {
        out.write_all(b"\"name\":")?;
        name(btf, off, out)?;
        sep = ",";
    }
    for (key, value) in child.fields.iter().flatten() {
        out.write_all(sep.as_bytes())?;
        field(key, *value, out)?;
        sep = ",";
    }
    out.write_all(b"}")
}
