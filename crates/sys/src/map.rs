//! Map element access by fd with untyped byte buffers.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::attr::{
    BpfAttr, Cmd, MapCreateAttr, MapElemAttr, obj_name, ptr_u64, sys_bpf, sys_bpf_fd,
};
use crate::{Result, SysError, info};

/// A few `enum bpf_map_type` values, for callers creating maps.
pub struct MapType;

impl MapType {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const STACK_TRACE: u32 = 7;
    pub const LRU_HASH: u32 = 9;
    pub const LRU_PERCPU_HASH: u32 = 10;
    pub const PERCPU_CGROUP_STORAGE: u32 = 21;
    pub const RINGBUF: u32 = 27;
}

/// True for map types whose lookups return one value per possible CPU.
pub fn is_percpu(map_type: u32) -> bool {
    matches!(
        map_type,
        MapType::PERCPU_HASH
            | MapType::PERCPU_ARRAY
            | MapType::LRU_PERCPU_HASH
            | MapType::PERCPU_CGROUP_STORAGE
    )
}

/// Creates a map (mainly for tests and scratch maps; programs' maps are made by aya).
pub fn map_create(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: &str,
) -> Result<OwnedFd> {
    let mut attr = BpfAttr::zeroed();
    attr.map_create = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_flags,
        map_name: obj_name(name),
        ..Default::default()
    };
    // SAFETY: the name is inline; no pointers.
    unsafe { sys_bpf_fd(Cmd::MapCreate, &mut attr) }
}

/// Byte sizes the kernel will read or write for one key and one value.
struct ElemSizes {
    key: usize,
    value: usize,
    max_entries: u32,
}

/// Asks the kernel for the map's key and value sizes, so a short buffer is
/// refused here instead of letting the kernel write past it.
fn elem_sizes(cmd: Cmd, fd: BorrowedFd<'_>) -> Result<ElemSizes> {
    let map = info::map_info(fd).map_err(|e| SysError {
        cmd: cmd.name(),
        ..e
    })?;
    let value = if is_percpu(map.map_type) {
        percpu_value_size(map.value_size).map_err(|e| SysError::new(cmd, e))?
    } else {
        map.value_size as usize
    };
    Ok(ElemSizes {
        key: map.key_size as usize,
        value,
        max_entries: map.max_entries,
    })
}

fn check_len(cmd: Cmd, what: &str, got: usize, need: usize) -> Result<()> {
    if got < need {
        return Err(SysError::invalid(
            cmd,
            format!("{what} buffer is {got} bytes, map needs {need}"),
        ));
    }
    Ok(())
}

/// # Safety
/// `key` and `value` must be null or point at buffers of at least the
/// map's key size and (per-CPU) value size; see [`elem_sizes`].
unsafe fn elem_op(cmd: Cmd, fd: BorrowedFd<'_>, key: u64, value: u64, flags: u64) -> Result<i64> {
    let mut attr = BpfAttr::zeroed();
    attr.map_elem = MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key,
        value,
        flags,
        ..Default::default()
    };
    // SAFETY: forwarded from our caller.
    unsafe { sys_bpf(cmd, &mut attr) }
}

/// Maps ENOENT to `Ok(false)`, success to `Ok(true)`.
fn found(r: Result<i64>) -> Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes the key following `key` (the first key when `None`) into
/// `next_key`. Returns false when there is no next key.
pub fn map_get_next_key(
    fd: BorrowedFd<'_>,
    key: Option<&[u8]>,
    next_key: &mut [u8],
) -> Result<bool> {
    let cmd = Cmd::MapGetNextKey;
    let sizes = elem_sizes(cmd, fd)?;
    check_len(cmd, "next key", next_key.len(), sizes.key)?;
    let key_ptr = match key {
        Some(k) => {
            check_len(cmd, "key", k.len(), sizes.key)?;
            ptr_u64(k.as_ptr())
        }
        None => 0,
    };
    let next_ptr = ptr_u64(next_key.as_mut_ptr());
    // SAFETY: both buffers were checked against the map's key size.
    found(unsafe { elem_op(cmd, fd, key_ptr, next_ptr, 0) })
}

