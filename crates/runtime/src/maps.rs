//! Reading and clearing a loaded object's maps with untyped byte buffers
//! (through bpfkit-sys: aya needs compile-time key/value types).

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd};

use aya::Ebpf;
use aya::maps::{Map, MapData};
use bpfkit_object::{DropCounter, DropSource, map_type};

use crate::error::{Result, RuntimeError};

/// A global variable of `.bss`/`.data` sections, as the object describes it.
#[derive(Debug, Clone)]
pub struct GlobalInfo {
    pub name: String,
    pub section: String,
    pub offset: u32,
    pub size: u32,
}

/// All entries of a map at one moment.
#[derive(Debug, Clone)]
pub struct MapSnapshot {
    pub name: String,
    /// `BPF_MAP_TYPE_*` (see `bpfkit_object::map_type`).
    pub map_type: u32,
    pub key_size: usize,
    /// Size of one value (of one CPU's value for per-CPU maps).
    pub value_size: usize,
    /// Per-CPU maps: values hold one slot per possible CPU, each
    /// `value_size` rounded up to 8 bytes. 1 for other maps.
    pub cpus: usize,
    pub per_cpu: bool,
    /// The map's `max_entries`, as created.
    pub max_entries: u32,
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl MapSnapshot {
    /// A hash map with no room left: the programs' later inserts failed,
    /// so what it shows is incomplete (arrays are always "full", and a
    /// one-entry hash holds a single record by design: vfsstat, cachestat).
    pub fn is_full(&self) -> bool {
        let hash = matches!(
            self.map_type,
            bpfkit_object::map_type::HASH | bpfkit_object::map_type::PERCPU_HASH
        );
        hash && self.max_entries > 1 && self.entries.len() >= self.max_entries as usize
    }

    /// The per-CPU slots of a value of this map (one slot for other maps).
    pub fn cpu_values<'v>(&self, value: &'v [u8]) -> impl Iterator<Item = &'v [u8]> + use<'v> {
        if self.per_cpu {
            return bpfkit_sys::percpu_slots(value, self.value_size);
        }
        // Other maps' values are one slot: the value itself.
        let size = self.value_size.min(value.len());
        bpfkit_sys::percpu_slots(&value[..size], size)
    }

    /// One value from a per-CPU value: CPU 0's bytes, with the u64 fields at
    /// `u64_offsets` replaced by their sum over all CPUs (wrapping). Which
    /// fields are counters is the caller's knowledge (from BTF).
    pub fn sum_u64_fields(&self, value: &[u8], u64_offsets: &[usize]) -> Vec<u8> {
        let mut slots = self.cpu_values(value);
        let mut out = slots.next().map(<[u8]>::to_vec).unwrap_or_default();
        for slot in slots {
            for &off in u64_offsets {
                let (Some(acc), Some(add)) = (out.get(off..off + 8), slot.get(off..off + 8)) else {
                    continue;
                };
                let sum = u64::from_ne_bytes(acc.try_into().unwrap_or_default())
                    .wrapping_add(u64::from_ne_bytes(add.try_into().unwrap_or_default()));
                out[off..off + 8].copy_from_slice(&sum.to_ne_bytes());
            }
        }
        out
    }
}

/// Map access of a loaded session.
pub struct Maps<'s> {
    pub(crate) ebpf: &'s Ebpf,
    pub(crate) globals: &'s [GlobalInfo],
}

