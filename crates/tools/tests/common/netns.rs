//! Two scratch network namespaces joined by a veth pair, with link-local
//! addresses, for the TCP and packet tools. Everything lives inside the
//! namespaces, so deleting them (on drop, also when a test fails) removes
//! the veth pair and whatever was attached to it.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;

/// Namespaces `a` and `b`; `veth_a` in `a` has `addr_a`, `veth_b` in `b`
/// has `addr_b`, both in 169.254.N.0/24.
pub struct NetPair {
    pub a: String,
    pub b: String,
    pub veth_a: String,
    pub veth_b: String,
    pub addr_a: Ipv4Addr,
    pub addr_b: Ipv4Addr,
    /// An address on the link that nobody has (for unanswered SYNs).
    pub nobody: Ipv4Addr,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl NetPair {
    /// Creates the pair; `tag` keeps concurrent tests apart.
    pub fn new(tag: &str) -> NetPair {
        let id = std::process::id();
        // A /24 per test process and tag, inside 169.254.0.0/16.
        let subnet = (id as usize + tag.bytes().map(usize::from).sum::<usize>()) % 250 + 1;
        let pair = NetPair {
            a: format!("bpfkit-{tag}-{id}-a"),
            b: format!("bpfkit-{tag}-{id}-b"),
            veth_a: format!("bk{}a{}", &tag[..tag.len().min(4)], id % 100_000),
            veth_b: format!("bk{}b{}", &tag[..tag.len().min(4)], id % 100_000),
            addr_a: Ipv4Addr::new(169, 254, subnet as u8, 1),
            addr_b: Ipv4Addr::new(169, 254, subnet as u8, 2),
            nobody: Ipv4Addr::new(169, 254, subnet as u8, 9),
        };
        // `pair` already deletes whatever of it exists when a step fails.
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        ip(&[
            "link",
            "add",
            &pair.veth_a,
            "netns",
            &pair.a,
            "type",
            "veth",
            "peer",
            "name",
            &pair.veth_b,
            "netns",
            &pair.b,
        ]);
        for (ns, dev, addr) in [
            (&pair.a, &pair.veth_a, pair.addr_a),
            (&pair.b, &pair.veth_b, pair.addr_b),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// Runs `f` to its end on a thread that has entered namespace `ns`
    /// (sockets it creates stay in that namespace; interface names are
    /// looked up there).
    pub fn run<T: Send>(&self, ns: &str, f: impl FnOnce() -> T + Send) -> T {
        let file = self.open(ns);
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    enter(&file);
                    f()
                })
                .join()
                .expect("thread in the namespace")
        })
    }

    fn open(&self, ns: &str) -> std::fs::File {
        let path = format!("/run/netns/{ns}");
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Runs `f` on a thread that has entered namespace `ns`: sockets it
    /// creates belong to that namespace.
    pub fn within<T: Send + 'static>(
        &self,
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let file = self.open(ns);
        std::thread::spawn(move || {
            enter(&file);
            f()
        })
    }
}

/// Moves the calling thread into the network namespace `file` is.
fn enter(file: &std::fs::File) {
    // SAFETY: setns on a valid namespace fd; only this thread moves.
    let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
