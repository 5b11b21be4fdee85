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
