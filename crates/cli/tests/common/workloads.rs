//! Workloads the tool tests cause: busy threads, loopback TCP traffic,
//! direct reads of a loop device of the test's own.

use super::TempDir;
use super::tool::{ToolOutput, ToolRun};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

/// Runs a command to its successful end; its pid.
pub fn run_ok(cmd: &mut Command) -> u32 {
    let mut child = cmd.spawn().expect("spawning a workload command");
    let status = child.wait().expect("waiting for it");
    assert!(status.success(), "{cmd:?}: {status}");
    child.id()
}

/// Threads named `bkbusy` spinning until dropped: more of them than CPUs
/// keeps run queues non-empty and makes each of them wait its turn.
pub struct BusyThreads {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub tids: Vec<u32>,
}

pub const BUSY_COMM: &str = "bkbusy";

impl BusyThreads {
    /// One more spinner than there are CPUs.
    pub fn start() -> BusyThreads {
        let n = thread::available_parallelism().map_or(1, |n| n.get()) + 1;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let threads = (0..n)
            .map(|_| {
                let (stop, tx) = (stop.clone(), tx.clone());
                thread::Builder::new()
                    .name(BUSY_COMM.into())
                    .spawn(move || {
                        // SAFETY: gettid has no preconditions.
                        let _ = tx.send(unsafe { libc::gettid() } as u32);
                        while !stop.load(Ordering::Relaxed) {
                            std::hint::spin_loop();
                        }
                    })
                    .expect("spawning a busy thread")
            })
            .collect();
        let tids = rx.iter().take(n).collect();
        BusyThreads {
            stop,
            threads,
            tids,
        }
    }
}

impl Drop for BusyThreads {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Loopback TCP traffic: NET_RX softirqs on the receiving side.
pub fn loopback_traffic() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listening");
    let addr = listener.local_addr().expect("listener address");
    for _ in 0..3 {
        let mut client = std::net::TcpStream::connect(addr).expect("connecting");
        let (mut server, _) = listener.accept().expect("accepting");
        client.write_all(&[b'x'; 8192]).expect("sending");
        drop(client);
        let mut got = Vec::new();
        server.read_to_end(&mut got).expect("receiving");
        assert_eq!(got.len(), 8192);
    }
}

/// A loop device over a scratch file, detached on drop (also on failure).
pub struct LoopDevice {
    dev: String,
    _backing: TempDir,
}

/// Sectors of 512 bytes in one read.
pub const READ_SECTORS: u64 = 8;

