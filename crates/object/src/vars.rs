//! Global variables: `const volatile` ones in `.rodata*` are parameters the
//! user sets at load time; writable ones in `.bss*` / `.data*` are counters
//! and state bpfkit can print.

use bpfkit_btf::{Btf, Kind, Linkage, TypeId, VarSecinfo};

use crate::elf_view::ElfView;
use crate::events::MARKER_PREFIX;
use crate::{Global, ObjectError, Param};

pub(crate) fn find(btf: &Btf, view: &ElfView) -> Result<(Vec<Param>, Vec<Global>), ObjectError> {
    let mut params = Vec::new();
    let mut globals = Vec::new();
    for (_, t) in btf.iter() {
        let Kind::Datasec(sec) = &t.kind else {
            continue;
        };
        let section = btf.str_at(t.name_off);
        let is_rodata = section.starts_with(".rodata");
        if !is_rodata && !section.starts_with(".bss") && !section.starts_with(".data") {
            continue;
        }
        for entry in &sec.vars {
            let Some(var) = user_var(btf, entry) else {
                continue;
            };
            if is_rodata {
                if is_volatile(btf, var.ty) {
                    params.push(param(&var, entry, section, view)?);
                }
            } else {
                globals.push(Global {
                    name: var.name.to_string(),
                    ty: var.ty,
                    section: section.to_string(),
                    offset: entry.offset,
                    size: entry.size,
                });
            }
        }
    }
    Ok((params, globals))
}

struct Var<'b> {
    name: &'b str,
    ty: TypeId,
}

/// A variable the user declared: not extern, not one clang made up (a
/// function's `static` locals and printk formats are `func.name`), not a
/// bpfkit marker. File-scope `static` variables count.
fn user_var<'b>(btf: &'b Btf, entry: &VarSecinfo) -> Option<Var<'b>> {
    let Kind::Var { ty, linkage } = btf.get(entry.ty)?.kind else {
        return None;
    };
    let name = btf.name_of(entry.ty);
    let wanted = linkage != Linkage::Extern
        && !name.is_empty()
        && !name.contains('.')
        && !name.starts_with(MARKER_PREFIX);
    wanted.then_some(Var { name, ty })
}

/// Whether the variable is `volatile`; for an array (`const volatile u16
/// ports[64]`) C puts the qualifiers on the element type.
fn is_volatile(btf: &Btf, mut ty: TypeId) -> bool {
    for _ in 0..16 {
        match btf.get(ty).map(|t| &t.kind) {
            Some(Kind::Volatile(_)) => return true,
            Some(Kind::Const(t) | Kind::Typedef(t) | Kind::Restrict(t) | Kind::TypeTag(t)) => {
                ty = *t
            }
            Some(Kind::Array(a)) => ty = a.elem,
            _ => return false,
        }
    }
    false
}

fn param(
    var: &Var,
    entry: &VarSecinfo,
    section: &str,
    view: &ElfView,
) -> Result<Param, ObjectError> {
    let err = |why: String| ObjectError::Var {
        var: var.name.to_string(),
        section: section.to_string(),
        why,
    };
    let data = view
        .section_by_name(section)
        .ok_or_else(|| err("the ELF has no section of that name".into()))?
        .data;
    let start = entry.offset as usize;
    let default = data
        .get(start..start + entry.size as usize)
        .ok_or_else(|| {
            err(format!(
                "bytes {start}+{} lie outside the section ({} bytes)",
                entry.size,
                data.len()
            ))
        })?
        .to_vec();
    Ok(Param {
        name: var.name.to_string(),
        ty: var.ty,
        section: section.to_string(),
        offset: entry.offset,
        size: entry.size,
        default,
    })
}

/// The integer parameter that holds how many values the array parameter
/// `array` got (`filter_ports` → `filter_ports_len`): the kernel half reads
/// that many elements, and 0 means no list was given.
pub fn list_length_param(array: &str) -> String {
    format!("{array}_len")
}
