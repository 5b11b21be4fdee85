//! The column plan of one type: computed once, then used for every record.
//!
//! Each leaf member becomes a [`Column`] with its byte offset, a [`Leaf`]
//! that says how to read it, and the [`Render`] chosen by
//! [`crate::semantic`]. Anonymous members are flattened into their parent;
//! an anonymous union of `x_v4`/`x_v6` members becomes one address column
//! `x`. A named nested struct (or an array of structs) stays one column
//! with a plan of its own, shown as a JSON object / `{.a = 1}` text.

use crate::clock::WallClock;
use crate::semantic::{self, FieldContext, Render, Shape};
use crate::users::Users;
use crate::{Error, Result, json, names};
use bpfkit_btf::value::{is_char_type, read_uint, typedef_chain};
use bpfkit_btf::view::BtfView;
use bpfkit_btf::{Btf, Kind, TypeId, kind_no};
use std::io::Write as _;
use std::sync::OnceLock;

/// Nested struct/array depth bound (BTF validation already excludes cycles).
const MAX_NESTING: usize = 32;
/// Arrays of structs longer than this are cut (a zero-sized element could
/// otherwise be repeated four billion times).
const MAX_ARRAY_ELEMENTS: usize = 1 << 16;

/// How to read a column's bytes.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    Int {
        size: usize,
        signed: bool,
    },
    /// A bitfield: `bits` bits, `shift` bits into the `span` bytes at the
    /// column offset.
    Bits {
        span: usize,
        shift: u32,
        bits: u32,
        signed: bool,
    },
    Bool,
    Str {
        len: usize,
    },
    Bytes {
        len: usize,
    },
    IntArray {
        elem_size: usize,
        len: usize,
        signed: bool,
    },
    Enum {
        size: usize,
        signed: bool,
        names: Vec<(i128, String)>,
    },
    Float {
        size: usize,
    },
    Ptr,
    /// A named nested struct or union, with its own plan.
    Struct(Box<Plan>),
    /// An array of anything but plain integers (structs, nested arrays).
    Array {
        elem: Box<Plan>,
        len: usize,
    },
}

impl Leaf {
    fn shape(&self) -> Shape {
        match *self {
            Leaf::Int { size, signed } => Shape::Int { size, signed },
            Leaf::Bits { bits, signed, .. } => Shape::Int {
                size: bits.div_ceil(8) as usize,
                signed,
            },
            Leaf::Str { len } => Shape::CharArray { len },
            Leaf::Bytes { len } => Shape::Bytes { len },
            Leaf::IntArray { elem_size, len, .. } => Shape::IntArray { elem_size, len },
            _ => Shape::Other,
        }
    }

    /// The shape a render override is checked against: enums, bools and
    /// pointers are numbers too (`num_of` reads them), so `Names`, `Hex`,
    /// `Scaled`... fit them; [`Leaf::shape`] keeps them apart so that name
    /// rules do not pick number renders for them by themselves.
    fn number_shape(&self) -> Shape {
        match *self {
            Leaf::Enum { size, signed, .. } => Shape::Int { size, signed },
            Leaf::Bool => Shape::Int {
                size: 1,
                signed: false,
            },
            Leaf::Ptr => Shape::Int {
                size: 8,
                signed: false,
            },
            _ => self.shape(),
        }
    }