impl<'s> Maps<'s> {
    /// Names of the maps user space can read (event buffers that a run is
    /// reading are not among them).
    pub fn names(&self) -> Vec<&'s str> {
        self.ebpf.maps().map(|(name, _)| name).collect()
    }

    /// All entries of map `name`. Hash maps changing while they are read may
    /// show an entry twice or not at all; duplicates are dropped.
    pub fn snapshot(&self, name: &str) -> Result<MapSnapshot> {
        let fd = self.fd(name)?;
        let info = bpfkit_sys::map_info(fd).map_err(|e| map_error(name, "reading map info", e))?;
        let per_cpu = bpfkit_sys::is_percpu(info.map_type);
        let cpus = if per_cpu {
            bpfkit_sys::possible_cpus().map_err(|e| map_error(name, "counting CPUs", e))?
        } else {
            1
        };
        let value_len = if per_cpu {
            (info.value_size as usize).next_multiple_of(8) * cpus
        } else {
            info.value_size as usize
        };
        let mut snapshot = MapSnapshot {
            name: name.into(),
            map_type: info.map_type,
            key_size: info.key_size as usize,
            value_size: info.value_size as usize,
            cpus,
            per_cpu,
            max_entries: info.max_entries,
            entries: Vec::new(),
        };
        if !can_list(info.map_type) {
            return Err(RuntimeError::Map {
                map: name.into(),
                message: format!(
                    "maps of type {} cannot be listed",
                    bpfkit_object::map_type_name(info.map_type)
                ),
            });
        }
        for key in self.keys(name, fd, info.key_size as usize, info.max_entries)? {
            let mut value = vec![0u8; value_len];
            let found = bpfkit_sys::map_lookup(fd, &key, &mut value)
                .map_err(|e| map_error(name, "lookup", e))?;
            if found {
                snapshot.entries.push((key, value));
            }
        }
        Ok(snapshot)
    }

    /// Empties map `name`: deletes every key of hash-like maps, zeroes every
    /// value of arrays (which cannot delete).
    pub fn clear(&self, name: &str) -> Result<()> {
        let fd = self.fd(name)?;
        let info = bpfkit_sys::map_info(fd).map_err(|e| map_error(name, "reading map info", e))?;
        let keys = self.keys(name, fd, info.key_size as usize, info.max_entries)?;
        if is_array(info.map_type) {
            let value_len = if bpfkit_sys::is_percpu(info.map_type) {
                bpfkit_sys::percpu_value_size(info.value_size)
                    .map_err(|e| map_error(name, "counting CPUs", e))?
            } else {
                info.value_size as usize
            };
            let zeros = vec![0u8; value_len];
            for key in keys {
                bpfkit_sys::map_update(fd, &key, &zeros, bpfkit_sys::BPF_ANY)
                    .map_err(|e| map_error(name, "zeroing", e))?;
            }
        } else {
            for key in keys {
                bpfkit_sys::map_delete(fd, &key).map_err(|e| map_error(name, "delete", e))?;
            }
        }
        Ok(())
    }

    /// The current bytes of every `.bss`/`.data` global, in object order.
    pub fn globals(&self) -> Result<Vec<(GlobalInfo, Vec<u8>)>> {
        let mut out = Vec::with_capacity(self.globals.len());
        let mut cache: Vec<(String, Vec<u8>)> = Vec::new();
        for global in self.globals {
            if !cache.iter().any(|(s, _)| *s == global.section) {
                cache.push((global.section.clone(), self.section_bytes(&global.section)?));
            }
            let Some((_, data)) = cache.iter().find(|(s, _)| *s == global.section) else {
                continue;
            };
            let range = global.offset as usize..(global.offset + global.size) as usize;
            if let Some(bytes) = data.get(range) {
                out.push((global.clone(), bytes.to_vec()));
            }
        }
        Ok(out)
    }

    /// The current value of a program's ring buffer drop counter (see
    /// `bpfkit_object::Object::drop_counters`): the global, or the sum of
    /// every value of the counter map on every CPU.
    pub fn drop_count(&self, counter: &DropCounter) -> Result<u64> {
        match &counter.source {
            DropSource::Global {
                name,
                section,
                offset,
                size,
            } => {
                let data = self.section_bytes(section)?;
                let range = *offset as usize..(*offset + *size) as usize;
                let bytes = data.get(range).ok_or_else(|| RuntimeError::Map {
                    map: section.clone(),
                    message: format!("global '{name}' lies outside the section"),
                })?;
                Ok(native_uint(bytes))
            }
            DropSource::Map { name } => {
                let snapshot = self.snapshot(name)?;
                let sum = snapshot
                    .entries
                    .iter()
                    .flat_map(|(_, value)| snapshot.cpu_values(value))
                    .fold(0u64, |sum, slot| sum.wrapping_add(native_uint(slot)));
                Ok(sum)
            }
        }
    }

    /// The whole contents of a data section map (`.bss`, `.data`, `.rodata`...).
    pub fn section_bytes(&self, section: &str) -> Result<Vec<u8>> {
        let fd = self.fd(section)?;
        let info =
            bpfkit_sys::map_info(fd).map_err(|e| map_error(section, "reading map info", e))?;
        let mut value = vec![0u8; info.value_size as usize];
        bpfkit_sys::map_lookup(fd, &0u32.to_ne_bytes(), &mut value)
            .map_err(|e| map_error(section, "lookup", e))?;
        Ok(value)
    }

    /// The fd of map `name`.
    pub fn fd(&self, name: &str) -> Result<BorrowedFd<'s>> {
        let map = self
            .ebpf
            .map(name)
            .ok_or_else(|| RuntimeError::NoSuchMap(name.into()))?;
        Ok(map_data(map).fd().as_fd())
    }

    /// Every key, in the kernel's iteration order. A hash map that changes
    /// under us can restart the iteration; seen keys are skipped and the walk
    /// is bounded so that it always ends.
    fn keys(&self, name: &str, fd: BorrowedFd, key_size: usize, max: u32) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        let mut seen = HashSet::new();
        let mut current: Option<Vec<u8>> = None;
        let limit = (max as usize).saturating_mul(2).saturating_add(16);
        for _ in 0..limit {
            let mut next = vec![0u8; key_size];
            let more = bpfkit_sys::map_get_next_key(fd, current.as_deref(), &mut next)
                .map_err(|e| map_error(name, "get_next_key", e))?;
            if !more {
                break;
            }
            if seen.insert(next.clone()) {
                keys.push(next.clone());
            }
            current = Some(next);
        }
        Ok(keys)
    }
}

