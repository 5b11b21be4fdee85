//! Decoding of the raw BTF format (`struct btf_header`, the type section and
//! the string section). Every offset, count and id is checked: malformed input
//! gives an [`Error`], never a panic.

use crate::types::*;
use crate::{Btf, Error};
use std::sync::Arc;

pub(crate) const BTF_MAGIC: u16 = 0xeb9f;
const MIN_HEADER_LEN: u32 = 24;
/// Sanity bound for `vlen`-sized records so a corrupt count cannot make us
/// allocate gigabytes before the bounds check catches it.
const TYPE_HEADER_LEN: usize = 12;

/// A little cursor over bytes of either endianness.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    pub big_endian: bool,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], big_endian: bool) -> Self {
        Reader {
            data,
            pos: 0,
            big_endian,
        }
    }

    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn take<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        // let-else rather than `ok_or(..)`: this runs for every field read,
        // and an eagerly built error costs a drop call each time.
        let Some(end) = self.pos.checked_add(N).filter(|&e| e <= self.data.len()) else {
            return Err(Error::Truncated { what, at: self.pos });
        };
        let mut out = [0u8; N];
        out.copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.take::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        let b = self.take::<2>(what)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        let b = self.take::<4>(what)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
}

/// Where the magic says the data is big-endian.
pub(crate) fn detect_endianness(data: &[u8]) -> Result<bool, Error> {
    match data {
        [0x9f, 0xeb, ..] => Ok(false),
        [0xeb, 0x9f, ..] => Ok(true),
        [a, b, ..] => Err(Error::BadMagic(u16::from_le_bytes([*a, *b]))),
        _ => Err(Error::Truncated {
            what: "BTF header",
            at: 0,
        }),
    }
}

pub(crate) struct Header {
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
}

pub(crate) fn read_header(r: &mut Reader) -> Result<Header, Error> {
    let magic = r.u16("BTF magic")?;
    if magic != BTF_MAGIC {
        return Err(Error::BadMagic(magic));
    }
    let version = r.u8("BTF version")?;
    if version != 1 {
        return Err(Error::Unsupported(format!("BTF version {version}")));
    }
    let _flags = r.u8("BTF flags")?;
    let header = Header {
        hdr_len: r.u32("BTF hdr_len")?,
        type_off: r.u32("BTF type_off")?,
        type_len: r.u32("BTF type_len")?,
        str_off: r.u32("BTF str_off")?,
        str_len: r.u32("BTF str_len")?,
    };
    if header.hdr_len < MIN_HEADER_LEN {
        return Err(Error::Invalid(format!(
            "header length {} is shorter than {MIN_HEADER_LEN}",
            header.hdr_len
        )));
    }
    Ok(header)
}

fn section<'a>(
    data: &'a [u8],
    start: u32,
    off: u32,
    len: u32,
    what: &str,
) -> Result<&'a [u8], Error> {
    Ok(&data[section_range(data, start, off, len, what)?])
}

/// Where a section given by the header lies in `data`, checked.
pub(crate) fn section_range(
    data: &[u8],
    start: u32,
    off: u32,
    len: u32,
    what: &str,
) -> Result<std::ops::Range<usize>, Error> {
    let begin = start as u64 + off as u64;
    let end = begin + len as u64;
    if end > data.len() as u64 {
        return Err(Error::Invalid(format!(
            "{what} section [{begin}, {end}) runs past the end of the data ({} bytes)",
            data.len()
        )));
    }
    Ok(begin as usize..end as usize)
}