    /// Bytes the leaf occupies from its offset.
    pub fn byte_len(&self) -> usize {
        match *self {
            Leaf::Int { size, .. } | Leaf::Enum { size, .. } | Leaf::Float { size } => size,
            Leaf::Bits { span, .. } => span,
            Leaf::Bool => 1,
            Leaf::Str { len } | Leaf::Bytes { len } => len,
            Leaf::IntArray { elem_size, len, .. } => elem_size * len,
            Leaf::Ptr => 8,
            Leaf::Struct(ref p) => p.size,
            Leaf::Array { ref elem, len } => elem.size * len,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub offset: usize,
    pub leaf: Leaf,
    pub render: Render,
    /// A host-order port whose order only its type decided (no hint, no
    /// host-order name): the data flow may make it network order.
    pub port_order_open: bool,
    /// `"name":` ready to copy into JSON output.
    pub json_key: Vec<u8>,
}

impl Column {
    /// Whether `render` can show this column's shape. Errno-style and
    /// numeric renders on any integer are a caller's deliberate choice.
    pub fn accepts(&self, render: Render) -> bool {
        let shape = self.leaf.number_shape();
        let len = shape.byte_len();
        let any_int = matches!(shape, Shape::Int { .. });
        match render {
            Render::Errno | Render::ErrnoName | Render::Octal | Render::Disk => any_int,
            _ => semantic::fits(render, shape, len),
        }
    }
}

/// A member found while flattening, before classification.
struct RawMember {
    name: String,
    ty: TypeId,
    bit_offset: u64,
    bitfield: u32,
    /// Stands for a `union { x_v4; x_v6; }`: an IPv4-or-IPv6 address.
    address_union: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub type_name: String,
    pub size: usize,
    /// The shortest record accepted: programs may send a record cut short
    /// inside its last member when that is an array (execsnoop sends only
    /// the argument bytes it read); the missing bytes read as zero.
    min_size: usize,
    pub columns: Vec<Column>,
    /// Index of the address-family column, for [`Render::IpByFamily`].
    family: Option<usize>,
    /// The type is not a struct: one column, JSON written bare.
    pub scalar: bool,
    big_endian: bool,
}

impl Plan {
    pub fn new(btf: &Btf, ty: TypeId) -> Result<Plan> {
        Plan::build(btf, ty, 0)
    }

    fn build(btf: &Btf, ty: TypeId, depth: usize) -> Result<Plan> {
        if depth > MAX_NESTING {
            return Err(Error::Unformattable(ty, "types nest too deeply".into()));
        }
        let id = btf.resolve(ty)?;
        let size = btf.size_of(id)? as usize;
        let type_name = display_name(btf, ty);
        let (members, struct_name, scalar) = match &btf.type_by_id(id)?.kind {
            Kind::Struct(_) | Kind::Union(_) => {
                let mut out = Vec::new();
                flatten(btf, id, 0, &mut out)?;
                (out, btf.name_of(id).to_string(), false)
            }
            _ => (
                vec![RawMember {
                    name: String::new(),
                    ty,
                    bit_offset: 0,
                    bitfield: 0,
                    address_union: false,
                }],
                String::new(),
                true,
            ),
        };
        let has_family = members
            .iter()
            .any(|m| semantic::is_family_name(&m.name.to_ascii_lowercase()));
        let mut columns = Vec::with_capacity(members.len());
        for m in &members {
            columns.push(classify(btf, m, &struct_name, has_family, depth)?);
        }
        for c in &columns {
            if c.offset + c.leaf.byte_len() > size {
                return Err(Error::Unformattable(
                    ty,
                    format!("member '{}' lies outside the {size}-byte type", c.name),
                ));
            }
        }
        let family = columns
            .iter()
            .position(|c| c.render == Render::Family && matches!(c.leaf, Leaf::Int { .. }));
        Ok(Plan {
            type_name,
            size,
            min_size: min_record_size(&columns, size),
            columns,
            family,
            scalar,
            big_endian: btf.is_big_endian(),
        })
    }

    /// Appends the whole record as a JSON object (a bare value for scalar
    /// types).
    pub fn write_json_object(&self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.scalar {
            return self.write_json(&self.columns[0], bytes, out);
        }
        out.push(b'{');
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&col.json_key);
            self.write_json(col, bytes, out);
        }
        out.push(b'}');
    }

