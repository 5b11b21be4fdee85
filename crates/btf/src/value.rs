//! Decoding raw bytes through BTF into generic [`Value`]s.
//!
//! This module knows shapes, not meaning: a `__u32 saddr` is an unsigned
//! 32-bit number here; turning it into `10.0.0.1` is bpfkit-output's job.
//! What the output layer needs to give fields meaning is kept: member names
//! (`""` for anonymous members) and the nearest typedef name of every
//! member ([`Field::type_name`]).
//!
//! Data is read in the byte order of the BTF (`Btf::is_big_endian`).
//! A buffer shorter than the type is an error, never a panic.

use crate::{Btf, Error as BtfError, Kind, Member, TypeId};
use std::fmt::{self, Write as _};

/// Element counts above this are not expanded (a zero-sized element type
/// repeated four billion times would otherwise exhaust memory).
const MAX_ARRAY_ELEMENTS: u64 = 1 << 20;
/// Nesting bound; BTF validation rules out by-value cycles, this is a second
/// guard for pathological but acyclic input.
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("value of type [{ty}] '{name}' needs {need} bytes, got {got}")]
    ShortBuffer {
        ty: TypeId,
        name: String,
        need: u64,
        got: usize,
    },
    #[error("type [{ty}] ({kind}) has no value representation")]
    NotAValue { ty: TypeId, kind: &'static str },
    #[error("value of type [{0}] nests too deeply")]
    TooDeep(TypeId),
    #[error(transparent)]
    Btf(#[from] BtfError),
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unsigned integer (any width up to 128 bits, bitfields included).
    Unsigned(u128),
    /// Signed integer (any width up to 128 bits, bitfields included).
    Signed(i128),
    Bool(bool),
    /// A lone `char` (arrays of `char` become [`Value::Str`]).
    Char(u8),
    Float(f64),
    /// A `char` array: `text` up to the first NUL (invalid UTF-8 escaped as
    /// `\xNN`), `raw` all bytes of the array.
    Str {
        text: String,
        raw: Vec<u8>,
    },
    /// An array of non-char one-byte integers (`__u8 addr[16]`).
    Bytes(Vec<u8>),
    /// An enum: the enumerator's name when the value has one.
    Enum {
        name: Option<String>,
        value: i128,
    },
    /// A pointer, as the address it holds.
    Ptr(u64),
    Array(Vec<Value>),
    Struct(Vec<Field>),
    Union(Vec<Field>),
}

/// One member of a struct or union.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Member name; `""` for anonymous struct/union members.
    pub name: String,
    /// The outermost typedef name of the member's type (`__u32`, `pid_t`,
    /// `bpfkit_ipv4_t`), if the member is declared through a typedef.
    pub type_name: Option<String>,
    pub value: Value,
}

impl Value {
    /// The member `name`, looking through anonymous members.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields_flat()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    /// Members of a struct/union with anonymous members replaced by their
    /// own members, recursively; empty for other values.
    pub fn fields_flat(&self) -> impl Iterator<Item = &Field> {
        let mut out = Vec::new();
        if let Value::Struct(fields) | Value::Union(fields) = self {
            flatten_into(fields, &mut out);
        }
        out.into_iter()
    }

    /// The value as an unsigned number, for integers, bools, chars, enums
    /// and pointers (negative numbers wrap like a C cast to `u64`).
    pub fn as_u64(&self) -> Option<u64> {
        Some(match *self {
            Value::Unsigned(v) => v as u64,
            Value::Signed(v) => v as u64,
            Value::Bool(b) => b as u64,
            Value::Char(c) => c as u64,
            Value::Enum { value, .. } => value as u64,
            Value::Ptr(p) => p,
            _ => return None,
        })
    }

    /// The value as a signed number (same kinds as [`Value::as_u64`]).
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::Unsigned(v) => v as i128,
            Value::Signed(v) => v,
            Value::Enum { value, .. } => value,
            _ => self.as_u64()? as i128,
        })
    }
}

fn flatten_into<'a>(fields: &'a [Field], out: &mut Vec<&'a Field>) {
    for f in fields {
        match &f.value {
            Value::Struct(inner) | Value::Union(inner) if f.name.is_empty() => {
                flatten_into(inner, out)
            }
            _ => out.push(f),
        }
    }
}

