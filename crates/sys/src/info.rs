//! Kernel object enumeration (`BPF_*_GET_NEXT_ID`), fds by id, and
//! `BPF_OBJ_GET_INFO_BY_FD` decoded into plain Rust structs.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::Result;
use crate::attr::{BpfAttr, Cmd, IdAttr, InfoAttr, ObjAttr, c_name, ptr_u64, sys_bpf, sys_bpf_fd};

fn next_ids(cmd: Cmd) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut start = 0u32;
    loop {
        let mut attr = BpfAttr::zeroed();
        attr.id = IdAttr {
            id: start,
            ..Default::default()
        };
        // SAFETY: the id attr holds no pointers.
        match unsafe { sys_bpf(cmd, &mut attr) } {
            Ok(_) => {}
            Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(ids),
            Err(e) => return Err(e),
        }
        // SAFETY: the kernel filled `next_id` of the variant we wrote.
        let next = unsafe { attr.id.next_id };
        if next <= start {
            // Ids only grow; anything else would loop forever.
            return Ok(ids);
        }
        ids.push(next);
        start = next;
    }
}

fn fd_by_id(cmd: Cmd, id: u32) -> Result<OwnedFd> {
    let mut attr = BpfAttr::zeroed();
    attr.id = IdAttr {
        id,
        ..Default::default()
    };
    // SAFETY: the id attr holds no pointers.
    unsafe { sys_bpf_fd(cmd, &mut attr) }
}

/// Ids of all loaded BPF programs, ascending.
pub fn prog_ids() -> Result<Vec<u32>> {
    next_ids(Cmd::ProgGetNextId)
}
/// Ids of all BPF maps, ascending.
pub fn map_ids() -> Result<Vec<u32>> {
    next_ids(Cmd::MapGetNextId)
}
/// Ids of all loaded BTF objects (vmlinux, modules, programs'), ascending.
pub fn btf_ids() -> Result<Vec<u32>> {
    next_ids(Cmd::BtfGetNextId)
}
/// Ids of all BPF links, ascending.
pub fn link_ids() -> Result<Vec<u32>> {
    next_ids(Cmd::LinkGetNextId)
}
/// Opens program `id` (ENOENT if it went away).
pub fn prog_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::ProgGetFdById, id)
}
/// Opens map `id`.
pub fn map_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::MapGetFdById, id)
}
/// Opens BTF object `id`.
pub fn btf_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::BtfGetFdById, id)
}
/// Opens link `id`.
pub fn link_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::LinkGetFdById, id)
}

/// Runs `BPF_OBJ_GET_INFO_BY_FD` into `info`, one of the `Raw*Info` structs
/// (all plain integers, so any bytes the kernel writes are valid).
///
/// # Safety
/// Every buffer pointer in `info` must be null or point at as much memory
/// as the count/size fields next to it announce.
pub(crate) unsafe fn get_info<T>(fd: BorrowedFd<'_>, info: &mut T) -> Result<()> {
    let mut attr = BpfAttr::zeroed();
    attr.info = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: size_of::<T>() as u32,
        info: ptr_u64(info as *mut T),
    };
    // SAFETY: `info` is a live T of the length given; its own pointers are
    // the caller's contract.
    unsafe { sys_bpf(Cmd::ObjGetInfoByFd, &mut attr) }?;
    Ok(())
}

/// `struct bpf_prog_info` (uapi, 6.x).
#[repr(C)]
#[derive(Default)]
struct RawProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
    ifindex: u32,
    gpl_compatible: u32,
    netns_dev: u64,
    netns_ino: u64,
    nr_jited_ksyms: u32,
    nr_jited_func_lens: u32,
    jited_ksyms: u64,
    jited_func_lens: u64,
    btf_id: u32,
    func_info_rec_size: u32,
    func_info: u64,
    nr_func_info: u32,
    nr_line_info: u32,
    line_info: u64,
    jited_line_info: u64,
    nr_jited_line_info: u32,
    line_info_rec_size: u32,
    jited_line_info_rec_size: u32,
    nr_prog_tags: u32,
    prog_tags: u64,
    run_time_ns: u64,
    run_cnt: u64,
    recursion_misses: u64,
    verified_insns: u32,
    attach_btf_obj_id: u32,
    attach_btf_id: u32,
    _pad: u32,
}

