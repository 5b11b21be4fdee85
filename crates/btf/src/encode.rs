//! Writing BTF: [`encode`] turns a [`Btf`] back into raw bytes (the format of
//! `/sys/kernel/btf/vmlinux` and of an ELF `.BTF` section), and
//! [`BtfBuilder`] adds strings and types to a copy of an existing BTF.
//!
//! Output is always little-endian with a 24-byte header, the type section
//! first and the string section right after it, which is what clang and
//! pahole produce; `Btf::parse(&encode(&b))` gives back `b` type for type.

use crate::types::*;
use crate::{Btf, Result};
use std::collections::HashMap;

const MAGIC: u16 = 0xeb9f;
const VERSION: u8 = 1;
const HEADER_LEN: u32 = 24;

/// Raw BTF bytes for `btf`'s own types and strings (for split BTF, without
/// the base's).
pub fn encode(btf: &Btf) -> Vec<u8> {
    encode_parts(&btf.types, &btf.strings)
}

fn encode_parts(types: &[Type], strings: &[u8]) -> Vec<u8> {
    let mut type_sec = Vec::new();
    for t in types {
        write_type(&mut type_sec, t);
    }
    raw_btf(&type_sec, strings)
}

/// Raw BTF bytes from an already encoded type section and string section:
/// the header, then both sections.
pub fn raw_btf(type_sec: &[u8], strings: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN as usize + type_sec.len() + strings.len());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&[VERSION, 0]);
    for word in [
        HEADER_LEN,
        0,
        type_sec.len() as u32,
        type_sec.len() as u32,
        strings.len() as u32,
    ] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(type_sec);
    out.extend_from_slice(strings);
    out
}

fn info(kind: u8, vlen: usize, kind_flag: bool) -> u32 {
    (kind_flag as u32) << 31 | (kind as u32) << 24 | (vlen as u32 & 0xffff)
}

fn linkage_raw(l: Linkage) -> u32 {
    match l {
        Linkage::Static => 0,
        Linkage::Global => 1,
        Linkage::Extern => 2,
        Linkage::Other(raw) => raw,
    }
}

fn put(out: &mut Vec<u8>, words: &[u32]) {
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Appends one type record: the common 12-byte header, then the
/// kind-specific data.
fn write_type(out: &mut Vec<u8>, t: &Type) {
    let kind = t.kind.number();
    let name = t.name_off;
    match &t.kind {
        // Void is id 0 and has no record; nothing sensible to write.
        Kind::Void => {}
        Kind::Int(i) => {
            let encoding = i.signed as u32 | (i.char as u32) << 1 | (i.bool as u32) << 2;
            let raw = encoding << 24 | (i.offset as u32) << 16 | i.bits as u32;
            put(out, &[name, info(kind, 0, false), i.size, raw]);
        }
        Kind::Ptr(r)
        | Kind::Typedef(r)
        | Kind::Volatile(r)
        | Kind::Const(r)
        | Kind::Restrict(r)
        | Kind::TypeTag(r) => put(out, &[name, info(kind, 0, false), *r]),
        Kind::Array(a) => put(
            out,
            &[name, info(kind, 0, false), 0, a.elem, a.index, a.len],
        ),
        Kind::Struct(c) | Kind::Union(c) => {
            put(
                out,
                &[name, info(kind, c.members.len(), c.kind_flag), c.size],
            );
            for m in &c.members {
                let offset = if c.kind_flag {
                    (m.bitfield_size as u32) << 24 | (m.bit_offset & 0xff_ffff)
                } else {
                    m.bit_offset
                };
                put(out, &[m.name_off, m.ty, offset]);
            }
        }
        Kind::Enum(e) => {
            put(out, &[name, info(kind, e.values.len(), e.signed), e.size]);
            for v in &e.values {
                if e.is_64 {
                    put(out, &[v.name_off, v.value as u32, (v.value >> 32) as u32]);
                } else {
                    put(out, &[v.name_off, v.value as u32]);
                }
            }
        }
        Kind::Fwd { is_union } => put(out, &[name, info(kind, 0, *is_union), 0]),
        Kind::Func { proto, linkage } => put(
            out,
            &[
                name,
                info(kind, linkage_raw(*linkage) as usize, false),
                *proto,
            ],
        ),
        Kind::FuncProto(p) => {
            put(out, &[name, info(kind, p.params.len(), false), p.ret]);
            for p in &p.params {
                put(out, &[p.name_off, p.ty]);
            }
        }
        Kind::Var { ty, linkage } => {
            put(
                out,
                &[name, info(kind, 0, false), *ty, linkage_raw(*linkage)],
            );
        }
        Kind::Datasec(d) => {
            put(out, &[name, info(kind, d.vars.len(), false), d.size]);
            for v in &d.vars {
                put(out, &[v.ty, v.offset, v.size]);
            }
        }
        Kind::Float { size } => put(out, &[name, info(kind, 0, false), *size]),
        Kind::DeclTag { ty, component_idx } => put(
            out,
            &[name, info(kind, 0, false), *ty, *component_idx as u32],
        ),
    }
}

/// A growable copy of a BTF: existing type ids and string offsets stay
/// valid, new strings and types are appended. This is what lets
/// bpfkit-build add types to an object's `.BTF` without touching
/// `.BTF.ext`, whose records point at both.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    types: Vec<Type>,
    strings: Vec<u8>,
    /// Offsets of strings already in the section, so that adding the same
    /// name twice reuses it.
    string_index: HashMap<Vec<u8>, u32>,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        BtfBuilder::new()
    }
}

