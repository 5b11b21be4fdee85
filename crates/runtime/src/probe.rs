//! `bpfkit feature`: what this kernel's BPF subsystem can do, each answer
//! found by trying (loading a trivial program, creating a map, opening a
//! probe, creating a link and closing it again), with the kernel version
//! that introduced it (the "BPF features by Linux kernel version" list).

use aya::maps::MapType;
use aya::programs::{LsmAttachType, ProgramType};
use std::ffi::CString;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// One feature and what trying it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// bpftool's name (`tracepoint`, `ringbuf`) or bpfkit's for facts.
    pub name: &'static str,
    /// The kernel release that introduced it.
    pub since: &'static str,
    pub available: bool,
    /// Why not, or how it was found, when that is worth saying.
    pub note: String,
}

fn probed(name: &'static str, since: &'static str, result: Result<bool, String>) -> Probed {
    let (available, note) = match result {
        Ok(yes) => (yes, String::new()),
        Err(why) => (false, why),
    };
    Probed {
        name,
        since,
        available,
        note,
    }
}

/// Program types, loaded one by one.
pub fn program_types() -> Vec<Probed> {
    use ProgramType as P;
    let types: [(P, &str, &str); 32] = [
        (P::SocketFilter, "socket_filter", "3.19"),
        (P::KProbe, "kprobe", "4.1"),
        (P::SchedClassifier, "sched_cls", "4.1"),
        (P::SchedAction, "sched_act", "4.1"),
        (P::TracePoint, "tracepoint", "4.7"),
        (P::Xdp, "xdp", "4.8"),
        (P::PerfEvent, "perf_event", "4.9"),
        (P::CgroupSkb, "cgroup_skb", "4.10"),
        (P::CgroupSock, "cgroup_sock", "4.10"),
        (P::LwtInput, "lwt_in", "4.10"),
        (P::LwtOutput, "lwt_out", "4.10"),
        (P::LwtXmit, "lwt_xmit", "4.10"),
        (P::SockOps, "sock_ops", "4.13"),
        (P::SkSkb, "sk_skb", "4.14"),
        (P::CgroupDevice, "cgroup_device", "4.15"),
        (P::SkMsg, "sk_msg", "4.17"),
        (P::RawTracePoint, "raw_tracepoint", "4.17"),
        (P::CgroupSockAddr, "cgroup_sock_addr", "4.17"),
        (P::LwtSeg6local, "lwt_seg6local", "4.18"),
        (P::LircMode2, "lirc_mode2", "4.18"),
        (P::SkReuseport, "sk_reuseport", "4.19"),
        (P::FlowDissector, "flow_dissector", "4.20"),
        (P::CgroupSysctl, "cgroup_sysctl", "5.2"),
        (P::RawTracePointWritable, "raw_tracepoint_writable", "5.2"),
        (P::CgroupSockopt, "cgroup_sockopt", "5.3"),
        (P::Tracing, "tracing", "5.5"),
        (P::StructOps, "struct_ops", "5.6"),
        (P::Extension, "ext", "5.6"),
        (P::Lsm(LsmAttachType::Mac), "lsm", "5.7"),
        (P::SkLookup, "sk_lookup", "5.9"),
        (P::Syscall, "syscall", "5.14"),
        (P::Netfilter, "netfilter", "6.4"),
    ];
    types
        .into_iter()
        .map(|(ty, name, since)| {
            let result =
                aya::sys::is_program_supported(ty).map_err(|e| crate::load::error_chain(&e));
            probed(name, since, result)
        })
        .collect()
}