impl LoopDevice {
    pub fn create() -> LoopDevice {
        let backing = TempDir::new("backing");
        let file = backing.path().join("disk.img");
        std::fs::File::create(&file)
            .and_then(|f| f.set_len(4 << 20))
            .expect("creating the backing file");
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&file)
            .output()
            .expect("running losetup");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(dev.starts_with("/dev/loop"), "losetup printed {dev}");
        LoopDevice {
            dev,
            _backing: backing,
        }
    }

    /// The disk name tools show (`loop3`).
    pub fn name(&self) -> &str {
        self.dev.trim_start_matches("/dev/")
    }

    /// `n` reads of 4 KiB from the start with O_DIRECT: each is one request
    /// that reaches the block layer. The pid of dd.
    pub fn direct_reads(&self, n: usize) -> u32 {
        run_ok(Command::new("dd").args([
            &format!("if={}", self.dev),
            "of=/dev/null",
            "bs=4096",
            &format!("count={n}"),
            "iflag=direct",
            "status=none",
        ]))
    }

    /// `bpfkit TOOL -d DISK ARGS...` over `n` direct reads of this device:
    /// what it printed, and the pid of the dd that read.
    pub fn watch_reads(&self, tool: &str, args: &[&str], n: usize) -> (ToolOutput, u32) {
        let run = ToolRun::start(tool, &[&["-d", self.name()][..], args].concat());
        let dd = self.direct_reads(n);
        (run.stop(), dd)
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

/// `sleep 60` in a process group of its own (its pid is the group's id),
/// killed on drop: a target for signals.
pub struct SignalTarget(std::process::Child);

impl SignalTarget {
    pub fn new() -> SignalTarget {
        use std::os::unix::process::CommandExt;
        SignalTarget(
            Command::new("sleep")
                .arg("60")
                .process_group(0)
                .spawn()
                .expect("spawning sleep"),
        )
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for SignalTarget {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// kill(2) that must succeed: `target` is a pid of ours or, negative, the
/// group of one. SIGWINCH is ignored by default: the target lives on.
pub fn send_signal(target: i32, sig: i32) {
    // SAFETY: kill(2) has no memory preconditions.
    assert_eq!(
        unsafe { libc::kill(target, sig) },
        0,
        "kill({target}, {sig})"
    );
}

/// rt_sigqueueinfo(2) of `sig` to `pid` with `si_errno` set: the
/// signal_generate tracepoint's `errno` field.
pub fn queue_with_errno(pid: i32, sig: i32, errno: i32) {
    // SAFETY: an all-zero siginfo_t is valid; the fields set are plain ints.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = sig;
    info.si_errno = errno;
    // Another process may only be sent negative (user) codes.
    info.si_code = libc::SI_QUEUE;
    // SAFETY: the syscall only reads `info`, which outlives it.
    let rc = unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, pid, sig, &info) };
    assert_eq!(
        rc,
        0,
        "rt_sigqueueinfo: {}",
        std::io::Error::last_os_error()
    );
}

/// A loopback TCP connection to `listener` echoing 100 bytes 20 times
/// (RTT samples on both ends), then closed by both.
pub fn tcp_exchange(listener: &std::net::TcpListener) {
    use std::io::{Read, Write};
    let addr = listener.local_addr().expect("listener address");
    let mut client = std::net::TcpStream::connect(addr).expect("connecting");
    let (mut server, _) = listener.accept().expect("accepting");
    let mut buf = [b'x'; 100];
    for _ in 0..20 {
        client.write_all(&buf).expect("sending");
        server.read_exact(&mut buf).expect("receiving");
        server.write_all(&buf).expect("echoing");
        client.read_exact(&mut buf).expect("receiving the echo");
    }
}

/// A listening socket on 127.0.0.1:PORT with this listen() backlog
/// (std's TcpListener always asks for 128); SO_REUSEADDR set as std does.
pub fn listen_with_backlog(port: u16, backlog: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: socket(2) has no memory preconditions; the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: valid pointers and lengths for setsockopt/bind/listen.
    let ok = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of_val(&one) as libc::socklen_t,
        ) == 0
            && libc::bind(
                fd,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of_val(&addr) as libc::socklen_t,
            ) == 0
            && libc::listen(fd, backlog) == 0
    };
    assert!(
        ok,
        "listening on port {port}: {}",
        std::io::Error::last_os_error()
    );
    owned
}

/// Gives up root in the calling thread only (setresuid to nobody by the
/// raw syscall: libc's setresuid changes every thread) and asks for a
/// lower nice value: a capability check (CAP_SYS_NICE) that is denied.
/// Lower than the thread's own: a shell already at nice -1 would make a
/// fixed -1 no change, which the kernel allows without asking.
pub fn lower_nice_as_nobody() {
    let nobody: libc::uid_t = 65534;
    // SAFETY: raw setresuid/getpriority/setpriority on the calling thread only.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let lower = (libc::getpriority(libc::PRIO_PROCESS, tid) - 1).max(-20);
        assert_eq!(
            libc::syscall(libc::SYS_setresuid, nobody, nobody, nobody),
            0,
            "setresuid: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(libc::setpriority(libc::PRIO_PROCESS, tid, lower), -1);
    }
}

/// Resolves "localhost" with libc's getaddrinfo (gethostlatency's hook).
pub fn resolve_localhost() {
    let node = c"localhost";
    let mut found: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: a NUL-terminated name, no hints, an out pointer freed below.
    let rc = unsafe {
        libc::getaddrinfo(
            node.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            &mut found,
        )
    };
    assert_eq!(rc, 0, "getaddrinfo(localhost) failed: {rc}");
    // SAFETY: the list getaddrinfo returned.
    unsafe { libc::freeaddrinfo(found) };
}

