//! What the tests read out of a tool's object: its programs' SEC() names,
//! its BTF, `const volatile` parameters and map types.

#![allow(dead_code)] // each test binary uses a different part

pub mod netns;
pub mod session;

use std::collections::HashMap;

use bpfkit_btf::{Btf, Kind, Linkage, TypeId};
use bpfkit_object::{Hook, parse_section};
use bpfkit_tools::{ToolSpec, Variant};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

pub struct ObjectInfo {
    pub btf: Btf,
    /// Program (function) name → its SEC() name.
    pub sections: HashMap<String, String>,
}

pub fn object_info(spec: &ToolSpec) -> ObjectInfo {
    let btf = bpfkit_btf::elf::btf_from_elf(spec.object)
        .unwrap_or_else(|e| panic!("{}: BTF: {e}", spec.name));
    let file =
        object::File::parse(spec.object).unwrap_or_else(|e| panic!("{}: ELF: {e}", spec.name));
    let mut sections = HashMap::new();
    for sym in file.symbols() {
        if sym.kind() != SymbolKind::Text || !sym.is_global() {
            continue;
        }
        let Some(index) = sym.section_index() else {
            continue;
        };
        let section = file.section_by_index(index).expect("symbol's section");
        let (Ok(name), Ok(sec)) = (sym.name(), section.name()) else {
            continue;
        };
        sections.insert(name.to_string(), sec.to_string());
    }
    ObjectInfo { btf, sections }
}

impl ObjectInfo {
    pub fn hook(&self, program: &str) -> Hook {
        let sec = self
            .sections
            .get(program)
            .unwrap_or_else(|| panic!("no program {program}"));
        parse_section(sec).unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    /// Global variables of the DATASEC `name` (`.rodata` holds the params).
    pub fn datasec_vars(&self, name: &str) -> Vec<(String, TypeId)> {
        let Some(id) = self.btf.find(name, |k| matches!(k, Kind::Datasec(_))) else {
            return Vec::new();
        };
        let Kind::Datasec(sec) = &self.btf.get(id).expect("datasec").kind else {
            unreachable!()
        };
        sec.vars
            .iter()
            .filter_map(|v| match self.btf.get(v.ty)?.kind {
                Kind::Var {
                    ty,
                    linkage: Linkage::Global,
                } => Some((self.btf.name_of(v.ty).to_string(), ty)),
                _ => None,
            })
            .collect()
    }

    pub fn params(&self) -> Vec<String> {
        self.datasec_vars(".rodata")
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    /// (key, value) types of a BTF-defined map.
    pub fn map_types(&self, map: &str) -> Option<(TypeId, TypeId)> {
        let (_, def) = self
            .datasec_vars(".maps")
            .into_iter()
            .find(|(n, _)| n == map)?;
        let members = self.members(def);
        let pointee = |name: &str| -> Option<TypeId> {
            let (_, ty) = members.iter().find(|(n, _)| n == name)?;
            match self.btf.get(self.btf.resolve(*ty).ok()?)?.kind {
                Kind::Ptr(t) => Some(t),
                _ => None,
            }
        };
        Some((pointee("key")?, pointee("value")?))
    }

    /// Members (name, type) of the struct `id` resolves to; empty for scalars.
    pub fn members(&self, id: TypeId) -> Vec<(String, TypeId)> {
        let Ok(id) = self.btf.resolve(id) else {
            return Vec::new();
        };
        match &self.btf.get(id).map(|t| &t.kind) {
            Some(Kind::Struct(c)) | Some(Kind::Union(c)) => c
                .members
                .iter()
                .map(|m| (self.btf.str_at(m.name_off).to_string(), m.ty))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn has_member(&self, id: TypeId, name: &str) -> bool {
        self.members(id).iter().any(|(n, _)| n == name)
    }

    /// Byte offset of member `name` of struct `strukt`.
    pub fn offset_of(&self, strukt: &str, name: &str) -> usize {
        let id = self
            .btf
            .find_struct(strukt)
            .unwrap_or_else(|| panic!("no struct {strukt}"));
        let Some(Kind::Struct(c)) = self.btf.get(id).map(|t| &t.kind) else {
            unreachable!()
        };
        let m = c
            .members
            .iter()
            .find(|m| self.btf.str_at(m.name_off) == name)
            .unwrap_or_else(|| panic!("struct {strukt} has no {name}"));
        (m.bit_offset / 8) as usize
    }
}

/// Whether this kernel can attach the hook (see /work/shared/kernel-facts.md:
/// no kprobes, no fentry here; XDP and tc on veth and lo).
pub fn works_here(hook: &Hook) -> bool {
    matches!(
        hook,
        Hook::Tracepoint { .. }
            | Hook::RawTracepoint { .. }
            | Hook::BtfTracepoint { .. }
            | Hook::Uprobe { .. }
            | Hook::PerfEvent
            | Hook::Xdp
            | Hook::Tc { .. }
    )
}

/// The first variant, best first, whose every program works here.
pub fn working_variant(spec: &ToolSpec, info: &ObjectInfo) -> Option<&'static Variant> {
    spec.variants
        .iter()
        .find(|v| v.programs.iter().all(|p| works_here(&info.hook(p))))
}
