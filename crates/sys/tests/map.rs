//! Map access on real maps created in the running kernel.

use std::os::fd::AsFd;

use bpfkit_sys::{
    BPF_ANY, BPF_EXIST, BPF_NOEXIST, MapType, map_create, map_delete, map_get_next_key, map_info,
    map_lookup, map_update, percpu_value_size, possible_cpus,
};

#[test]
fn hash_map_round_trip() {
    if !bpfkit_testkit::privileged("hash_map_round_trip") {
        return;
    }
    let map = map_create(MapType::HASH, 4, 8, 16, 0, "bpfkit_t_hash").unwrap();
    let fd = map.as_fd();
    for k in 1u32..=3 {
        map_update(
            fd,
            &k.to_ne_bytes(),
            &(u64::from(k) * 100).to_ne_bytes(),
            BPF_NOEXIST,
        )
        .unwrap();
    }
    let mut value = [0u8; 8];
    assert!(map_lookup(fd, &2u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!(u64::from_ne_bytes(value), 200);
    assert!(!map_lookup(fd, &9u32.to_ne_bytes(), &mut value).unwrap());

    // NOEXIST on an existing key and EXIST on a missing one are kernel errors.
    let err = map_update(fd, &1u32.to_ne_bytes(), &[0; 8], BPF_NOEXIST).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EEXIST));
    assert_eq!(err.cmd, "BPF_MAP_UPDATE_ELEM");
    assert!(map_update(fd, &9u32.to_ne_bytes(), &[0; 8], BPF_EXIST).is_err());
    map_update(fd, &1u32.to_ne_bytes(), &7u64.to_ne_bytes(), BPF_ANY).unwrap();

    let mut keys = all_keys(fd, 4);
    keys.sort();
    assert_eq!(keys, vec![1, 2, 3]);

    assert!(map_delete(fd, &2u32.to_ne_bytes()).unwrap());
    assert!(!map_delete(fd, &2u32.to_ne_bytes()).unwrap());
    let mut keys = all_keys(fd, 4);
    keys.sort();
    assert_eq!(keys, vec![1, 3]);

    let mut entries: Vec<(u32, u64)> = bpfkit_sys::map_entries(fd)
        .unwrap()
        .iter()
        .map(|e| {
            let k = u32::from_ne_bytes(e.key[..].try_into().unwrap());
            (k, u64::from_ne_bytes(e.value[..].try_into().unwrap()))
        })
        .collect();
    entries.sort();
    assert_eq!(entries, vec![(1, 7), (3, 300)]);

    let info = map_info(fd).unwrap();
    assert_eq!(
        (
            info.map_type,
            info.key_size,
            info.value_size,
            info.max_entries,
            info.name.as_str()
        ),
        (MapType::HASH, 4, 8, 16, "bpfkit_t_hash")
    );
}

/// Walks the map with get_next_key, collecting u32 keys.
fn all_keys(fd: std::os::fd::BorrowedFd<'_>, key_size: usize) -> Vec<u32> {
    let mut keys = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut next = vec![0u8; key_size];
    while map_get_next_key(fd, cur.as_deref(), &mut next).unwrap() {
        keys.push(u32::from_ne_bytes(next[..4].try_into().unwrap()));
        cur = Some(next.clone());
    }
    keys
}

#[test]
fn short_buffers_are_refused_before_the_kernel() {
    if !bpfkit_testkit::privileged("short_buffers_are_refused_before_the_kernel") {
        return;
    }
    let map = map_create(MapType::HASH, 8, 16, 4, 0, "bpfkit_t_short").unwrap();
    let fd = map.as_fd();
    let mut small = [0u8; 8];
    let err = map_lookup(fd, &[0; 8], &mut small).unwrap_err();
    assert_eq!(err.errno(), None, "{err}");
    assert!(map_update(fd, &[0; 4], &[0; 16], BPF_ANY).is_err());
    assert!(map_get_next_key(fd, None, &mut [0u8; 7]).is_err());
    assert!(map_delete(fd, &[0; 7]).is_err());
}

#[test]
fn percpu_array_has_one_slot_per_possible_cpu() {
    if !bpfkit_testkit::privileged("percpu_array_has_one_slot_per_possible_cpu") {
        return;
    }
    let cpus = possible_cpus().unwrap();
    assert!(cpus >= 1);
    // value_size 4 pads to 8 bytes per CPU.
    let size = percpu_value_size(4).unwrap();
    assert_eq!(size, cpus * 8);
    let map = map_create(MapType::PERCPU_ARRAY, 4, 4, 2, 0, "bpfkit_t_pcpu").unwrap();
    let fd = map.as_fd();

    let mut value = vec![0u8; size];
    for cpu in 0..cpus {
        value[cpu * 8..cpu * 8 + 4].copy_from_slice(&(cpu as u32 + 10).to_ne_bytes());
    }
    map_update(fd, &1u32.to_ne_bytes(), &value, BPF_ANY).unwrap();
    let mut read = vec![0xffu8; size];
    assert!(map_lookup(fd, &1u32.to_ne_bytes(), &mut read).unwrap());
    for cpu in 0..cpus {
        let v = u32::from_ne_bytes(read[cpu * 8..cpu * 8 + 4].try_into().unwrap());
        assert_eq!(v, cpu as u32 + 10);
    }
    // Arrays have every index; out of range is "no such key".
    assert!(map_lookup(fd, &0u32.to_ne_bytes(), &mut read).unwrap());
    assert!(read.iter().all(|&b| b == 0));
    assert!(!map_lookup(fd, &2u32.to_ne_bytes(), &mut read).unwrap());
    // A buffer for a single value is too small for a per-CPU map.
    assert!(map_lookup(fd, &1u32.to_ne_bytes(), &mut [0u8; 8]).is_err() || cpus == 1);
    assert_eq!(all_keys(fd, 4), vec![0, 1]);
    let entries = bpfkit_sys::map_entries(fd).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].key, 1u32.to_ne_bytes());
    assert_eq!(entries[1].value, value);
}

#[test]
fn enable_stats_returns_an_fd() {
    if !bpfkit_testkit::privileged("enable_stats_returns_an_fd") {
        return;
    }
    let fd = bpfkit_sys::enable_stats().unwrap();
    drop(fd);
}