/// What the kernel reports about a loaded program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    pub id: u32,
    /// `enum bpf_prog_type`.
    pub prog_type: u32,
    /// Up to 15 bytes of the program name (the kernel truncates).
    pub name: String,
    /// SHA-1 based tag of the instructions, as `bpftool` prints it (hex).
    pub tag: [u8; 8],
    /// BTF object of the program (0 if none).
    pub btf_id: u32,
    pub map_ids: Vec<u32>,
    /// Only counted while stats are enabled (see [`crate::enable_stats`]).
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    /// Nanoseconds since boot (CLOCK_BOOTTIME) when the program was loaded.
    pub load_time: u64,
    pub created_by_uid: u32,
    pub gpl_compatible: bool,
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
    pub ifindex: u32,
    /// BTF FUNC type (in `btf_id`) of the main function, 0 without BTF:
    /// its name is the full program name when `name` was cut at 15 bytes.
    pub func_type_id: u32,
}

impl ProgInfo {
    /// The tag as 16 hex digits, like `bpftool prog show`.
    pub fn tag_hex(&self) -> String {
        self.tag.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `struct bpf_func_info`: where a function starts and its BTF FUNC type.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct FuncInfo {
    insn_off: u32,
    type_id: u32,
}

/// Info about the program behind `fd`, including its map ids.
pub fn prog_info(fd: BorrowedFd<'_>) -> Result<ProgInfo> {
    let mut raw = RawProgInfo::default();
    // SAFETY: all pointers in `raw` are null.
    unsafe { get_info(fd, &mut raw) }?;
    let mut map_ids = vec![0u32; raw.nr_map_ids as usize];
    let mut main_func = FuncInfo::default();
    if !map_ids.is_empty() || raw.nr_func_info > 0 {
        // Second call, sized by the first answer: the map ids and the first
        // func_info record (the main function, whose BTF name is not cut).
        let want_func = u32::from(raw.nr_func_info > 0);
        let mut arrays = RawProgInfo {
            nr_map_ids: map_ids.len() as u32,
            map_ids: ptr_u64(map_ids.as_mut_ptr()),
            nr_func_info: want_func,
            func_info_rec_size: want_func * size_of::<FuncInfo>() as u32,
            func_info: ptr_u64(&mut main_func as *mut FuncInfo),
            ..Default::default()
        };
        // SAFETY: `map_ids` has room for `nr_map_ids` ids and `main_func`
        // for the `nr_func_info` (at most 1) record of the size given.
        unsafe { get_info(fd, &mut arrays) }?;
        // The kernel copies at most as many ids as we made room for and
        // reports how many there are; keep only ids it actually wrote.
        map_ids.truncate(arrays.nr_map_ids.min(map_ids.len() as u32) as usize);
    }
    Ok(ProgInfo {
        id: raw.id,
        prog_type: raw.prog_type,
        name: c_name(&raw.name),
        tag: raw.tag,
        btf_id: raw.btf_id,
        map_ids,
        run_time_ns: raw.run_time_ns,
        run_cnt: raw.run_cnt,
        recursion_misses: raw.recursion_misses,
        verified_insns: raw.verified_insns,
        load_time: raw.load_time,
        created_by_uid: raw.created_by_uid,
        gpl_compatible: raw.gpl_compatible & 1 != 0,
        jited_prog_len: raw.jited_prog_len,
        xlated_prog_len: raw.xlated_prog_len,
        attach_btf_obj_id: raw.attach_btf_obj_id,
        attach_btf_id: raw.attach_btf_id,
        ifindex: raw.ifindex,
        func_type_id: main_func.type_id,
    })
}

/// The program's instructions as the kernel keeps them after verification
/// (`xlated_prog_insns`), 8 bytes each. Map references in 64-bit loads
/// hold map ids rather than fds. Needs `CAP_SYS_ADMIN` (empty otherwise).
pub fn prog_xlated_insns(fd: BorrowedFd<'_>) -> Result<Vec<u8>> {
    let mut raw = RawProgInfo::default();
    // SAFETY: all pointers in `raw` are null.
    unsafe { get_info(fd, &mut raw) }?;
    let mut insns = vec![0u8; raw.xlated_prog_len as usize];
    if insns.is_empty() {
        return Ok(insns);
    }
    let mut sized = RawProgInfo {
        xlated_prog_len: insns.len() as u32,
        xlated_prog_insns: ptr_u64(insns.as_mut_ptr()),
        ..Default::default()
    };
    // SAFETY: `insns` has room for the `xlated_prog_len` bytes asked for.
    unsafe { get_info(fd, &mut sized) }?;
    insns.truncate(sized.xlated_prog_len.min(insns.len() as u32) as usize);
    Ok(insns)
}

/// `struct bpf_line_info`: the source line (offsets into the program's
/// BTF strings) that instructions from `insn_off` on come from.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    /// Line number << 10 | column.
    pub line_col: u32,
}

/// What `bpftool prog dump xlated` reads about a program: its translated
/// instructions, where each function starts (and its BTF FUNC type),
/// source line records, and the kernel addresses of its JITed functions
/// (what a bpf-to-bpf call's immediate indexes in the xlated code).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct XlatedProg {
    /// 8 bytes per instruction.
    pub insns: Vec<u8>,
    /// `(insn_off, BTF FUNC type id)` of every function, in order.
    pub funcs: Vec<(u32, u32)>,
    pub lines: Vec<LineInfo>,
    pub jited_ksyms: Vec<u64>,
}

