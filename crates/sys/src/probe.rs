//! The two bpf(2) commands kernel feature probes need that aya does not
//! offer for them: loading a trivial program with an expected attach type,
//! and creating kprobe.multi / uprobe.multi links.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::Result;
use crate::attr::{BpfAttr, Cmd, LinkCreateAttr, ProgLoadAttr, ptr_u64, sys_bpf_fd};

/// Loads `r0 = 0; exit` as a GPL program of `prog_type` with
/// `expected_attach_type`.
pub fn load_trivial_prog(prog_type: u32, expected_attach_type: u32) -> Result<OwnedFd> {
    // mov64 r0, 0 ; exit
    let insns: [u64; 2] = [0xb7, 0x95];
    let license = c"GPL";
    let mut attr = BpfAttr::zeroed();
    attr.prog_load = ProgLoadAttr {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: ptr_u64(insns.as_ptr()),
        license: ptr_u64(license.as_ptr()),
        expected_attach_type,
        ..Default::default()
    };
    // SAFETY: `insns` and `license` outlive the call; the log is off.
    unsafe { sys_bpf_fd(Cmd::ProgLoad, &mut attr) }
}

/// `BPF_TRACE_KPROBE_MULTI` and `BPF_TRACE_UPROBE_MULTI`.
pub const KPROBE_MULTI: u32 = 42;
pub const UPROBE_MULTI: u32 = 48;

/// A kprobe.multi link of `prog` on the kernel functions `symbols`.
pub fn kprobe_multi_link(prog: BorrowedFd<'_>, symbols: &[&std::ffi::CStr]) -> Result<OwnedFd> {
    let pointers: Vec<u64> = symbols.iter().map(|s| ptr_u64(s.as_ptr())).collect();
    let mut attr = BpfAttr::zeroed();
    let mut tail = [0u64; 6];
    // struct { u32 flags; u32 cnt; u64 syms; u64 addrs; u64 cookies; }
    tail[0] = u64::from(pointers.len() as u32) << 32;
    tail[1] = ptr_u64(pointers.as_ptr());
    attr.link_create = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        attach_type: KPROBE_MULTI,
        tail,
        ..Default::default()
    };
    // SAFETY: the symbol pointers and the strings they point at outlive
    // the call.
    unsafe { sys_bpf_fd(Cmd::LinkCreate, &mut attr) }
}

/// A uprobe.multi link of `prog` at file `offsets` of `path`.
pub fn uprobe_multi_link(
    prog: BorrowedFd<'_>,
    path: &std::ffi::CStr,
    offsets: &[u64],
) -> Result<OwnedFd> {
    let mut attr = BpfAttr::zeroed();
    let mut tail = [0u64; 6];
    // struct { u64 path; u64 offsets; u64 ref_ctr_offsets; u64 cookies;
    //          u32 cnt; u32 flags; u32 pid; }
    tail[0] = ptr_u64(path.as_ptr());
    tail[1] = ptr_u64(offsets.as_ptr());
    tail[4] = offsets.len() as u64;
    attr.link_create = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        attach_type: UPROBE_MULTI,
        tail,
        ..Default::default()
    };
    // SAFETY: `path` and `offsets` outlive the call.
    unsafe { sys_bpf_fd(Cmd::LinkCreate, &mut attr) }
}
