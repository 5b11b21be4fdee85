//! The reverse of [`crate::value::to_json`]: JSON written by a user
//! (`{"count": 0, "comm": "bash"}`) to the bytes of a BTF type, for map
//! updates and lookups by decoded key.
//!
//! Everything `to_json` writes is accepted back: numbers (or decimal
//! strings beyond 2^53, or `"0x..."` hex), `true`/`false`, enumerator names,
//! `"0x..."` pointers, strings for `char` arrays, arrays, and objects for
//! structs and unions whose anonymous members' fields are merged into
//! their parent. Members left out are zero; arrays may be shorter than
//! their type (the rest is zero). Values that do not fit are errors.

use crate::value::read_uint;
use crate::{Btf, Kind, Member, TypeId};
use serde_json::Value as J;

const MAX_DEPTH: usize = 64;

/// Why a JSON value cannot be written as a type; `path` is where in the
/// value (`.stats[2].count`, empty for the whole).
#[derive(Debug, thiserror::Error)]
#[error("{}{why}", if path.is_empty() { String::new() } else { format!("at {path}: ") })]
pub struct EncodeError {
    pub path: String,
    pub why: String,
}

/// The bytes of `value` as type `ty` (its size, in the BTF's byte order).
pub fn encode_json(btf: &Btf, ty: TypeId, value: &J) -> Result<Vec<u8>, EncodeError> {
    let size = btf.size_of(ty).map_err(|e| fail("", e.to_string()))?;
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s <= 1 << 24)
        .ok_or_else(|| fail("", format!("a type of {size} bytes is too large")))?;
    let mut out = vec![0u8; size];
    Encoder { btf }.value(ty, value, &mut out, "", 0)?;
    Ok(out)
}

fn fail(path: &str, why: impl Into<String>) -> EncodeError {
    EncodeError {
        path: path.to_string(),
        why: why.into(),
    }
}

struct Encoder<'a> {
    btf: &'a Btf,
}