/// The program's translated instructions with its function and line
/// records. Needs `CAP_SYS_ADMIN` (the kernel reports no instructions
/// otherwise).
pub fn prog_xlated(fd: BorrowedFd<'_>) -> Result<XlatedProg> {
    let mut raw = RawProgInfo::default();
    // SAFETY: all pointers in `raw` are null.
    unsafe { get_info(fd, &mut raw) }?;
    let mut prog = XlatedProg {
        insns: vec![0u8; raw.xlated_prog_len as usize],
        funcs: vec![(0, 0); raw.nr_func_info as usize],
        lines: vec![LineInfo::default(); raw.nr_line_info as usize],
        jited_ksyms: vec![0u64; raw.nr_jited_ksyms as usize],
    };
    // The record sizes are ours: the kernel copies min(ours, its own).
    let mut funcs = vec![FuncInfo::default(); prog.funcs.len()];
    let mut sized = RawProgInfo {
        xlated_prog_len: prog.insns.len() as u32,
        xlated_prog_insns: ptr_u64(prog.insns.as_mut_ptr()),
        nr_func_info: funcs.len() as u32,
        func_info_rec_size: size_of::<FuncInfo>() as u32,
        func_info: ptr_u64(funcs.as_mut_ptr()),
        nr_line_info: prog.lines.len() as u32,
        line_info_rec_size: size_of::<LineInfo>() as u32,
        line_info: ptr_u64(prog.lines.as_mut_ptr()),
        nr_jited_ksyms: prog.jited_ksyms.len() as u32,
        jited_ksyms: ptr_u64(prog.jited_ksyms.as_mut_ptr()),
        ..Default::default()
    };
    // SAFETY: every buffer has room for the count (of our record size)
    // announced next to it.
    unsafe { get_info(fd, &mut sized) }?;
    prog.insns
        .truncate(sized.xlated_prog_len.min(prog.insns.len() as u32) as usize);
    funcs.truncate(sized.nr_func_info.min(funcs.len() as u32) as usize);
    prog.funcs = funcs.iter().map(|f| (f.insn_off, f.type_id)).collect();
    let lines = sized.nr_line_info.min(prog.lines.len() as u32) as usize;
    prog.lines.truncate(lines);
    let ksyms = sized.nr_jited_ksyms.min(prog.jited_ksyms.len() as u32) as usize;
    prog.jited_ksyms.truncate(ksyms);
    Ok(prog)
}

