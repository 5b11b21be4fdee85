//! Programs bpfkit loads itself, because aya 0.14 cannot: it has no
//! `syscall` program type and cannot give a program the
//! `expected_attach_type` that multi-uprobe links need. The maps are still
//! aya's: the same ELF is parsed again with aya's object crate and its map
//! references are pointed at aya's map fds, so both loaders share them.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use aya::Ebpf;
use bpfkit_object::{Hook, Object};
use bpfkit_sys::{attach_type, prog_type};

use crate::error::{Result, RuntimeError};
use crate::load::{ProgramInfo, rejection};
use crate::maps::map_data;

/// How the kernel must see a program of `hook`, when bpfkit loads it
/// itself: program type, expected attach type, flags.
pub(crate) fn own_load_kind(hook: &Hook) -> Option<(u32, u32, u32)> {
    match hook {
        Hook::UprobeMulti { sleepable, .. } => Some((
            prog_type::KPROBE,
            attach_type::TRACE_UPROBE_MULTI,
            if *sleepable {
                bpfkit_sys::BPF_F_SLEEPABLE
            } else {
                0
            },
        )),
        Hook::KprobeMulti { .. } => Some((prog_type::KPROBE, attach_type::TRACE_KPROBE_MULTI, 0)),
        // The kernel only takes sleepable syscall programs.
        Hook::Syscall => Some((prog_type::SYSCALL, 0, bpfkit_sys::BPF_F_SLEEPABLE)),
        _ => None,
    }
}

/// The object parsed by aya's object crate, its maps relocated to the fds
/// of the maps aya created, and its calls resolved.
pub(crate) struct OwnLoader {
    obj: aya_obj::Object,
}

impl OwnLoader {
    pub(crate) fn new(elf: &[u8], ebpf: &Ebpf) -> Result<OwnLoader> {
        let failed = |what: &str, e: &dyn std::error::Error| RuntimeError::Object {
            message: format!("{what}: {}", crate::load::error_chain(e)),
        };
        let obj =
            aya_obj::Object::parse(elf).map_err(|e| failed("parsing the object again", &e))?;
        let fds: Vec<(String, i32)> = obj
            .maps
            .keys()
            .filter_map(|name| {
                let map = ebpf.map(name)?;
                Some((name.clone(), map_data(map).fd().as_fd().as_raw_fd()))
            })
            .collect();
        let maps = fds
            .iter()
            .filter_map(|(name, fd)| Some((name.as_str(), *fd, obj.maps.get(name)?)));
        let text_sections = obj.functions.keys().map(|(section, _)| *section).collect();
        // relocate_maps needs `&mut obj` while the map definitions borrow
        // it: relocate a clone's functions with the original's maps.
        let mut relocated = obj.clone();
        relocated
            .relocate_maps(maps, &text_sections)
            .map_err(|e| failed("pointing the program at its maps", &e))?;
        relocated
            .relocate_calls(&text_sections)
            .map_err(|e| failed("linking the program's calls", &e))?;
        Ok(OwnLoader { obj: relocated })
    }

    /// Loads `prog` as `(prog_type, expected_attach_type, flags)`.
    pub(crate) fn load(
        &self,
        prog: &ProgramInfo,
        object: &Object,
        kind: (u32, u32, u32),
    ) -> Result<OwnedFd> {
        let program = self.obj.programs.get(&prog.name).ok_or_else(|| {
            RuntimeError::Usage(format!(
                "program '{}' is not in the loadable object",
                prog.name
            ))
        })?;
        let function = self
            .obj
            .functions
            .get(&program.function_key())
            .ok_or_else(|| RuntimeError::Usage(format!("program '{}' has no code", prog.name)))?;
        let insns = instruction_bytes(&function.instructions);
        let (prog_type, expected_attach_type, flags) = kind;
        let load = bpfkit_sys::ProgLoad {
            name: &prog.name,
            prog_type,
            expected_attach_type,
            attach_btf_id: 0,
            flags,
            insns: &insns,
            license: &self.obj.license,
        };
        bpfkit_sys::prog_load(&load).map_err(|failure| {
            let io_error = failure.error.source;
            if crate::error::is_permission(&io_error) && failure.log.trim().is_empty() {
                return RuntimeError::Permission {
                    what: format!("loading program '{}' ({})", prog.name, prog.section),
                    needed: crate::load::needed_caps(&prog.hook),
                };
            }
            RuntimeError::Verifier(Box::new(rejection(prog, object, io_error, failure.log)))
        })
    }
}

fn instruction_bytes(insns: &[aya_obj::generated::bpf_insn]) -> Vec<u8> {
    insns
        .iter()
        .flat_map(|insn| {
            let mut bytes = [0u8; 8];
            bytes[0] = insn.code;
            bytes[1] = (insn.src_reg() << 4) | (insn.dst_reg() & 0x0f);
            bytes[2..4].copy_from_slice(&insn.off.to_le_bytes());
            bytes[4..8].copy_from_slice(&insn.imm.to_le_bytes());
            bytes
        })
        .collect()
}
