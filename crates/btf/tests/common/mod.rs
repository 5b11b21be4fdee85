//! Shared by the integration tests: scratch directories, building the
//! all-kinds test object with clang, running bpftool on it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bpfkit_btf::encode::raw_btf;
use bpfkit_btf::{Btf, TypeId, kind_no};
use std::process::Command;

pub use bpfkit_testkit::TempDir;

/// Builds `tests/data/raw_kinds.bpf.c` into `dir` with the newest clang
/// (older ones lack some kinds, see [`ENUM64_CLANG`]), and says which
/// major version that was; `None` (skip) without clang.
pub fn build_kinds_object(test: &str, dir: &TempDir) -> Option<(PathBuf, u32)> {
    let Some((clang, major)) = bpfkit_testkit::newest_clang() else {
        bpfkit_testkit::clang(test)?;
        return None;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/raw_kinds.bpf.c");
    let obj = dir.file("raw_kinds.bpf.o");
    let out = Command::new(clang)
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((obj, major))
}

/// The first clang whose BTF has ENUM64 (64-bit enumerators): clang 15.
pub const ENUM64_CLANG: u32 = 15;

/// bpftool and the all-kinds object, built in its own scratch directory.
pub struct KindsObject {
    pub bpftool: PathBuf,
    pub obj: PathBuf,
    /// The major version of the clang that built `obj`.
    pub clang_major: u32,
    /// Holds `obj`; removed on drop.
    pub dir: TempDir,
}

/// The setup of the tests comparing with bpftool on the all-kinds object;
/// `None` (skip) without bpftool or clang.
pub fn bpftool_and_kinds_object(test: &str) -> Option<KindsObject> {
    let bpftool = bpfkit_testkit::peer_tool(test, "bpftool")?;
    let dir = TempDir::new(test);
    let (obj, clang_major) = build_kinds_object(test, &dir)?;
    Some(KindsObject {
        bpftool,
        obj,
        clang_major,
        dir,
    })
}

/// The `.BTF` section of an ELF object.
pub fn btf_section(obj: &Path) -> Vec<u8> {
    let elf = std::fs::read(obj).unwrap();
    bpfkit_btf::elf::section_data(&elf, ".BTF")
        .unwrap()
        .expect(".BTF section")
        .to_vec()
}

/// stdout of `bpftool <args>`, asserting success.
pub fn bpftool(tool: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "bpftool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Asserts two dumps are identical, showing the first differing line.
pub fn assert_same_text(ours: &[u8], theirs: &[u8], what: &str) {
    if ours == theirs {
        return;
    }
    let ours = String::from_utf8_lossy(ours);
    let theirs = String::from_utf8_lossy(theirs);
    for (n, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(
            a,
            b,
            "{what}: line {} differs (left: ours, right: bpftool)",
            n + 1
        );
    }
    assert_eq!(
        ours.lines().count(),
        theirs.lines().count(),
        "{what}: line counts differ"
    );
    panic!("{what}: dumps differ only in line endings");
}

/// Builds raw BTF type by type; each method returns the new type's id.
#[derive(Default)]
pub struct Builder {
    strings: Vec<u8>,
    /// Where `strings` starts in the combined string space (split BTF).
    str_base: u32,
    types: Vec<u32>,
    count: u32,
}

/// A type's `info` word.
pub fn info(kind: u8, vlen: usize, kind_flag: bool) -> u32 {
    (kind as u32) << 24 | vlen as u32 | (kind_flag as u32) << 31
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            strings: vec![0],
            ..Builder::default()
        }
    }

    /// For split BTF on top of `base`: ids and string offsets continue
    /// where the base's end.
    pub fn split(base: &Btf) -> Builder {
        Builder {
            str_base: base.string_section().len() as u32,
            count: base.next_id() - 1,
            ..Builder::default()
        }
    }

    /// Interns `s`; 0 for the empty string.
    pub fn name(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.str_base + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    pub fn add(&mut self, name: &str, info: u32, size_or_type: u32, extra: &[u32]) -> TypeId {
        let name = self.name(name);
        self.types.extend([name, info, size_or_type]);
        self.types.extend_from_slice(extra);
        self.count += 1;
        self.count
    }

    /// A full-width int, signed or not.
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> TypeId {
        self.int_with(name, size, u32::from(signed), size * 8)
    }

    /// An int with this `BTF_INT_ENCODING` and this many bits.
    pub fn int_with(&mut self, name: &str, size: u32, encoding: u32, bits: u32) -> TypeId {
        self.add(
            name,
            info(kind_no::INT, 0, false),
            size,
            &[(encoding << 24) | bits],
        )
    }

    pub fn ptr(&mut self, to: TypeId) -> TypeId {
        self.add("", info(kind_no::PTR, 0, false), to, &[])
    }

    pub fn typedef(&mut self, name: &str, to: TypeId) -> TypeId {
        self.add(name, info(kind_no::TYPEDEF, 0, false), to, &[])
    }

    pub fn array(&mut self, elem: TypeId, index: TypeId, len: u32) -> TypeId {
        self.add("", info(kind_no::ARRAY, 0, false), 0, &[elem, index, len])
    }

    /// Members are (name, type, bit offset, bitfield bits); `kind_flag` is
    /// set, as clang sets it, only when some member is a bitfield.
    pub fn composite(
        &mut self,
        kind: u8,
        name: &str,
        size: u32,
        members: &[(&str, TypeId, u32, u32)],
    ) -> TypeId {
        let mut extra = Vec::new();
        for &(m, ty, off, bits) in members {
            extra.extend([self.name(m), ty, bits << 24 | off]);
        }
        let kind_flag = members.iter().any(|m| m.3 > 0);
        self.add(name, info(kind, members.len(), kind_flag), size, &extra)
    }

    pub fn structure(
        &mut self,
        name: &str,
        size: u32,
        members: &[(&str, TypeId, u32, u32)],
    ) -> TypeId {
        self.composite(kind_no::STRUCT, name, size, members)
    }

    pub fn union(&mut self, name: &str, size: u32, members: &[(&str, TypeId, u32, u32)]) -> TypeId {
        self.composite(kind_no::UNION, name, size, members)
    }

    pub fn enumeration(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i64)],
    ) -> TypeId {
        let mut extra = Vec::new();
        for &(v, val) in values {
            extra.extend([self.name(v), val as u32]);
        }
        self.add(
            name,
            info(kind_no::ENUM, values.len(), signed),
            size,
            &extra,
        )
    }

    pub fn enum64(&mut self, name: &str, signed: bool, values: &[(&str, u64)]) -> TypeId {
        let mut extra = Vec::new();
        for &(v, val) in values {
            extra.extend([self.name(v), val as u32, (val >> 32) as u32]);
        }
        self.add(name, info(kind_no::ENUM64, values.len(), signed), 8, &extra)
    }

    pub fn proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> TypeId {
        let mut extra = Vec::new();
        for &(p, ty) in params {
            extra.extend([self.name(p), ty]);
        }
        self.add(
            "",
            info(kind_no::FUNC_PROTO, params.len(), false),
            ret,
            &extra,
        )
    }

    pub fn bytes(&self) -> Vec<u8> {
        let types: Vec<u8> = self.types.iter().flat_map(|w| w.to_le_bytes()).collect();
        raw_btf(&types, &self.strings)
    }

    pub fn build(&self) -> Btf {
        Btf::parse(&self.bytes()).expect("hand-built BTF parses")
    }
}