/// What `bpftool prog dump jited` reads about a program: its JIT image,
/// each JITed function's kernel address and length (the image is the
/// functions back to back), the functions' BTF types, and the source line
/// records with the image address each one starts at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JitedProg {
    pub image: Vec<u8>,
    /// Kernel address of each function, in image order.
    pub ksyms: Vec<u64>,
    /// Length in bytes of each function, in image order.
    pub func_lens: Vec<u32>,
    /// `(insn_off, BTF FUNC type id)` of every function, in order.
    pub funcs: Vec<(u32, u32)>,
    pub lines: Vec<LineInfo>,
    /// The kernel address where the code of `lines[i]` starts.
    pub line_addrs: Vec<u64>,
}

/// The program's JIT image with its function and line records. Needs
/// `CAP_SYS_ADMIN`, and a JITed program (the image is empty otherwise).
pub fn prog_jited(fd: BorrowedFd<'_>) -> Result<JitedProg> {
    let mut raw = RawProgInfo::default();
    // SAFETY: all pointers in `raw` are null.
    unsafe { get_info(fd, &mut raw) }?;
    let mut prog = JitedProg {
        image: vec![0u8; raw.jited_prog_len as usize],
        ksyms: vec![0u64; raw.nr_jited_ksyms as usize],
        func_lens: vec![0u32; raw.nr_jited_func_lens as usize],
        funcs: Vec::new(),
        lines: vec![LineInfo::default(); raw.nr_line_info as usize],
        line_addrs: vec![0u64; raw.nr_jited_line_info as usize],
    };
    let mut funcs = vec![FuncInfo::default(); raw.nr_func_info as usize];
    // The record sizes are ours: the kernel copies min(ours, its own).
    let mut sized = RawProgInfo {
        jited_prog_len: prog.image.len() as u32,
        jited_prog_insns: ptr_u64(prog.image.as_mut_ptr()),
        nr_jited_ksyms: prog.ksyms.len() as u32,
        jited_ksyms: ptr_u64(prog.ksyms.as_mut_ptr()),
        nr_jited_func_lens: prog.func_lens.len() as u32,
        jited_func_lens: ptr_u64(prog.func_lens.as_mut_ptr()),
        nr_func_info: funcs.len() as u32,
        func_info_rec_size: size_of::<FuncInfo>() as u32,
        func_info: ptr_u64(funcs.as_mut_ptr()),
        nr_line_info: prog.lines.len() as u32,
        line_info_rec_size: size_of::<LineInfo>() as u32,
        line_info: ptr_u64(prog.lines.as_mut_ptr()),
        nr_jited_line_info: prog.line_addrs.len() as u32,
        jited_line_info_rec_size: size_of::<u64>() as u32,
        jited_line_info: ptr_u64(prog.line_addrs.as_mut_ptr()),
        ..Default::default()
    };
    // SAFETY: every buffer has room for the count (of our record size)
    // announced next to it.
    unsafe { get_info(fd, &mut sized) }?;
    let keep = |announced: u32, have: usize| announced.min(have as u32) as usize;
    prog.image
        .truncate(keep(sized.jited_prog_len, prog.image.len()));
    prog.ksyms
        .truncate(keep(sized.nr_jited_ksyms, prog.ksyms.len()));
    prog.func_lens
        .truncate(keep(sized.nr_jited_func_lens, prog.func_lens.len()));
    funcs.truncate(keep(sized.nr_func_info, funcs.len()));
    prog.funcs = funcs.iter().map(|f| (f.insn_off, f.type_id)).collect();
    prog.lines
        .truncate(keep(sized.nr_line_info, prog.lines.len()));
    prog.line_addrs
        .truncate(keep(sized.nr_jited_line_info, prog.line_addrs.len()));
    Ok(prog)
}

/// `struct bpf_map_info` (uapi, 6.x).
#[repr(C)]
#[derive(Default)]
struct RawMapInfo {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: [u8; 16],
    ifindex: u32,
    btf_vmlinux_value_type_id: u32,
    netns_dev: u64,
    netns_ino: u64,
    btf_id: u32,
    btf_key_type_id: u32,
    btf_value_type_id: u32,
    _pad: u32,
    map_extra: u64,
}

