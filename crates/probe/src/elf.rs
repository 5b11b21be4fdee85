//! A BPF ELF object in memory, laid out the way clang writes one (program
//! sections with `.rel` sections for their map loads, BTF-defined `.maps`,
//! `license`, `.BTF`), so that generated programs take the same
//! analyze → load → attach path as compiled ones.

use bpfkit_btf::encode::BtfBuilder;
use bpfkit_btf::{Array, Composite, Datasec, Int, Kind, Linkage, Member, Type, TypeId, VarSecinfo};

/// One program: its `SEC()` name, symbol name and code.
pub struct ProgramCode {
    pub name: String,
    pub section: String,
    pub code: Vec<u8>,
    /// (instruction index, map name) of each map load.
    pub map_relocs: Vec<(usize, String)>,
}

/// One BTF-defined map.
pub struct MapDecl {
    pub name: String,
    pub map_type: u32,
    pub max_entries: u32,
    /// Key and value types (hash and array maps).
    pub key: Option<TypeId>,
    pub value: Option<TypeId>,
    /// Key and value sizes for maps without types (stack traces).
    pub sizes: Option<(u32, u32)>,
}

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_REL: u32 = 9;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const EM_BPF: u16 = 247;
const R_BPF_64_64: u64 = 1;
const STB_GLOBAL: u8 = 1;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;

/// Adds the `.maps` declarations to `btf` (returns each map's offset in
/// the section) and the `.maps` DATASEC.
fn add_map_btf(btf: &mut BtfBuilder, maps: &[MapDecl]) -> Vec<(u32, u32)> {
    let int = named(
        btf,
        "int",
        Kind::Int(Int {
            size: 4,
            signed: true,
            char: false,
            bool: false,
            offset: 0,
            bits: 32,
        }),
    );
    // `int (*name)[N]`: how libbpf's __uint() encodes a number.
    let number = |btf: &mut BtfBuilder, n: u32| {
        let array = btf.add_type(Type {
            name_off: 0,
            kind: Kind::Array(Array {
                elem: int,
                index: int,
                len: n,
            }),
        });
        btf.add_type(Type {
            name_off: 0,
            kind: Kind::Ptr(array),
        })
    };
    let mut vars = Vec::new();
    let mut placed = Vec::new();
    let mut offset = 0;
    for map in maps {
        let mut members = vec![
            ("type", number(btf, map.map_type)),
            ("max_entries", number(btf, map.max_entries)),
        ];
        if let Some((key_size, value_size)) = map.sizes {
            members.push(("key_size", number(btf, key_size)));
            members.push(("value_size", number(btf, value_size)));
        }
        for (name, ty) in [("key", map.key), ("value", map.value)] {
            if let Some(ty) = ty {
                let ptr = btf.add_type(Type {
                    name_off: 0,
                    kind: Kind::Ptr(ty),
                });
                members.push((name, ptr));
            }
        }
        let size = members.len() as u32 * 8;
        let members = members
            .into_iter()
            .enumerate()
            .map(|(i, (name, ty))| Member {
                name_off: btf.add_string(name),
                ty,
                bit_offset: i as u32 * 64,
                bitfield_size: 0,
            })
            .collect();
        let def = btf.add_type(Type {
            name_off: 0,
            kind: Kind::Struct(Composite {
                size,
                kind_flag: false,
                members,
            }),
        });
        let var = named(
            btf,
            &map.name,
            Kind::Var {
                ty: def,
                linkage: Linkage::Global,
            },
        );
        vars.push(VarSecinfo {
            ty: var,
            offset,
            size,
        });
        placed.push((offset, size));
        offset += size;
    }
    named(btf, ".maps", Kind::Datasec(Datasec { size: offset, vars }));
    placed
}

struct Section {
    name: String,
    kind: u32,
    flags: u64,
    data: Vec<u8>,
    link: u32,
    info: u32,
    entsize: u64,
}