/// An unsigned integer of 1 to 8 bytes in native byte order.
fn native_uint(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    if cfg!(target_endian = "little") {
        buf[..n].copy_from_slice(&bytes[..n]);
    } else {
        buf[8 - n..].copy_from_slice(&bytes[..n]);
    }
    u64::from_ne_bytes(buf)
}

/// The programs' ring buffer drop counters and the value each had when
/// last reported, so that every drop is reported exactly once.
#[derive(Debug, Default)]
pub(crate) struct DropWatch {
    counters: Vec<(DropCounter, u64)>,
}

impl DropWatch {
    /// Starts from the counters' current values (their initial ones: call
    /// it before programs are attached).
    pub fn start(counters: &[DropCounter], maps: &Maps<'_>) -> Result<DropWatch> {
        let counters = counters
            .iter()
            .map(|c| Ok((c.clone(), maps.drop_count(c)?)))
            .collect::<Result<_>>()?;
        Ok(DropWatch { counters })
    }

    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// Calls `report(ring, n)` for every counter that grew by `n` since the
    /// last call. A counter that went down was reset (a map cleared by
    /// hand): what it holds now was counted since.
    pub fn check(&mut self, maps: &Maps<'_>, report: &mut dyn FnMut(&str, u64)) -> Result<()> {
        for (counter, last) in &mut self.counters {
            let now = maps.drop_count(counter)?;
            let grown = if now >= *last { now - *last } else { now };
            *last = now;
            if grown > 0 {
                report(&counter.ring, grown);
            }
        }
        Ok(())
    }
}

fn map_error(map: &str, what: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Map {
        map: map.into(),
        message: format!("{what}: {e}"),
    }
}

fn is_array(map_type: u32) -> bool {
    matches!(map_type, map_type::ARRAY | map_type::PERCPU_ARRAY)
}

/// Map types whose contents `get_next_key` + `lookup` can list. The others
/// (prog arrays, cgroup arrays, sockmaps, queues, storage...) hold kernel
/// objects or have no keys to walk: a printer skips them.
pub fn can_list(map_type: u32) -> bool {
    matches!(
        map_type,
        map_type::HASH
            | map_type::ARRAY
            | map_type::PERCPU_HASH
            | map_type::PERCPU_ARRAY
            | map_type::LRU_HASH
            | map_type::LRU_PERCPU_HASH
            | map_type::LPM_TRIE
            | map_type::STACK_TRACE
    )
}

/// Every aya map variant wraps a `MapData`.
pub(crate) fn map_data(map: &Map) -> &MapData {
    match map {
        Map::Array(d)
        | Map::ArrayOfMaps(d)
        | Map::BloomFilter(d)
        | Map::CgroupArray(d)
        | Map::CgroupStorage(d)
        | Map::CgrpStorage(d)
        | Map::CpuMap(d)
        | Map::DevMap(d)
        | Map::DevMapHash(d)
        | Map::HashMap(d)
        | Map::HashOfMaps(d)
        | Map::InodeStorage(d)
        | Map::LpmTrie(d)
        | Map::LruHashMap(d)
        | Map::PerCpuArray(d)
        | Map::PerCpuCgroupStorage(d)
        | Map::PerCpuHashMap(d)
        | Map::PerCpuLruHashMap(d)
        | Map::PerfEventArray(d)
        | Map::ProgramArray(d)
        | Map::Queue(d)
        | Map::ReusePortSockArray(d)
        | Map::RingBuf(d)
        | Map::SockHash(d)
        | Map::SockMap(d)
        | Map::SkStorage(d)
        | Map::Stack(d)
        | Map::StackTraceMap(d)
        | Map::Unsupported(d)
        | Map::XskMap(d) => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_integers_of_any_width() {
        assert_eq!(native_uint(&7u8.to_ne_bytes()), 7);
        assert_eq!(native_uint(&700u16.to_ne_bytes()), 700);
        assert_eq!(native_uint(&70_000u32.to_ne_bytes()), 70_000);
        assert_eq!(native_uint(&(1u64 << 40).to_ne_bytes()), 1 << 40);
    }

    #[test]
    fn per_cpu_sums() {
        let snap = MapSnapshot {
            name: "m".into(),
            map_type: map_type::PERCPU_ARRAY,
            key_size: 4,
            value_size: 12,
            cpus: 2,
            per_cpu: true,
            max_entries: 1,
            entries: Vec::new(),
        };
        // Two slots of 16 bytes (12 rounded up to 8): u64 counter + u32 tag.
        let mut value = Vec::new();
        value.extend_from_slice(&5u64.to_ne_bytes());
        value.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
        value.extend_from_slice(&6u64.to_ne_bytes());
        value.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(snap.cpu_values(&value).count(), 2);
        let summed = snap.sum_u64_fields(&value, &[0]);
        assert_eq!(summed.len(), 12);
        assert_eq!(u64::from_ne_bytes(summed[..8].try_into().unwrap()), 11);
        assert_eq!(summed[8], 7);
    }
}