/// What the kernel reports about a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    pub id: u32,
    /// `enum bpf_map_type`.
    pub map_type: u32,
    pub name: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    /// BTF object describing key and value (0 if none).
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
    pub ifindex: u32,
}

/// Info about the map behind `fd`.
pub fn map_info(fd: BorrowedFd<'_>) -> Result<MapInfo> {
    let mut raw = RawMapInfo::default();
    // SAFETY: RawMapInfo has no pointers.
    unsafe { get_info(fd, &mut raw) }?;
    Ok(MapInfo {
        id: raw.id,
        map_type: raw.map_type,
        name: c_name(&raw.name),
        key_size: raw.key_size,
        value_size: raw.value_size,
        max_entries: raw.max_entries,
        map_flags: raw.map_flags,
        btf_id: raw.btf_id,
        btf_key_type_id: raw.btf_key_type_id,
        btf_value_type_id: raw.btf_value_type_id,
        btf_vmlinux_value_type_id: raw.btf_vmlinux_value_type_id,
        map_extra: raw.map_extra,
        ifindex: raw.ifindex,
    })
}

/// `struct bpf_btf_info`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct RawBtfInfo {
    pub btf: u64,
    pub btf_size: u32,
    pub id: u32,
    pub name: u64,
    pub name_len: u32,
    pub kernel_btf: u32,
}

/// What the kernel reports about a BTF object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfInfo {
    pub id: u32,
    /// `vmlinux`, a module name, or empty for program BTF.
    pub name: String,
    /// Size of the raw BTF blob in bytes.
    pub size: u32,
    /// True for vmlinux and module BTF.
    pub kernel_btf: bool,
}

/// Info about the BTF object behind `fd`.
pub fn btf_info(fd: BorrowedFd<'_>) -> Result<BtfInfo> {
    // Module names are at most MODULE_NAME_LEN (56) bytes.
    let mut name = [0u8; 64];
    let mut raw = RawBtfInfo {
        name: ptr_u64(name.as_mut_ptr()),
        name_len: name.len() as u32,
        ..Default::default()
    };
    // SAFETY: `name` has `name_len` bytes; the BTF pointer is null.
    unsafe { get_info(fd, &mut raw) }?;
    Ok(BtfInfo {
        id: raw.id,
        name: c_name(&name),
        size: raw.btf_size,
        kernel_btf: raw.kernel_btf != 0,
    })
}

/// Opens the object pinned at `path` (bpffs), whatever its kind.
pub fn obj_get(path: &std::path::Path) -> Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| crate::SysError::invalid(Cmd::ObjGet, "path contains a NUL byte"))?;
    let mut attr = BpfAttr::zeroed();
    attr.obj = ObjAttr {
        pathname: ptr_u64(path.as_ptr()),
        ..Default::default()
    };
    // SAFETY: `pathname` points at a NUL-terminated string alive for the call.
    unsafe { sys_bpf_fd(Cmd::ObjGet, &mut attr) }
}

/// Pins the object behind `fd` (program, map, link, BTF) at `path`, a
/// new file on a bpffs mount.
pub fn obj_pin(fd: BorrowedFd<'_>, path: &std::path::Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| crate::SysError::invalid(Cmd::ObjPin, "path contains a NUL byte"))?;
    let mut attr = BpfAttr::zeroed();
    attr.obj = ObjAttr {
        pathname: ptr_u64(path.as_ptr()),
        bpf_fd: fd.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: `pathname` points at a NUL-terminated string alive for the call.
    unsafe { sys_bpf(Cmd::ObjPin, &mut attr) }?;
    Ok(())
}

/// Detaches the link behind `fd` from its hook: the program stops running
/// there, the link object stays (defunct) until its last fd or pin goes.
pub fn link_detach(fd: BorrowedFd<'_>) -> Result<()> {
    let mut attr = BpfAttr::zeroed();
    attr.link_detach = crate::attr::LinkDetachAttr {
        link_fd: fd.as_raw_fd() as u32,
    };
    // SAFETY: the attr holds no pointers.
    unsafe { sys_bpf(Cmd::LinkDetach, &mut attr) }?;
    Ok(())
}
