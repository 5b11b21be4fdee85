//! The `bpf(2)` call itself: command numbers, the `union bpf_attr` variants
//! this crate uses, and the one unsafe syscall wrapper everything goes through.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::{Result, SysError};

/// `enum bpf_cmd` values (uapi/linux/bpf.h); these never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Cmd {
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    MapGetNextKey = 4,
    ProgLoad = 5,
    ObjPin = 6,
    ObjGet = 7,
    ProgAttach = 8,
    ProgDetach = 9,
    ProgTestRun = 10,
    ProgGetNextId = 11,
    MapGetNextId = 12,
    ProgGetFdById = 13,
    MapGetFdById = 14,
    ObjGetInfoByFd = 15,
    ProgQuery = 16,
    TaskFdQuery = 20,
    BtfGetFdById = 19,
    BtfGetNextId = 23,
    LinkCreate = 28,
    LinkGetFdById = 30,
    LinkGetNextId = 31,
    EnableStats = 32,
    IterCreate = 33,
    LinkDetach = 34,
}

impl Cmd {
    /// The uapi name, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cmd::MapCreate => "BPF_MAP_CREATE",
            Cmd::MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
            Cmd::MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
            Cmd::MapDeleteElem => "BPF_MAP_DELETE_ELEM",
            Cmd::MapGetNextKey => "BPF_MAP_GET_NEXT_KEY",
            Cmd::ProgLoad => "BPF_PROG_LOAD",
            Cmd::ObjPin => "BPF_OBJ_PIN",
            Cmd::ObjGet => "BPF_OBJ_GET",
            Cmd::ProgAttach => "BPF_PROG_ATTACH",
            Cmd::ProgDetach => "BPF_PROG_DETACH",
            Cmd::ProgTestRun => "BPF_PROG_TEST_RUN",
            Cmd::LinkCreate => "BPF_LINK_CREATE",
            Cmd::ProgGetNextId => "BPF_PROG_GET_NEXT_ID",
            Cmd::MapGetNextId => "BPF_MAP_GET_NEXT_ID",
            Cmd::ProgGetFdById => "BPF_PROG_GET_FD_BY_ID",
            Cmd::MapGetFdById => "BPF_MAP_GET_FD_BY_ID",
            Cmd::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Cmd::ProgQuery => "BPF_PROG_QUERY",
            Cmd::TaskFdQuery => "BPF_TASK_FD_QUERY",
            Cmd::BtfGetFdById => "BPF_BTF_GET_FD_BY_ID",
            Cmd::BtfGetNextId => "BPF_BTF_GET_NEXT_ID",
            Cmd::LinkGetFdById => "BPF_LINK_GET_FD_BY_ID",
            Cmd::LinkGetNextId => "BPF_LINK_GET_NEXT_ID",
            Cmd::EnableStats => "BPF_ENABLE_STATS",
            Cmd::IterCreate => "BPF_ITER_CREATE",
            Cmd::LinkDetach => "BPF_LINK_DETACH",
        }
    }
}

/// `BPF_MAP_CREATE` part of `union bpf_attr`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; 16],
}

/// `BPF_MAP_*_ELEM` / `BPF_MAP_GET_NEXT_KEY` part: `value` doubles as `next_key`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct MapElemAttr {
    pub map_fd: u32,
    pub _pad: u32,
    pub key: u64,
    pub value: u64,
    pub flags: u64,
}

