//! bpfkit-btf: BPF Type Format, read and written in pure Rust.
//!
//! [`Btf`] parses raw BTF (`/sys/kernel/btf/vmlinux`, split module BTF) and
//! the `.BTF` section of ELF objects; [`ext`] parses `.BTF.ext` (function and
//! line info, CO-RE relocations). Everything is validated at parse time so
//! that the rest of bpfkit can walk types without bounds worries: a type id
//! handed out by this crate always resolves, and reference chains are
//! acyclic.

pub mod c;
mod dump;
pub mod elf;
pub mod encode;
pub mod ext;
pub mod json;
mod kernel_rules;
mod parse;
pub mod raw;
pub mod types;
pub mod value;
pub mod value_in;
pub mod view;

pub use types::*;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Where the running kernel publishes its own BTF.
pub const VMLINUX_PATH: &str = "/sys/kernel/btf/vmlinux";

/// The largest file bpfkit reads as BTF or as a BPF object (the kernel's
/// own BTF is ~6 MB, objects far smaller): anything larger is refused
/// before it is read, so a wrong path cannot exhaust memory.
pub const MAX_INPUT_FILE_LEN: u64 = 256 << 20;

/// Reads `path` whole, as an input file: refused with a clear error when it
/// is not a regular file (`/dev/zero`, a FIFO, a directory) or is larger
/// than [`MAX_INPUT_FILE_LEN`]. Files whose size `stat` does not know
/// (procfs) are read up to the limit and refused past it.
pub fn read_input_file(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    use std::io::Read;
    let path = path.as_ref();
    let io_error = |err| Error::Io {
        path: path.display().to_string(),
        err,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    check_input_file(path, &meta)?;
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_INPUT_FILE_LEN + 1)
        .read_to_end(&mut data)
        .map_err(io_error)?;
    if data.len() as u64 > MAX_INPUT_FILE_LEN {
        return Err(too_large(path, "larger than that"));
    }
    Ok(data)
}

/// Refuses, before reading, what [`read_input_file`] refuses: anything but
/// a regular file, and files over [`MAX_INPUT_FILE_LEN`].
pub(crate) fn check_input_file(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if !meta.is_file() {
        return Err(Error::Input {
            path: path.display().to_string(),
            why: format!(
                "is {}, not a regular file; bpfkit reads BTF and BPF objects only from regular files",
                file_kind(&meta.file_type())
            ),
        });
    }
    if meta.len() > MAX_INPUT_FILE_LEN {
        return Err(too_large(path, &format!("{} bytes", meta.len())));
    }
    Ok(())
}

