//! `BPF_MAP_TYPE_*` numbers from `include/uapi/linux/bpf.h`.

pub const UNSPEC: u32 = 0;
pub const HASH: u32 = 1;
pub const ARRAY: u32 = 2;
pub const PROG_ARRAY: u32 = 3;
pub const PERF_EVENT_ARRAY: u32 = 4;
pub const PERCPU_HASH: u32 = 5;
pub const PERCPU_ARRAY: u32 = 6;
pub const STACK_TRACE: u32 = 7;
pub const CGROUP_ARRAY: u32 = 8;
pub const LRU_HASH: u32 = 9;
pub const LRU_PERCPU_HASH: u32 = 10;
pub const LPM_TRIE: u32 = 11;
pub const ARRAY_OF_MAPS: u32 = 12;
pub const HASH_OF_MAPS: u32 = 13;
pub const DEVMAP: u32 = 14;
pub const SOCKMAP: u32 = 15;
pub const CPUMAP: u32 = 16;
pub const XSKMAP: u32 = 17;
pub const SOCKHASH: u32 = 18;
pub const CGROUP_STORAGE: u32 = 19;
pub const REUSEPORT_SOCKARRAY: u32 = 20;
pub const PERCPU_CGROUP_STORAGE: u32 = 21;
pub const QUEUE: u32 = 22;
pub const STACK: u32 = 23;
pub const SK_STORAGE: u32 = 24;
pub const DEVMAP_HASH: u32 = 25;
pub const STRUCT_OPS: u32 = 26;
pub const RINGBUF: u32 = 27;
pub const INODE_STORAGE: u32 = 28;
pub const TASK_STORAGE: u32 = 29;
pub const BLOOM_FILTER: u32 = 30;
pub const USER_RINGBUF: u32 = 31;
pub const CGRP_STORAGE: u32 = 32;
pub const ARENA: u32 = 33;

const NAMES: [&str; 34] = [
    "unspec",
    "hash",
    "array",
    "prog_array",
    "perf_event_array",
    "percpu_hash",
    "percpu_array",
    "stack_trace",
    "cgroup_array",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "array_of_maps",
    "hash_of_maps",
    "devmap",
    "sockmap",
    "cpumap",
    "xskmap",
    "sockhash",
    "cgroup_storage",
    "reuseport_sockarray",
    "percpu_cgroup_storage",
    "queue",
    "stack",
    "sk_storage",
    "devmap_hash",
    "struct_ops",
    "ringbuf",
    "inode_storage",
    "task_storage",
    "bloom_filter",
    "user_ringbuf",
    "cgrp_storage",
    "arena",
];

/// The lower-case name bpftool prints (`hash`, `ringbuf`, ...), or
/// `"unknown"` for numbers newer than this table.
pub fn map_type_name(map_type: u32) -> &'static str {
    NAMES.get(map_type as usize).copied().unwrap_or("unknown")
}

/// True for the maps whose records are events streamed to user space.
pub fn is_event_stream(map_type: u32) -> bool {
    matches!(map_type, RINGBUF | PERF_EVENT_ARRAY)
}