    /// Appends the record as C-like text: `{.a = 1, .b = x}` (bare for
    /// scalar types).
    pub fn write_text_object(&self, bytes: &[u8], ctx: &mut RenderCtx, out: &mut Vec<u8>) {
        if self.scalar {
            return self.write_text(&self.columns[0], bytes, ctx, out);
        }
        out.push(b'{');
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.push(b'.');
            out.extend_from_slice(col.name.as_bytes());
            out.extend_from_slice(b" = ");
            let quoted = matches!(col.leaf, Leaf::Str { .. });
            if quoted {
                out.push(b'"');
            }
            self.write_text(col, bytes, ctx, out);
            if quoted {
                out.push(b'"');
            }
        }
        out.push(b'}');
    }

    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::NoSuchField {
                field: name.to_string(),
                ty: self.type_name.clone(),
                known: self
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn check_len(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() < self.min_size {
            return Err(Error::ShortEvent {
                ty: self.type_name.clone(),
                need: self.min_size,
                got: bytes.len(),
            });
        }
        Ok(())
    }

    fn uint(&self, bytes: &[u8], off: usize, size: usize) -> u128 {
        bytes
            .get(off..off + size)
            .map_or(0, |b| read_uint(b, self.big_endian))
    }

    /// The numeric value of an integer-like column.
    pub fn num_of(&self, col: &Column, bytes: &[u8]) -> Option<Num> {
        Some(match col.leaf {
            Leaf::Int { size, signed } => {
                let raw = self.uint(bytes, col.offset, size);
                if signed {
                    Num::I(sign_extend(raw, size as u32 * 8))
                } else {
                    Num::U(raw)
                }
            }
            Leaf::Bits {
                span,
                shift,
                bits,
                signed,
            } => {
                let raw = self.uint(bytes, col.offset, span);
                let shift = if self.big_endian {
                    span as u32 * 8 - shift - bits
                } else {
                    shift
                };
                let v = (raw >> shift) & mask(bits);
                if signed {
                    Num::I(sign_extend(v, bits))
                } else {
                    Num::U(v)
                }
            }
            Leaf::Enum { size, signed, .. } => {
                let raw = self.uint(bytes, col.offset, size);
                if signed {
                    Num::I(sign_extend(raw, size as u32 * 8))
                } else {
                    Num::U(raw)
                }
            }
            Leaf::Bool => Num::U(self.uint(bytes, col.offset, 1)),
            Leaf::Ptr => Num::U(self.uint(bytes, col.offset, 8)),
            _ => return None,
        })
    }

    /// A number used for sorting map entries (first numeric column).
    pub fn sort_key(&self, bytes: &[u8]) -> i128 {
        self.columns
            .iter()
            .find_map(|c| self.num_of(c, bytes))
            .map_or(0, |n| n.i128())
    }

    fn family_of(&self, bytes: &[u8]) -> Option<u64> {
        let col = &self.columns[self.family?];
        self.num_of(col, bytes).map(|n| n.i128() as u64)
    }

    fn raw<'b>(&self, col: &Column, bytes: &'b [u8], len: usize) -> &'b [u8] {
        let end = (col.offset + len).min(bytes.len());
        bytes.get(col.offset..end).unwrap_or(&[])
    }

    /// Appends the table text of column `col`.
    pub fn write_text(&self, col: &Column, bytes: &[u8], ctx: &mut RenderCtx, out: &mut Vec<u8>) {
        self.write_text_as(col, col.render, bytes, ctx, out)
    }

    /// Like [`Plan::write_text`] with another render (a table column's
    /// override, which must not change the field elsewhere).
    pub fn write_text_as(
        &self,
        col: &Column,
        render: Render,
        bytes: &[u8],
        ctx: &mut RenderCtx,
        out: &mut Vec<u8>,
    ) {
        if let Some(n) = self.num_of(col, bytes) {
            return self.write_num_text(col, render, n, bytes, ctx, out);
        }
        match &col.leaf {
            Leaf::Str { len } => {
                let raw = self.raw(col, bytes, *len);
                if render == Render::Argv {
                    write_argv(out, raw);
                } else {
                    write_c_string(out, raw);
                }
            }
            Leaf::Bytes { len } | Leaf::IntArray { len, .. }
                if self.write_address(col, render, bytes, out) => {}
            Leaf::Bytes { len } => write_list(
                out,
                self.raw(col, bytes, *len)
                    .iter()
                    .map(|&b| Num::U(b as u128)),
            ),
            Leaf::IntArray {
                elem_size,
                len,
                signed,
            } => write_list(out, self.int_array(col, bytes, *elem_size, *len, *signed)),
            Leaf::Float { size } => {
                let _ = write!(out, "{}", self.float(col, bytes, *size));
            }
            Leaf::Struct(sub) => {
                sub.write_text_object(&bytes[col.offset.min(bytes.len())..], ctx, out)
            }
            Leaf::Array { elem, len } => {
                write_seq(out, b", ", elements(col, elem, *len, bytes), |e, out| {
                    elem.write_text_object(e, ctx, out)
                })
            }
            _ => {}
        }
    }

    /// IPv4/IPv6 renders of byte and word arrays; false when not an address.
    fn write_address(&self, col: &Column, render: Render, bytes: &[u8], out: &mut Vec<u8>) -> bool {
        match render {
            Render::Ipv4 => {
                let raw = self.raw(col, bytes, 4);
                let Ok(b) = <[u8; 4]>::try_from(raw) else {
                    return false;
                };
                semantic::write_ipv4(out, b);
            }
            Render::Ipv6 | Render::IpByFamily => {
                let raw = self.raw(col, bytes, 16);
                let Ok(b) = <[u8; 16]>::try_from(raw) else {
                    return false;
                };
                if render == Render::Ipv6 {
                    semantic::write_ipv6(out, b);
                } else {
                    semantic::write_ip_by_family(out, b, self.family_of(bytes));
                }
            }
            _ => return false,
        }
        true
    }

    fn write_num_text(
        &self,
        col: &Column,
        render: Render,
        n: Num,
        bytes: &[u8],
        ctx: &mut RenderCtx,
        out: &mut Vec<u8>,
    ) {
        let mut buf = itoa::Buffer::new();
        match render {
            Render::Errno => semantic::write_errno(out, n.i128()),
            Render::Signal if n.i128() == 0 => out.push(b'-'),
            Render::Signal => semantic::write_named(out, n.i128(), names::signal_name),
            Render::ErrnoName => semantic::write_named(out, n.i128().abs(), |e| {
                names::errno_name(e).map(Into::into)
            }),
            Render::Octal => {
                let _ = write!(out, "0{:o}", n.i128() as u128 & mask(64));
            }
            Render::Names(table) => semantic::write_named(out, n.i128(), |i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| table.get(i))
                    .map(|s| (*s).into())
            }),
            Render::Scaled { divisor, decimals } => {
                semantic::write_scaled(out, n.i128(), divisor, decimals)
            }
            Render::Disk => match ctx.disk_name(n.u64()) {
                Some(name) => out.extend_from_slice(name.as_bytes()),
                None => out.push(b'?'),
            },
            Render::Syscall => {
                semantic::write_named(out, n.i128(), |nr| names::syscall_name(nr).map(Into::into))
            }
            Render::Family => semantic::write_named(out, n.i128(), |af| {
                semantic::family_name(af as u64).map(Into::into)
            }),
            Render::Ipv4 | Render::Ipv6 | Render::IpByFamily => {
                if !self.write_address(col, render, bytes, out) {
                    n.write(out);
                }
            }
            Render::Port { network } => {
                out.extend_from_slice(buf.format(self.port(col, bytes, network)).as_bytes())
            }
            Render::Duration(unit) => match n {
                Num::I(v) if v < 0 => n.write(out),
                _ => semantic::write_duration(out, n.i128() as u128, unit),
            },
            Render::Timestamp { clock, unit } => {
                let ns = (n.i128() as u128)
                    .saturating_mul(unit.nanos())
                    .min(u64::MAX as u128) as u64;
                let unix = ctx.clock.to_unix_ns(clock, ns);
                ctx.clock.write_local_time(unix, out);
            }
            Render::Uid => match ctx.users.as_ref().and_then(|u| u.name(n.i128() as u32)) {
                Some(name) => out.extend_from_slice(name.as_bytes()),
                None => n.write(out),
            },
            Render::Hex => {
                let _ = write!(out, "{:#x}", n.i128() as u128 & mask(64));
            }
            _ => self.write_plain_num(col, n, out),
        }
    }

    fn write_plain_num(&self, col: &Column, n: Num, out: &mut Vec<u8>) {
        match &col.leaf {
            Leaf::Bool => out.extend_from_slice(if n.i128() != 0 { b"true" } else { b"false" }),
            Leaf::Ptr => {
                let _ = write!(out, "{:#x}", n.i128() as u128 & mask(64));
            }
            Leaf::Enum { names, .. } => match enum_name(names, n.i128()) {
                Some(name) => out.extend_from_slice(name.as_bytes()),
                None => n.write(out),
            },
            _ => n.write(out),
        }
    }

    fn port(&self, col: &Column, bytes: &[u8], network: bool) -> u16 {
        let raw = self.raw(col, bytes, 2);
        let b = [
            raw.first().copied().unwrap_or(0),
            raw.get(1).copied().unwrap_or(0),
        ];
        if network || self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    /// Appends the JSON value of column `col`.
    pub fn write_json(&self, col: &Column, bytes: &[u8], out: &mut Vec<u8>) {
        match (col.render, &col.leaf) {
            (Render::Ipv4 | Render::Ipv6 | Render::IpByFamily, _) => {
                // Address text never needs JSON escaping.
                let start = out.len();
                out.push(b'"');
                if self.write_address(col, col.render, bytes, out) {
                    out.push(b'"');
                    return;
                }
                out.truncate(start);
            }
            (Render::Port { network }, _) => {
                out.extend_from_slice(
                    itoa::Buffer::new()
                        .format(self.port(col, bytes, network))
                        .as_bytes(),
                );
                return;
            }
            (Render::Hex, _) => {
                if let Some(n) = self.num_of(col, bytes) {
                    let _ = write!(out, "\"{:#x}\"", n.i128() as u128 & mask(64));
                    return;
                }
            }
            _ => {}
        }
        if let Some(n) = self.num_of(col, bytes) {
            return match &col.leaf {
                Leaf::Bool => out.extend_from_slice(if n.i128() != 0 { b"true" } else { b"false" }),
                Leaf::Ptr => {
                    let _ = write!(out, "\"{:#x}\"", n.i128() as u128 & mask(64));
                }
                Leaf::Enum { names, .. } => match enum_name(names, n.i128()) {
                    Some(name) => json::write_str(out, name.as_bytes()),
                    None => n.write_json(out),
                },
                _ => n.write_json(out),
            };
        }
        match &col.leaf {
            Leaf::Str { len } => {
                let raw = self.raw(col, bytes, *len);
                if col.render == Render::Argv {
                    let mut text = Vec::with_capacity(raw.len());
                    write_argv(&mut text, raw);
                    json::write_str(out, &text);
                } else {
                    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                    json::write_str(out, &raw[..end]);
                }
            }
            Leaf::Bytes { len } => write_json_list(
                out,
                self.raw(col, bytes, *len)
                    .iter()
                    .map(|&b| Num::U(b as u128)),
            ),
            Leaf::IntArray {
                elem_size,
                len,
                signed,
            } => write_json_list(out, self.int_array(col, bytes, *elem_size, *len, *signed)),
            Leaf::Float { size } => {
                let f = self.float(col, bytes, *size);
                json::write_value(
                    out,
                    &serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into),
                );
            }
            Leaf::Struct(sub) => sub.write_json_object(&bytes[col.offset.min(bytes.len())..], out),
            Leaf::Array { elem, len } => {
                write_seq(out, b",", elements(col, elem, *len, bytes), |e, out| {
                    elem.write_json_object(e, out)
                })
            }
            _ => out.extend_from_slice(b"null"),
        }
    }

    /// The elements of an integer array column.
    pub fn int_array<'s>(
        &'s self,
        col: &'s Column,
        bytes: &'s [u8],
        elem_size: usize,
        len: usize,
        signed: bool,
    ) -> impl Iterator<Item = Num> + 's {
        (0..len).map(move |i| {
            let raw = self.uint(bytes, col.offset + i * elem_size, elem_size);
            if signed {
                Num::I(sign_extend(raw, elem_size as u32 * 8))
            } else {
                Num::U(raw)
            }
        })
    }

    fn float(&self, col: &Column, bytes: &[u8], size: usize) -> f64 {
        let raw = self.uint(bytes, col.offset, size);
        match size {
            4 => f32::from_bits(raw as u32) as f64,
            _ => f64::from_bits(raw as u64),
        }
    }
}