/// Map types, created one by one.
pub fn map_types() -> Vec<Probed> {
    use MapType as M;
    let types: [(M, &str, &str); 33] = [
        (M::Hash, "hash", "3.19"),
        (M::Array, "array", "3.19"),
        (M::ProgramArray, "prog_array", "4.2"),
        (M::PerfEventArray, "perf_event_array", "4.3"),
        (M::PerCpuHash, "percpu_hash", "4.6"),
        (M::PerCpuArray, "percpu_array", "4.6"),
        (M::StackTrace, "stack_trace", "4.6"),
        (M::CgroupArray, "cgroup_array", "4.8"),
        (M::LruHash, "lru_hash", "4.10"),
        (M::LruPerCpuHash, "lru_percpu_hash", "4.10"),
        (M::LpmTrie, "lpm_trie", "4.11"),
        (M::ArrayOfMaps, "array_of_maps", "4.12"),
        (M::HashOfMaps, "hash_of_maps", "4.12"),
        (M::DevMap, "devmap", "4.14"),
        (M::SockMap, "sockmap", "4.14"),
        (M::CpuMap, "cpumap", "4.15"),
        (M::XskMap, "xskmap", "4.18"),
        (M::SockHash, "sockhash", "4.18"),
        (M::CgroupStorage, "cgroup_storage", "4.19"),
        (M::ReuseportSockArray, "reuseport_sockarray", "4.19"),
        (M::PerCpuCgroupStorage, "percpu_cgroup_storage", "4.20"),
        (M::Queue, "queue", "4.20"),
        (M::Stack, "stack", "4.20"),
        (M::SkStorage, "sk_storage", "5.2"),
        (M::DevMapHash, "devmap_hash", "5.4"),
        (M::StructOps, "struct_ops", "5.6"),
        (M::RingBuf, "ringbuf", "5.8"),
        (M::InodeStorage, "inode_storage", "5.10"),
        (M::TaskStorage, "task_storage", "5.11"),
        (M::BloomFilter, "bloom_filter", "5.16"),
        (M::UserRingBuf, "user_ringbuf", "6.1"),
        (M::CgrpStorage, "cgrp_storage", "6.2"),
        (M::Arena, "arena", "6.9"),
    ];
    types
        .into_iter()
        .map(|(ty, name, since)| {
            let result = aya::sys::is_map_supported(ty).map_err(|e| crate::load::error_chain(&e));
            probed(name, since, result)
        })
        .collect()
}

/// The hooks and facilities bpfkit's loader and tools rely on.
pub fn facts() -> Vec<Probed> {
    crate::features::ensure_mounts();
    let btf = std::path::Path::new(bpfkit_btf::VMLINUX_PATH).exists();
    vec![
        probed("kprobes", "4.1", kprobe_opens()),
        probed("uprobes", "4.3", uprobe_opens()),
        probed(
            "tracepoints",
            "4.7",
            Ok(std::path::Path::new(crate::features::TRACEFS)
                .join("events/syscalls")
                .is_dir()),
        ),
        probed(
            "raw_tracepoints",
            "4.17",
            aya::sys::is_program_supported(ProgramType::RawTracePoint)
                .map_err(|e| crate::load::error_chain(&e)),
        ),
        probed("btf_vmlinux", "4.18", Ok(btf)),
        probed("module_btf", "5.11", module_btf()),
        probed(
            "trampolines (fentry/fexit, tp_btf)",
            "5.5",
            Ok(crate::features::trampolines()),
        ),
        probed(
            "bpf_lsm",
            "5.7",
            aya::sys::is_program_supported(ProgramType::Lsm(LsmAttachType::Mac))
                .map_err(|e| crate::load::error_chain(&e)),
        ),
        probed(
            "ringbuf",
            "5.8",
            aya::sys::is_map_supported(MapType::RingBuf).map_err(|e| crate::load::error_chain(&e)),
        ),
        probed("kprobe_multi", "5.18", kprobe_multi()),
        probed("uprobe_multi", "6.6", uprobe_multi()),
        probed("tcx", "6.6", tcx()),
    ]
}

/// BTF objects of modules are listed next to vmlinux's.
fn module_btf() -> Result<bool, String> {
    let list = bpfkit_sys::btf_list().map_err(|e| crate::load::error_chain(&e))?;
    Ok(list.iter().any(|b| b.kernel_btf && b.name != "vmlinux"))
}