/// The object's bytes.
pub fn write(programs: &[ProgramCode], maps: &[MapDecl], mut btf: BtfBuilder) -> Vec<u8> {
    let placed = add_map_btf(&mut btf, maps);
    let maps_size: u32 = placed.iter().map(|(_, size)| size).sum();
    // Section indexes: 0 null, 1 .strtab, then a program and its .rel per
    // program, then .maps, license, .BTF, .symtab.
    let maps_index = 2 + 2 * programs.len() as u32;
    let symtab_index = maps_index + 3;
    let mut strtab = vec![0u8];
    let mut name = |s: &str| {
        let off = strtab.len() as u32;
        strtab.extend_from_slice(s.as_bytes());
        strtab.push(0);
        off
    };
    let mut symbols = vec![0u8; 24];
    let mut symbol = |name_off: u32, kind: u8, section: u32, value: u64, size: u64| {
        symbols.extend_from_slice(&name_off.to_le_bytes());
        symbols.push(STB_GLOBAL << 4 | kind);
        symbols.push(0);
        symbols.extend_from_slice(&(section as u16).to_le_bytes());
        symbols.extend_from_slice(&value.to_le_bytes());
        symbols.extend_from_slice(&size.to_le_bytes());
    };
    // Map symbols first: 1..=maps.len(), which relocations refer to.
    for (map, (offset, size)) in maps.iter().zip(&placed) {
        symbol(
            name(&map.name),
            STT_OBJECT,
            maps_index,
            *offset as u64,
            *size as u64,
        );
    }
    let mut sections = Vec::new();
    for (i, program) in programs.iter().enumerate() {
        let section_index = 2 + 2 * i as u32;
        symbol(
            name(&program.name),
            STT_FUNC,
            section_index,
            0,
            program.code.len() as u64,
        );
        let mut rel = Vec::new();
        for (insn, map) in &program.map_relocs {
            let sym = maps
                .iter()
                .position(|m| &m.name == map)
                .map_or(0, |i| i + 1) as u64;
            rel.extend_from_slice(&(*insn as u64 * 8).to_le_bytes());
            rel.extend_from_slice(&(sym << 32 | R_BPF_64_64).to_le_bytes());
        }
        sections.push(Section {
            name: program.section.clone(),
            kind: SHT_PROGBITS,
            flags: SHF_ALLOC | SHF_EXECINSTR,
            data: program.code.clone(),
            link: 0,
            info: 0,
            entsize: 0,
        });
        sections.push(Section {
            name: format!(".rel{}", program.section),
            kind: SHT_REL,
            flags: 0,
            data: rel,
            link: symtab_index,
            info: section_index,
            entsize: 16,
        });
    }
    for (section_name, flags, data) in [
        (".maps", SHF_ALLOC | SHF_WRITE, vec![0; maps_size as usize]),
        ("license", SHF_ALLOC | SHF_WRITE, b"GPL\0".to_vec()),
        (".BTF", 0, btf.encode()),
    ] {
        sections.push(Section {
            name: section_name.into(),
            kind: SHT_PROGBITS,
            flags,
            data,
            link: 0,
            info: 0,
            entsize: 0,
        });
    }
    sections.push(Section {
        name: ".symtab".into(),
        kind: SHT_SYMTAB,
        flags: 0,
        data: symbols,
        link: 1,
        // Every symbol after the null one is global.
        info: 1,
        entsize: 24,
    });
    let section_names: Vec<u32> = sections.iter().map(|s| name(&s.name)).collect();
    let strtab_name = name(".strtab");
    let strtab_section = Section {
        name: ".strtab".into(),
        kind: SHT_STRTAB,
        flags: 0,
        data: strtab,
        link: 0,
        info: 0,
        entsize: 0,
    };
    layout(&strtab_section, strtab_name, &sections, &section_names)
}

/// Header, section contents (8-byte aligned), section headers.
fn layout(strtab: &Section, strtab_name: u32, sections: &[Section], names: &[u32]) -> Vec<u8> {
    let all: Vec<(&Section, u32)> = std::iter::once((strtab, strtab_name))
        .chain(sections.iter().zip(names.iter().copied()))
        .collect();
    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for (section, _) in &all {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        offsets.push(out.len() as u64);
        out.extend_from_slice(&section.data);
    }
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0u8; 64]);
    for ((section, name), offset) in all.iter().zip(offsets) {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&section.kind.to_le_bytes());
        out.extend_from_slice(&section.flags.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&(section.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&section.link.to_le_bytes());
        out.extend_from_slice(&section.info.to_le_bytes());
        out.extend_from_slice(&8u64.to_le_bytes());
        out.extend_from_slice(&section.entsize.to_le_bytes());
    }
    let header = &mut out[..64];
    header[..16].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    header[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    header[18..20].copy_from_slice(&EM_BPF.to_le_bytes());
    header[20..24].copy_from_slice(&1u32.to_le_bytes());
    header[40..48].copy_from_slice(&shoff.to_le_bytes());
    header[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    header[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    header[60..62].copy_from_slice(&(all.len() as u16 + 1).to_le_bytes());
    header[62..64].copy_from_slice(&1u16.to_le_bytes()); // e_shstrndx
    out
}

/// Adds a type named `name` and returns its id.
/// A named integer type of `size` bytes (no char or bool encoding: the
/// kernel refuses SIGNED|CHAR).
pub fn int(btf: &mut BtfBuilder, name: &str, size: u32, signed: bool) -> TypeId {
    named(
        btf,
        name,
        Kind::Int(Int {
            size,
            signed,
            char: false,
            bool: false,
            offset: 0,
            bits: (size * 8) as u8,
        }),
    )
}

pub fn named(btf: &mut BtfBuilder, name: &str, kind: Kind) -> TypeId {
    let name_off = btf.add_string(name);
    btf.add_type(Type { name_off, kind })
}
