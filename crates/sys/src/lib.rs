//! bpfkit-sys: raw bpf(2) syscall wrappers that aya does not expose.
//!
//! - generic map access by fd with byte buffers ([`map_lookup`],
//!   [`map_get_next_key`], [`map_update`], [`map_delete`], [`map_entries`]), so maps can be
//!   dumped without compile-time key/value types;
//! - kernel object enumeration ([`prog_ids`], [`map_ids`], [`btf_ids`],
//!   [`link_ids`]), fds by id, and decoded `bpf_*_info` ([`prog_info`], ...);
//! - BTF blobs of loaded objects ([`btf_data`]) and a `bpftool btf list`
//!   equivalent ([`btf_list`]);
//! - [`enable_stats`] for per-program run time accounting;
//! - [`Holders`]: which processes hold which objects (a `/proc/*/fdinfo`
//!   scan; bpfkit-runtime has the faster BPF iterator),
//!   [`obj_get`] for pinned objects, bpftool's type names.

mod attr;
mod btf;
mod holders;
mod info;
mod link;
mod map;
mod names;
mod net;
pub mod probe;
mod prog;

use std::io;

pub use btf::{BtfListEntry, btf_data, btf_list};
pub use holders::{Holder, HolderKind, Holders};
pub use info::{
    BtfInfo, JitedProg, LineInfo, MapInfo, ProgInfo, XlatedProg, btf_fd_by_id, btf_ids, btf_info,
    link_detach, link_fd_by_id, link_ids, map_fd_by_id, map_ids, map_info, obj_get, obj_pin,
    prog_fd_by_id, prog_ids, prog_info, prog_jited, prog_xlated, prog_xlated_insns,
};
pub use link::{LinkDetail, LinkInfo, PerfEventLink, link_info};
pub use map::{
    MapEntry, MapType, enable_stats, is_percpu, map_create, map_delete, map_entries,
    map_get_next_key, map_lookup, map_update, percpu_slots, percpu_value_size, possible_cpus,
};
pub use names::{link_type_name, prog_type_name};
pub use net::{
    Attached, NetDevice, TaskFd, TcFilter, net_devices, netkit_pair_create, prog_query,
    prog_query_strict, task_fd_query, tc_filters,
};
pub use prog::{
    BPF_F_SLEEPABLE, LoadFailure, ProgLoad, TestRun, attach_type, device_link_create, iter_create,
    iter_link_create, kprobe_multi_link, prog_attach, prog_detach, prog_load, prog_test_run,
    prog_type, uprobe_multi_link,
};

/// `BPF_ANY`: create a new element or update an existing one.
pub const BPF_ANY: u64 = 0;
/// `BPF_NOEXIST`: create only if the key does not exist.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update only if the key exists.
pub const BPF_EXIST: u64 = 2;

pub type Result<T> = std::result::Result<T, SysError>;

/// A failed bpf(2) command: which command, and the errno (or why the
/// arguments were refused before reaching the kernel).
#[derive(Debug, thiserror::Error)]
#[error("bpf({cmd}): {source}")]
pub struct SysError {
    /// uapi name of the command, e.g. `BPF_MAP_LOOKUP_ELEM`.
    pub cmd: &'static str,
    #[source]
    pub source: io::Error,
}

impl SysError {
    fn new(cmd: attr::Cmd, source: io::Error) -> Self {
        SysError {
            cmd: cmd.name(),
            source,
        }
    }

    fn invalid(cmd: attr::Cmd, why: impl Into<String>) -> Self {
        Self::new(cmd, io::Error::new(io::ErrorKind::InvalidInput, why.into()))
    }

    /// The errno the kernel returned, if the kernel was reached.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}
