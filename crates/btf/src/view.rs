//! A lazy view of raw BTF: one pass over the type section records where
//! each type starts, and types, names and members are decoded from the
//! bytes only when asked for.
//!
//! Parsing the kernel's BTF into a [`Btf`](crate::Btf) builds ~130k owned
//! types (and aya builds its own copy again); CO-RE relocation looks at a
//! few dozen of them. [`BtfView`] costs one `Vec<u32>` of offsets. Nothing
//! is validated up front beyond the header and the type layout; every
//! offset, id and string is checked when touched, so malformed input gives
//! an [`Error`], never a panic.

use std::path::Path;

use crate::parse::{Reader, detect_endianness, read_header, read_type, section_range};
use crate::types::{Type, TypeId, kind_no};
use crate::{Error, Result, VMLINUX_PATH};

const TYPE_HEADER_LEN: usize = 12;

/// Raw BTF bytes and where each of its types starts.
pub struct BtfView<D: AsRef<[u8]> = Bytes> {
    data: D,
    big_endian: bool,
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
    /// Byte offset (into the type section) of type `id`, at `id - 1`.
    offsets: Vec<u32>,
}

impl<D: AsRef<[u8]>> std::fmt::Debug for BtfView<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtfView")
            .field("bytes", &self.data.as_ref().len())
            .field("types", &self.offsets.len())
            .finish()
    }
}

impl BtfView<Bytes> {
    /// The running kernel's BTF, mapped rather than read.
    pub fn vmlinux() -> Result<BtfView<Bytes>> {
        BtfView::open(VMLINUX_PATH)
    }

    /// Maps (or, where mapping fails, reads) a raw BTF file.
    pub fn open(path: impl AsRef<Path>) -> Result<BtfView<Bytes>> {
        BtfView::new(Bytes::open(path.as_ref())?)
    }
}

impl<D: AsRef<[u8]>> BtfView<D> {
    /// Checks the header and walks the type section once. Base BTF only.
    pub fn new(data: D) -> Result<BtfView<D>> {
        let bytes = data.as_ref();
        let big_endian = detect_endianness(bytes)?;
        let header = read_header(&mut Reader::new(bytes, big_endian))?;
        let strings = section_range(
            bytes,
            header.hdr_len,
            header.str_off,
            header.str_len,
            "string",
        )?;
        let types = section_range(
            bytes,
            header.hdr_len,
            header.type_off,
            header.type_len,
            "type",
        )?;
        let offsets = type_offsets(&bytes[types.clone()], big_endian)?;
        Ok(BtfView {
            data,
            big_endian,
            types,
            strings,
            offsets,
        })
    }

    /// One past the highest type id.
    pub fn next_id(&self) -> TypeId {
        self.offsets.len() as TypeId + 1
    }

    fn type_bytes(&self, id: TypeId) -> Result<&[u8]> {
        // let-else, not `ok_or(..)`: no error value built per lookup.
        let Some(&start) = id.checked_sub(1).and_then(|i| self.offsets.get(i as usize)) else {
            return Err(Error::NoSuchType(id));
        };
        let start = start as usize;
        Ok(&self.data.as_ref()[self.types.clone()][start..])
    }

    /// Type `id`, decoded; id 0 is `void`.
    pub fn type_by_id(&self, id: TypeId) -> Result<Type> {
        if id == 0 {
            return Ok(Type {
                name_off: 0,
                kind: crate::Kind::Void,
            });
        }
        let mut r = Reader::new(self.type_bytes(id)?, self.big_endian);
        read_type(&mut r).map_err(|e| e.in_type(id))
    }

    /// The kind number and name offset of type `id`, without decoding it.
    pub fn kind_and_name(&self, id: TypeId) -> Result<(u8, u32)> {
        let mut r = Reader::new(self.type_bytes(id)?, self.big_endian);
        let name_off = r.u32("type name")?;
        let info = r.u32("type info")?;
        Ok((kind_of_info(info), name_off))
    }

