//! What is attached to network devices of the current network namespace,
//! as `bpftool net` finds it: XDP programs (rtnetlink `IFLA_XDP`), tc
//! filters of type bpf on the clsact hooks (rtnetlink filter dumps), and
//! tcx and netkit programs and links (`BPF_PROG_QUERY`); and the one
//! device bpfkit's tests create that Debian 12's iproute2 cannot, a
//! netkit pair.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::Result;
use crate::attr::{BpfAttr, Cmd, QueryAttr, ptr_u64, sys_bpf};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_GETTFILTER: u16 = 46;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_NETKIT_PEER_INFO: u16 = 1;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_PROG_ID: u16 = 4;
const IFLA_XDP_DRV_PROG_ID: u16 = 5;
const IFLA_XDP_SKB_PROG_ID: u16 = 6;
const IFLA_XDP_HW_PROG_ID: u16 = 7;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_NAME: u16 = 7;
const TCA_BPF_FLAGS_GEN: u16 = 9;
const TCA_BPF_ID: u16 = 11;
/// `TCA_BPF_FLAG_ACT_DIRECT` lives in TCA_BPF_FLAGS (8).
const TCA_BPF_FLAGS: u16 = 8;
/// Parents of the clsact qdisc's two hooks.
const TC_H_INGRESS_PARENT: u32 = 0xFFFF_FFF2;
const TC_H_EGRESS_PARENT: u32 = 0xFFFF_FFF3;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// A network device of this namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevice {
    pub ifindex: u32,
    pub name: String,
    /// XDP programs: `(mode, program id)`; mode is `driver`, `generic`
    /// or `offload` (more than one when several modes are in use).
    pub xdp: Vec<(&'static str, u32)>,
}

/// A tc filter of kind `bpf` on a clsact hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcFilter {
    /// `ingress` or `egress`.
    pub hook: &'static str,
    /// What tc calls it (`file.bpf.o:[sec]` for objects tc loaded).
    pub name: String,
    pub prog_id: u32,
    pub direct_action: bool,
    /// `TCA_CLS_FLAGS_*`: skip_hw, skip_sw, in_hw...
    pub flags_gen: u32,
}

/// The devices of the current network namespace with their XDP programs.
pub fn net_devices() -> io::Result<Vec<NetDevice>> {
    // struct ifinfomsg: family, pad, type, index, flags, change.
    let ifinfo = [0u8; 16];
    let mut devices = Vec::new();
    dump(RTM_GETLINK, &ifinfo, |body| {
        let Some(ifindex) = body.get(4..8).map(ne_u32) else {
            return;
        };
        let mut device = NetDevice {
            ifindex,
            name: String::new(),
            xdp: Vec::new(),
        };
        for (kind, value) in attrs(body.get(16..).unwrap_or_default()) {
            match kind {
                IFLA_IFNAME => device.name = c_text(value),
                IFLA_XDP => device.xdp = xdp_programs(value),
                _ => {}
            }
        }
        devices.push(device);
    })?;
    Ok(devices)
}

/// `IFLA_XDP_*`: one program id per mode in use, or the one with its mode.
fn xdp_programs(nested: &[u8]) -> Vec<(&'static str, u32)> {
    let mut attached = 0u8;
    let mut single = 0;
    let mut per_mode = Vec::new();
    for (kind, value) in attrs(nested) {
        let id = || value.get(..4).map_or(0, ne_u32);
        match kind {
            IFLA_XDP_ATTACHED => attached = value.first().copied().unwrap_or(0),
            IFLA_XDP_PROG_ID => single = id(),
            IFLA_XDP_DRV_PROG_ID => per_mode.push(("driver", id())),
            IFLA_XDP_SKB_PROG_ID => per_mode.push(("generic", id())),
            IFLA_XDP_HW_PROG_ID => per_mode.push(("offload", id())),
            _ => {}
        }
    }
    // XDP_ATTACHED_DRV 1, SKB 2, HW 3, MULTI 4.
    match attached {
        1 => vec![("driver", single)],
        2 => vec![("generic", single)],
        3 => vec![("offload", single)],
        4 => per_mode,
        _ => Vec::new(),
    }
}

/// The bpf filters on the clsact hooks of device `ifindex` (none when the
/// device has no clsact qdisc).
pub fn tc_filters(ifindex: u32) -> io::Result<Vec<TcFilter>> {
    let mut filters = Vec::new();
    for (hook, parent) in [
        ("ingress", TC_H_INGRESS_PARENT),
        ("egress", TC_H_EGRESS_PARENT),
    ] {
        // struct tcmsg: family, pads, ifindex, handle, parent, info.
        let mut tcmsg = vec![0u8; 4];
        tcmsg.extend(ifindex.to_ne_bytes());
        tcmsg.extend(0u32.to_ne_bytes());
        tcmsg.extend(parent.to_ne_bytes());
        tcmsg.extend(0u32.to_ne_bytes());
        let found = dump(RTM_GETTFILTER, &tcmsg, |body| {
            if let Some(filter) = bpf_filter(hook, body.get(20..).unwrap_or_default()) {
                filters.push(filter);
            }
        });
        match found {
            // No clsact qdisc on the device.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {}
            other => other?,
        }
    }
    Ok(filters)
}