/// Decodes `bytes` as a value of type `ty`. Extra trailing bytes are
/// ignored; too few bytes are an error.
pub fn decode(btf: &Btf, ty: TypeId, bytes: &[u8]) -> Result<Value, DecodeError> {
    Decoder { btf }.value(ty, bytes, 0)
}

/// The typedef names on the way from `ty` to its underlying type, outermost
/// first, qualifiers skipped: for `const pid_t` → `["pid_t", "__kernel_pid_t"]`.
pub fn typedef_chain(btf: &Btf, ty: TypeId) -> Vec<&str> {
    let mut names = Vec::new();
    let mut id = ty;
    for _ in 0..MAX_DEPTH {
        let Some(t) = btf.get(id) else { break };
        match t.kind {
            Kind::Typedef(next) => {
                names.push(btf.str_at(t.name_off));
                id = next;
            }
            Kind::Const(next)
            | Kind::Volatile(next)
            | Kind::Restrict(next)
            | Kind::TypeTag(next) => id = next,
            _ => break,
        }
    }
    names
}

/// True when arrays of `elem` are C strings: the element is a one-byte int
/// that is `char` or carries the CHAR encoding, possibly behind typedefs
/// (`typedef char bpfkit_argv_t`). `unsigned char`, and so `__u8`, is not.
pub fn is_char_type(btf: &Btf, elem: TypeId) -> bool {
    let Ok(id) = btf.resolve(elem) else {
        return false;
    };
    let Some(t) = btf.get(id) else { return false };
    match t.kind {
        Kind::Int(i) if i.size == 1 => i.char || btf.str_at(t.name_off) == "char",
        _ => false,
    }
}

/// Text of a C string buffer: up to the first NUL, invalid UTF-8 as `\xNN`.
pub fn c_string_text(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let mut out = String::with_capacity(end);
    for chunk in raw[..end].utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

struct Decoder<'a> {
    btf: &'a Btf,
}

