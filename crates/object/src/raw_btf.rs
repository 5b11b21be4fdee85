//! Raw little-endian BTF bytes, split into header, type and string sections
//! so that types can be patched in place and strings or types appended
//! without re-encoding what is already there (type ids and string offsets of
//! existing entries never move).

use bpfkit_btf::kind_no;

const HEADER_LEN: usize = 24;
const TYPE_HEADER_LEN: usize = 12;

#[derive(Debug, Clone)]
pub(crate) struct RawBtf {
    /// The header as found (its length field may exceed 24 bytes).
    header: Vec<u8>,
    types: Vec<u8>,
    strings: Vec<u8>,
    /// Byte offset in `types` of each type's header; index = type id - 1.
    offsets: Vec<usize>,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    if let Some(b) = bytes.get_mut(at..at + 4) {
        b.copy_from_slice(&value.to_le_bytes());
    }
}

impl RawBtf {
    /// Splits `.BTF` section bytes. The caller has already validated them
    /// with [`bpfkit_btf::Btf::parse`]; this only needs the layout.
    pub(crate) fn split(data: &[u8]) -> Result<RawBtf, String> {
        if data.get(..2) != Some(&[0x9f, 0xeb]) {
            return Err("only little-endian BTF can be rewritten".into());
        }
        let field = |i: usize| u32_at(data, 4 + 4 * i).ok_or("BTF header truncated");
        let hdr_len = field(0)? as usize;
        let (type_off, type_len) = (field(1)? as usize, field(2)? as usize);
        let (str_off, str_len) = (field(3)? as usize, field(4)? as usize);
        let body = |off: usize, len: usize| {
            let start = hdr_len.checked_add(off).ok_or("BTF offsets overflow")?;
            data.get(start..start.saturating_add(len))
                .ok_or("BTF section runs past the end")
        };
        if hdr_len < HEADER_LEN {
            return Err(format!("BTF header length {hdr_len} < {HEADER_LEN}"));
        }
        let mut raw = RawBtf {
            header: data[..hdr_len].to_vec(),
            types: body(type_off, type_len)?.to_vec(),
            strings: body(str_off, str_len)?.to_vec(),
            offsets: Vec::new(),
        };
        raw.offsets = raw.walk()?;
        Ok(raw)
    }

    fn walk(&self) -> Result<Vec<usize>, String> {
        let mut offsets = Vec::new();
        let mut at = 0;
        while at < self.types.len() {
            offsets.push(at);
            let info = u32_at(&self.types, at + 4).ok_or("BTF type truncated")?;
            let vlen = (info & 0xffff) as usize;
            let extra = match ((info >> 24) & 0x1f) as u8 {
                kind_no::INT | kind_no::VAR | kind_no::DECL_TAG => 4,
                kind_no::ARRAY => 12,
                kind_no::STRUCT | kind_no::UNION | kind_no::DATASEC | kind_no::ENUM64 => 12 * vlen,
                kind_no::ENUM | kind_no::FUNC_PROTO => 8 * vlen,
                _ => 0,
            };
            at += TYPE_HEADER_LEN + extra;
        }
        Ok(offsets)
    }

    /// Byte offset in the type section of type `id`'s header.
    fn type_at(&self, id: u32) -> Option<usize> {
        self.offsets.get((id as usize).checked_sub(1)?).copied()
    }

    /// Sets the `size` field of DATASEC `id` and the offset of its entry `i`.
    pub(crate) fn set_datasec(&mut self, id: u32, size: u32, entry_offsets: &[(usize, u32)]) {
        let Some(at) = self.type_at(id) else { return };
        put_u32(&mut self.types, at + 8, size);
        for &(i, offset) in entry_offsets {
            // btf_var_secinfo: type, offset, size.
            put_u32(&mut self.types, at + TYPE_HEADER_LEN + 12 * i + 4, offset);
        }
    }