fn bpf_filter(hook: &'static str, attributes: &[u8]) -> Option<TcFilter> {
    let mut is_bpf = false;
    let mut filter = TcFilter {
        hook,
        name: String::new(),
        prog_id: 0,
        direct_action: false,
        flags_gen: 0,
    };
    for (kind, value) in attrs(attributes) {
        match kind {
            TCA_KIND => is_bpf = c_text(value) == "bpf",
            TCA_OPTIONS => {
                for (opt, v) in attrs(value) {
                    let word = || v.get(..4).map_or(0, ne_u32);
                    match opt {
                        TCA_BPF_NAME => filter.name = c_text(v),
                        TCA_BPF_ID => filter.prog_id = word(),
                        TCA_BPF_FLAGS => filter.direct_action = word() & 1 != 0,
                        TCA_BPF_FLAGS_GEN => filter.flags_gen = word(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // A filter dump also lists the chain's head without options.
    (is_bpf && filter.prog_id != 0).then_some(filter)
}

/// Programs and links attached at one tcx hook, in run order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attached {
    pub prog_ids: Vec<u32>,
    /// The link of each program (0 for one attached without a link).
    pub link_ids: Vec<u32>,
    /// `BPF_F_ALLOW_OVERRIDE` (1) or `BPF_F_ALLOW_MULTI` (2) of a cgroup
    /// hook (0: one program, not replaceable from below).
    pub attach_flags: u32,
}

/// What is attached at `attach_type` of `target` (an ifindex for tcx, an
/// fd for cgroups and namespaces). Empty where the kernel has no such
/// hook (EINVAL) or nothing is attached.
pub fn prog_query(target: u32, attach_type: u32) -> Result<Attached> {
    match prog_query_strict(target, attach_type) {
        Err(e) if matches!(e.errno(), Some(libc::EINVAL | libc::ENOENT)) => Ok(Attached::default()),
        other => other,
    }
}

/// [`prog_query`] with every error reported (EINVAL: the kernel has no
/// such attach type for that target).
pub fn prog_query_strict(target: u32, attach_type: u32) -> Result<Attached> {
    // Attachments can change between the two calls: ask for some room
    // more, and keep only what the kernel reports it wrote.
    let mut room = 0u32;
    for _ in 0..4 {
        let mut progs = vec![0u32; room as usize];
        let mut links = vec![0u32; room as usize];
        let mut attr = BpfAttr::zeroed();
        attr.query = QueryAttr {
            target,
            attach_type,
            prog_ids: if room > 0 {
                ptr_u64(progs.as_mut_ptr())
            } else {
                0
            },
            link_ids: if room > 0 {
                ptr_u64(links.as_mut_ptr())
            } else {
                0
            },
            prog_cnt: room,
            ..Default::default()
        };
        // SAFETY: both arrays have room for `prog_cnt` ids (or are null
        // with a count of 0).
        match unsafe { sys_bpf(Cmd::ProgQuery, &mut attr) } {
            Ok(_) => {}
            Err(e) if e.errno() == Some(libc::ENOSPC) => {
                room = room.max(1) * 2;
                continue;
            }
            Err(e) => return Err(e),
        }
        // SAFETY: the kernel filled the variant we wrote.
        let (count, attach_flags) = unsafe { (attr.query.prog_cnt, attr.query.attach_flags) };
        if count > room {
            room = count + 4;
            continue;
        }
        progs.truncate(count as usize);
        links.truncate(count as usize);
        return Ok(Attached {
            prog_ids: progs,
            link_ids: links,
            attach_flags,
        });
    }
    Ok(Attached::default())
}

/// Sends a `NLM_F_DUMP` request of `msg_type` with `body` and hands each
/// reply's body to `each` until `NLMSG_DONE`.
/// A netkit pair in the caller's network namespace: `primary` (where
/// programs of both ends are attached) and `peer`, in netkit's default
/// mode (L3) and policies (pass). Netkit needs Linux 6.7+.
pub fn netkit_pair_create(primary: &str, peer: &str) -> io::Result<()> {
    // struct ifinfomsg, all zero: the kernel picks the ifindex.
    let ifinfo = [0u8; 16];
    let mut peer_info = ifinfo.to_vec();
    push_attr(&mut peer_info, IFLA_IFNAME, &c_bytes(peer)?);
    let mut data = Vec::new();
    push_attr(&mut data, IFLA_NETKIT_PEER_INFO, &peer_info);
    let mut link_info = Vec::new();
    push_attr(&mut link_info, IFLA_INFO_KIND, b"netkit\0");
    push_attr(&mut link_info, IFLA_INFO_DATA, &data);
    let mut body = ifinfo.to_vec();
    push_attr(&mut body, IFLA_IFNAME, &c_bytes(primary)?);
    push_attr(&mut body, IFLA_LINKINFO, &link_info);
    let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
    // The answer is an acknowledgement only: no message to look at.
    request(RTM_NEWLINK, flags as u16, &body, |_| {})
}

/// `name` NUL-terminated, for IFLA_IFNAME.
fn c_bytes(name: &str) -> io::Result<Vec<u8>> {
    let name = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a device name"))?;
    Ok(name.into_bytes_with_nul())
}

/// Appends netlink attribute `kind` with `value`, padded to 4 bytes.
fn push_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend(((4 + value.len()) as u16).to_ne_bytes());
    buf.extend(kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

fn dump(msg_type: u16, body: &[u8], each: impl FnMut(&[u8])) -> io::Result<()> {
    request(
        msg_type,
        (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16,
        body,
        each,
    )
}

/// Sends one rtnetlink request and hands each answering message's payload
/// to `each`, up to the end of the dump or the acknowledgement.
fn request(msg_type: u16, flags: u16, body: &[u8], mut each: impl FnMut(&[u8])) -> io::Result<()> {
    let sock = route_socket()?;
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend(((16 + body.len()) as u32).to_ne_bytes());
    msg.extend(msg_type.to_ne_bytes());
    msg.extend(flags.to_ne_bytes());
    msg.extend(1u32.to_ne_bytes());
    msg.extend(0u32.to_ne_bytes());
    msg.extend_from_slice(body);
    // SAFETY: the buffer is valid for its length.
    let sent = unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: buf is valid for writes of its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut rest = &buf[..n as usize];
        if rest.is_empty() {
            return Ok(());
        }
        while rest.len() >= 16 {
            let len = (ne_u32(&rest[..4]) as usize).clamp(16, rest.len());
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            let payload = &rest[16..len];
            match kind {
                k if k == libc::NLMSG_DONE as u16 => return Ok(()),
                k if k == libc::NLMSG_ERROR as u16 => {
                    let errno = payload.get(..4).map_or(0, |b| ne_u32(b) as i32);
                    if errno == 0 {
                        return Ok(());
                    }
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                _ => each(payload),
            }
            rest = &rest[len.next_multiple_of(4).min(rest.len())..];
        }
    }
}

fn route_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `(type, value)` of each netlink attribute in `bytes` (malformed
/// lengths end the list).
fn attrs(mut bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if bytes.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([bytes[0], bytes[1]]) as usize;
        let kind = u16::from_ne_bytes([bytes[2], bytes[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > bytes.len() {
            return None;
        }
        let value = &bytes[4..len];
        bytes = &bytes[len.next_multiple_of(4).min(bytes.len())..];
        Some((kind, value))
    })
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

fn c_text(value: &[u8]) -> String {
    crate::attr::c_name(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_stop_at_bad_lengths() {
        let mut bytes = Vec::new();
        bytes.extend(8u16.to_ne_bytes());
        bytes.extend(IFLA_IFNAME.to_ne_bytes());
        bytes.extend(b"lo\0\0");
        bytes.extend(200u16.to_ne_bytes());
        bytes.extend(1u16.to_ne_bytes());
        let found: Vec<_> = attrs(&bytes).collect();
        assert_eq!(found, [(IFLA_IFNAME, &b"lo\0\0"[..])]);
    }
}

/// What `BPF_TASK_FD_QUERY` says about a process's perf event (or raw
/// tracepoint) fd with a BPF program on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFd {
    pub prog_id: u32,
    /// `enum bpf_task_fd_type`: 0 raw_tracepoint, 1 tracepoint, 2 kprobe,
    /// 3 kretprobe, 4 uprobe, 5 uretprobe.
    pub fd_type: u32,
    /// Tracepoint or function name, or the probed file.
    pub name: String,
    pub probe_offset: u64,
    pub probe_addr: u64,
}

/// The BPF program on fd `fd` of process `pid`, and where it is attached.
/// ENOENT/EBADF/ENOTSUPP-like errors mean the fd has none.
pub fn task_fd_query(pid: u32, fd: u32) -> Result<TaskFd> {
    let mut name = vec![0u8; 4096];
    let mut attr = BpfAttr::zeroed();
    attr.task_fd_query = crate::attr::TaskFdQueryAttr {
        pid,
        fd,
        buf_len: name.len() as u32,
        buf: ptr_u64(name.as_mut_ptr()),
        ..Default::default()
    };
    // SAFETY: `buf` has `buf_len` bytes for the kernel to write.
    unsafe { sys_bpf(Cmd::TaskFdQuery, &mut attr) }?;
    // SAFETY: the kernel filled the variant we wrote.
    let out = unsafe { attr.task_fd_query };
    Ok(TaskFd {
        prog_id: out.prog_id,
        fd_type: out.fd_type,
        name: c_text(&name),
        probe_offset: out.probe_offset,
        probe_addr: out.probe_addr,
    })
}
