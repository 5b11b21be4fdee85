//! User map definitions: BTF-defined maps in `.maps` (libbpf's `__uint` /
//! `__type` convention) and legacy `struct bpf_map_def` in `maps`.

use bpfkit_btf::{Btf, Composite, Kind, TypeId};

use crate::elf_view::ElfView;
use crate::map_type::{self, PERF_EVENT_ARRAY, STACK_TRACE};
use crate::{MapDef, ObjectError};

/// `value_size` of a stack trace map that leaves it to user space: 127
/// frames of 8 bytes, libbpf-tools' `perf_max_stack_depth` default (the
/// kernel's `perf_event_max_stack` default).
pub const STACK_TRACE_VALUE_SIZE: u32 = 127 * 8;

/// `max_entries` of a stack trace map that leaves it to user space:
/// libbpf-tools' `stack_storage_size` default (profile, offcputime,
/// wakeuptime, futexctn, capable).
pub const STACK_TRACE_MAX_ENTRIES: u32 = 1024;

/// `max_entries` of any other map that leaves it to user space: libbpf-tools'
/// common `MAX_ENTRIES` (cpudist sizes its maps by pid_max instead, which
/// preallocates millions of entries; 10240 is what most tools use).
pub const DEFAULT_MAX_ENTRIES: u32 = 10240;

impl MapDef {
    /// The `max_entries` to create this map with when its definition leaves
    /// it to user space (0), for the map types that need one; `None` when
    /// the definition has one or the kernel wants 0 (perf event arrays get
    /// one per CPU, local storage maps have none).
    pub fn default_max_entries(&self) -> Option<u32> {
        if self.max_entries != 0 {
            return None;
        }
        match self.map_type {
            STACK_TRACE => Some(STACK_TRACE_MAX_ENTRIES),
            PERF_EVENT_ARRAY
            | map_type::RINGBUF
            | map_type::USER_RINGBUF
            | map_type::CGROUP_STORAGE
            | map_type::PERCPU_CGROUP_STORAGE
            | map_type::SK_STORAGE
            | map_type::INODE_STORAGE
            | map_type::TASK_STORAGE
            | map_type::CGRP_STORAGE
            | map_type::STRUCT_OPS
            | map_type::ARENA => None,
            _ => Some(DEFAULT_MAX_ENTRIES),
        }
    }
}

pub(crate) fn find(btf: &Btf, view: &ElfView) -> Result<Vec<MapDef>, ObjectError> {
    let mut maps = btf_maps(btf)?;
    if let Some(section) = view.section_by_name("maps") {
        maps.extend(legacy_maps(section, view)?);
    }
    Ok(maps)
}

/// The `.maps` variables: (variable name, struct type id).
pub(crate) fn map_vars(btf: &Btf) -> Vec<(String, TypeId)> {
    let Some(sec_id) = btf.find(".maps", |k| matches!(k, Kind::Datasec(_))) else {
        return Vec::new();
    };
    let Some(Kind::Datasec(sec)) = btf.get(sec_id).map(|t| &t.kind) else {
        return Vec::new();
    };
    sec.vars
        .iter()
        .filter_map(|v| match btf.get(v.ty)?.kind {
            Kind::Var { ty, .. } => Some((btf.name_of(v.ty).to_string(), ty)),
            _ => None,
        })
        .collect()
}

/// The struct that defines map `name` and its id.
pub(crate) fn map_struct<'b>(btf: &'b Btf, name: &str) -> Option<(TypeId, &'b Composite)> {
    let (_, ty) = map_vars(btf).into_iter().find(|(n, _)| n == name)?;
    let id = btf.resolve(ty).ok()?;
    match &btf.get(id)?.kind {
        Kind::Struct(c) => Some((id, c)),
        _ => None,
    }
}

fn btf_maps(btf: &Btf) -> Result<Vec<MapDef>, ObjectError> {
    map_vars(btf)
        .into_iter()
        .map(|(name, ty)| {
            let err = |why: String| ObjectError::Map {
                map: name.clone(),
                why,
            };
            let id = btf.resolve(ty).map_err(|e| err(e.to_string()))?;
            let Some(Kind::Struct(def)) = btf.get(id).map(|t| &t.kind) else {
                return Err(err("a .maps variable must be a struct".into()));
            };
            parse_def(btf, &name, def).map_err(err)
        })
        .collect()
}

