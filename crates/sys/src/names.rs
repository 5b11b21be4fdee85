//! The lower-case names bpftool prints for `enum bpf_prog_type` and
//! `enum bpf_link_type` values (map types: `bpfkit_object::map_type_name`).

const PROG_TYPES: &[&str] = &[
    "unspec",
    "socket_filter",
    "kprobe",
    "sched_cls",
    "sched_act",
    "tracepoint",
    "xdp",
    "perf_event",
    "cgroup_skb",
    "cgroup_sock",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "sock_ops",
    "sk_skb",
    "cgroup_device",
    "sk_msg",
    "raw_tracepoint",
    "cgroup_sock_addr",
    "lwt_seg6local",
    "lirc_mode2",
    "sk_reuseport",
    "flow_dissector",
    "cgroup_sysctl",
    "raw_tracepoint_writable",
    "cgroup_sockopt",
    "tracing",
    "struct_ops",
    "ext",
    "lsm",
    "sk_lookup",
    "syscall",
    "netfilter",
];

const LINK_TYPES: &[&str] = &[
    "unspec",
    "raw_tracepoint",
    "tracing",
    "cgroup",
    "iter",
    "netns",
    "xdp",
    "perf_event",
    "kprobe_multi",
    "struct_ops",
    "netfilter",
    "tcx",
    "uprobe_multi",
    "netkit",
    "sockmap",
];

/// bpftool's name of a program type (`tracepoint`, `xdp`...), or
/// `"unknown"` for numbers newer than this table.
pub fn prog_type_name(prog_type: u32) -> &'static str {
    PROG_TYPES
        .get(prog_type as usize)
        .copied()
        .unwrap_or("unknown")
}

/// bpftool's name of a link type (`perf_event`, `tcx`...), or `"unknown"`.
pub fn link_type_name(link_type: u32) -> &'static str {
    LINK_TYPES
        .get(link_type as usize)
        .copied()
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_uapi_numbers() {
        // Spot checks against uapi/linux/bpf.h.
        assert_eq!(prog_type_name(5), "tracepoint");
        assert_eq!(prog_type_name(17), "raw_tracepoint");
        assert_eq!(prog_type_name(26), "tracing");
        assert_eq!(prog_type_name(32), "netfilter");
        assert_eq!(prog_type_name(999), "unknown");
        assert_eq!(link_type_name(7), "perf_event");
        assert_eq!(link_type_name(11), "tcx");
        assert_eq!(link_type_name(999), "unknown");
    }
}