/// Reads the value of `key` into `value` (for per-CPU maps
/// [`percpu_value_size`] bytes: one 8-byte aligned slot per possible CPU).
/// Returns false if there is no such key.
pub fn map_lookup(fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> Result<bool> {
    let cmd = Cmd::MapLookupElem;
    let sizes = elem_sizes(cmd, fd)?;
    check_len(cmd, "key", key.len(), sizes.key)?;
    check_len(cmd, "value", value.len(), sizes.value)?;
    let (key_ptr, value_ptr) = (ptr_u64(key.as_ptr()), ptr_u64(value.as_mut_ptr()));
    // SAFETY: both buffers were checked against the map's sizes.
    found(unsafe { elem_op(cmd, fd, key_ptr, value_ptr, 0) })
}

/// Deletes `key`. Returns false if there was no such key.
pub fn map_delete(fd: BorrowedFd<'_>, key: &[u8]) -> Result<bool> {
    let cmd = Cmd::MapDeleteElem;
    let sizes = elem_sizes(cmd, fd)?;
    check_len(cmd, "key", key.len(), sizes.key)?;
    // SAFETY: the key was checked against the map's key size.
    found(unsafe { elem_op(cmd, fd, ptr_u64(key.as_ptr()), 0, 0) })
}

/// Sets `key` to `value`; `flags` is [`crate::BPF_ANY`], [`crate::BPF_NOEXIST`]
/// or [`crate::BPF_EXIST`] (possibly with `BPF_F_LOCK`).
pub fn map_update(fd: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
    let cmd = Cmd::MapUpdateElem;
    let sizes = elem_sizes(cmd, fd)?;
    check_len(cmd, "key", key.len(), sizes.key)?;
    check_len(cmd, "value", value.len(), sizes.value)?;
    let (key_ptr, value_ptr) = (ptr_u64(key.as_ptr()), ptr_u64(value.as_ptr()));
    // SAFETY: both buffers were checked against the map's sizes; the
    // kernel only reads them.
    unsafe { elem_op(cmd, fd, key_ptr, value_ptr, flags) }?;
    Ok(())
}

/// One key/value pair read from a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub key: Vec<u8>,
    /// For per-CPU maps, [`percpu_value_size`] bytes: one 8-byte aligned
    /// slot per possible CPU.
    pub value: Vec<u8>,
}

/// Reads every entry of the map behind `fd`, in the kernel's key order.
/// Keys deleted while walking are skipped; the walk stops after
/// `max_entries` keys, because on a hash map whose keys are being deleted
/// concurrently, get-next-key restarts from the first key and could
/// otherwise go on forever.
pub fn map_entries(fd: BorrowedFd<'_>) -> Result<Vec<MapEntry>> {
    let sizes = elem_sizes(Cmd::MapGetNextKey, fd)?;
    let mut entries = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let mut next = vec![0u8; sizes.key];
    for _ in 0..sizes.max_entries {
        let key_ptr = key.as_ref().map_or(0, |k| ptr_u64(k.as_ptr()));
        let next_ptr = ptr_u64(next.as_mut_ptr());
        // SAFETY: `key` and `next` have the map's key size.
        if !found(unsafe { elem_op(Cmd::MapGetNextKey, fd, key_ptr, next_ptr, 0) })? {
            break;
        }
        let mut value = vec![0u8; sizes.value];
        let value_ptr = ptr_u64(value.as_mut_ptr());
        // SAFETY: `next` has the key size, `value` the (per-CPU) value size.
        if found(unsafe { elem_op(Cmd::MapLookupElem, fd, next_ptr, value_ptr, 0) })? {
            entries.push(MapEntry {
                key: next.clone(),
                value,
            });
        }
        key = Some(next.clone());
    }
    Ok(entries)
}

/// Number of possible CPUs, from `/sys/devices/system/cpu/possible`
/// (e.g. `0-3` or `0,2-5`): the count per-CPU map values are laid out for.
pub fn possible_cpus() -> io::Result<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad cpu list {text:?}")))
}

fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut count = 0usize;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.parse::<usize>().ok()?, hi.parse::<usize>().ok()?),
            None => {
                let cpu = part.parse::<usize>().ok()?;
                (cpu, cpu)
            }
        };
        count += hi.checked_sub(lo)? + 1;
    }
    (count > 0).then_some(count)
}

/// Buffer size for one per-CPU value: `possible_cpus * round_up(value_size, 8)`.
pub fn percpu_value_size(value_size: u32) -> io::Result<usize> {
    Ok(possible_cpus()? * (value_size as usize).next_multiple_of(8))
}

/// The per-CPU copies inside a value read from a per-CPU map: one slot
/// per possible CPU, each `value_size` bytes at an 8-byte aligned stride
/// (see [`percpu_value_size`]).
pub fn percpu_slots(value: &[u8], value_size: usize) -> impl Iterator<Item = &[u8]> {
    let stride = value_size.next_multiple_of(8).max(1);
    value
        .chunks(stride)
        .map(move |slot| &slot[..value_size.min(slot.len())])
}

/// Turns on run time / run count accounting for all programs
/// (`BPF_STATS_RUN_TIME`) for as long as the returned fd is open.
pub fn enable_stats() -> Result<OwnedFd> {
    const BPF_STATS_RUN_TIME: u32 = 0;
    let mut attr = BpfAttr::zeroed();
    attr.enable_stats.stats_type = BPF_STATS_RUN_TIME;
    // SAFETY: no pointers.
    unsafe { sys_bpf_fd(Cmd::EnableStats, &mut attr) }
}

#[cfg(test)]
mod tests {
    use super::{parse_cpu_list, percpu_slots};

    #[test]
    fn percpu_slots_skip_the_padding() {
        let value = [1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0];
        let slots: Vec<&[u8]> = percpu_slots(&value, 3).collect();
        assert_eq!(slots, [&[1, 2, 3][..], &[4, 5, 6][..]]);
        assert_eq!(percpu_slots(&[], 3).count(), 0);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0,2-5"), Some(5));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