fn too_large(path: &Path, size: &str) -> Error {
    Error::Input {
        path: path.display().to_string(),
        why: format!(
            "is {size}, over bpfkit's limit of {MAX_INPUT_FILE_LEN} bytes ({} MiB) \
             for a BTF file or BPF object",
            MAX_INPUT_FILE_LEN >> 20
        ),
    }
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Reference chains longer than this are treated as corrupt input.
const MAX_CHAIN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not BTF: bad magic {0:#06x} (expected 0xeb9f)")]
    BadMagic(u16),
    #[error("BTF truncated while reading {what} at byte {at}")]
    Truncated { what: &'static str, at: usize },
    #[error("unsupported BTF: {0}")]
    Unsupported(String),
    #[error("invalid BTF: {0}")]
    Invalid(String),
    // The inner error is part of the message, not a `source`, so that
    // error-chain printers do not repeat it.
    #[error("invalid BTF type [{id}]: {inner}")]
    InType { id: TypeId, inner: Box<Error> },
    #[error("BTF type id {0} does not exist")]
    NoSuchType(TypeId),
    #[error("no BTF type named '{0}'")]
    NoSuchName(String),
    #[error("invalid ELF: {0}")]
    Elf(String),
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{path}: {why}")]
    Input { path: String, why: String },
}

impl Error {
    pub(crate) fn in_type(self, id: TypeId) -> Error {
        Error::InType {
            id,
            inner: Box::new(self),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A parsed, validated set of BTF types.
#[derive(Debug)]
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    /// Id of `types[0]`: 1 for base BTF, the base's next id for split BTF.
    first_id: TypeId,
    /// String offsets below this live in the base.
    str_base: u32,
    base: Option<Arc<Btf>>,
    big_endian: bool,
    by_name: OnceLock<HashMap<Box<str>, Vec<TypeId>>>,
}

static VOID: Type = Type {
    name_off: 0,
    kind: Kind::Void,
};

impl Btf {
    /// Parses raw BTF bytes (the format of `/sys/kernel/btf/*` and of an ELF
    /// `.BTF` section).
    pub fn parse(data: &[u8]) -> Result<Btf> {
        parse::parse(data, None)
    }

    /// Parses split BTF (a kernel module's) on top of `base`.
    pub fn parse_split(data: &[u8], base: Arc<Btf>) -> Result<Btf> {
        parse::parse(data, Some(base))
    }

    /// Reads and parses a raw BTF file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Btf> {
        Btf::parse(&read_input_file(path)?)
    }

    /// The running kernel's BTF.
    pub fn vmlinux() -> Result<Btf> {
        Btf::from_file(VMLINUX_PATH)
    }

    /// Reads BTF from a file that is either raw BTF or an ELF object with a
    /// `.BTF` section.
    pub fn from_any_file(path: impl AsRef<Path>) -> Result<Btf> {
        let data = read_input_file(path)?;
        if data.starts_with(b"\x7fELF") {
            elf::btf_from_elf(&data)
        } else {
            Btf::parse(&data)
        }
    }

    /// The split base, if this is split BTF.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// Id of the first type this BTF defines itself (1 unless split).
    pub fn first_id(&self) -> TypeId {
        self.first_id
    }

    /// One past the highest valid type id.
    pub fn next_id(&self) -> TypeId {
        self.first_id + self.types.len() as u32
    }

    pub(crate) fn strings_end(&self) -> u32 {
        self.str_base + self.strings.len() as u32
    }

    /// The raw string section of this BTF (without the base's).
    pub fn string_section(&self) -> &[u8] {
        &self.strings
    }

    /// The type with this id; id 0 is `void`.
    pub fn get(&self, id: TypeId) -> Option<&Type> {
        if id == 0 {
            return Some(&VOID);
        }
        if id < self.first_id {
            return self.base.as_ref()?.get(id);
        }
        self.types.get((id - self.first_id) as usize)
    }

    /// Like [`Btf::get`], as a `Result`.
    pub fn type_by_id(&self, id: TypeId) -> Result<&Type> {
        self.get(id).ok_or(Error::NoSuchType(id))
    }

    /// Iterates over this BTF's own types with their ids (not the base's).
    pub fn iter(&self) -> impl Iterator<Item = (TypeId, &Type)> {
        (self.first_id..).zip(self.types.iter())
    }

    /// The string at `off`; empty for offsets that do not resolve (parse-time
    /// validation makes that impossible for offsets taken from this BTF).
    pub fn str_at(&self, off: u32) -> &str {
        if off < self.str_base {
            return match &self.base {
                Some(b) => b.str_at(off),
                None => "",
            };
        }
        let start = (off - self.str_base) as usize;
        let Some(rest) = self.strings.get(start..) else {
            return "";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    /// The name of type `id` ("" for anonymous types and unknown ids).
    pub fn name_of(&self, id: TypeId) -> &str {
        self.get(id).map_or("", |t| self.str_at(t.name_off))
    }

    /// All ids (base included) of types with this name.
    pub fn ids_by_name(&self, name: &str) -> &[TypeId] {
        let index = self.by_name.get_or_init(|| {
            let mut index: HashMap<Box<str>, Vec<TypeId>> = HashMap::new();
            for id in 1..self.next_id() {
                let name = self.name_of(id);
                if !name.is_empty() {
                    index.entry(name.into()).or_default().push(id);
                }
            }
            index
        });
        index.get(name).map_or(&[], |v| v.as_slice())
    }

    /// The first type with this name whose kind satisfies `want`.
    pub fn find(&self, name: &str, want: impl Fn(&Kind) -> bool) -> Option<TypeId> {
        self.ids_by_name(name)
            .iter()
            .copied()
            .find(|&id| self.get(id).is_some_and(|t| want(&t.kind)))
    }

    /// A struct by name (`struct task_struct` → `find_struct("task_struct")`).
    pub fn find_struct(&self, name: &str) -> Option<TypeId> {
        self.find(name, |k| matches!(k, Kind::Struct(_)))
    }

    /// Skips typedefs and qualifiers to the type that gives a value its shape.
    pub fn resolve(&self, mut id: TypeId) -> Result<TypeId> {
        for _ in 0..MAX_CHAIN {
            let t = self.type_by_id(id)?;
            if !t.kind.is_modifier() {
                return Ok(id);
            }
            id = t.kind.referenced().unwrap_or(0);
        }
        Err(Error::Invalid(format!(
            "reference chain from type {id} too long"
        )))
    }

    /// Skips qualifiers (const, volatile, restrict, type tags) but keeps
    /// typedefs, whose names carry meaning for formatting.
    pub fn skip_qualifiers(&self, mut id: TypeId) -> Result<TypeId> {
        for _ in 0..MAX_CHAIN {
            match self.type_by_id(id)?.kind {
                Kind::Volatile(t) | Kind::Const(t) | Kind::Restrict(t) | Kind::TypeTag(t) => id = t,
                _ => return Ok(id),
            }
        }
        Err(Error::Invalid(format!(
            "reference chain from type {id} too long"
        )))
    }

    /// The size in bytes of a value of type `id`.
    pub fn size_of(&self, id: TypeId) -> Result<u64> {
        self.size_of_depth(id, 0)
    }

    fn size_of_depth(&self, id: TypeId, depth: usize) -> Result<u64> {
        if depth > MAX_CHAIN {
            return Err(Error::Invalid(format!("type {id} nests too deeply")));
        }
        let id = self.resolve(id)?;
        Ok(match &self.type_by_id(id)?.kind {
            Kind::Int(i) => i.size as u64,
            Kind::Ptr(_) => 8,
            Kind::Array(a) => (a.len as u64).saturating_mul(self.size_of_depth(a.elem, depth + 1)?),
            Kind::Struct(c) | Kind::Union(c) => c.size as u64,
            Kind::Enum(e) => e.size as u64,
            Kind::Float { size } => *size as u64,
            Kind::Datasec(d) => d.size as u64,
            Kind::Var { ty, .. } => self.size_of_depth(*ty, depth + 1)?,
            Kind::Void
            | Kind::Fwd { .. }
            | Kind::Func { .. }
            | Kind::FuncProto(_)
            | Kind::DeclTag { .. } => {
                return Err(Error::Invalid(format!(
                    "type {id} ({}) has no size",
                    self.type_by_id(id)?.kind.name()
                )));
            }
            Kind::Typedef(_)
            | Kind::Volatile(_)
            | Kind::Const(_)
            | Kind::Restrict(_)
            | Kind::TypeTag(_) => {
                unreachable!("resolve() skips modifiers")
            }
        })
    }

    /// Checks every string offset and type reference, and that no type
    /// contains itself by value.
    fn validate(&self) -> Result<()> {
        let next = self.next_id();
        for (id, t) in self.iter() {
            self.check_name(t.name_off).map_err(|e| e.in_type(id))?;
            for r in t.kind.type_refs() {
                if r >= next {
                    return Err(Error::NoSuchType(r).in_type(id));
                }
            }
            self.check_kind(&t.kind).map_err(|e| e.in_type(id))?;
        }
        self.check_acyclic()
    }

    fn check_name(&self, off: u32) -> Result<()> {
        if off >= self.strings_end() {
            return Err(Error::Invalid(format!(
                "name offset {off} is outside the string section ({} bytes)",
                self.strings_end()
            )));
        }
        Ok(())
    }

    fn check_kind(&self, kind: &Kind) -> Result<()> {
        match kind {
            Kind::Int(i) => {
                if !matches!(i.size, 1 | 2 | 4 | 8 | 16) {
                    return Err(Error::Invalid(format!("int of {} bytes", i.size)));
                }
                if i.offset as u32 + i.bits as u32 > i.size * 8 {
                    return Err(Error::Invalid(format!(
                        "int bits {}+{} exceed its {} bytes",
                        i.offset, i.bits, i.size
                    )));
                }
            }
            Kind::Struct(c) | Kind::Union(c) => {
                for m in &c.members {
                    self.check_name(m.name_off)?;
                }
            }
            Kind::Enum(e) => {
                for v in &e.values {
                    self.check_name(v.name_off)?;
                }
            }
            Kind::FuncProto(p) => {
                for p in &p.params {
                    self.check_name(p.name_off)?;
                }
            }
            Kind::Float { size } if !matches!(size, 2 | 4 | 8 | 12 | 16) => {
                return Err(Error::Invalid(format!("float of {size} bytes")));
            }
            _ => {}
        }
        Ok(())
    }

    /// A type may refer to itself only through a pointer; any other cycle
    /// would make size computation and C generation loop forever.
    fn check_acyclic(&self) -> Result<()> {
        const NEW: u8 = 0;
        const OPEN: u8 = 1;
        const DONE: u8 = 2;
        let first = self.first_id;
        let mut state = vec![NEW; self.types.len()];
        let edges = |id: TypeId| -> Vec<TypeId> {
            match self.get(id).map(|t| &t.kind) {
                Some(Kind::Ptr(_)) | None => Vec::new(),
                Some(k) => k.type_refs().into_iter().filter(|&r| r >= first).collect(),
            }
        };
        for start in first..self.next_id() {
            if state[(start - first) as usize] != NEW {
                continue;
            }
            // Iterative DFS: (node, its edges, next edge index).
            let mut stack = vec![(start, edges(start), 0usize)];
            state[(start - first) as usize] = OPEN;
            while let Some((node, out, i)) = stack.last_mut() {
                if let Some(&next) = out.get(*i) {
                    *i += 1;
                    match state[(next - first) as usize] {
                        NEW => {
                            state[(next - first) as usize] = OPEN;
                            let e = edges(next);
                            stack.push((next, e, 0));
                        }
                        OPEN => {
                            return Err(Error::Invalid(format!(
                                "type {next} contains itself (cycle through type {node})"
                            )));
                        }
                        _ => {}
                    }
                } else {
                    state[(*node - first) as usize] = DONE;
                    stack.pop();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
