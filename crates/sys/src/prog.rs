//! Loading, test-running and attaching programs where aya 0.14 cannot:
//! program types or `expected_attach_type`s it does not load
//! (`uprobe.multi`, `syscall`), `BPF_PROG_TEST_RUN`, uprobe multi links and
//! attach types it lacks (`sk_skb/verdict`).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::attr::{BpfAttr, Cmd, obj_name, ptr_u64, sys_bpf, sys_bpf_fd};
use crate::{Result, SysError};

/// `BPF_F_SLEEPABLE` program flag.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_UPROBE_MULTI_RETURN`: the links' probes fire on return.
pub const BPF_F_UPROBE_MULTI_RETURN: u32 = 1;

/// `enum bpf_prog_type` values bpfkit loads itself.
pub mod prog_type {
    pub const KPROBE: u32 = 2;
    pub const SCHED_CLS: u32 = 3;
    pub const TRACING: u32 = 26;
    pub const SYSCALL: u32 = 31;
}

/// `enum bpf_attach_type` values bpfkit uses itself.
pub mod attach_type {
    pub const TRACE_ITER: u32 = 28;
    pub const SK_SKB_VERDICT: u32 = 38;
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    /// `(value, libbpf's name)` of every cgroup attach type, in
    /// `enum bpf_attach_type` order.
    pub const CGROUP: &[(u32, &str)] = &[
        (0, "cgroup_inet_ingress"),
        (1, "cgroup_inet_egress"),
        (2, "cgroup_inet_sock_create"),
        (3, "cgroup_sock_ops"),
        (6, "cgroup_device"),
        (8, "cgroup_inet4_bind"),
        (9, "cgroup_inet6_bind"),
        (10, "cgroup_inet4_connect"),
        (11, "cgroup_inet6_connect"),
        (12, "cgroup_inet4_post_bind"),
        (13, "cgroup_inet6_post_bind"),
        (14, "cgroup_udp4_sendmsg"),
        (15, "cgroup_udp6_sendmsg"),
        (18, "cgroup_sysctl"),
        (19, "cgroup_udp4_recvmsg"),
        (20, "cgroup_udp6_recvmsg"),
        (21, "cgroup_getsockopt"),
        (22, "cgroup_setsockopt"),
        (29, "cgroup_inet4_getpeername"),
        (30, "cgroup_inet6_getpeername"),
        (31, "cgroup_inet4_getsockname"),
        (32, "cgroup_inet6_getsockname"),
        (34, "cgroup_inet_sock_release"),
        (43, "lsm_cgroup"),
        (49, "cgroup_unix_connect"),
        (50, "cgroup_unix_sendmsg"),
        (51, "cgroup_unix_recvmsg"),
        (52, "cgroup_unix_getpeername"),
        (53, "cgroup_unix_getsockname"),
    ];
    pub const FLOW_DISSECTOR: u32 = 17;
    pub const TCX_INGRESS: u32 = 46;
    pub const TCX_EGRESS: u32 = 47;
    /// A netkit pair's primary device and its peer (6.7+); both are
    /// attached through the primary's ifindex.
    pub const NETKIT_PRIMARY: u32 = 54;
    pub const NETKIT_PEER: u32 = 55;
}

/// What to load: 8-byte instructions and how the kernel should see them.
pub struct ProgLoad<'a> {
    pub name: &'a str,
    pub prog_type: u32,
    pub expected_attach_type: u32,
    /// The kernel BTF id of what a tracing program attaches to (an
    /// iterator's `bpf_iter_TARGET` function); 0 for other programs.
    pub attach_btf_id: u32,
    pub flags: u32,
    /// Raw `struct bpf_insn`s, 8 bytes each.
    pub insns: &'a [u8],
    pub license: &'a std::ffi::CStr,
}

/// A failed load: the errno, and the verifier's log when it wrote one.
#[derive(Debug)]
pub struct LoadFailure {
    pub error: SysError,
    pub log: String,
}

