//! Which processes hold which BPF objects: the task_file iterator
//! (`HolderScanner`) finds a program and a map that this test loads and
//! that a child it starts inherits, with their pids and comms, the same as
//! the /proc scan; and the iterator itself is unloaded afterwards.

mod common;

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command};

use bpfkit_runtime::HolderScanner;
use bpfkit_sys::{Holder, Holders};

/// `BPF_PROG_TYPE_SOCKET_FILTER`, `BPF_MAP_TYPE_ARRAY`.
const SOCKET_FILTER: u32 = 1;
const ARRAY: u32 = 2;

/// A child process (`sleep`) killed and reaped when dropped.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A copy of `fd` without close-on-exec, so a child inherits it.
fn inheritable(fd: &OwnedFd) -> OwnedFd {
    // SAFETY: dup of an open fd; the new fd is owned by the result.
    let raw = unsafe { libc::dup(fd.as_raw_fd()) };
    assert!(raw >= 0, "dup: {}", std::io::Error::last_os_error());
    // SAFETY: `raw` is a fresh fd nothing else owns.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

fn comm_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .expect("reading comm")
        .trim_end()
        .to_string()
}

fn holders_of(list: &std::collections::BTreeMap<u32, Vec<Holder>>, id: u32) -> Vec<Holder> {
    let mut holders = list.get(&id).cloned().unwrap_or_default();
    holders.sort();
    holders
}

#[test]
fn the_iterator_finds_each_holder_with_its_comm_like_the_proc_scan() {
    if !bpfkit_testkit::privileged(
        "the_iterator_finds_each_holder_with_its_comm_like_the_proc_scan",
    ) {
        return;
    }
    let prog = bpfkit_sys::probe::load_trivial_prog(SOCKET_FILTER, 0).expect("loading a program");
    let map = bpfkit_sys::map_create(ARRAY, 4, 8, 1, 0, "holders_test").expect("creating a map");
    let prog_id = bpfkit_sys::prog_info(prog.as_fd()).expect("prog info").id;
    let map_id = bpfkit_sys::map_info(map.as_fd()).expect("map info").id;
    // The child inherits copies of both fds (dup clears close-on-exec).
    let (prog_copy, map_copy) = (inheritable(&prog), inheritable(&map));
    let child = Sleeper(
        Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("starting sleep"),
    );
    drop((prog_copy, map_copy));
    let child_pid = child.0.id();
    // exec has happened once the child's comm is "sleep".
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while comm_of(child_pid) != "sleep" {
        assert!(std::time::Instant::now() < deadline, "sleep never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let me = std::process::id();
    let mut expected = vec![
        Holder {
            pid: me,
            comm: comm_of(me),
        },
        Holder {
            pid: child_pid,
            comm: "sleep".into(),
        },
    ];
    expected.sort();

    let mut scanner = HolderScanner::new();
    assert_eq!(scanner.fallback_reason(), None, "the iterator did not load");
    let iterator_id = scanner.program_id().expect("the iterator's program id");
    let by_iterator = scanner.scan();
    let by_proc = Holders::scan_proc();
    for (how, held) in [("iterator", &by_iterator), ("/proc", &by_proc)] {
        assert_eq!(holders_of(&held.progs, prog_id), expected, "{how}: program");
        assert_eq!(holders_of(&held.maps, map_id), expected, "{how}: map");
    }
    // A second run of the same iterator sees the child gone.
    drop(child);
    let again = scanner.scan();
    assert_eq!(
        holders_of(&again.progs, prog_id),
        [Holder {
            pid: me,
            comm: comm_of(me),
        }]
    );
    drop(scanner);
    common::assert_unloaded(&[iterator_id]);
}