pub(crate) fn parse(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, Error> {
    let big_endian = detect_endianness(data)?;
    let mut r = Reader::new(data, big_endian);
    let header = read_header(&mut r)?;
    let strings = section(
        data,
        header.hdr_len,
        header.str_off,
        header.str_len,
        "string",
    )?;
    let type_data = section(
        data,
        header.hdr_len,
        header.type_off,
        header.type_len,
        "type",
    )?;
    check_strings(strings, base.is_some())?;

    let (first_id, str_base) = match &base {
        Some(b) => (b.next_id(), b.strings_end()),
        None => (1, 0),
    };
    let mut btf = Btf {
        types: Vec::new(),
        strings: strings.to_vec(),
        first_id,
        str_base,
        base,
        big_endian,
        by_name: Default::default(),
    };
    let mut r = Reader::new(type_data, big_endian);
    while r.remaining() > 0 {
        let id = btf.first_id + btf.types.len() as u32;
        let ty = read_type(&mut r).map_err(|e| e.in_type(id))?;
        btf.types.push(ty);
    }
    btf.validate()?;
    Ok(btf)
}

fn check_strings(strings: &[u8], split: bool) -> Result<(), Error> {
    if strings.is_empty() {
        // Split BTF may carry no strings of its own.
        return if split {
            Ok(())
        } else {
            Err(Error::Invalid("empty string section".into()))
        };
    }
    if !split && strings[0] != 0 {
        return Err(Error::Invalid(
            "string section does not start with an empty string".into(),
        ));
    }
    if strings.last() != Some(&0) {
        return Err(Error::Invalid(
            "string section is not NUL-terminated".into(),
        ));
    }
    Ok(())
}

pub(crate) fn read_type(r: &mut Reader) -> Result<Type, Error> {
    if r.remaining() < TYPE_HEADER_LEN {
        return Err(Error::Truncated {
            what: "type header",
            at: r.pos,
        });
    }
    let name_off = r.u32("type name")?;
    let info = r.u32("type info")?;
    let size_or_type = r.u32("type size")?;
    let vlen = (info & 0xffff) as usize;
    let kind_no = ((info >> 24) & 0x1f) as u8;
    let kind_flag = info >> 31 == 1;
    let kind = match kind_no {
        kind_no::INT => {
            let raw = r.u32("int encoding")?;
            let encoding = (raw >> 24) & 0xf;
            Kind::Int(Int {
                size: size_or_type,
                signed: encoding & 1 != 0,
                char: encoding & 2 != 0,
                bool: encoding & 4 != 0,
                offset: ((raw >> 16) & 0xff) as u8,
                bits: (raw & 0xff) as u8,
            })
        }
        kind_no::PTR => Kind::Ptr(size_or_type),
        kind_no::ARRAY => Kind::Array(Array {
            elem: r.u32("array element type")?,
            index: r.u32("array index type")?,
            len: r.u32("array length")?,
        }),
        kind_no::STRUCT | kind_no::UNION => {
            check_records(r, vlen, 12, "members")?;
            let mut members = Vec::with_capacity(vlen);
            for _ in 0..vlen {
                let name_off = r.u32("member name")?;
                let ty = r.u32("member type")?;
                let offset = r.u32("member offset")?;
                let (bit_offset, bitfield_size) = if kind_flag {
                    (offset & 0xff_ffff, (offset >> 24) as u8)
                } else {
                    (offset, 0)
                };
                members.push(Member {
                    name_off,
                    ty,
                    bit_offset,
                    bitfield_size,
                });
            }
            let c = Composite {
                size: size_or_type,
                kind_flag,
                members,
            };
            if kind_no == kind_no::STRUCT {
                Kind::Struct(c)
            } else {
                Kind::Union(c)
            }
        }
        kind_no::ENUM => {
            check_records(r, vlen, 8, "enumerators")?;
            let mut values = Vec::with_capacity(vlen);
            for _ in 0..vlen {
                let name_off = r.u32("enumerator name")?;
                let raw = r.u32("enumerator value")?;
                let value = if kind_flag {
                    raw as i32 as i64 as u64
                } else {
                    raw as u64
                };
                values.push(EnumValue { name_off, value });
            }
            Kind::Enum(Enum {
                size: size_or_type,
                signed: kind_flag,
                is_64: false,
                values,
            })
        }
        kind_no::ENUM64 => {
            check_records(r, vlen, 12, "enumerators")?;
            let mut values = Vec::with_capacity(vlen);
            for _ in 0..vlen {
                let name_off = r.u32("enumerator name")?;
                let lo = r.u32("enumerator value")? as u64;
                let hi = r.u32("enumerator value")? as u64;
                values.push(EnumValue {
                    name_off,
                    value: hi << 32 | lo,
                });
            }
            Kind::Enum(Enum {
                size: size_or_type,
                signed: kind_flag,
                is_64: true,
                values,
            })
        }
        kind_no::FWD => Kind::Fwd {
            is_union: kind_flag,
        },
        kind_no::TYPEDEF => Kind::Typedef(size_or_type),
        kind_no::VOLATILE => Kind::Volatile(size_or_type),
        kind_no::CONST => Kind::Const(size_or_type),
        kind_no::RESTRICT => Kind::Restrict(size_or_type),
        kind_no::TYPE_TAG => Kind::TypeTag(size_or_type),
        kind_no::FUNC => Kind::Func {
            proto: size_or_type,
            linkage: Linkage::from_raw(vlen as u32),
        },
        kind_no::FUNC_PROTO => {
            check_records(r, vlen, 8, "parameters")?;
            let mut params = Vec::with_capacity(vlen);
            for _ in 0..vlen {
                params.push(Param {
                    name_off: r.u32("parameter name")?,
                    ty: r.u32("parameter type")?,
                });
            }
            Kind::FuncProto(FuncProto {
                ret: size_or_type,
                params,
            })
        }
        kind_no::VAR => Kind::Var {
            ty: size_or_type,
            linkage: Linkage::from_raw(r.u32("variable linkage")?),
        },
        kind_no::DATASEC => {
            check_records(r, vlen, 12, "section variables")?;
            let mut vars = Vec::with_capacity(vlen);
            for _ in 0..vlen {
                vars.push(VarSecinfo {
                    ty: r.u32("datasec variable type")?,
                    offset: r.u32("datasec variable offset")?,
                    size: r.u32("datasec variable size")?,
                });
            }
            Kind::Datasec(Datasec {
                size: size_or_type,
                vars,
            })
        }
        kind_no::FLOAT => Kind::Float { size: size_or_type },
        kind_no::DECL_TAG => Kind::DeclTag {
            ty: size_or_type,
            component_idx: r.u32("decl tag component")? as i32,
        },
        other => return Err(Error::Invalid(format!("unknown BTF kind {other}"))),
    };
    Ok(Type { name_off, kind })
}

fn check_records(r: &Reader, count: usize, size: usize, what: &'static str) -> Result<(), Error> {
    if count.saturating_mul(size) > r.remaining() {
        return Err(Error::Truncated { what, at: r.pos });
    }
    Ok(())
}