/// Loads a program. On failure the load is repeated with the verifier log
/// on (1 MiB), so the error can show why.
pub fn prog_load(prog: &ProgLoad) -> std::result::Result<OwnedFd, LoadFailure> {
    match prog_load_with_log(prog, None) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            let mut log = vec![0u8; 1 << 20];
            match prog_load_with_log(prog, Some(&mut log)) {
                Ok(fd) => Ok(fd),
                Err(error) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    Err(LoadFailure {
                        error,
                        log: String::from_utf8_lossy(&log[..end]).into_owned(),
                    })
                }
            }
        }
    }
}

fn prog_load_with_log(prog: &ProgLoad, log: Option<&mut [u8]>) -> Result<OwnedFd> {
    if !prog.insns.len().is_multiple_of(8) || prog.insns.is_empty() {
        return Err(SysError::invalid(
            Cmd::ProgLoad,
            "instructions are not a whole number of 8-byte bpf_insn",
        ));
    }
    let mut attr = BpfAttr::zeroed();
    let (log_level, log_size, log_buf) = match log {
        Some(buf) => (1, buf.len() as u32, ptr_u64(buf.as_mut_ptr())),
        None => (0, 0, 0),
    };
    attr.prog_load = crate::attr::ProgLoadAttr {
        prog_type: prog.prog_type,
        insn_cnt: (prog.insns.len() / 8) as u32,
        insns: ptr_u64(prog.insns.as_ptr()),
        license: ptr_u64(prog.license.as_ptr()),
        log_level,
        log_size,
        log_buf,
        prog_flags: prog.flags,
        prog_name: obj_name(prog.name),
        expected_attach_type: prog.expected_attach_type,
        attach_btf_id: prog.attach_btf_id,
        ..Default::default()
    };
    // SAFETY: insns, license and the log buffer outlive the call and have
    // the sizes written into attr.
    unsafe { sys_bpf_fd(Cmd::ProgLoad, &mut attr) }
}

/// What one `BPF_PROG_TEST_RUN` gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    pub retval: u32,
    /// The context after the run (the program may write into it).
    pub ctx_out: Vec<u8>,
}

/// Runs a `syscall` program once with `ctx` as its context. The kernel
/// takes no `ctx_out` for these: it writes the context back in place.
pub fn prog_test_run(prog: BorrowedFd<'_>, ctx: &[u8]) -> Result<TestRun> {
    let mut ctx = ctx.to_vec();
    let mut attr = BpfAttr::zeroed();
    attr.test_run = crate::attr::TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        ctx_size_in: ctx.len() as u32,
        ctx_in: if ctx.is_empty() {
            0
        } else {
            ptr_u64(ctx.as_mut_ptr())
        },
        ..Default::default()
    };
    // SAFETY: ctx lives across the call with the size given; the kernel
    // writes at most that many bytes back into it.
    unsafe { sys_bpf(Cmd::ProgTestRun, &mut attr) }?;
    // SAFETY: the kernel wrote back into the same member.
    let retval = unsafe { attr.test_run.retval };
    Ok(TestRun {
        retval,
        ctx_out: ctx,
    })
}

/// Attaches `prog` to `target` (a map or cgroup fd) with `BPF_PROG_ATTACH`;
/// undone by [`prog_detach`].
pub fn prog_attach(prog: BorrowedFd<'_>, target: BorrowedFd<'_>, attach_type: u32) -> Result<()> {
    let mut attr = BpfAttr::zeroed();
    attr.prog_attach = crate::attr::ProgAttachAttr {
        target_fd: target.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: 0,
    };
    // SAFETY: plain integers.
    unsafe { sys_bpf(Cmd::ProgAttach, &mut attr) }.map(|_| ())
}

/// Detaches `prog` from `target` (see [`prog_attach`]).
pub fn prog_detach(prog: BorrowedFd<'_>, target: BorrowedFd<'_>, attach_type: u32) -> Result<()> {
    let mut attr = BpfAttr::zeroed();
    attr.prog_attach = crate::attr::ProgAttachAttr {
        target_fd: target.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: 0,
    };
    // SAFETY: plain integers.
    unsafe { sys_bpf(Cmd::ProgDetach, &mut attr) }.map(|_| ())
}