impl Encoder<'_> {
    fn resolve(&self, ty: TypeId, path: &str) -> Result<(TypeId, &Kind), EncodeError> {
        let id = self
            .btf
            .resolve(ty)
            .map_err(|e| fail(path, e.to_string()))?;
        let t = self
            .btf
            .type_by_id(id)
            .map_err(|e| fail(path, e.to_string()))?;
        Ok((id, &t.kind))
    }

    fn value(
        &self,
        ty: TypeId,
        value: &J,
        out: &mut [u8],
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        if depth > MAX_DEPTH {
            return Err(fail(path, "the type nests too deeply"));
        }
        let (id, kind) = self.resolve(ty, path)?;
        match kind {
            Kind::Int(i) if i.bool => {
                let bit = match value {
                    J::Bool(b) => u128::from(*b),
                    other => number(other, path)?.unsigned_within(1, path)?,
                };
                self.write_uint(out, i.size as usize, bit);
            }
            Kind::Int(i) => {
                let raw = match value {
                    J::String(s) if i.char && s.len() == 1 => u128::from(s.as_bytes()[0]),
                    other => number(other, path)?.fit(u32::from(i.bits), i.signed, path)?,
                };
                self.write_uint(out, i.size as usize, raw << i.offset);
            }
            Kind::Ptr(_) => {
                let raw = number(value, path)?.fit(64, false, path)?;
                self.write_uint(out, 8, raw);
            }
            Kind::Float { size } => {
                let x = value
                    .as_f64()
                    .ok_or_else(|| fail(path, format!("expected a number, not {value}")))?;
                let bits = if *size == 4 {
                    u128::from((x as f32).to_bits())
                } else {
                    u128::from(x.to_bits())
                };
                self.write_uint(out, *size as usize, bits);
            }
            Kind::Enum(e) => {
                let raw = self.enumerator(id, value, path)?;
                let bits = e.size * 8;
                let raw = Number::Signed(raw).fit(bits, e.signed || raw < 0, path)?;
                self.write_uint(out, e.size as usize, raw);
            }
            Kind::Array(a) => self.array(a.elem, a.len, value, out, path, depth)?,
            Kind::Struct(c) | Kind::Union(c) => {
                let J::Object(fields) = value else {
                    return Err(fail(path, format!("expected an object, not {value}")));
                };
                for (name, field) in fields {
                    let at = format!("{path}.{name}");
                    let (member, offset) =
                        self.member(&c.members, name, 0, depth)?.ok_or_else(|| {
                            fail(
                                &at,
                                format!("no member '{name}' in {}", self.btf.name_of(id)),
                            )
                        })?;
                    self.member_value(c.kind_flag, &member, offset, field, out, &at, depth)?;
                }
            }
            other => return Err(fail(path, format!("a {} has no value", other.name()))),
        }
        Ok(())
    }

    fn array(
        &self,
        elem: TypeId,
        len: u32,
        value: &J,
        out: &mut [u8],
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let elem_size = self
            .btf
            .size_of(elem)
            .map_err(|e| fail(path, e.to_string()))? as usize;
        if let J::String(text) = value
            && crate::value::is_char_type(self.btf, elem)
        {
            let bytes = text.as_bytes();
            if bytes.len() > len as usize {
                return Err(fail(
                    path,
                    format!("\"{text}\" is longer than the {len} chars of the array"),
                ));
            }
            out[..bytes.len()].copy_from_slice(bytes);
            return Ok(());
        }
        let J::Array(items) = value else {
            return Err(fail(path, format!("expected an array, not {value}")));
        };
        if items.len() > len as usize {
            return Err(fail(
                path,
                format!("{} items for an array of {len}", items.len()),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let start = i * elem_size;
            let at = format!("{path}[{i}]");
            self.value(
                elem,
                item,
                &mut out[start..start + elem_size],
                &at,
                depth + 1,
            )?;
        }
        Ok(())
    }

    /// The member called `name`, looking inside anonymous members as
    /// `to_json` merges them; with its bit offset from the outer start.
    fn member(
        &self,
        members: &[Member],
        name: &str,
        base_bits: u32,
        depth: usize,
    ) -> Result<Option<(Member, u32)>, EncodeError> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        for m in members {
            let offset = base_bits + m.bit_offset;
            if self.btf.str_at(m.name_off) == name {
                return Ok(Some((*m, offset)));
            }
            if m.name_off != 0 {
                continue;
            }
            if let (_, Kind::Struct(c) | Kind::Union(c)) = self.resolve(m.ty, "")?
                && let Some(found) = self.member(&c.members, name, offset, depth + 1)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    fn member_value(
        &self,
        kind_flag: bool,
        member: &Member,
        bit_offset: u32,
        value: &J,
        out: &mut [u8],
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let (id, kind) = self.resolve(member.ty, path)?;
        let bitfield = match kind {
            Kind::Int(i) if kind_flag && member.bitfield_size > 0 => {
                Some((u32::from(member.bitfield_size), i.signed))
            }
            Kind::Enum(e) if kind_flag && member.bitfield_size > 0 => {
                Some((u32::from(member.bitfield_size), e.signed))
            }
            Kind::Int(i)
                if !i.bool
                    && (!bit_offset.is_multiple_of(8)
                        || i.offset != 0
                        || u32::from(i.bits) != i.size * 8) =>
            {
                Some((u32::from(i.bits), i.signed))
            }
            _ => None,
        };
        let Some((bits, signed)) = bitfield else {
            let start = (bit_offset / 8) as usize;
            return self.value(member.ty, value, &mut out[start..], path, depth + 1);
        };
        let raw = match kind {
            Kind::Enum(_) => {
                let v = self.enumerator(id, value, path)?;
                Number::Signed(v).fit(bits, signed || v < 0, path)?
            }
            _ => number(value, path)?.fit(bits, signed, path)?,
        };
        self.write_bits(out, bit_offset, bits, raw, path)
    }

    /// An enumerator by name, or a number.
    fn enumerator(&self, id: TypeId, value: &J, path: &str) -> Result<i128, EncodeError> {
        if let J::String(name) = value
            && let Some(Kind::Enum(e)) = self.btf.get(id).map(|t| &t.kind)
            && let Some(v) = e
                .values
                .iter()
                .find(|v| self.btf.str_at(v.name_off) == name)
        {
            return Ok(if e.signed {
                i128::from(v.value as i64)
            } else {
                i128::from(v.value)
            });
        }
        match number(value, path) {
            Ok(Number::Signed(v)) => Ok(v),
            Ok(Number::Unsigned(v)) => i128::try_from(v).map_err(|_| fail(path, "too large")),
            Err(_) => Err(fail(
                path,
                format!("{value} is neither a number nor an enumerator of {}", {
                    self.btf.name_of(id)
                }),
            )),
        }
    }

    fn write_uint(&self, out: &mut [u8], size: usize, raw: u128) {
        let size = size.min(16).min(out.len());
        let bytes = raw.to_le_bytes();
        if self.btf.is_big_endian() {
            for (i, b) in out[..size].iter_mut().enumerate() {
                *b = bytes[size - 1 - i];
            }
        } else {
            out[..size].copy_from_slice(&bytes[..size]);
        }
    }

    fn write_bits(
        &self,
        out: &mut [u8],
        bit_offset: u32,
        bits: u32,
        raw: u128,
        path: &str,
    ) -> Result<(), EncodeError> {
        let first = (bit_offset / 8) as usize;
        let last = (bit_offset + bits).div_ceil(8) as usize;
        let big = self.btf.is_big_endian();
        let span_len = last.saturating_sub(first);
        if span_len > 16 || last > out.len() {
            return Err(fail(path, "bitfield outside its struct"));
        }
        let span = &mut out[first..last];
        let shift = if big {
            span_len as u32 * 8 - (bit_offset % 8) - bits
        } else {
            bit_offset % 8
        };
        let mask = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        let old = read_uint(span, big);
        let new = (old & !(mask << shift)) | ((raw & mask) << shift);
        self.write_uint(span, span_len, new);
        Ok(())
    }
}

/// A JSON number (or a decimal/hex string) before it is fitted to a type.
#[derive(Clone, Copy)]
enum Number {
    Unsigned(u128),
    Signed(i128),
}

fn number(value: &J, path: &str) -> Result<Number, EncodeError> {
    let parsed = match value {
        J::Number(n) => n
            .as_u64()
            .map(|v| Number::Unsigned(v.into()))
            .or_else(|| n.as_i64().map(|v| Number::Signed(v.into()))),
        J::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u128::from_str_radix(hex, 16).ok().map(Number::Unsigned),
            None => s
                .parse::<u128>()
                .map(Number::Unsigned)
                .ok()
                .or_else(|| s.parse::<i128>().ok().map(Number::Signed)),
        },
        J::Bool(b) => Some(Number::Unsigned(u128::from(*b))),
        _ => None,
    };
    parsed.ok_or_else(|| fail(path, format!("expected an integer, not {value}")))
}

impl Number {
    /// The two's complement bits of the number in a `bits`-wide field,
    /// if it fits (a negative number only in a signed one).
    fn fit(self, bits: u32, signed: bool, path: &str) -> Result<u128, EncodeError> {
        let bits = bits.clamp(1, 128);
        let fits = match (self, signed) {
            (Number::Unsigned(v), false) => bits == 128 || v >> bits == 0,
            (Number::Unsigned(v), true) => bits == 128 || v >> (bits - 1) == 0,
            (Number::Signed(v), _) if v >= 0 => {
                return Number::Unsigned(v as u128).fit(bits, signed, path);
            }
            (Number::Signed(_), false) => false,
            (Number::Signed(v), true) => bits == 128 || v >= -(1i128 << (bits - 1)),
        };
        let text = match self {
            Number::Unsigned(v) => v.to_string(),
            Number::Signed(v) => v.to_string(),
        };
        if !fits {
            let kind = if signed { "signed" } else { "unsigned" };
            return Err(fail(
                path,
                format!("{text} does not fit in {bits} {kind} bits"),
            ));
        }
        let raw = match self {
            Number::Unsigned(v) => v,
            Number::Signed(v) => v as u128,
        };
        Ok(if bits == 128 {
            raw
        } else {
            raw & ((1u128 << bits) - 1)
        })
    }

    fn unsigned_within(self, bits: u32, path: &str) -> Result<u128, EncodeError> {
        self.fit(bits, false, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::BtfBuilder;
    use crate::types::{Array, Composite, Enum, EnumValue, Int, Type};
    use serde_json::json;

    struct Types {
        btf: Btf,
        value: TypeId,
        u8_: TypeId,
    }

    /// struct v { u64 count; char comm[4]; s16 delta; u8 small:3, flag:1;
    /// enum e { A = 1, B = 2 } kind; struct { u32 inner; }; u8 raw[2]; }
    fn types() -> Types {
        let mut b = BtfBuilder::new();
        let add = |b: &mut BtfBuilder, name: &str, kind: Kind| {
            let name_off = if name.is_empty() {
                0
            } else {
                b.add_string(name)
            };
            b.add_type(Type { name_off, kind })
        };
        let int = |size, signed, char| {
            Kind::Int(Int {
                size,
                signed,
                char,
                bool: false,
                offset: 0,
                bits: (size * 8) as u8,
            })
        };
        let u64_ = add(&mut b, "u64", int(8, false, false));
        let ch = add(&mut b, "char", int(1, true, true));
        let s16 = add(&mut b, "s16", int(2, true, false));
        let u8_ = add(&mut b, "u8", int(1, false, false));
        let u32_ = add(&mut b, "u32", int(4, false, false));
        let comm = add(
            &mut b,
            "",
            Kind::Array(Array {
                elem: ch,
                index: u32_,
                len: 4,
            }),
        );
        let raw = add(
            &mut b,
            "",
            Kind::Array(Array {
                elem: u8_,
                index: u32_,
                len: 2,
            }),
        );
        let (a, bb) = (b.add_string("A"), b.add_string("B"));
        let e = add(
            &mut b,
            "e",
            Kind::Enum(Enum {
                size: 4,
                signed: false,
                is_64: false,
                values: vec![
                    EnumValue {
                        name_off: a,
                        value: 1,
                    },
                    EnumValue {
                        name_off: bb,
                        value: 2,
                    },
                ],
            }),
        );
        let member = |b: &mut BtfBuilder, name: &str, ty, bit_offset, bitfield_size| Member {
            name_off: if name.is_empty() {
                0
            } else {
                b.add_string(name)
            },
            ty,
            bit_offset,
            bitfield_size,
        };
        let inner_m = member(&mut b, "inner", u32_, 0, 0);
        let anon = add(
            &mut b,
            "",
            Kind::Struct(Composite {
                size: 4,
                kind_flag: false,
                members: vec![inner_m],
            }),
        );
        let members = vec![
            member(&mut b, "count", u64_, 0, 0),
            member(&mut b, "comm", comm, 64, 0),
            member(&mut b, "delta", s16, 96, 0),
            member(&mut b, "small", u8_, 112, 3),
            member(&mut b, "flag", u8_, 115, 1),
            member(&mut b, "kind", e, 128, 0),
            member(&mut b, "", anon, 160, 0),
            member(&mut b, "raw", raw, 192, 0),
        ];
        let value = add(
            &mut b,
            "v",
            Kind::Struct(Composite {
                size: 32,
                kind_flag: true,
                members,
            }),
        );
        Types {
            btf: b.build().unwrap(),
            value,
            u8_,
        }
    }

    #[test]
    fn decoded_json_encodes_back_to_the_same_bytes() {
        let t = types();
        let input = json!({
            "count": 7, "comm": "ab", "delta": -2, "small": 5, "flag": 1,
            "kind": "B", "inner": 9, "raw": [1, 255],
        });
        let bytes = encode_json(&t.btf, t.value, &input).unwrap();
        let decoded = crate::value::decode(&t.btf, t.value, &bytes).unwrap();
        assert_eq!(crate::value::to_json(&decoded), input);
        assert_eq!(&bytes[..8], &7u64.to_le_bytes());
        assert_eq!(bytes[14], 5 | 1 << 3);
        // Members left out are zero.
        let partial = encode_json(&t.btf, t.value, &json!({"count": 1})).unwrap();
        assert_eq!(partial[0], 1);
        assert!(partial[1..].iter().all(|&b| b == 0));
    }

    #[test]
    fn values_that_do_not_fit_are_errors_with_their_path() {
        let t = types();
        for (input, says) in [
            (
                json!({"small": 8}),
                "at .small: 8 does not fit in 3 unsigned bits",
            ),
            (json!({"delta": 40000}), "at .delta: 40000 does not fit"),
            (json!({"count": -1}), "at .count: -1 does not fit"),
            (json!({"comm": "abcde"}), "longer than the 4 chars"),
            (json!({"kind": "C"}), "neither a number nor an enumerator"),
            (json!({"nope": 1}), "at .nope: no member 'nope' in v"),
            (json!({"raw": [1, 2, 3]}), "3 items for an array of 2"),
            (json!({"raw": [256]}), "at .raw[0]: 256 does not fit"),
            (json!([1]), "expected an object"),
        ] {
            let err = encode_json(&t.btf, t.value, &input)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{input}: {err}");
        }
        assert_eq!(encode_json(&t.btf, t.u8_, &json!("0xff")).unwrap(), [255]);
        assert!(encode_json(&t.btf, t.u8_, &json!(1.5)).is_err());
    }
}