impl BtfBuilder {
    /// An empty BTF: no types, only the mandatory empty string.
    pub fn new() -> BtfBuilder {
        let mut string_index = HashMap::new();
        string_index.insert(Vec::new(), 0);
        BtfBuilder {
            types: Vec::new(),
            strings: vec![0],
            string_index,
        }
    }

    /// Starts from `btf`'s own types and strings. Split BTF is not
    /// supported here (ids would need the base): its types are copied as if
    /// they were base types.
    pub fn from_btf(btf: &Btf) -> BtfBuilder {
        let mut string_index = HashMap::new();
        let mut start = 0;
        for piece in btf.strings.split_inclusive(|&b| b == 0) {
            let text = piece.strip_suffix(&[0]).unwrap_or(piece);
            string_index.entry(text.to_vec()).or_insert(start as u32);
            start += piece.len();
        }
        BtfBuilder {
            types: btf.types.clone(),
            strings: btf.strings.clone(),
            string_index,
        }
    }

    /// The offset of `s` in the string section, adding it if needed.
    pub fn add_string(&mut self, s: &str) -> u32 {
        if let Some(&off) = self.string_index.get(s.as_bytes()) {
            return off;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        self.string_index.insert(s.as_bytes().to_vec(), off);
        off
    }

    /// Appends `ty` and returns its id. References inside `ty` are not
    /// checked here; [`BtfBuilder::build`] validates everything.
    pub fn add_type(&mut self, ty: Type) -> TypeId {
        self.types.push(ty);
        self.types.len() as TypeId
    }

    /// Replaces the type with id `id` (used to fill in a struct whose id had
    /// to be reserved before its members, for self-referencing types).
    /// Returns false when `id` does not exist.
    pub fn set_type(&mut self, id: TypeId, ty: Type) -> bool {
        match id
            .checked_sub(1)
            .and_then(|i| self.types.get_mut(i as usize))
        {
            Some(slot) => {
                *slot = ty;
                true
            }
            None => false,
        }
    }

    /// The type with id `id` (0 and unknown ids give `None`).
    pub fn get(&self, id: TypeId) -> Option<&Type> {
        id.checked_sub(1).and_then(|i| self.types.get(i as usize))
    }

    /// The id the next [`BtfBuilder::add_type`] will return.
    pub fn next_id(&self) -> TypeId {
        self.types.len() as TypeId + 1
    }

    /// Raw BTF bytes of everything added so far.
    pub fn encode(&self) -> Vec<u8> {
        encode_parts(&self.types, &self.strings)
    }

    /// Encodes and re-parses, so the result is validated like any parsed BTF.
    pub fn build(&self) -> Result<Btf> {
        Btf::parse(&self.encode())
    }
}
