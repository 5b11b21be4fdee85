//! cgroup_skb programs attach to a cgroup v2 directory and see the packets
//! of its sockets. This VM may have only cgroup v1 mounted: the test mounts
//! cgroup v2 (the same single hierarchy) where it is missing.

mod common;

use std::ffi::CString;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bpfkit_runtime::{LoadOptions, Session};
use common::{TempDir, assert_unloaded, build, global_u64, setup};

/// A UDP payload size no other traffic is likely to have.
const PAYLOAD: usize = 1237;
/// Its IP packet: IPv4 and UDP headers in front.
const PACKET_LEN: u32 = (20 + 8 + PAYLOAD) as u32;

/// A cgroup v2 mount of its own, unmounted on drop.
struct Cgroup2 {
    dir: TempDir,
}

impl Cgroup2 {
    fn mount() -> Cgroup2 {
        let dir = TempDir::new("cgroup2");
        let path = CString::new(dir.path().as_os_str().as_encoded_bytes()).expect("path");
        let fs = CString::new("cgroup2").expect("fs name");
        // SAFETY: mount(2) with valid C strings and no data.
        let rc =
            unsafe { libc::mount(fs.as_ptr(), path.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
        assert_eq!(rc, 0, "mount cgroup2: {}", std::io::Error::last_os_error());
        Cgroup2 { dir }
    }
}

impl Drop for Cgroup2 {
    fn drop(&mut self) {
        let path = CString::new(self.dir.path().as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: umount2(2) of the mount made above.
        unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    }
}

#[test]
fn cgroup_skb_programs_count_the_cgroups_packets() {
    let Some(clang) = setup("cgroup_skb_programs_count_the_cgroups_packets") else {
        return;
    };
    let object = build(&clang, "cgroup_skb");
    let cgroup = Cgroup2::mount();
    let mut opts = LoadOptions {
        cgroup: Some(cgroup.dir.path().to_string_lossy().into_owned()),
        ..LoadOptions::default()
    };
    opts.params
        .insert("target_len".into(), PACKET_LEN.to_ne_bytes().to_vec());
    let session = Session::load(&object, &opts).expect("load");
    let hooks: Vec<&str> = session
        .attachments()
        .iter()
        .map(|a| a.hook.as_str())
        .collect();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert!(hooks[0].starts_with("cgroup_skb egress on "), "{hooks:?}");
    assert!(hooks[1].starts_with("cgroup_skb ingress on "), "{hooks:?}");

    let socket = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    let to = socket.local_addr().expect("address");
    let payload = vec![0u8; PAYLOAD];
    let deadline = Instant::now() + Duration::from_secs(20);
    let sent = 5;
    for _ in 0..sent {
        socket.send_to(&payload, to).expect("send");
    }
    while global_u64(&session, "ingress_packets") < sent {
        assert!(
            Instant::now() < deadline,
            "ingress packets were not counted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Exactly ours: the programs see every socket of the (root) cgroup.
    assert_eq!(global_u64(&session, "egress_packets"), sent);
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);
}
