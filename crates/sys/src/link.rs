//! `BPF_OBJ_GET_INFO_BY_FD` for links, including the type-specific union.

use std::os::fd::BorrowedFd;

use crate::Result;
use crate::attr::{c_name, ptr_u64};
use crate::info::get_info;

/// `struct bpf_link_info`: a fixed head, then a union whose layout depends
/// on the link type (read by byte offset, see [`LinkDetail`]).
#[repr(C)]
#[derive(Default)]
struct RawLinkInfo {
    link_type: u32,
    id: u32,
    prog_id: u32,
    _pad: u32,
    union: [u64; 8],
}

impl RawLinkInfo {
    fn u32_at(&self, byte: usize) -> u32 {
        let word = self.union[byte / 8].to_ne_bytes();
        let half = byte % 8;
        u32::from_ne_bytes([word[half], word[half + 1], word[half + 2], word[half + 3]])
    }

    fn u64_at(&self, byte: usize) -> u64 {
        self.union[byte / 8]
    }

    fn set_u32_at(&mut self, byte: usize, value: u32) {
        let mut word = self.union[byte / 8].to_ne_bytes();
        word[byte % 8..byte % 8 + 4].copy_from_slice(&value.to_ne_bytes());
        self.union[byte / 8] = u64::from_ne_bytes(word);
    }
}

/// `enum bpf_link_type` values with a decoded [`LinkDetail`].
mod link_type {
    pub const RAW_TRACEPOINT: u32 = 1;
    pub const TRACING: u32 = 2;
    pub const CGROUP: u32 = 3;
    pub const NETNS: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const TCX: u32 = 11;
    pub const NETKIT: u32 = 13;
}

/// `enum bpf_perf_event_type`.
mod perf_event_type {
    pub const UPROBE: u32 = 1;
    pub const URETPROBE: u32 = 2;
    pub const KPROBE: u32 = 3;
    pub const KRETPROBE: u32 = 4;
    pub const TRACEPOINT: u32 = 5;
    pub const EVENT: u32 = 6;
}

/// The type-specific part of a link, for the types bpfkit attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDetail {
    RawTracepoint {
        tp_name: String,
    },
    /// fentry/fexit/tp_btf/freplace...
    Tracing {
        attach_type: u32,
        target_obj_id: u32,
        target_btf_id: u32,
    },
    Cgroup {
        cgroup_id: u64,
        attach_type: u32,
    },
    Netns {
        netns_ino: u32,
        attach_type: u32,
    },
    Xdp {
        ifindex: u32,
    },
    Tcx {
        ifindex: u32,
        attach_type: u32,
    },
    Netkit {
        ifindex: u32,
        attach_type: u32,
    },
    /// Tracepoints and probes attached through a perf event.
    PerfEvent(PerfEventLink),
    /// A link type this crate does not decode.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfEventLink {
    Uprobe {
        file_name: String,
        offset: u32,
        cookie: u64,
        retprobe: bool,
    },
    Kprobe {
        func_name: String,
        offset: u32,
        addr: u64,
        retprobe: bool,
    },
    Tracepoint {
        tp_name: String,
        cookie: u64,
    },
    /// A perf event such as the software CPU clock.
    Event {
        event_type: u32,
        config: u64,
        cookie: u64,
    },
    Unknown(u32),
}

/// What the kernel reports about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub id: u32,
    /// `enum bpf_link_type`.
    pub link_type: u32,
    pub prog_id: u32,
    pub detail: LinkDetail,
}

/// Longest name asked for: PATH_MAX, for uprobe binaries.
const NAME_BUF: usize = 4096;

/// Byte offsets of a (name pointer, name length) pair inside the union,
/// for link types that report a name; `None` for the others.
fn name_slot(raw: &RawLinkInfo) -> Option<(usize, usize)> {
    match raw.link_type {
        link_type::RAW_TRACEPOINT => Some((0, 8)),
        link_type::PERF_EVENT => match raw.u32_at(0) {
            perf_event_type::EVENT => None,
            _ => Some((8, 16)),
        },
        _ => None,
    }
}