/// A tcx query on loopback: kernels without tcx refuse the attach type.
fn tcx() -> Result<bool, String> {
    const LOOPBACK: u32 = 1;
    match bpfkit_sys::prog_query_strict(LOOPBACK, bpfkit_sys::attach_type::TCX_INGRESS) {
        Ok(_) => Ok(true),
        Err(e) if e.errno() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether kprobe.multi links can be made here (probed once per run: a
/// link on one kernel function, made and closed). Debian's 6.1 knows the
/// link type but is built without CONFIG_FPROBE.
pub fn kprobe_multi_links() -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| crate::features::kernel().kprobes && kprobe_multi() == Ok(true))
}

/// A kprobe.multi link on one kernel function, made and closed.
fn kprobe_multi() -> Result<bool, String> {
    let prog = match bpfkit_sys::probe::load_trivial_prog(2, bpfkit_sys::probe::KPROBE_MULTI) {
        Ok(prog) => prog,
        Err(e) if e.errno() == Some(libc::EINVAL) => return Ok(false),
        Err(e) => return Err(e.to_string()),
    };
    let symbol = c"do_nanosleep";
    match bpfkit_sys::probe::kprobe_multi_link(prog.as_fd(), &[symbol]) {
        Ok(_link) => Ok(true),
        Err(e) => Err(format!("the program type knows it, but {e}")),
    }
}

/// Whether this kernel makes uprobe.multi links (6.6+).
pub fn has_uprobe_multi() -> bool {
    matches!(uprobe_multi(), Ok(true))
}

/// A uprobe.multi link on a function of this executable, made and closed.
fn uprobe_multi() -> Result<bool, String> {
    let prog = match bpfkit_sys::probe::load_trivial_prog(2, bpfkit_sys::probe::UPROBE_MULTI) {
        Ok(prog) => prog,
        Err(e) if e.errno() == Some(libc::EINVAL) => return Ok(false),
        Err(e) => return Err(e.to_string()),
    };
    let (path, offset) = own_function_offset().ok_or("cannot find this executable's code")?;
    match bpfkit_sys::probe::uprobe_multi_link(prog.as_fd(), &path, &[offset]) {
        Ok(_link) => Ok(true),
        Err(e) => Err(format!("the program type knows it, but {e}")),
    }
}

/// The file and file offset of a function of this executable (a place
/// where a uprobe may go; it is removed before anything runs there).
fn own_function_offset() -> Option<(CString, u64)> {
    let addr = own_function_offset as *const () as usize as u64;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let range = words.next()?;
        let _perms = words.next()?;
        let file_offset = u64::from_str_radix(words.next()?, 16).ok()?;
        let path = words.nth(2)?;
        let (start, end) = range.split_once('-')?;
        let start = u64::from_str_radix(start, 16).ok()?;
        let end = u64::from_str_radix(end, 16).ok()?;
        (start..end)
            .contains(&addr)
            .then(|| Some((CString::new(path).ok()?, addr - start + file_offset)))?
    })
}