/// Per-formatter state the renders need.
pub(crate) struct RenderCtx {
    pub clock: WallClock,
    pub users: Option<Users>,
    /// dev_t → disk name from /proc/partitions, read on first use.
    pub disks: Option<std::collections::HashMap<u64, String>>,
    /// The reused buffer custom cells are computed in.
    pub cell: Vec<u8>,
}

impl RenderCtx {
    pub fn new(resolve_users: bool) -> RenderCtx {
        RenderCtx {
            clock: WallClock::now(),
            users: resolve_users.then(Users::load),
            disks: None,
            cell: Vec::new(),
        }
    }

    fn disk_name(&mut self, dev: u64) -> Option<&str> {
        if dev == 0 {
            return None;
        }
        let disks = self.disks.get_or_insert_with(|| {
            std::fs::read_to_string("/proc/partitions")
                .map(|t| parse_partitions(&t))
                .unwrap_or_default()
        });
        disks.get(&dev).map(String::as_str)
    }
}

/// `/proc/partitions` (`major minor #blocks name`) keyed by the kernel's
/// internal dev_t encoding, `major << 20 | minor`, which is what BPF
/// programs read from `struct gendisk`/`bio`.
pub(crate) fn parse_partitions(text: &str) -> std::collections::HashMap<u64, String> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let major: u64 = f.next()?.parse().ok()?;
            let minor: u64 = f.next()?.parse().ok()?;
            let name = f.nth(1)?;
            Some((major << 20 | minor, name.to_string()))
        })
        .collect()
}

