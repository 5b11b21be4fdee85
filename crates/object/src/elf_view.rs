//! The parts of the ELF file that the analysis needs, read once with the
//! `object` crate.

use std::collections::HashMap;

use object::{Object as _, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind, SymbolKind};

use crate::ObjectError;

pub(crate) struct Section<'a> {
    pub index: usize,
    pub name: String,
    /// Empty for NOBITS sections (`.bss`).
    pub data: &'a [u8],
    pub size: u64,
    pub executable: bool,
    /// In executable sections: instruction index → the symbol its
    /// relocation names (a map, for `ld_imm64 rX, map`).
    pub symbol_refs: HashMap<usize, String>,
}

pub(crate) struct Symbol {
    pub name: String,
    pub section: Option<usize>,
    pub address: u64,
    pub size: u64,
    pub is_function: bool,
    /// A global or weak symbol with hidden or internal visibility
    /// (`__hidden`): not visible outside the object.
    pub hidden_global: bool,
}

pub(crate) struct ElfView<'a> {
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol>,
}

impl<'a> ElfView<'a> {
    pub(crate) fn read(elf: &'a [u8]) -> Result<ElfView<'a>, ObjectError> {
        let bad = |why: String| ObjectError::Elf(why);
        let file = object::File::parse(elf).map_err(|e| bad(e.to_string()))?;
        if file.architecture() != object::Architecture::Bpf {
            return Err(bad(format!(
                "machine is {:?}, not BPF (compile with clang -target bpf)",
                file.architecture()
            )));
        }
        if !file.is_little_endian() || !file.is_64() {
            return Err(ObjectError::Unsupported(
                "only 64-bit little-endian BPF objects (bpfel) are supported".into(),
            ));
        }
        let mut sections = Vec::new();
        for s in file.sections() {
            let name = s
                .name()
                .map_err(|e| bad(format!("section {}: {e}", s.index().0)))?;
            let data = if s.kind() == SectionKind::UninitializedData {
                &[][..]
            } else {
                s.data()
                    .map_err(|e| bad(format!("section '{name}': {e}")))?
            };
            let executable = s.kind() == SectionKind::Text;
            let symbol_refs = if executable {
                symbol_refs(&file, &s)
            } else {
                HashMap::new()
            };
            sections.push(Section {
                index: s.index().0,
                name: name.to_string(),
                data,
                size: s.size(),
                executable,
                symbol_refs,
            });
        }
        let symbols = file
            .symbols()
            .filter_map(|sym| {
                let name = sym.name().ok()?.to_string();
                Some(Symbol {
                    name,
                    section: sym.section().index().map(|i| i.0),
                    address: sym.address(),
                    size: sym.size(),
                    is_function: sym.kind() == SymbolKind::Text,
                    hidden_global: !sym.is_local() && is_hidden(sym.flags()),
                })
            })
            .collect();
        Ok(ElfView { sections, symbols })
    }

    pub(crate) fn section_by_name(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub(crate) fn section(&self, index: usize) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.index == index)
    }

    /// The symbol named `name` defined in section `section`.
    pub(crate) fn symbol_in(&self, section: usize, name: &str) -> Option<&Symbol> {
        self.symbols
            .iter()
            .find(|s| s.section == Some(section) && s.name == name)
    }
}

/// Instruction index → the name of the symbol a relocation of `section`
/// names there.
fn symbol_refs(file: &object::File, section: &object::Section) -> HashMap<usize, String> {
    section
        .relocations()
        .filter_map(|(offset, rel)| {
            let RelocationTarget::Symbol(index) = rel.target() else {
                return None;
            };
            let name = file.symbol_by_index(index).ok()?.name().ok()?.to_string();
            Some((usize::try_from(offset / 8).ok()?, name))
        })
        .collect()
}

/// `STV_INTERNAL` (1) or `STV_HIDDEN` (2) visibility.
fn is_hidden(flags: object::SymbolFlags<object::SectionIndex, object::SymbolIndex>) -> bool {
    matches!(flags, object::SymbolFlags::Elf { st_other, .. } if matches!(st_other & 3, 1 | 2))
}
