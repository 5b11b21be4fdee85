//! DATASEC fix-up: clang writes 0 for a data section's size and for the
//! offsets of its variables and leaves them to the loader, which takes them
//! from the ELF section headers and symbol table (libbpf's
//! `btf_fixup_datasec`). bpfkit does the same so that parameters and
//! globals have real offsets.

use bpfkit_btf::{Btf, Kind, Linkage};

use crate::elf_view::ElfView;
use crate::raw_btf::RawBtf;

/// `BTF_FUNC_STATIC`, the linkage of a static function.
const BTF_FUNC_STATIC: u16 = 0;

pub(crate) fn fix_datasecs(raw: &RawBtf, btf: &Btf, view: &ElfView) -> RawBtf {
    let mut fixed = raw.clone();
    for (id, t) in btf.iter() {
        let Kind::Datasec(sec) = &t.kind else {
            continue;
        };
        // `.kconfig` / `.ksyms` describe externs and have no ELF section.
        let Some(section) = view.section_by_name(btf.str_at(t.name_off)) else {
            continue;
        };
        let offsets: Vec<(usize, u32)> = sec
            .vars
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let sym = view.symbol_in(section.index, btf.name_of(v.ty))?;
                Some((i, u32::try_from(sym.address).ok()?))
            })
            .collect();
        let size = u32::try_from(section.size).unwrap_or(sec.size);
        fixed.set_datasec(id, size, &offsets);
    }
    fixed
}

/// Marks the BTF `FUNC` of every hidden global function (`__weak __hidden`
/// helpers such as `usdt.bpf.h`'s `bpf_usdt_arg`) static, as libbpf does:
/// the verifier then checks them in their caller's context instead of
/// alone, where a pointer argument could be NULL and they are rejected.
/// Returns whether anything changed.
pub(crate) fn hidden_funcs_static(raw: &mut RawBtf, btf: &Btf, view: &ElfView) -> bool {
    let mut changed = false;
    for (id, t) in btf.iter() {
        let Kind::Func { linkage, .. } = &t.kind else {
            continue;
        };
        if *linkage == Linkage::Static {
            continue;
        }
        let name = btf.str_at(t.name_off);
        let hidden = view
            .symbols
            .iter()
            .any(|s| s.is_function && s.hidden_global && s.name == name);
        if hidden {
            raw.set_func_linkage(id, BTF_FUNC_STATIC);
            changed = true;
        }
    }
    changed
}