    /// The string at `off`: checked to lie in the string section, end in a
    /// NUL there, and be UTF-8.
    pub fn str_at(&self, off: u32) -> Result<&str> {
        std::str::from_utf8(self.bytes_at(off)?)
            .map_err(|_| Error::Invalid(format!("string at {off} is not UTF-8")))
    }

    /// The bytes of the string at `off` (not checked to be UTF-8), without
    /// its NUL.
    fn bytes_at(&self, off: u32) -> Result<&[u8]> {
        let strings = &self.data.as_ref()[self.strings.clone()];
        let rest = strings
            .get(off as usize..)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Error::Invalid(format!("string offset {off} out of range")))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| Error::Invalid(format!("string at {off} is not NUL-terminated")))?;
        Ok(&rest[..end])
    }

    /// `(id, kind number, name offset)` of every type, in id order.
    fn headers(&self) -> impl Iterator<Item = (TypeId, u8, u32)> + '_ {
        let types = &self.data.as_ref()[self.types.clone()];
        let word = move |at: usize| {
            let bytes = [types[at], types[at + 1], types[at + 2], types[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        // `new` checked that every type's 12-byte header is in range.
        (1..).zip(&self.offsets).map(move |(id, &start)| {
            let start = start as usize;
            (id, kind_of_info(word(start + 4)), word(start))
        })
    }

    /// The first type of kind number `kind` named `name`. Names are
    /// compared as bytes, so the pass validates no other string (a lookup
    /// of one name in the kernel's ~130k types).
    pub fn find_named(&self, kind: u8, name: &str) -> Option<TypeId> {
        let strings = &self.data.as_ref()[self.strings.clone()];
        // The name's bytes and then its NUL at `off`: no scan for the end
        // of the many names that differ in their first bytes.
        let named = |off: u32| {
            let start = off as usize;
            let end = start.saturating_add(name.len());
            strings.get(start..end) == Some(name.as_bytes()) && strings.get(end) == Some(&0)
        };
        self.headers()
            .find(|&(_, k, name_off)| k == kind && named(name_off))
            .map(|(id, _, _)| id)
    }

    /// Calls `found` with the id and name of every named type whose kind
    /// number `want` accepts (one pass; names are only looked at for those).
    pub fn for_each_named(
        &self,
        want: impl Fn(u8) -> bool,
        mut found: impl FnMut(TypeId, u8, &str),
    ) -> Result<()> {
        self.for_each_named_bytes(want, |id, kind, name| {
            let name = std::str::from_utf8(name)
                .map_err(|_| Error::Invalid(format!("the name of type {id} is not UTF-8")))?;
            found(id, kind, name);
            Ok(())
        })
    }

    /// [`BtfView::for_each_named`] with the names as bytes, not checked to
    /// be UTF-8: cheaper for a caller that only compares them (CO-RE's
    /// candidate search over every kernel struct). `found`'s error ends
    /// the pass.
    pub fn for_each_named_bytes(
        &self,
        want: impl Fn(u8) -> bool,
        mut found: impl FnMut(TypeId, u8, &[u8]) -> Result<()>,
    ) -> Result<()> {
        for (id, kind, name_off) in self.headers() {
            if name_off != 0 && want(kind) {
                found(id, kind, self.bytes_at(name_off)?)?;
            }
        }
        Ok(())
    }
}

fn kind_of_info(info: u32) -> u8 {
    ((info >> 24) & 0x1f) as u8
}

/// Where each type of a type section starts, checking that every type
/// (header and kind-specific tail) fits.
fn type_offsets(types: &[u8], big_endian: bool) -> Result<Vec<u32>> {
    // Types are at least 12 bytes: this bounds the allocation.
    let mut offsets = Vec::with_capacity(types.len() / TYPE_HEADER_LEN);
    let mut pos = 0usize;
    while pos < types.len() {
        let mut r = Reader::new(types, big_endian);
        r.pos = pos;
        let id = offsets.len() as TypeId + 1;
        let _name = r.u32("type name").map_err(|e| e.in_type(id))?;
        let info = r.u32("type info").map_err(|e| e.in_type(id))?;
        let vlen = (info & 0xffff) as usize;
        let tail = tail_len(kind_of_info(info), vlen).map_err(|e| e.in_type(id))?;
        let end = pos + TYPE_HEADER_LEN + tail;
        if end > types.len() {
            return Err(Error::Truncated {
                what: "type",
                at: pos,
            }
            .in_type(id));
        }
        offsets.push(pos as u32);
        pos = end;
    }
    Ok(offsets)
}

/// Bytes that follow the 12-byte header of a type of this kind.
fn tail_len(kind: u8, vlen: usize) -> Result<usize> {
    use kind_no::*;
    Ok(match kind {
        INT | VAR | DECL_TAG => 4,
        ARRAY => 12,
        STRUCT | UNION | DATASEC | ENUM64 => 12 * vlen,
        ENUM | FUNC_PROTO => 8 * vlen,
        PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => 0,
        other => return Err(Error::Invalid(format!("unknown BTF kind {other}"))),
    })
}

/// File bytes: mapped read-only when the file allows it, read otherwise.
pub enum Bytes {
    Mapped(Mapping),
    Owned(Vec<u8>),
}

impl Bytes {
    /// Maps the file privately (sysfs BTF refuses shared mappings), or reads
    /// it with one `read` into a buffer of its size.
    pub fn open(path: &Path) -> Result<Bytes> {
        let io = |err| Error::Io {
            path: path.display().to_string(),
            err,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        // /dev/zero and the like would be read without end.
        crate::check_input_file(path, &meta)?;
        let len = meta.len() as usize;
        if let Some(mapping) = Mapping::new(&file, len) {
            return Ok(Bytes::Mapped(mapping));
        }
        Ok(Bytes::Owned(crate::read_input_file(path)?))
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m.as_slice(),
            Bytes::Owned(v) => v,
        }
    }
}

/// A private read-only mapping of a whole file.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and private; nothing aliases it mutably.
unsafe impl Send for Mapping {}
// SAFETY: as above; shared references only read.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(file: &std::fs::File, len: usize) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        if len == 0 {
            return None;
        }
        // SAFETY: a fresh private read-only mapping of an open file; the
        // result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        (ptr != libc::MAP_FAILED).then_some(Mapping { ptr, len })
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until drop. The file is
        // the kernel's (or a file the caller does not change while viewing).
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tests::sample;

    #[test]
    fn decodes_every_type_like_the_parser() {
        let data = sample();
        let parsed = crate::Btf::parse(&data).unwrap();
        let view = BtfView::new(&data[..]).unwrap();
        assert_eq!(view.next_id(), parsed.next_id());
        for (id, t) in parsed.iter() {
            assert_eq!(&view.type_by_id(id).unwrap(), t);
            assert_eq!(view.str_at(t.name_off).unwrap(), parsed.str_at(t.name_off));
        }
    }

    #[test]
    fn malformed_input_gives_errors_not_panics() {
        let data = sample();
        let touch = |bytes: &[u8]| {
            let Ok(view) = BtfView::new(bytes) else {
                return;
            };
            for id in 0..view.next_id() + 2 {
                if let Ok(t) = view.type_by_id(id) {
                    let _ = view.str_at(t.name_off);
                }
                let _ = view.kind_and_name(id);
            }
            let _ = view.for_each_named(|_| true, |_, _, _| {});
            let _ = view.str_at(u32::MAX);
        };
        for len in 0..data.len() {
            touch(&data[..len]);
        }
        for i in 0..data.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = data.clone();
                bad[i] ^= flip;
                touch(&bad);
            }
        }
    }

    #[test]
    fn running_kernel_btf_matches_the_parser() {
        if !std::path::Path::new(VMLINUX_PATH).exists() {
            eprintln!("skipping: {VMLINUX_PATH} not present");
            return;
        }
        let parsed = crate::Btf::vmlinux().unwrap();
        let view = BtfView::vmlinux().unwrap();
        assert_eq!(view.next_id(), parsed.next_id());
        for (id, t) in parsed.iter().step_by(97) {
            assert_eq!(&view.type_by_id(id).unwrap(), t);
        }
    }
}