/// One uprobe multi link: `prog` on every file offset of `path`, each with
/// its cookie; `ret` for return probes; `pid` 0 for every process.
pub fn uprobe_multi_link(
    prog: BorrowedFd<'_>,
    path: &std::ffi::CStr,
    offsets: &[u64],
    cookies: &[u64],
    ret: bool,
    pid: u32,
) -> Result<OwnedFd> {
    if offsets.is_empty() || offsets.len() != cookies.len() {
        return Err(SysError::invalid(
            Cmd::LinkCreate,
            "one cookie per offset, at least one offset",
        ));
    }
    let mut attr = BpfAttr::zeroed();
    attr.uprobe_multi = crate::attr::UprobeMultiLinkAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd: 0,
        attach_type: attach_type::TRACE_UPROBE_MULTI,
        flags: 0,
        path: ptr_u64(path.as_ptr()),
        offsets: ptr_u64(offsets.as_ptr()),
        ref_ctr_offsets: 0,
        cookies: ptr_u64(cookies.as_ptr()),
        cnt: offsets.len() as u32,
        multi_flags: if ret { BPF_F_UPROBE_MULTI_RETURN } else { 0 },
        pid,
        _pad: 0,
    };
    // SAFETY: path, offsets and cookies outlive the call; cnt is their length.
    unsafe { sys_bpf_fd(Cmd::LinkCreate, &mut attr) }
}

/// One kprobe multi link: `prog` on every kernel function of `symbols`,
/// each with its cookie; `ret` for return probes.
pub fn kprobe_multi_link(
    prog: BorrowedFd<'_>,
    symbols: &[std::ffi::CString],
    cookies: &[u64],
    ret: bool,
) -> Result<OwnedFd> {
    if symbols.is_empty() || symbols.len() != cookies.len() {
        return Err(SysError::invalid(
            Cmd::LinkCreate,
            "one cookie per symbol, at least one symbol",
        ));
    }
    let pointers: Vec<u64> = symbols.iter().map(|s| ptr_u64(s.as_ptr())).collect();
    let mut attr = BpfAttr::zeroed();
    attr.kprobe_multi = crate::attr::KprobeMultiLinkAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd: 0,
        attach_type: attach_type::TRACE_KPROBE_MULTI,
        flags: 0,
        multi_flags: u32::from(ret),
        cnt: symbols.len() as u32,
        syms: ptr_u64(pointers.as_ptr()),
        addrs: 0,
        cookies: ptr_u64(cookies.as_ptr()),
    };
    // SAFETY: the symbol strings, the pointer array and the cookies outlive
    // the call; cnt is their length.
    unsafe { sys_bpf_fd(Cmd::LinkCreate, &mut attr) }
}

/// A BPF iterator link for a loaded `iter/` program (no per-target
/// parameters: iterators over every task, map, ...).
pub fn iter_link_create(prog: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut attr = BpfAttr::zeroed();
    attr.link_create = crate::attr::LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        attach_type: attach_type::TRACE_ITER,
        ..Default::default()
    };
    // SAFETY: the attr holds no pointers.
    unsafe { sys_bpf_fd(Cmd::LinkCreate, &mut attr) }
}

/// A link of `prog` on network device `ifindex` (in the caller's network
/// namespace) at a tcx or netkit `attach_type`, last in run order.
pub fn device_link_create(prog: BorrowedFd<'_>, ifindex: u32, attach_type: u32) -> Result<OwnedFd> {
    let mut attr = BpfAttr::zeroed();
    attr.link_create = crate::attr::LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target: ifindex,
        attach_type,
        ..Default::default()
    };
    // SAFETY: the attr holds no pointers.
    unsafe { sys_bpf_fd(Cmd::LinkCreate, &mut attr) }
}

/// A new run of the iterator behind `link`: reading the fd to its end runs
/// the program over every object and returns what it wrote.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut attr = BpfAttr::zeroed();
    attr.iter_create = crate::attr::IterCreateAttr {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: the attr holds no pointers.
    unsafe { sys_bpf_fd(Cmd::IterCreate, &mut attr) }
}
