//! Raw BTF of loaded objects, and the `bpftool btf list` view.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use crate::attr::ptr_u64;
use crate::info::{RawBtfInfo, get_info};
use crate::{Result, info};

/// The raw BTF blob (header, types, strings) of BTF object `id`.
pub fn btf_data(id: u32) -> Result<Vec<u8>> {
    let fd = info::btf_fd_by_id(id)?;
    let mut size = info::btf_info(fd.as_fd())?.size;
    // BTF is immutable once loaded, so the second call normally fits; loop a
    // bounded number of times anyway instead of trusting that.
    for _ in 0..4 {
        let mut data = vec![0u8; size as usize];
        let mut raw = RawBtfInfo {
            btf: ptr_u64(data.as_mut_ptr()),
            btf_size: size,
            ..Default::default()
        };
        // SAFETY: `data` has `btf_size` bytes; the name pointer is null.
        match unsafe { get_info(fd.as_fd(), &mut raw) } {
            Ok(()) if raw.btf_size <= size => {
                data.truncate(raw.btf_size as usize);
                return Ok(data);
            }
            Ok(()) => size = raw.btf_size,
            Err(e) if e.errno() == Some(libc::ENOSPC) => size = raw.btf_size.max(size * 2),
            Err(e) => return Err(e),
        }
    }
    Err(crate::SysError {
        cmd: "BPF_OBJ_GET_INFO_BY_FD",
        source: std::io::Error::other(format!("BTF object {id} kept changing size")),
    })
}

/// One line of `bpftool btf list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfListEntry {
    pub id: u32,
    /// `vmlinux`, a module name, or empty.
    pub name: String,
    /// Bytes of raw BTF.
    pub size: u32,
    pub kernel_btf: bool,
    /// Programs whose `btf_id` is this object, ascending.
    pub prog_ids: Vec<u32>,
    /// Maps whose `btf_id` is this object, ascending.
    pub map_ids: Vec<u32>,
}

/// Every loaded BTF object with the programs and maps that use it. Objects
/// that disappear while listing (ENOENT) are left out.
pub fn btf_list() -> Result<Vec<BtfListEntry>> {
    let mut entries = BTreeMap::new();
    for id in info::btf_ids()? {
        let Some(fd) = skip_gone(info::btf_fd_by_id(id))? else {
            continue;
        };
        let Some(b) = skip_gone(info::btf_info(fd.as_fd()))? else {
            continue;
        };
        entries.insert(
            id,
            BtfListEntry {
                id,
                name: b.name,
                size: b.size,
                kernel_btf: b.kernel_btf,
                prog_ids: Vec::new(),
                map_ids: Vec::new(),
            },
        );
    }
    for id in info::prog_ids()? {
        let Some(fd) = skip_gone(info::prog_fd_by_id(id))? else {
            continue;
        };
        let Some(p) = skip_gone(info::prog_info(fd.as_fd()))? else {
            continue;
        };
        if let Some(e) = entries.get_mut(&p.btf_id) {
            e.prog_ids.push(id);
        }
    }
    for id in info::map_ids()? {
        let Some(fd) = skip_gone(info::map_fd_by_id(id))? else {
            continue;
        };
        let Some(m) = skip_gone(info::map_info(fd.as_fd()))? else {
            continue;
        };
        if let Some(e) = entries.get_mut(&m.btf_id) {
            e.map_ids.push(id);
        }
    }
    Ok(entries.into_values().collect())
}

/// An object that vanished between listing and opening is not an error.
fn skip_gone<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}