/// A number read from a record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    U(u128),
    I(i128),
}

impl Num {
    pub fn i128(self) -> i128 {
        match self {
            Num::U(v) => v as i128,
            Num::I(v) => v,
        }
    }

    pub fn u64(self) -> u64 {
        self.i128() as u64
    }

    fn write(self, out: &mut Vec<u8>) {
        let mut buf = itoa::Buffer::new();
        match self {
            Num::U(v) => out.extend_from_slice(buf.format(v).as_bytes()),
            Num::I(v) => out.extend_from_slice(buf.format(v).as_bytes()),
        }
    }

    fn write_json(self, out: &mut Vec<u8>) {
        match self {
            Num::U(v) => json::write_uint(out, v),
            Num::I(v) => json::write_int(out, v),
        }
    }
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn sign_extend(raw: u128, bits: u32) -> i128 {
    if bits == 0 || bits >= 128 {
        return raw as i128;
    }
    let unused = 128 - bits;
    ((raw << unused) as i128) >> unused
}

fn enum_name(names: &[(i128, String)], v: i128) -> Option<&str> {
    names.iter().find(|(n, _)| *n == v).map(|(_, s)| s.as_str())
}

/// `[a<sep>b<sep>...]`, each item written by `write`.
fn write_seq<T>(
    out: &mut Vec<u8>,
    sep: &[u8],
    items: impl Iterator<Item = T>,
    mut write: impl FnMut(T, &mut Vec<u8>),
) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        write(item, out);
    }
    out.push(b']');
}

