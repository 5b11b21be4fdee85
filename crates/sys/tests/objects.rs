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

/// Loads a socket filter `r1 = map; r0 = 0; exit` with raw bpf(2), so the
/// crate's info calls can be checked on a program we know everything about.
fn load_prog_using(map: std::os::fd::BorrowedFd<'_>) -> TestProg {
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
        _rest: [u64; 12],
    }
    let insn = |code: u8, regs: u8, imm: i32| -> [u8; 8] {
        let mut i = [code, regs, 0, 0, 0, 0, 0, 0];
        i[4..].copy_from_slice(&imm.to_le_bytes());
        i
    };
    // ld_imm64 r1 (src_reg 1 = BPF_PSEUDO_MAP_FD) takes two slots.
    let insns: Vec<u8> = [
        insn(0x18, 0x11, map.as_raw_fd()),
        insn(0, 0, 0),
        insn(0xb7, 0, 0),
        insn(0x95, 0, 0),
    ]
    .concat();
    let license = b"GPL\0";
    let mut name = [0u8; 16];
    name[..13].copy_from_slice(b"bpfkit_t_prog");
    let attr = ProgLoadAttr {
        prog_type: 1, // BPF_PROG_TYPE_SOCKET_FILTER
        insn_cnt: 4,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
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
