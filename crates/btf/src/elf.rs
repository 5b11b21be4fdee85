//! Finding BTF inside ELF objects (`.BTF` and `.BTF.ext` sections).

use crate::ext::BtfExt;
use crate::{Btf, Error, Result};
use object::{Object, ObjectSection};

/// The raw bytes of a named section, if the object has it.
pub fn section_data<'a>(elf: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let file = object::File::parse(elf).map_err(|e| Error::Elf(e.to_string()))?;
    let Some(section) = file.section_by_name(name) else {
        return Ok(None);
    };
    section
        .data()
        .map(Some)
        .map_err(|e| Error::Elf(format!("section {name}: {e}")))
}

/// Parses the `.BTF` section of an ELF object.
pub fn btf_from_elf(elf: &[u8]) -> Result<Btf> {
    let data = section_data(elf, ".BTF")?
        .ok_or_else(|| Error::Elf("object has no .BTF section (was it built with -g?)".into()))?;
    Btf::parse(data)
}

/// Parses `.BTF.ext` of an ELF object, if present.
pub fn btf_ext_from_elf(elf: &[u8], btf: &Btf) -> Result<Option<BtfExt>> {
    match section_data(elf, ".BTF.ext")? {
        Some(data) => BtfExt::parse(data, btf).map(Some),
        None => Ok(None),
    }
}