/// A file system's name in /proc/filesystems for the few whose magic
/// numbers the fs tools' tests need to know (`statfs(2)`'s `f_type`).
pub fn fs_type(path: &std::path::Path) -> Option<&'static str> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs fills the zeroed struct; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    match st.f_type as u64 {
        0xEF53 => Some("ext4"),
        0x5846_5342 => Some("xfs"),
        0x9123_683E => Some("btrfs"),
        _ => None,
    }
}

/// A file named after a marker in a scratch directory on disk (cargo's
/// target tmpdir: `$TMPDIR` may be tmpfs), written and read by this
/// process: open, two writes of [`FileOps::CHUNK`] bytes, fsync; open, one
/// read of [`FileOps::READ`] bytes.
pub struct FileOps {
    dir: TempDir,
    pub name: String,
}

impl FileOps {
    pub const CHUNK: usize = 1 << 20;
    pub const READ: usize = 100;

    pub fn new(name: &str) -> FileOps {
        let dir = TempDir::under(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), "fsops");
        FileOps {
            dir,
            name: name.to_string(),
        }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join(&self.name)
    }

    /// The file system the file is on, when it is one the tests know.
    pub fn fs(&self) -> Option<&'static str> {
        fs_type(self.dir.path())
    }

    pub fn run(&self) {
        use std::io::{Read, Write};
        let path = self.path();
        let mut file = std::fs::File::create(&path).expect("creating the fs ops file");
        let chunk = vec![0x5a_u8; Self::CHUNK];
        file.write_all(&chunk).expect("writing");
        file.write_all(&chunk).expect("writing");
        file.sync_all().expect("fsync");
        drop(file);
        let mut buf = [0u8; Self::READ];
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_exact(&mut buf))
            .expect("reading the fs ops file back");
    }

    /// Writes `bytes` bytes to the file, syncs them and drops them from the
    /// page cache: the next read of each page is a miss.
    pub fn write_uncached(&self, bytes: usize) {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let mut file = std::fs::File::create(self.path()).expect("creating the file");
        file.write_all(&vec![0xa5_u8; bytes]).expect("writing");
        file.sync_all().expect("fsync");
        // SAFETY: advice on our own open fd.
        let err = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(err, 0, "posix_fadvise DONTNEED");
    }

    /// Writes `pages` pages, syncs them, drops them from the page cache and
    /// reads them twice: at least `pages` misses, then `pages` hits.
    pub fn cache_misses_then_hits(&self, pages: usize) {
        use std::io::Read;
        let path = self.path();
        self.write_uncached(pages * 4096);
        for _ in 0..2 {
            let mut data = Vec::new();
            std::fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut data))
                .expect("reading the cache file");
            assert_eq!(data.len(), pages * 4096);
        }
    }
}

/// The comm of [`contend_rename_mutex`]'s threads.
pub const LOCK_COMM: &str = "bklock";

/// Threads named [`LOCK_COMM`] (two per CPU and one) each moving a file of
/// its own back and forth between two directories: a rename across
/// directories takes the file system's rename mutex
/// (`s_vfs_rename_mutex`), so they wait for each other in the kernel
/// (lock:contention_*).
pub fn contend_rename_mutex(renames: usize) {
    let dir = TempDir::under(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), "lock");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).expect("mkdir");
    std::fs::create_dir(&b).expect("mkdir");
    let n = 2 * thread::available_parallelism().map_or(1, |n| n.get()) + 1;
    let movers: Vec<_> = (0..n)
        .map(|i| {
            let (from, to) = (a.join(i.to_string()), b.join(i.to_string()));
            std::fs::write(&from, b"x").expect("creating a file to move");
            thread::Builder::new()
                .name(LOCK_COMM.into())
                .spawn(move || {
                    for _ in 0..renames {
                        std::fs::rename(&from, &to).expect("rename");
                        std::fs::rename(&to, &from).expect("rename back");
                    }
                })
                .expect("spawning a mover")
        })
        .collect();
    for m in movers {
        m.join().expect("mover");
    }
}
