//! Programs: function symbols in executable sections other than `.text`
//! (which holds subprograms), and a scan of their instructions.

use crate::elf_view::ElfView;
use crate::section::{SectionError, parse_section_kind};
use crate::{ObjectError, Program};

const INSN_SIZE: usize = 8;
const CALL_OPCODE: u8 = 0x85;
const HELPER_TRACE_PRINTK: i32 = 6;
const HELPER_TRACE_VPRINTK: i32 = 177;

pub(crate) fn find(view: &ElfView) -> Result<Vec<Program>, ObjectError> {
    let mut found = Vec::new();
    for sym in &view.symbols {
        let Some(section) = sym.section.and_then(|i| view.section(i)) else {
            continue;
        };
        if !sym.is_function || sym.name.is_empty() || !section.executable || section.name == ".text"
        {
            continue;
        }
        let (hook, target_error) = parse_section_kind(&section.name).map_err(|e| match e {
            SectionError::Unknown(s) => ObjectError::UnknownSection {
                section: s,
                program: sym.name.clone(),
            },
            SectionError::Malformed { section, why } => ObjectError::BadSection {
                section,
                program: sym.name.clone(),
                why,
            },
        })?;
        found.push((
            sym.address,
            Program {
                name: sym.name.clone(),
                section: section.name.clone(),
                hook,
                target_error,
                insn_count: sym.size as usize / INSN_SIZE,
                section_index: section.index,
            },
        ));
    }
    found.sort_by_key(|(address, p)| (p.section_index, *address));
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// True when any code (programs and subprograms) calls a printk helper.
pub(crate) fn uses_printk(view: &ElfView) -> bool {
    view.sections
        .iter()
        .filter(|s| s.executable)
        .flat_map(|s| s.data.chunks_exact(INSN_SIZE))
        .any(is_printk_call)
}

fn is_printk_call(insn: &[u8]) -> bool {
    let src_reg = insn[1] >> 4;
    let imm = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
    insn[0] == CALL_OPCODE
        && src_reg == 0
        && matches!(imm, HELPER_TRACE_PRINTK | HELPER_TRACE_VPRINTK)
}