    /// Sets the linkage (the vlen bits) of FUNC `id`.
    pub(crate) fn set_func_linkage(&mut self, id: u32, linkage: u16) {
        let Some(at) = self.type_at(id) else { return };
        let Some(info) = u32_at(&self.types, at + 4) else {
            return;
        };
        put_u32(
            &mut self.types,
            at + 4,
            (info & !0xffff) | u32::from(linkage),
        );
    }

    /// Renames member `index` of struct `id` and points it at type `ty`.
    pub(crate) fn set_member(&mut self, id: u32, index: usize, name_off: u32, ty: u32) {
        let Some(at) = self.type_at(id) else { return };
        let member = at + TYPE_HEADER_LEN + 12 * index;
        put_u32(&mut self.types, member, name_off);
        put_u32(&mut self.types, member + 4, ty);
    }

    /// Appends a pointer-sized member named `name_off` of type `ty` to
    /// struct `id`, overlapping its last 8 bytes: the struct keeps its size,
    /// so the DATASEC entry of its variable stays valid (the kernel allows
    /// members at equal offsets, only not decreasing ones). Later types move
    /// in the byte stream, but type ids (positions) do not change.
    pub(crate) fn append_member(&mut self, id: u32, name_off: u32, ty: u32) {
        let Some(at) = self.type_at(id) else { return };
        let (Some(info), Some(size)) = (u32_at(&self.types, at + 4), u32_at(&self.types, at + 8))
        else {
            return;
        };
        let vlen = info & 0xffff;
        let end = at + TYPE_HEADER_LEN + 12 * vlen as usize;
        let last_offset = match vlen {
            0 => 0,
            _ => u32_at(&self.types, end - 4).unwrap_or(0) & 0xff_ffff,
        };
        let offset = last_offset.max(size.saturating_sub(8) * 8);
        let mut member = Vec::with_capacity(12);
        for word in [name_off, ty, offset] {
            member.extend_from_slice(&word.to_le_bytes());
        }
        self.types.splice(end..end, member);
        put_u32(&mut self.types, at + 4, (info & !0xffff) | (vlen + 1));
        if size < 8 {
            put_u32(&mut self.types, at + 8, 8);
        }
        for off in self.offsets.iter_mut().filter(|o| **o > at) {
            *off += 12;
        }
    }

    /// Replaces type `id`'s record with `words` (a record of any kind and
    /// length): later types move in the byte stream, but their ids do not.
    pub(crate) fn replace_type(&mut self, id: u32, words: &[u32]) {
        let Some(at) = self.type_at(id) else { return };
        let end = self
            .offsets
            .get(id as usize)
            .copied()
            .unwrap_or(self.types.len());
        let record: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let grow = record.len() as isize - (end - at) as isize;
        self.types.splice(at..end, record);
        for off in self.offsets.iter_mut().filter(|o| **o > at) {
            *off = off.saturating_add_signed(grow);
        }
    }

    /// Appends a string (or finds it) and returns its offset.
    pub(crate) fn add_string(&mut self, s: &str) -> u32 {
        if let Some(off) = self.find_string(s) {
            return off;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    pub(crate) fn find_string(&self, s: &str) -> Option<u32> {
        let mut start = 0;
        for piece in self.strings.split(|&b| b == 0) {
            if piece == s.as_bytes() && start < self.strings.len() {
                return Some(start as u32);
            }
            start += piece.len() + 1;
        }
        None
    }

    /// Appends a type (`name_off`, `info`, `size_or_type`, extra words) and
    /// returns its id.
    pub(crate) fn add_type(&mut self, words: &[u32]) -> u32 {
        self.offsets.push(self.types.len());
        for w in words {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.offsets.len() as u32
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        put_u32(&mut out, 8, 0);
        put_u32(&mut out, 12, self.types.len() as u32);
        put_u32(&mut out, 16, self.types.len() as u32);
        put_u32(&mut out, 20, self.strings.len() as u32);
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// BTF `info` word for a type of `kind` with `vlen` entries.
pub(crate) fn info(kind: u8, vlen: u16) -> u32 {
    ((kind as u32) << 24) | vlen as u32
}