fn write_list(out: &mut Vec<u8>, items: impl Iterator<Item = Num>) {
    write_seq(out, b", ", items, |n, out| n.write(out));
}

fn write_json_list(out: &mut Vec<u8>, items: impl Iterator<Item = Num>) {
    write_seq(out, b",", items, |n, out| n.write_json(out));
}

/// The bytes of column `col` in a record; a record cut short inside its
/// last (array) member gives what is there.
pub(crate) fn column_bytes<'b>(col: &Column, bytes: &'b [u8]) -> Option<&'b [u8]> {
    let end = (col.offset + col.leaf.byte_len()).min(bytes.len());
    bytes.get(col.offset..end)
}

/// Where the trailing arrays start: the last member when it is an array,
/// and the number arrays right before it (capable's kernel and user
/// stacks, sent only when asked for); records may end inside or before
/// them. Else the type's size.
fn min_record_size(columns: &[Column], size: usize) -> usize {
    let mut by_offset: Vec<&Column> = columns.iter().collect();
    by_offset.sort_by_key(|c| std::cmp::Reverse(c.offset));
    let mut members = by_offset.into_iter();
    let is_array = |leaf: &Leaf| {
        matches!(
            leaf,
            Leaf::Str { .. } | Leaf::Bytes { .. } | Leaf::IntArray { .. } | Leaf::Array { .. }
        )
    };
    let Some(last) = members.next().filter(|c| is_array(&c.leaf)) else {
        return size;
    };
    members
        .take_while(|c| matches!(c.leaf, Leaf::IntArray { .. }))
        .last()
        .map_or(last.offset, |c| c.offset)
}

/// The bytes of each of the `len` elements of array column `col`, from the
/// element's start (empty past the end of `bytes`).
fn elements<'b>(
    col: &Column,
    elem: &Plan,
    len: usize,
    bytes: &'b [u8],
) -> impl Iterator<Item = &'b [u8]> {
    let (offset, size) = (col.offset, elem.size);
    (0..len).map(move |i| &bytes[(offset + i * size).min(bytes.len())..])
}

/// NUL-separated strings, space-separated, up to the last non-NUL byte.
fn write_argv(out: &mut Vec<u8>, raw: &[u8]) {
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    for (i, arg) in raw[..end].split(|&b| b == 0).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_text_bytes(out, arg);
    }
}

/// A C string up to its NUL, invalid UTF-8 as `\xNN` (like
/// [`bpfkit_btf::value::c_string_text`], without allocating).
pub fn write_c_string(out: &mut Vec<u8>, raw: &[u8]) {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    write_text_bytes(out, &raw[..end]);
}

/// Text as a terminal may safely show it: invalid UTF-8 and control
/// characters (newlines, ESC, C1 codes) as `\xNN`, so a process name or an
/// argument can neither split a row nor send escape sequences.
fn write_text_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut utf8 = [0u8; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            if c.is_control() {
                encoded
                    .iter()
                    .for_each(|&b| semantic::push_escaped_byte(out, b));
            } else {
                out.extend_from_slice(encoded);
            }
        }
        for &b in chunk.invalid() {
            semantic::push_escaped_byte(out, b);
        }
    }
}

/// `struct event`, `__u32`, `[5]` — for messages.
fn display_name(btf: &Btf, ty: TypeId) -> String {
    let name = btf.name_of(ty);
    match btf.get(ty).map(|t| &t.kind) {
        Some(Kind::Struct(_)) if !name.is_empty() => format!("struct {name}"),
        Some(Kind::Union(_)) if !name.is_empty() => format!("union {name}"),
        _ if !name.is_empty() => name.to_string(),
        _ => format!("[{ty}]"),
    }
}

/// Collects the members of struct/union `id`, descending into anonymous
/// members, with offsets relative to the outermost type.
fn flatten(btf: &Btf, id: TypeId, base_bits: u64, out: &mut Vec<RawMember>) -> Result<()> {
    let (Kind::Struct(c) | Kind::Union(c)) = &btf.type_by_id(id)?.kind else {
        return Ok(());
    };
    for m in &c.members {
        let name = btf.str_at(m.name_off);
        let bit_offset = base_bits + m.bit_offset as u64;
        let inner = btf.resolve(m.ty)?;
        let is_composite = matches!(
            btf.type_by_id(inner)?.kind,
            Kind::Struct(_) | Kind::Union(_)
        );
        if name.is_empty() && is_composite {
            if let Some(addr) = address_union(btf, inner)? {
                out.push(RawMember {
                    name: addr.0,
                    ty: addr.1,
                    bit_offset,
                    bitfield: 0,
                    address_union: true,
                });
                continue;
            }
            if out.len() > 4096 {
                return Err(Error::Unformattable(id, "too many members".into()));
            }
            flatten(btf, inner, bit_offset, out)?;
            continue;
        }
        out.push(RawMember {
            name: name.to_string(),
            ty: m.ty,
            bit_offset,
            bitfield: if c.kind_flag {
                m.bitfield_size as u32
            } else {
                0
            },
            address_union: false,
        });
    }
    Ok(())
}