/// Info about the link behind `fd`. Links with a name (raw tracepoints,
/// perf-event probes) take a second call that passes a name buffer.
pub fn link_info(fd: BorrowedFd<'_>) -> Result<LinkInfo> {
    let mut raw = RawLinkInfo::default();
    // SAFETY: all pointers in `raw` are null.
    unsafe { get_info(fd, &mut raw) }?;
    let mut name = vec![0u8; NAME_BUF];
    if let Some((ptr_at, len_at)) = name_slot(&raw) {
        let link_type = raw.link_type;
        let perf_type = raw.u32_at(0);
        raw = RawLinkInfo::default();
        if link_type == link_type::PERF_EVENT {
            // Keep the event type so the union reads the same either way.
            raw.set_u32_at(0, perf_type);
        }
        raw.union[ptr_at / 8] = ptr_u64(name.as_mut_ptr());
        raw.set_u32_at(len_at, NAME_BUF as u32);
        // SAFETY: the one pointer set is `name`, with its length beside it.
        unsafe { get_info(fd, &mut raw) }?;
    } else {
        name.clear();
    }
    Ok(LinkInfo {
        id: raw.id,
        link_type: raw.link_type,
        prog_id: raw.prog_id,
        detail: link_detail(&raw, &c_name(&name)),
    })
}

fn link_detail(raw: &RawLinkInfo, name: &str) -> LinkDetail {
    let name = name.to_string();
    match raw.link_type {
        link_type::RAW_TRACEPOINT => LinkDetail::RawTracepoint { tp_name: name },
        link_type::TRACING => LinkDetail::Tracing {
            attach_type: raw.u32_at(0),
            target_obj_id: raw.u32_at(4),
            target_btf_id: raw.u32_at(8),
        },
        link_type::CGROUP => LinkDetail::Cgroup {
            cgroup_id: raw.u64_at(0),
            attach_type: raw.u32_at(8),
        },
        link_type::NETNS => LinkDetail::Netns {
            netns_ino: raw.u32_at(0),
            attach_type: raw.u32_at(4),
        },
        link_type::XDP => LinkDetail::Xdp {
            ifindex: raw.u32_at(0),
        },
        link_type::TCX => LinkDetail::Tcx {
            ifindex: raw.u32_at(0),
            attach_type: raw.u32_at(4),
        },
        link_type::NETKIT => LinkDetail::Netkit {
            ifindex: raw.u32_at(0),
            attach_type: raw.u32_at(4),
        },
        link_type::PERF_EVENT => LinkDetail::PerfEvent(perf_event_detail(raw, name)),
        _ => LinkDetail::Other,
    }
}

/// The perf-event union starts with the event type; its own union follows at byte 8.
fn perf_event_detail(raw: &RawLinkInfo, name: String) -> PerfEventLink {
    use perf_event_type::*;
    match raw.u32_at(0) {
        t @ (UPROBE | URETPROBE) => PerfEventLink::Uprobe {
            file_name: name,
            offset: raw.u32_at(20),
            cookie: raw.u64_at(24),
            retprobe: t == URETPROBE,
        },
        t @ (KPROBE | KRETPROBE) => PerfEventLink::Kprobe {
            func_name: name,
            offset: raw.u32_at(20),
            addr: raw.u64_at(24),
            retprobe: t == KRETPROBE,
        },
        TRACEPOINT => PerfEventLink::Tracepoint {
            tp_name: name,
            cookie: raw.u64_at(24),
        },
        EVENT => PerfEventLink::Event {
            config: raw.u64_at(8),
            event_type: raw.u32_at(16),
            cookie: raw.u64_at(24),
        },
        other => PerfEventLink::Unknown(other),
    }
}