fn parse_def(btf: &Btf, name: &str, def: &Composite) -> Result<MapDef, String> {
    let mut map = MapDef {
        name: name.to_string(),
        map_type: 0,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        map_flags: 0,
        key_type: None,
        value_type: None,
        event_type: None,
        stored_orders: Vec::new(),
    };
    for m in &def.members {
        let field = btf.str_at(m.name_off);
        let number = || uint_field(btf, m.ty).ok_or_else(|| format!("'{field}' is not __uint()"));
        match field {
            "type" => map.map_type = number()?,
            "max_entries" => map.max_entries = number()?,
            "map_flags" => map.map_flags = number()?,
            "key_size" => map.key_size = number()?,
            "value_size" => map.value_size = number()?,
            "key" => {
                let (ty, size) = type_field(btf, m.ty, field)?;
                (map.key_type, map.key_size) = (Some(ty), size);
            }
            "value" => {
                let (ty, size) = type_field(btf, m.ty, field)?;
                (map.value_type, map.value_size) = (Some(ty), size);
            }
            // pinning, values (map-in-map), map_extra, ... do not matter here.
            _ => {}
        }
    }
    if map.map_type == 0 {
        return Err("no __uint(type, ...) in the definition".into());
    }
    if map.map_type == PERF_EVENT_ARRAY {
        // What libbpf (and bpfkit's rewrite) fill in when left out.
        map.key_size = nonzero_or(map.key_size, 4);
        map.value_size = nonzero_or(map.value_size, 4);
    }
    if map.map_type == STACK_TRACE {
        // What bpfkit's rewrite fills in when left to user space.
        map.value_size = nonzero_or(map.value_size, STACK_TRACE_VALUE_SIZE);
    }
    Ok(map)
}

fn nonzero_or(value: u32, default: u32) -> u32 {
    if value == 0 { default } else { value }
}

/// `__uint(name, N)` is `int (*name)[N]`.
fn uint_field(btf: &Btf, ty: TypeId) -> Option<u32> {
    let Kind::Ptr(target) = btf.get(ty)?.kind else {
        return None;
    };
    match btf.get(btf.resolve(target).ok()?)?.kind {
        Kind::Array(a) => Some(a.len),
        _ => None,
    }
}

/// `__type(name, T)` is `T *name`.
fn type_field(btf: &Btf, ty: TypeId, field: &str) -> Result<(TypeId, u32), String> {
    let Some(Kind::Ptr(target)) = btf.get(ty).map(|t| &t.kind) else {
        return Err(format!("'{field}' is not __type()"));
    };
    let size = btf
        .size_of(*target)
        .map_err(|e| format!("'{field}' type: {e}"))?;
    let size = u32::try_from(size).map_err(|_| format!("'{field}' type is too large"))?;
    Ok((*target, size))
}

/// Legacy `struct bpf_map_def { type, key_size, value_size, max_entries,
/// map_flags }`, one per symbol in the `maps` section.
fn legacy_maps(
    section: &crate::elf_view::Section,
    view: &ElfView,
) -> Result<Vec<MapDef>, ObjectError> {
    view.symbols
        .iter()
        .filter(|s| s.section == Some(section.index) && !s.name.is_empty() && s.size > 0)
        .map(|s| {
            let start = s.address as usize;
            let word = |i: usize| {
                let at = start.checked_add(4 * i)?;
                let b = section.data.get(at..at + 4)?;
                Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            };
            let field = |i: usize| {
                word(i).ok_or_else(|| ObjectError::Map {
                    map: s.name.clone(),
                    why: "legacy bpf_map_def runs past the 'maps' section".into(),
                })
            };
            Ok(MapDef {
                name: s.name.clone(),
                map_type: field(0)?,
                key_size: field(1)?,
                value_size: field(2)?,
                max_entries: field(3)?,
                map_flags: word(4).unwrap_or(0),
                key_type: None,
                value_type: None,
                event_type: None,
                stored_orders: Vec::new(),
            })
        })
        .collect()
}
