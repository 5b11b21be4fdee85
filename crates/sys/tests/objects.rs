//! Object enumeration and info, checked against bpftool on the running kernel.

use std::os::fd::AsFd;
use std::process::Command;

use bpfkit_sys::{MapType, btf_data, btf_fd_by_id, btf_ids, btf_info, btf_list, map_create};

/// vmlinux's entry in `bpftool btf list -j`: (id, size).
fn bpftool_vmlinux(bpftool: &std::path::Path) -> (u32, u32) {
    let out = Command::new(bpftool)
        .args(["btf", "list", "-j"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // `{"id":1,"size":5516713,...,"name":"vmlinux"}`: pick the object naming vmlinux.
    let obj = text
        .split('{')
        .find(|o| o.contains("\"name\":\"vmlinux\""))
        .expect("bpftool lists vmlinux");
    let field = |name: &str| -> u32 {
        let rest = &obj[obj.find(&format!("\"{name}\":")).unwrap() + name.len() + 3..];
        rest[..rest.find([',', '}']).unwrap()].parse().unwrap()
    };
    (field("id"), field("size"))
}

#[test]
fn btf_list_matches_bpftool_for_vmlinux() {
    if !bpfkit_testkit::privileged("btf_list_matches_bpftool_for_vmlinux") {
        return;
    }
    let Some(bpftool) =
        bpfkit_testkit::peer_tool("btf_list_matches_bpftool_for_vmlinux", "bpftool")
    else {
        return;
    };
    let (id, size) = bpftool_vmlinux(&bpftool);
    let list = btf_list().unwrap();
    let vmlinux = list
        .iter()
        .find(|e| e.name == "vmlinux")
        .expect("vmlinux listed");
    assert_eq!((vmlinux.id, vmlinux.size), (id, size));
    assert!(vmlinux.kernel_btf);
    assert!(btf_ids().unwrap().contains(&id));

    let data = btf_data(id).unwrap();
    assert_eq!(data.len(), size as usize);
    assert_eq!(data, std::fs::read("/sys/kernel/btf/vmlinux").unwrap());

    let fd = btf_fd_by_id(id).unwrap();
    let info = btf_info(fd.as_fd()).unwrap();
    assert_eq!(
        (info.id, info.name.as_str(), info.size),
        (id, "vmlinux", size)
    );
}

#[test]
fn map_ids_include_a_new_map_and_reopen_it() {
    if !bpfkit_testkit::privileged("map_ids_include_a_new_map_and_reopen_it") {
        return;
    }
    let map = map_create(MapType::ARRAY, 4, 4, 1, 0, "bpfkit_t_ids").unwrap();
    let id = bpfkit_sys::map_info(map.as_fd()).unwrap().id;
    assert!(bpfkit_sys::map_ids().unwrap().contains(&id));
    let again = bpfkit_sys::map_fd_by_id(id).unwrap();
    assert_eq!(
        bpfkit_sys::map_info(again.as_fd()).unwrap().name,
        "bpfkit_t_ids"
    );
    // ids are ascending and unique
    let ids = bpfkit_sys::map_ids().unwrap();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let err = bpfkit_sys::prog_fd_by_id(u32::MAX).unwrap_err();
    assert_eq!(err.errno(), Some(libc::ENOENT));
    assert_eq!(err.cmd, "BPF_PROG_GET_FD_BY_ID");
}

/// A loaded program owned by the test (closed, and so unloaded, on drop).
struct TestProg(std::os::fd::OwnedFd);

/// One eBPF instruction: opcode, dst/src registers, immediate.
fn insn(code: u8, regs: u8, imm: i32) -> [u8; 8] {
    let mut i = [code, regs, 0, 0, 0, 0, 0, 0];
    i[4..].copy_from_slice(&imm.to_le_bytes());
    i
}

/// `r0 = 0; exit`.
const RETURN_0: [[u8; 8]; 2] = [[0xb7, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]];

/// Loads a GPL program from raw instructions with raw bpf(2), so the
/// crate's info calls can be checked on programs we know everything about.
fn load_prog(prog_type: u32, insns: &[[u8; 8]], name: &str) -> TestProg {
    load_prog_with_btf(prog_type, insns, name, None)
}

/// Like [`load_prog`], optionally with BTF (fd, FUNC type id of the code).
fn load_prog_with_btf(
    prog_type: u32,
    insns: &[[u8; 8]],
    name: &str,
    btf: Option<(std::os::fd::BorrowedFd<'_>, u32)>,
) -> TestProg {
    use std::os::fd::{AsRawFd, FromRawFd};
    #[repr(C)]
    #[derive(Default)]
    struct ProgLoadAttr {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
        prog_btf_fd: u32,
        func_info_rec_size: u32,
        func_info: u64,
        func_info_cnt: u32,
        _rest: [u32; 15],
    }
    let code = insns.concat();
    let license = b"GPL\0";
    let mut prog_name = [0u8; 16];
    let cut = name.len().min(15);
    prog_name[..cut].copy_from_slice(&name.as_bytes()[..cut]);
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name,
        ..Default::default()
    };
    // bpf_func_info { insn_off 0, type_id }
    let func_info: [u32; 2] = [0, btf.map_or(0, |(_, t)| t)];
    if let Some((fd, _)) = btf {
        attr.prog_btf_fd = fd.as_raw_fd() as u32;
        attr.func_info_rec_size = 8;
        attr.func_info = func_info.as_ptr() as u64;
        attr.func_info_cnt = 1;
    }
    // SAFETY: attr points at live buffers of the sizes given.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, 5, &attr, size_of::<ProgLoadAttr>()) };
    assert!(
        fd >= 0,
        "BPF_PROG_LOAD: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh fd from the kernel.
    TestProg(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// A socket filter `r1 = map; r0 = 0; exit`.
fn load_prog_using(map: std::os::fd::BorrowedFd<'_>) -> TestProg {
    use std::os::fd::AsRawFd;
    // ld_imm64 r1 (src_reg 1 = BPF_PSEUDO_MAP_FD) takes two slots.
    let insns = [
        insn(0x18, 0x11, map.as_raw_fd()),
        insn(0, 0, 0),
        RETURN_0[0],
        RETURN_0[1],
    ];
    load_prog(1, &insns, "bpfkit_t_prog") // BPF_PROG_TYPE_SOCKET_FILTER
}

/// Runs the program once with BPF_PROG_TEST_RUN on a zeroed packet.
fn test_run(prog: &TestProg) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    #[derive(Default)]
    struct TestRunAttr {
        prog_fd: u32,
        retval: u32,
        data_size_in: u32,
        data_size_out: u32,
        data_in: u64,
        data_out: u64,
        repeat: u32,
        duration: u32,
        _rest: [u64; 10],
    }
    let packet = [0u8; 64];
    let attr = TestRunAttr {
        prog_fd: prog.0.as_raw_fd() as u32,
        data_size_in: packet.len() as u32,
        data_in: packet.as_ptr() as u64,
        repeat: 1,
        ..Default::default()
    };
    // SAFETY: attr points at a live input buffer; no output buffer.
    let r = unsafe { libc::syscall(libc::SYS_bpf, 10, &attr, size_of::<TestRunAttr>()) };
    assert_eq!(
        r,
        0,
        "BPF_PROG_TEST_RUN: {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn prog_info_of_a_loaded_program() {
    if !bpfkit_testkit::privileged("prog_info_of_a_loaded_program") {
        return;
    }
    let map = map_create(MapType::ARRAY, 4, 8, 1, 0, "bpfkit_t_used").unwrap();
    let map_id = bpfkit_sys::map_info(map.as_fd()).unwrap().id;
    let prog = load_prog_using(map.as_fd());
    let info = bpfkit_sys::prog_info(prog.0.as_fd()).unwrap();
    assert_eq!((info.prog_type, info.name.as_str()), (1, "bpfkit_t_prog"));
    assert_eq!(info.map_ids, vec![map_id]);
    assert_eq!(info.tag_hex().len(), 16);
    assert!(info.gpl_compatible);
    assert!(info.verified_insns >= 3, "{info:?}");
    assert!(info.load_time > 0);
    assert!(bpfkit_sys::prog_ids().unwrap().contains(&info.id));
    let again = bpfkit_sys::prog_fd_by_id(info.id).unwrap();
    assert_eq!(bpfkit_sys::prog_info(again.as_fd()).unwrap().tag, info.tag);

    // Run time accounting only happens while a stats fd is open.
    let stats = bpfkit_sys::enable_stats().unwrap();
    test_run(&prog);
    drop(stats);
    let info = bpfkit_sys::prog_info(prog.0.as_fd()).unwrap();
    assert!(info.run_cnt >= 1, "{info:?}");
}

#[test]
fn link_info_of_a_raw_tracepoint_link() {
    use std::os::fd::{AsRawFd, FromRawFd};
    if !bpfkit_testkit::privileged("link_info_of_a_raw_tracepoint_link") {
        return;
    }
    let prog = load_prog(17, &RETURN_0, "bpfkit_t_rawtp"); // BPF_PROG_TYPE_RAW_TRACEPOINT
    #[repr(C)]
    struct RawTpOpenAttr {
        name: u64,
        prog_fd: u32,
        _rest: [u32; 15],
    }
    let tp = b"sched_process_exec\0";
    let attr = RawTpOpenAttr {
        name: tp.as_ptr() as u64,
        prog_fd: prog.0.as_raw_fd() as u32,
        _rest: [0; 15],
    };
    // SAFETY: attr points at a live NUL-terminated name.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, 17, &attr, size_of::<RawTpOpenAttr>()) };
    assert!(
        fd >= 0,
        "BPF_RAW_TRACEPOINT_OPEN: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh fd; closing it detaches the link.
    let link = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };

    let prog_id = bpfkit_sys::prog_info(prog.0.as_fd()).unwrap().id;
    let info = bpfkit_sys::link_info(link.as_fd()).unwrap();
    assert_eq!((info.link_type, info.prog_id), (1, prog_id));
    assert_eq!(
        info.detail,
        bpfkit_sys::LinkDetail::RawTracepoint {
            tp_name: "sched_process_exec".into()
        }
    );
    assert!(bpfkit_sys::link_ids().unwrap().contains(&info.id));
    let again = bpfkit_sys::link_fd_by_id(info.id).unwrap();
    assert_eq!(bpfkit_sys::link_info(again.as_fd()).unwrap(), info);
}

/// perf_event_open(2) on CPU 0 for all tasks, from a 128-byte attr.
fn perf_event_open(attr: &[u64; 16]) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: attr is a zero-padded 128-byte perf_event_attr; any pointers
    // in it (uprobe path) are kept alive by the caller.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), -1, 0, -1, 8) // PERF_FLAG_FD_CLOEXEC
    };
    assert!(
        fd >= 0,
        "perf_event_open: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh fd from the kernel.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }
}

/// BPF_LINK_CREATE with attach type BPF_PERF_EVENT (41) and a cookie.
fn perf_link(prog: &TestProg, event: &std::os::fd::OwnedFd, cookie: u32) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    // prog_fd, target_fd, attach_type, flags, then perf_event.bpf_cookie.
    let mut attr = [0u32; 16];
    attr[0] = prog.0.as_raw_fd() as u32;
    attr[1] = event.as_raw_fd() as u32;
    attr[2] = 41;
    attr[4] = cookie;
    // SAFETY: attr is a zero-padded link_create attr.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, 28, attr.as_ptr(), 64) };
    assert!(
        fd >= 0,
        "BPF_LINK_CREATE: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh fd; closing it detaches the link.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }
}

#[test]
fn link_info_of_a_perf_event_link() {
    if !bpfkit_testkit::privileged("link_info_of_a_perf_event_link") {
        return;
    }
    let prog = load_prog(7, &RETURN_0, "bpfkit_t_perf"); // BPF_PROG_TYPE_PERF_EVENT
    // Context switches, created disabled. (Not the CPU clock: 6.x kernels
    // report that one under its own PMU type.)
    let mut attr = [0u64; 16];
    attr[0] = 1 | (128 << 32); // type PERF_TYPE_SOFTWARE, size 128
    attr[1] = 3; // config PERF_COUNT_SW_CONTEXT_SWITCHES
    attr[2] = 1_000_000_000; // sample_period
    attr[5] = 1; // flags: disabled
    let event = perf_event_open(&attr);
    let link = perf_link(&prog, &event, 0xc00c1e);
    let info = bpfkit_sys::link_info(link.as_fd()).unwrap();
    assert_eq!(info.link_type, 7);
    assert_eq!(
        info.detail,
        bpfkit_sys::LinkDetail::PerfEvent(bpfkit_sys::PerfEventLink::Event {
            event_type: 1, // PERF_TYPE_SOFTWARE
            config: 3,
            cookie: 0xc00c1e,
        })
    );
}

/// A uprobe on this test binary's entry point (never hit: nothing runs it
/// again) checks the name-buffer path of perf-event links.
#[test]
fn link_info_of_a_uprobe_link() {
    if !bpfkit_testkit::privileged("link_info_of_a_uprobe_link") {
        return;
    }
    let uprobe_type: u64 = std::fs::read_to_string("/sys/bus/event_source/devices/uprobe/type")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let exe = std::fs::canonicalize("/proc/self/exe").unwrap();
    let elf = std::fs::read(&exe).unwrap();
    let entry = u64::from_le_bytes(elf[0x18..0x20].try_into().unwrap());
    let path = std::ffi::CString::new(exe.to_str().unwrap()).unwrap();
    let prog = load_prog(2, &RETURN_0, "bpfkit_t_uprobe"); // BPF_PROG_TYPE_KPROBE
    let mut attr = [0u64; 16];
    attr[0] = uprobe_type | (128 << 32);
    attr[5] = 1; // disabled
    attr[7] = path.as_ptr() as u64; // config1: uprobe_path
    attr[8] = entry; // config2: probe offset (PIE: file offset == vaddr for .text)
    let event = perf_event_open(&attr);
    let link = perf_link(&prog, &event, 7);
    let info = bpfkit_sys::link_info(link.as_fd()).unwrap();
    assert_eq!(
        info.detail,
        bpfkit_sys::LinkDetail::PerfEvent(bpfkit_sys::PerfEventLink::Uprobe {
            file_name: exe.to_str().unwrap().to_string(),
            offset: entry as u32,
            cookie: 7,
            retprobe: false,
        })
    );
}

/// Loads raw BTF made of `types` (u32 words) and `strings` with BPF_BTF_LOAD.
fn load_btf(types: &[u32], strings: &[u8]) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let types: Vec<u8> = types.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut btf = vec![0x9f, 0xeb, 1, 0];
    for w in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        btf.extend_from_slice(&w.to_le_bytes());
    }
    btf.extend_from_slice(&types);
    btf.extend_from_slice(strings);
    // btf, btf_log_buf, btf_size, btf_log_size, btf_log_level, ...
    let mut attr = [0u64; 8];
    attr[0] = btf.as_ptr() as u64;
    attr[2] = btf.len() as u64;
    // SAFETY: attr points at the live BTF blob of the given size.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, 18, attr.as_ptr(), 64) };
    assert!(fd >= 0, "BPF_BTF_LOAD: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd from the kernel.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }
}

/// `[1] INT 'int' size=4 SIGNED 32 bits`, name at string offset 1.
const INT_TYPE: [u32; 4] = [1, 1 << 24, 4, (1 << 24) | 32];

/// A one-type BTF: `int`.
fn load_int_btf() -> std::os::fd::OwnedFd {
    load_btf(&INT_TYPE, b"\0int\0")
}

#[test]
fn btf_list_links_a_map_to_its_btf_like_bpftool() {
    use std::os::fd::{AsRawFd, FromRawFd};
    let test = "btf_list_links_a_map_to_its_btf_like_bpftool";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let btf = load_int_btf();
    let btf_id = btf_info(btf.as_fd()).unwrap().id;
    // BPF_MAP_CREATE: array int -> int described by BTF type 1.
    let mut attr = [0u32; 32];
    attr[..4].copy_from_slice(&[MapType::ARRAY, 4, 4, 1]);
    attr[7..11].copy_from_slice(&[
        u32::from_ne_bytes(*b"bpfk"),
        u32::from_ne_bytes(*b"it_t"),
        u32::from_ne_bytes(*b"_btf"),
        0,
    ]);
    attr[12] = btf.as_raw_fd() as u32; // btf_fd
    attr[13] = 1; // btf_key_type_id
    attr[14] = 1; // btf_value_type_id
    // SAFETY: a zero-padded map_create attr.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, 0, attr.as_ptr(), 128) };
    assert!(
        fd >= 0,
        "BPF_MAP_CREATE: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh fd from the kernel.
    let map = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
    let info = bpfkit_sys::map_info(map.as_fd()).unwrap();
    assert_eq!(info.name, "bpfkit_t_btf");
    assert_eq!(
        (info.btf_id, info.btf_key_type_id, info.btf_value_type_id),
        (btf_id, 1, 1)
    );

    let ours = btf_list().unwrap();
    let entry = ours
        .iter()
        .find(|e| e.id == btf_id)
        .expect("our BTF listed");
    assert_eq!(entry.map_ids, vec![info.id]);
    assert!(entry.prog_ids.is_empty() && !entry.kernel_btf && entry.name.is_empty());
    // bpftool prints the same line for it.
    let out = Command::new(&bpftool)
        .args(["btf", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{btf_id}: ")))
        .expect("bpftool lists our BTF");
    assert_eq!(
        line,
        format!(
            "{btf_id}: name <anon>  size {}B  map_ids {}",
            entry.size, info.id
        )
    );
    assert_eq!(btf_data(btf_id).unwrap().len(), entry.size as usize);
}

#[test]
fn prog_with_btf_is_listed_under_it_with_its_full_name() {
    let test = "prog_with_btf_is_listed_under_it_with_its_full_name";
    if !bpfkit_testkit::privileged(test) {
        return;
    }
    let Some(bpftool) = bpfkit_testkit::peer_tool(test, "bpftool") else {
        return;
    };
    let full_name = "bpfkit_test_prog_with_a_long_name";
    let strings = format!("\0int\0{full_name}\0");
    let types: Vec<u32> = INT_TYPE
        .iter()
        .copied()
        .chain([0, 13 << 24, 1]) // [2] FUNC_PROTO int (void)
        .chain([5, (12 << 24) | 1, 2]) // [3] FUNC global, proto [2]
        .collect();
    let btf = load_btf(&types, strings.as_bytes());
    let btf_id = btf_info(btf.as_fd()).unwrap().id;
    let prog = load_prog_with_btf(1, &RETURN_0, full_name, Some((btf.as_fd(), 3)));

    let info = bpfkit_sys::prog_info(prog.0.as_fd()).unwrap();
    assert_eq!((info.btf_id, info.func_type_id), (btf_id, 3));
    assert_eq!(info.name, &full_name[..15]);
    let entry = btf_list()
        .unwrap()
        .into_iter()
        .find(|e| e.id == btf_id)
        .unwrap();
    assert_eq!(entry.prog_ids, vec![info.id]);

    // bpftool shows the untruncated name, from the same BTF FUNC.
    let out = Command::new(&bpftool)
        .args(["prog", "show", "id", &info.id.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("name {full_name} ")), "{text}");
    assert!(text.contains(&format!("tag {} ", info.tag_hex())), "{text}");
    assert!(text.contains(&format!("btf_id {btf_id}")), "{text}");
}

/// The id of a tracefs event, mounting tracefs first if nobody has (as
/// bpfkit's runtime does; the mount is left in place).
fn tracepoint_id(category: &str, name: &str) -> u64 {
    let tracefs = std::path::Path::new("/sys/kernel/tracing");
    if !tracefs.join("events").exists() {
        let status = Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status()
            .unwrap();
        assert!(status.success(), "mounting tracefs failed");
    }
    let path = tracefs.join("events").join(category).join(name).join("id");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn link_info_of_a_tracepoint_link() {
    if !bpfkit_testkit::privileged("link_info_of_a_tracepoint_link") {
        return;
    }
    let id = tracepoint_id("syscalls", "sys_enter_getpid");
    let prog = load_prog(5, &RETURN_0, "bpfkit_t_tp"); // BPF_PROG_TYPE_TRACEPOINT
    let mut attr = [0u64; 16];
    attr[0] = 2 | (128 << 32); // type PERF_TYPE_TRACEPOINT, size 128
    attr[1] = id; // config: the tracepoint id
    attr[2] = 1; // sample_period
    attr[5] = 1; // flags: disabled
    let event = perf_event_open(&attr);
    let link = perf_link(&prog, &event, 42);
    let info = bpfkit_sys::link_info(link.as_fd()).unwrap();
    assert_eq!(
        info.detail,
        bpfkit_sys::LinkDetail::PerfEvent(bpfkit_sys::PerfEventLink::Tracepoint {
            tp_name: "sys_enter_getpid".into(),
            cookie: 42,
        })
    );
}
