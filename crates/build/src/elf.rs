//! Post-processing of the object clang wrote: drop DWARF, optionally
//! replace `.BTF`.
//!
//! This rewrites the ELF with the `object` crate's builder instead of
//! running `llvm-strip -g`: no extra tool to find (or to differ between
//! machines), and the builder fixes up section indices, symbols and
//! relocations for us. What is removed: every `.debug_*` section, the
//! relocation sections that apply to them and their section symbols.
//! `.BTF` and `.BTF.ext` are kept byte for byte unless a new `.BTF` is
//! passed in. (Objects must be compiled with `-fno-addrsig`: the builder
//! cannot read `.llvm_addrsig`.)

use object::build::elf::{Builder, SectionData};
use object::elf::SHT_STRTAB;

fn is_debug(name: &[u8]) -> bool {
    name.starts_with(b".debug_")
}

/// The object without DWARF, with `.BTF` replaced by `new_btf` if given.
pub fn finish_object(elf: &[u8], new_btf: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut builder = Builder::read(elf).map_err(|e| e.to_string())?;
    // Collected before deleting: the builder's iterators skip deleted
    // sections. Relocation sections point at their target through sh_info.
    let debug: Vec<_> = builder
        .sections
        .iter()
        .filter(|s| is_debug(&s.name))
        .map(|s| s.id())
        .collect();
    for section in builder.sections.iter_mut() {
        let target_is_debug = section.sh_info_section.is_some_and(|t| debug.contains(&t));
        if debug.contains(&section.id()) || target_is_debug {
            section.delete = true;
        }
    }
    builder.delete_orphans();
    add_section_names_table(&mut builder);
    if let Some(btf) = new_btf {
        let section = builder
            .sections
            .iter_mut()
            .find(|s| &*s.name == b".BTF")
            .ok_or("object has no .BTF section")?;
        section.data = SectionData::Data(btf.to_vec().into());
    }
    let mut out = Vec::with_capacity(elf.len());
    builder.write(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// LLVM keeps section names and symbol names in one `.strtab`; the builder
/// reads that as the symbol string table only and then has nowhere to put
/// section names. A separate `.shstrtab`, as GNU tools write, fixes that.
fn add_section_names_table(builder: &mut Builder<'_>) {
    let has_one = builder
        .sections
        .iter()
        .any(|s| !s.delete && matches!(s.data, SectionData::SectionString));
    if has_one {
        return;
    }
    let section = builder.sections.add();
    section.name = b".shstrtab"[..].into();
    section.sh_type = SHT_STRTAB;
    section.sh_addralign = 1;
    section.data = SectionData::SectionString;
}