/// `union { __u32 x_v4; __u8 x_v6[16]; }` → ("x", type of the 16-byte
/// member), shown as one IPv4-or-IPv6 column.
fn address_union(btf: &Btf, id: TypeId) -> Result<Option<(String, TypeId)>> {
    let Kind::Union(c) = &btf.type_by_id(id)?.kind else {
        return Ok(None);
    };
    let named: Vec<(&str, TypeId)> = c
        .members
        .iter()
        .map(|m| (btf.str_at(m.name_off), m.ty))
        .collect();
    let v4 = named.iter().find_map(|(n, _)| n.strip_suffix("_v4"));
    let v6 = named.iter().find(|(n, _)| n.ends_with("_v6"));
    match (v4, v6) {
        (Some(stem), Some((n6, ty6)))
            if n6.strip_suffix("_v6") == Some(stem) && btf.size_of(*ty6)? == 16 =>
        {
            Ok(Some((stem.to_string(), *ty6)))
        }
        _ => Ok(None),
    }
}

fn classify(
    btf: &Btf,
    m: &RawMember,
    struct_name: &str,
    has_family: bool,
    depth: usize,
) -> Result<Column> {
    let leaf = leaf_of(btf, m, depth)?;
    // Hints sit on the member (`bpfkit_comm_t comm`) or, for arrays, on the
    // element (`bpfkit_hist_slots_t slots[26]`).
    let mut typedefs = typedef_chain(btf, m.ty);
    if let Kind::Array(a) = btf.type_by_id(btf.resolve(m.ty)?)?.kind {
        typedefs.extend(typedef_chain(btf, a.elem));
    }
    let render = semantic::choose(&FieldContext {
        struct_name,
        member: &m.name,
        typedefs: &typedefs,
        shape: leaf.shape(),
        has_family,
    });
    // An address union is IPv4-or-IPv6 whatever its name says.
    let render = if m.address_union {
        Render::IpByFamily
    } else {
        render
    };
    let mut json_key = Vec::with_capacity(m.name.len() + 3);
    json::write_str(&mut json_key, m.name.as_bytes());
    json_key.push(b':');
    let port_order_open = render == (Render::Port { network: false })
        && semantic::port_order_open(&m.name, &typedefs);
    Ok(Column {
        name: m.name.clone(),
        offset: (m.bit_offset / 8) as usize,
        leaf,
        render,
        port_order_open,
        json_key,
    })
}

/// How to read the running kernel's BTF, once [`use_kernel_enums`] said.
static KERNEL_BTF_LOADER: OnceLock<fn() -> Option<BtfView>> = OnceLock::new();
/// The running kernel's BTF, opened the first time an enum field needs it
/// (a lazy view: parsing all of vmlinux would cost far more).
static KERNEL_BTF: OnceLock<Option<BtfView>> = OnceLock::new();

/// Names enum-typed fields after the enumerators of the same-named enum of
/// the running kernel (BTF from `load`, called at most once, when the first
/// enum field is planned) where it has one, instead of the object's own
/// copy: an object built against one kernel's vmlinux.h reports values of
/// another kernel (`enum skb_drop_reason` gains and renumbers members
/// between releases). For whoever loads objects into this kernel; without
/// it, or without that enum in the kernel, the object's names are used.
pub fn use_kernel_enums(load: fn() -> Option<BtfView>) {
    let _ = KERNEL_BTF_LOADER.set(load);
}

/// The running kernel's names for the enum `name`, when it has that enum.
fn kernel_enum_names(name: &str) -> Option<Vec<(i128, String)>> {
    if name.is_empty() {
        return None;
    }
    let load = KERNEL_BTF_LOADER.get()?;
    let kernel = KERNEL_BTF.get_or_init(load).as_ref()?;
    let is_enum = |kind| kind == kind_no::ENUM || kind == kind_no::ENUM64;
    let mut found = None;
    kernel
        .for_each_named(is_enum, |id, _, n| {
            if n == name && found.is_none() {
                found = Some(id);
            }
        })
        .ok()?;
    let Kind::Enum(e) = kernel.type_by_id(found?).ok()?.kind else {
        return None;
    };
    e.values
        .iter()
        .map(|v| {
            Some((
                enum_value(&e, v),
                kernel.str_at(v.name_off).ok()?.to_string(),
            ))
        })
        .collect()
}