/// The PMU type of `/sys/bus/event_source/devices/NAME`.
fn pmu_type(name: &str) -> Option<u32> {
    let path = format!("/sys/bus/event_source/devices/{name}/type");
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Opens (disabled) and closes a perf event of PMU `pmu` with
/// `config1`/`config2` as the kprobe/uprobe PMUs take them.
fn open_probe_event(pmu: u32, config1: u64, config2: u64) -> std::io::Result<OwnedFd> {
    // struct perf_event_attr, PERF_ATTR_SIZE_VER5 (112 bytes) of it.
    let mut attr = [0u8; 112];
    attr[0..4].copy_from_slice(&pmu.to_ne_bytes());
    attr[4..8].copy_from_slice(&112u32.to_ne_bytes());
    // flags: disabled (bit 0).
    attr[40..48].copy_from_slice(&1u64.to_ne_bytes());
    attr[56..64].copy_from_slice(&config1.to_ne_bytes());
    attr[64..72].copy_from_slice(&config2.to_ne_bytes());
    // SAFETY: `attr` is a perf_event_attr of the size it declares, its
    // config1 pointer (a C string) outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1i32,
            0i32,
            -1i32,
            crate::perfbuf::PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A kprobe on a kernel function through the kprobe PMU.
fn kprobe_opens() -> Result<bool, String> {
    let Some(pmu) = pmu_type("kprobe") else {
        return Err("no kprobe PMU in /sys/bus/event_source/devices (CONFIG_KPROBE_EVENTS)".into());
    };
    let function = c"do_nanosleep";
    open_probe_event(pmu, function.as_ptr() as u64, 0)
        .map(|_| true)
        .map_err(|e| format!("opening a kprobe on do_nanosleep: {e}"))
}

/// A uprobe on a function of this executable through the uprobe PMU.
fn uprobe_opens() -> Result<bool, String> {
    let Some(pmu) = pmu_type("uprobe") else {
        return Err("no uprobe PMU in /sys/bus/event_source/devices (CONFIG_UPROBE_EVENTS)".into());
    };
    let (path, offset) = own_function_offset().ok_or("cannot find this executable's code")?;
    open_probe_event(pmu, path.as_ptr() as u64, offset)
        .map(|_| true)
        .map_err(|e| format!("opening a uprobe: {e}"))
}

/// Helpers a program of `prog_type` may call, by the kernel's names
/// (`enum bpf_func_id` in its BTF): `(name, available)`.
pub fn helpers(prog_type: &str) -> Result<Vec<(String, bool)>, String> {
    let ty = program_type_named(prog_type)
        .ok_or_else(|| format!("unknown program type '{prog_type}'"))?;
    let btf = bpfkit_btf::Btf::vmlinux().map_err(|e| format!("reading kernel BTF: {e}"))?;
    let id = btf
        .find("bpf_func_id", |k| matches!(k, bpfkit_btf::Kind::Enum(_)))
        .ok_or("the kernel BTF has no enum bpf_func_id")?;
    let bpfkit_btf::Kind::Enum(e) = &btf
        .type_by_id(id)
        .map_err(|e| crate::load::error_chain(&e))?
        .kind
    else {
        return Err("bpf_func_id is not an enum".into());
    };
    let mut found = Vec::new();
    for value in &e.values {
        let name = btf.str_at(value.name_off);
        let Some(helper) = name.strip_prefix("BPF_FUNC_") else {
            continue;
        };
        if helper == "unspec" || value.value == 0 {
            continue;
        }
        let Ok(id) = u32::try_from(value.value) else {
            continue;
        };
        let available = helper_supported(ty, id)?;
        found.push((format!("bpf_{helper}"), available));
    }
    Ok(found)
}

/// Helpers newer than aya's list count as unknown (not probed).
fn helper_supported(ty: ProgramType, id: u32) -> Result<bool, String> {
    use aya::sys::BpfHelper;
    if id >= BpfHelper::__BPF_FUNC_MAX_ID as u32 {
        return Ok(false);
    }
    // SAFETY: BpfHelper is a `repr(u32)` enum with a variant for every
    // value from 0 to __BPF_FUNC_MAX_ID, and `id` is below that.
    let helper = unsafe { std::mem::transmute::<u32, BpfHelper>(id) };
    aya::sys::is_helper_supported(ty, helper).map_err(|e| crate::load::error_chain(&e))
}

fn program_type_named(name: &str) -> Option<ProgramType> {
    use ProgramType as P;
    Some(match name {
        "socket_filter" => P::SocketFilter,
        "kprobe" => P::KProbe,
        "sched_cls" => P::SchedClassifier,
        "sched_act" => P::SchedAction,
        "tracepoint" => P::TracePoint,
        "xdp" => P::Xdp,
        "perf_event" => P::PerfEvent,
        "cgroup_skb" => P::CgroupSkb,
        "cgroup_sock" => P::CgroupSock,
        "sock_ops" => P::SockOps,
        "sk_skb" => P::SkSkb,
        "sk_msg" => P::SkMsg,
        "raw_tracepoint" => P::RawTracePoint,
        "cgroup_sock_addr" => P::CgroupSockAddr,
        "flow_dissector" => P::FlowDissector,
        "cgroup_sysctl" => P::CgroupSysctl,
        "cgroup_sockopt" => P::CgroupSockopt,
        "sk_lookup" => P::SkLookup,
        "syscall" => P::Syscall,
        _ => return None,
    })
}