impl Decoder<'_> {
    fn value(&self, ty: TypeId, bytes: &[u8], depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep(ty));
        }
        let id = self.btf.resolve(ty)?;
        let need = self.btf.size_of(id)?;
        if (bytes.len() as u64) < need {
            return Err(DecodeError::ShortBuffer {
                ty,
                name: self.btf.name_of(id).to_string(),
                need,
                got: bytes.len(),
            });
        }
        let t = self.btf.type_by_id(id)?;
        Ok(match &t.kind {
            Kind::Int(i) => {
                let raw = self.read_uint(&bytes[..i.size as usize]);
                int_value(
                    raw,
                    i.offset as u32,
                    i.bits as u32,
                    i.signed,
                    i.bool,
                    i.char,
                )
            }
            Kind::Ptr(_) => Value::Ptr(self.read_uint(&bytes[..8]) as u64),
            Kind::Float { size } => float_value(self.read_uint(&bytes[..*size as usize]), *size),
            Kind::Enum(e) => {
                let raw = self.read_uint(&bytes[..e.size as usize]);
                let value = extend(raw, e.size * 8, e.signed);
                self.enum_value(id, value)
            }
            Kind::Array(a) => self.array(a.elem, a.len, bytes, depth)?,
            Kind::Struct(c) => {
                Value::Struct(self.members(&c.members, c.kind_flag, bytes, depth)?)
            }
            Kind::Union(c) => Value::Union(self.members(&c.members, c.kind_flag, bytes, depth)?),
            other => {
                return Err(DecodeError::NotAValue {
                    ty: id,
                    kind: other.name(),
                });
            }
        })
    }

    fn array(
        &self,
        elem: TypeId,
        len: u32,
        bytes: &[u8],
        depth: usize,
    ) -> Result<Value, DecodeError> {
        let elem_size = self.btf.size_of(elem)?;
        let len = len as u64;
        let total = (elem_size * len) as usize; // size_of(array) was checked
        if is_char_type(self.btf, elem) {
            let raw = bytes[..total].to_vec();
            return Ok(Value::Str {
                text: c_string_text(&raw),
                raw,
            });
        }
        if elem_size == 1 && self.is_plain_byte(elem)? {
            return Ok(Value::Bytes(bytes[..total].to_vec()));
        }
        let count = len.min(MAX_ARRAY_ELEMENTS);
        let mut items = Vec::with_capacity(count as usize);
        for i in 0..count {
            let start = (i * elem_size) as usize;
            items.push(self.value(elem, &bytes[start..], depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    /// A one-byte integer that is neither char nor bool (`__u8`, `__s8`).
    fn is_plain_byte(&self, elem: TypeId) -> Result<bool, DecodeError> {
        let id = self.btf.resolve(elem)?;
        Ok(matches!(self.btf.type_by_id(id)?.kind, Kind::Int(i) if !i.bool && i.bits == 8))
    }

    fn members(
        &self,
        members: &[Member],
        kind_flag: bool,
        bytes: &[u8],
        depth: usize,
    ) -> Result<Vec<Field>, DecodeError> {
        let mut fields = Vec::with_capacity(members.len());
        for m in members {
            let bitfield = if kind_flag { m.bitfield_size } else { 0 };
            let value = if bitfield > 0 {
                self.bitfield(m.ty, m.bit_offset, bitfield as u32, bytes)?
            } else {
                let start = (m.bit_offset / 8) as usize;
                let rest = bytes.get(start..).unwrap_or(&[]);
                self.member_value(m, rest, depth)?
            };
            fields.push(Field {
                name: self.btf.str_at(m.name_off).to_string(),
                type_name: typedef_chain(self.btf, m.ty).first().map(|s| s.to_string()),
                value,
            });
        }
        Ok(fields)
    }

    /// A member without kind_flag bitfield info: old-style bitfields live in
    /// the int type's own offset/bits, and members may start mid-byte.
    fn member_value(&self, m: &Member, rest: &[u8], depth: usize) -> Result<Value, DecodeError> {
        let id = self.btf.resolve(m.ty)?;
        if let Kind::Int(i) = self.btf.type_by_id(id)?.kind
            && (!m.bit_offset.is_multiple_of(8) || i.offset != 0 || i.bits as u32 != i.size * 8)
            && !i.bool
        {
            let bit_in_byte = m.bit_offset % 8 + i.offset as u32;
            return self.bitfield(m.ty, bit_in_byte, i.bits as u32, rest);
        }
        self.value(m.ty, rest, depth + 1)
    }

    /// Reads `bits` bits at `bit_offset` of `bytes` as a value of `ty`
    /// (an int or an enum).
    fn bitfield(
        &self,
        ty: TypeId,
        bit_offset: u32,
        bits: u32,
        bytes: &[u8],
    ) -> Result<Value, DecodeError> {
        let first = (bit_offset / 8) as usize;
        let last = (bit_offset + bits).div_ceil(8) as usize;
        let Some(span) = bytes.get(first..last).filter(|s| s.len() <= 16) else {
            return Err(DecodeError::ShortBuffer {
                ty,
                name: self.btf.name_of(ty).to_string(),
                need: last as u64,
                got: bytes.len(),
            });
        };
        let raw = self.read_uint(span);
        let shift = if self.btf.is_big_endian() {
            span.len() as u32 * 8 - (bit_offset % 8) - bits
        } else {
            bit_offset % 8
        };
        let id = self.btf.resolve(ty)?;
        Ok(match &self.btf.type_by_id(id)?.kind {
            Kind::Int(i) => int_value(raw, shift, bits, i.signed, i.bool, false),
            Kind::Enum(e) => {
                let field = extract(raw, shift, bits);
                self.enum_value(id, extend(field, bits, e.signed))
            }
            _ => Value::Unsigned(extract(raw, shift, bits)),
        })
    }

    fn enum_value(&self, id: TypeId, value: i128) -> Value {
        let name = match self.btf.get(id).map(|t| &t.kind) {
            Some(Kind::Enum(e)) => e
                .values
                .iter()
                .find(|v| enumerator_matches(v.value, e.signed, value))
                .map(|v| self.btf.str_at(v.name_off).to_string()),
            _ => None,
        };
        Value::Enum { name, value }
    }

    fn read_uint(&self, bytes: &[u8]) -> u128 {
        read_uint(bytes, self.btf.is_big_endian())
    }
}

fn enumerator_matches(stored: u64, signed: bool, value: i128) -> bool {
    if signed {
        stored as i64 as i128 == value
    } else {
        stored as i128 == value || stored as i64 as i128 == value
    }
}

/// Reads up to 16 bytes as an unsigned integer.
pub fn read_uint(bytes: &[u8], big_endian: bool) -> u128 {
    let mut buf = [0u8; 16];
    let n = bytes.len().min(16);
    if big_endian {
        buf[16 - n..].copy_from_slice(&bytes[..n]);
        u128::from_be_bytes(buf)
    } else {
        buf[..n].copy_from_slice(&bytes[..n]);
        u128::from_le_bytes(buf)
    }
}

fn extract(raw: u128, shift: u32, bits: u32) -> u128 {
    let v = raw.checked_shr(shift).unwrap_or(0);
    if bits >= 128 {
        v
    } else {
        v & ((1u128 << bits) - 1)
    }
}

/// Sign-extends the low `bits` bits of `raw` when `signed`.
fn extend(raw: u128, bits: u32, signed: bool) -> i128 {
    if !signed || bits == 0 || bits >= 128 {
        return raw as i128;
    }
    let unused = 128 - bits;
    ((raw << unused) as i128) >> unused
}

fn int_value(
    raw: u128,
    shift: u32,
    bits: u32,
    signed: bool,
    is_bool: bool,
    is_char: bool,
) -> Value {
    let field = extract(raw, shift, bits);
    if is_bool {
        Value::Bool(field != 0)
    } else if is_char && bits == 8 {
        Value::Char(field as u8)
    } else if signed {
        Value::Signed(extend(field, bits, true))
    } else {
        Value::Unsigned(field)
    }
}

fn float_value(raw: u128, size: u32) -> Value {
    match size {
        4 => Value::Float(f32::from_bits(raw as u32) as f64),
        8 => Value::Float(f64::from_bits(raw as u64)),
        // half and long double are rare in BPF; show the bits.
        _ => Value::Unsigned(raw),
    }
}

/// Integers with a larger magnitude lose precision as JSON numbers in most
/// consumers (JavaScript, jq), so they become strings.
pub const JSON_SAFE_INT: u128 = 1 << 53;

/// The value as JSON: structs become objects (anonymous members merged into
/// their parent), char arrays strings, enums their name (or number),
/// pointers `"0x..."` strings, integers beyond 2^53 decimal strings.
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Unsigned(v) => json_uint(*v),
        Value::Signed(v) => json_int(*v),
        Value::Bool(b) => J::Bool(*b),
        Value::Char(c) => J::from(*c),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str { text, .. } => J::String(text.clone()),
        Value::Bytes(b) => J::Array(b.iter().map(|&x| J::from(x)).collect()),
        Value::Enum { name: Some(n), .. } => J::String(n.clone()),
        Value::Enum { name: None, value } => json_int(*value),
        Value::Ptr(p) => J::String(format!("{p:#x}")),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Struct(_) | Value::Union(_) => {
            let mut map = serde_json::Map::new();
            for f in value.fields_flat() {
                map.insert(f.name.clone(), to_json(&f.value));
            }
            J::Object(map)
        }
    }
}

pub fn json_uint(v: u128) -> serde_json::Value {
    if v <= JSON_SAFE_INT {
        serde_json::Value::from(v as u64)
    } else {
        serde_json::Value::String(v.to_string())
    }
}

pub fn json_int(v: i128) -> serde_json::Value {
    if v.unsigned_abs() <= JSON_SAFE_INT {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::String(v.to_string())
    }
}

/// bpftool/libbpf-like C text: `{.pid = 42, .comm = "bash", .p = 0xffff0000}`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Signed(v) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Char(c) if c.is_ascii_graphic() || *c == b' ' => write!(f, "'{}'", *c as char),
            Value::Char(c) => write!(f, "'\\x{c:02x}'"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str { text, .. } => write!(f, "{text:?}"),
            Value::Bytes(b) => write_list(f, b.iter()),
            Value::Enum { name: Some(n), .. } => f.write_str(n),
            Value::Enum { name: None, value } => write!(f, "{value}"),
            Value::Ptr(p) => write!(f, "{p:#x}"),
            Value::Array(items) => write_list(f, items.iter()),
            Value::Struct(fields) | Value::Union(fields) => {
                f.write_str("{")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if field.name.is_empty() {
                        write!(f, "{}", field.value)?;
                    } else {
                        write!(f, ".{} = {}", field.name, field.value)?;
                    }
                }
                f.write_str("}")
            }
        }
    }
}

fn write_list<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: impl Iterator<Item = T>,
) -> fmt::Result {
    f.write_str("[")?;
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    f.write_str("]")
}