fn enum_value(e: &bpfkit_btf::types::Enum, v: &bpfkit_btf::types::EnumValue) -> i128 {
    if e.signed {
        v.value as i64 as i128
    } else {
        v.value as i128
    }
}

fn enum_names(btf: &Btf, e: &bpfkit_btf::types::Enum) -> Vec<(i128, String)> {
    e.values
        .iter()
        .map(|v| (enum_value(e, v), btf.str_at(v.name_off).to_string()))
        .collect()
}

fn leaf_of(btf: &Btf, m: &RawMember, depth: usize) -> Result<Leaf> {
    let id = btf.resolve(m.ty)?;
    let kind = &btf.type_by_id(id)?.kind;
    let bit_in_byte = (m.bit_offset % 8) as u32;
    let bitfield = match kind {
        Kind::Int(i) if m.bitfield > 0 => Some((m.bitfield, i.signed)),
        Kind::Enum(e) if m.bitfield > 0 => Some((m.bitfield, e.signed)),
        Kind::Int(i)
            if !i.bool && (bit_in_byte != 0 || i.offset != 0 || i.bits as u32 != i.size * 8) =>
        {
            Some((i.bits as u32, i.signed))
        }
        _ => None,
    };
    if let Some((bits, signed)) = bitfield {
        let extra = if let Kind::Int(i) = kind
            && m.bitfield == 0
        {
            i.offset as u32
        } else {
            0
        };
        let shift = bit_in_byte + extra;
        return Ok(Leaf::Bits {
            span: (shift + bits).div_ceil(8) as usize,
            shift,
            bits,
            signed,
        });
    }
    Ok(match kind {
        Kind::Int(i) if i.bool => Leaf::Bool,
        Kind::Int(i) => Leaf::Int {
            size: i.size as usize,
            signed: i.signed,
        },
        Kind::Ptr(_) => Leaf::Ptr,
        Kind::Float { size } if matches!(size, 4 | 8) => Leaf::Float {
            size: *size as usize,
        },
        Kind::Enum(e) => Leaf::Enum {
            size: e.size as usize,
            signed: e.signed,
            names: kernel_enum_names(btf.name_of(id)).unwrap_or_else(|| enum_names(btf, e)),
        },
        Kind::Array(a) => array_leaf(btf, a.elem, a.len as usize, depth)?,
        Kind::Struct(_) | Kind::Union(_) => {
            Leaf::Struct(Box::new(Plan::build(btf, m.ty, depth + 1)?))
        }
        other => {
            return Err(Error::Unformattable(
                m.ty,
                format!("member '{}' is a {}", m.name, other.name()),
            ));
        }
    })
}

fn array_leaf(btf: &Btf, elem: TypeId, len: usize, depth: usize) -> Result<Leaf> {
    if is_char_type(btf, elem) {
        return Ok(Leaf::Str { len });
    }
    let id = btf.resolve(elem)?;
    Ok(match btf.type_by_id(id)?.kind {
        Kind::Int(i) if !i.bool && i.bits as u32 == i.size * 8 && i.offset == 0 => {
            if i.size == 1 {
                Leaf::Bytes { len }
            } else {
                Leaf::IntArray {
                    elem_size: i.size as usize,
                    len,
                    signed: i.signed,
                }
            }
        }
        _ => Leaf::Array {
            elem: Box::new(Plan::build(btf, elem, depth + 1)?),
            len: len.min(MAX_ARRAY_ELEMENTS),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_text_are_escaped() {
        let mut out = Vec::new();
        write_c_string(&mut out, b"a\nb\x1b[31mc\x7f\xc2\x85d\xffe\0junk");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "a\\x0ab\\x1b[31mc\\x7f\\xc2\\x85d\\xffe"
        );
        let mut plain = Vec::new();
        write_c_string(&mut plain, "bash ü\0".as_bytes());
        assert_eq!(plain, "bash ü".as_bytes());
    }

    #[test]
    fn partitions_by_kernel_dev_t() {
        let disks = parse_partitions(
            "major minor  #blocks  name\n\n 254        0   10485760 vda\n 254        1    1048576 vda1\n",
        );
        assert_eq!(disks.get(&(254 << 20)).map(String::as_str), Some("vda"));
        assert_eq!(
            disks.get(&(254 << 20 | 1)).map(String::as_str),
            Some("vda1")
        );
        assert_eq!(disks.len(), 2);
    }
}