/// `BPF_*_GET_NEXT_ID` and `BPF_*_GET_FD_BY_ID` part: `id` is `start_id` or
/// the object id; the kernel writes `next_id`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IdAttr {
    pub id: u32,
    pub next_id: u32,
    pub open_flags: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` part; the kernel writes back `info_len`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct InfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// `BPF_OBJ_GET` part: a pinned object's path (NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ObjAttr {
    pub pathname: u64,
    pub bpf_fd: u32,
    pub file_flags: u32,
}

/// `BPF_PROG_QUERY` part of `union bpf_attr`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct QueryAttr {
    pub target: u32,
    pub attach_type: u32,
    pub query_flags: u32,
    pub attach_flags: u32,
    pub prog_ids: u64,
    pub prog_cnt: u32,
    pub _pad: u32,
    pub prog_attach_flags: u64,
    pub link_ids: u64,
    pub link_attach_flags: u64,
    pub revision: u64,
}

/// `BPF_TASK_FD_QUERY` part; the kernel writes everything after `buf`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TaskFdQueryAttr {
    pub pid: u32,
    pub fd: u32,
    pub flags: u32,
    pub buf_len: u32,
    pub buf: u64,
    pub prog_id: u32,
    pub fd_type: u32,
    pub probe_offset: u64,
    pub probe_addr: u64,
}

/// `BPF_LINK_CREATE` part: the fixed head, then the kind-specific union
/// as 8-byte words (`kprobe_multi`, `uprobe_multi` are written there).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct LinkCreateAttr {
    pub prog_fd: u32,
    pub target: u32,
    pub attach_type: u32,
    pub flags: u32,
    pub tail: [u64; 6],
}

/// `BPF_LINK_DETACH` part.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct LinkDetachAttr {
    pub link_fd: u32,
}

/// `BPF_ITER_CREATE` part.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IterCreateAttr {
    pub link_fd: u32,
    pub flags: u32,
}

/// `BPF_ENABLE_STATS` part.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct EnableStatsAttr {
    pub stats_type: u32,
}

/// `BPF_PROG_LOAD` part, up to `attach_btf_id` (the rest stays zero).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
}

/// `BPF_PROG_ATTACH` / `BPF_PROG_DETACH` part.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ProgAttachAttr {
    pub target_fd: u32,
    pub attach_bpf_fd: u32,
    pub attach_type: u32,
    pub attach_flags: u32,
}

/// `BPF_PROG_TEST_RUN` part.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
}

/// `BPF_LINK_CREATE` part with its `uprobe_multi` member.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct UprobeMultiLinkAttr {
    pub prog_fd: u32,
    pub target_fd: u32,
    pub attach_type: u32,
    pub flags: u32,
    pub path: u64,
    pub offsets: u64,
    pub ref_ctr_offsets: u64,
    pub cookies: u64,
    pub cnt: u32,
    pub multi_flags: u32,
    pub pid: u32,
    /// Explicit, so that it is zero: the kernel rejects non-zero bytes
    /// past the last field it knows.
    pub _pad: u32,
}

/// `BPF_LINK_CREATE` part with its `kprobe_multi` member.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct KprobeMultiLinkAttr {
    pub prog_fd: u32,
    pub target_fd: u32,
    pub attach_type: u32,
    pub flags: u32,
    pub multi_flags: u32,
    pub cnt: u32,
    pub syms: u64,
    pub addrs: u64,
    pub cookies: u64,
}

/// `union bpf_attr`, zero-filled to a size at least as large as any 6.x
/// kernel's, so fields we do not set are zero as the kernel demands
/// (it rejects non-zero bytes past the fields a command uses).
#[repr(C)]
pub(crate) union BpfAttr {
    pub map_create: MapCreateAttr,
    pub map_elem: MapElemAttr,
    pub id: IdAttr,
    pub info: InfoAttr,
    pub obj: ObjAttr,
    pub enable_stats: EnableStatsAttr,
    pub prog_load: ProgLoadAttr,
    pub prog_attach: ProgAttachAttr,
    pub test_run: TestRunAttr,
    pub uprobe_multi: UprobeMultiLinkAttr,
    pub kprobe_multi: KprobeMultiLinkAttr,
    pub link_detach: LinkDetachAttr,
    pub iter_create: IterCreateAttr,
    pub query: QueryAttr,
    pub task_fd_query: TaskFdQueryAttr,
    pub link_create: LinkCreateAttr,
    _size: [u64; 20],
}

impl BpfAttr {
    pub(crate) fn zeroed() -> Self {
        BpfAttr { _size: [0; 20] }
    }
}

/// Issues `bpf(cmd, attr, sizeof attr)` and returns its non-negative result.
///
/// # Safety
/// Every user pointer inside `attr` must be null or point at memory valid
/// for what `cmd` makes the kernel read or write there (sizes the kernel
/// takes from the attr itself or from the map/object).
pub(crate) unsafe fn sys_bpf(cmd: Cmd, attr: &mut BpfAttr) -> Result<i64> {
    // SAFETY: `attr` is a valid, writable, fully initialised `union bpf_attr`
    // of the size we pass; its pointers are the caller's contract.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as u32 as libc::c_long,
            attr as *mut BpfAttr,
            size_of::<BpfAttr>() as libc::c_long,
        )
    };
    if ret < 0 {
        return Err(SysError::new(cmd, io::Error::last_os_error()));
    }
    Ok(ret)
}

/// Like [`sys_bpf`] for commands that return a new file descriptor.
///
/// # Safety
/// As for [`sys_bpf`].
pub(crate) unsafe fn sys_bpf_fd(cmd: Cmd, attr: &mut BpfAttr) -> Result<OwnedFd> {
    // SAFETY: forwarded from our caller.
    let fd = unsafe { sys_bpf(cmd, attr) }?;
    let fd = RawFd::try_from(fd).map_err(|_| SysError::invalid(cmd, "fd out of range"))?;
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Kernel-ABI representation of a user pointer.
pub(crate) fn ptr_u64<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// Copies `name` into a NUL-terminated fixed array, truncating like libbpf.
pub(crate) fn obj_name(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let bytes = name.as_bytes();
    let n = bytes.len().min(out.len() - 1);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// Reads a NUL-terminated fixed array as text.
pub(crate) fn c_name(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}
