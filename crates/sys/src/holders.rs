//! Which processes hold which BPF objects. [`Holders::scan_proc`] reads
//! it from /proc: every `/proc/PID/fdinfo/FD` of a BPF fd names the object
//! (`prog_id:`, `map_id:`, `link_id:`). bpfkit-runtime's `holders` asks a
//! BPF iterator instead, in one pass, and falls back to this scan.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};

/// A process holding a BPF object through an fd.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Holder {
    pub pid: u32,
    pub comm: String,
}

/// Object ids held by processes, by kind; each id lists its holders once.
#[derive(Debug, Clone, Default)]
pub struct Holders {
    pub progs: BTreeMap<u32, Vec<Holder>>,
    pub maps: BTreeMap<u32, Vec<Holder>>,
    pub links: BTreeMap<u32, Vec<Holder>>,
}

/// The kind of BPF object an fd refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    Prog,
    Map,
    Link,
}

impl Holders {
    /// Records that `holder` holds object `id` of `kind` (once per holder).
    pub fn add(&mut self, kind: HolderKind, id: u32, holder: Holder) {
        let list = match kind {
            HolderKind::Prog => self.progs.entry(id).or_default(),
            HolderKind::Map => self.maps.entry(id).or_default(),
            HolderKind::Link => self.links.entry(id).or_default(),
        };
        if !list.contains(&holder) {
            list.push(holder);
        }
    }

    /// Reads every process's fdinfo. Processes that exit meanwhile, or
    /// whose fds we may not read, are skipped: the answer is best effort,
    /// like bpftool's `pids` column.
    pub fn scan_proc() -> Holders {
        let mut holders = Holders::default();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return holders;
        };
        for entry in procs.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            holders.scan_process(pid);
        }
        holders
    }

    fn scan_process(&mut self, pid: u32) {
        // One open of the fd directory per process; each fd's link is read
        // relative to it (readlinkat), without walking /proc/PID again.
        let Ok(mut fds) = FdDir::open(pid) else {
            return;
        };
        let mut comm: Option<String> = None;
        let mut target = [0u8; 64];
        while let Some(fd) = fds.next_name() {
            // One readlink tells a BPF fd from the rest; only those need
            // their fdinfo opened and read (4 syscalls each): most fds of a
            // system are files and sockets, and `prog list` scans them all.
            let is_bpf = match fds.read_link(&fd, &mut target) {
                Ok(target) => is_bpf_fd_target(&String::from_utf8_lossy(target)),
                // Access to a process's fds is decided per process (ptrace
                // rules): one refusal means every other fd is refused too.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return,
                Err(_) => false, // closed meanwhile
            };
            if !is_bpf {
                continue;
            }
            let fdinfo = format!("/proc/{pid}/fdinfo/{}", fd.to_string_lossy());
            let Ok(text) = std::fs::read_to_string(fdinfo) else {
                continue;
            };
            let Some((kind, id)) = bpf_object_of(&text) else {
                continue;
            };
            let comm = comm.get_or_insert_with(|| read_comm(pid)).clone();
            self.add(kind, id, Holder { pid, comm });
        }
    }
}

/// `/proc/PID/fd`, open: its entries, and their link targets read
/// relative to it.
struct FdDir {
    dir: std::ptr::NonNull<libc::DIR>,
}

impl FdDir {
    fn open(pid: u32) -> std::io::Result<FdDir> {
        let path = CString::new(format!("/proc/{pid}/fd")).map_err(std::io::Error::other)?;
        // SAFETY: path is NUL-terminated; a non-null DIR is closed on drop.
        let dir = unsafe { libc::opendir(path.as_ptr()) };
        std::ptr::NonNull::new(dir)
            .map(|dir| FdDir { dir })
            .ok_or_else(std::io::Error::last_os_error)
    }

    /// The next fd's name (`.` and `..` left out); `None` at the end (or
    /// on a read error: the scan is best effort).
    fn next_name(&mut self) -> Option<CString> {
        loop {
            // SAFETY: dir is open; the entry is copied before the next call.
            let entry = unsafe { libc::readdir(self.dir.as_ptr()) };
            if entry.is_null() {
                return None;
            }
            // SAFETY: d_name of a returned entry is NUL-terminated.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                return Some(name.to_owned());
            }
        }
    }

    /// The link target of fd `name`, cut to `buf`'s length (enough to
    /// tell `anon_inode:bpf...` from the rest).
    fn read_link<'b>(&self, name: &CStr, buf: &'b mut [u8]) -> std::io::Result<&'b [u8]> {
        // SAFETY: dir is open, name NUL-terminated, buf writable for its length.
        let n = unsafe {
            libc::readlinkat(
                libc::dirfd(self.dir.as_ptr()),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(&buf[..n as usize])
    }
}

impl Drop for FdDir {
    fn drop(&mut self) {
        // SAFETY: dir was opened by opendir and is closed once.
        unsafe { libc::closedir(self.dir.as_ptr()) };
    }
}

/// Whether an fd's link target (`/proc/PID/fd/N`) is a BPF object's anon
/// inode: `anon_inode:bpf-prog`, `anon_inode:bpf-map`, `anon_inode:bpf_link`.
fn is_bpf_fd_target(target: &str) -> bool {
    target.starts_with("anon_inode:bpf")
}

/// The BPF object an fdinfo text describes. A link's fdinfo also names
/// its program (`prog_id:`), so `link_id:` wins.
fn bpf_object_of(fdinfo: &str) -> Option<(HolderKind, u32)> {
    let mut found = None;
    for line in fdinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Ok(id) = value.trim().parse::<u32>() else {
            continue;
        };
        match key {
            "link_id" => return Some((HolderKind::Link, id)),
            "prog_id" => found = found.or(Some((HolderKind::Prog, id))),
            "map_id" => found = found.or(Some((HolderKind::Map, id))),
            _ => {}
        }
    }
    found
}

fn read_comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_fd_targets() {
        for bpf in [
            "anon_inode:bpf-prog",
            "anon_inode:bpf-map",
            "anon_inode:bpf_link",
        ] {
            assert!(is_bpf_fd_target(bpf), "{bpf}");
        }
        for other in [
            "/dev/null",
            "socket:[123]",
            "anon_inode:[eventpoll]",
            "pipe:[9]",
        ] {
            assert!(!is_bpf_fd_target(other), "{other}");
        }
    }

    #[test]
    fn fdinfo_kinds() {
        let link = "pos:\t0\nflags:\t02000002\nlink_type:\tperf\nlink_id:\t7\nprog_tag:\tab\nprog_id:\t42\n";
        assert!(matches!(bpf_object_of(link), Some((HolderKind::Link, 7))));
        let prog = "pos:\t0\nprog_type:\t5\nprog_id:\t42\n";
        assert!(matches!(bpf_object_of(prog), Some((HolderKind::Prog, 42))));
        let map = "map_type:\t1\nmap_id:\t9\n";
        assert!(matches!(bpf_object_of(map), Some((HolderKind::Map, 9))));
        assert!(bpf_object_of("pos:\t0\nflags:\t0\n").is_none());
    }
}
