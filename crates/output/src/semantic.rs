//! What a field means, and how that meaning is written.
//!
//! [`choose`] picks a [`Render`] for one struct member from, in order:
//! 1. a bpfkit typedef hint in the member's typedef chain ([`crate::hints`]);
//! 2. field-name rules for plain libbpf programs (below);
//! 3. the plain value.
//!
//! A rule only applies when the member has a fitting shape (an IPv4 rule
//! needs 4 bytes, an errno rule a signed integer...), so a surprising name
//! never garbles a value.
//!
//! Field-name rules (names compared in lower case):
//! - `pid` `tid` `ppid` `tgid` `*_pid` → [`Render::Pid`]; `uid` `*_uid` → [`Render::Uid`].
//! - `comm` `task` `pcomm` `*comm` (char arrays) → [`Render::Comm`];
//!   `args` `argv` (char arrays) → [`Render::Argv`] (NULs shown as spaces).
//! - `ts` `timestamp` `*_ts` `ts_*` `time_ns` ... → [`Render::Timestamp`] on
//!   CLOCK_MONOTONIC (`bpf_ktime_get_ns`), or CLOCK_BOOTTIME when the name
//!   contains `boot`; unit from a `_ns`/`_us`/`_ms` suffix, default ns.
//! - `ret` `retval` `err` `errno` `error` `*_ret` `*_err` (signed) → [`Render::Errno`].
//! - `sig` `signal` `signo` `*_sig` → [`Render::Signal`].
//! - `syscall` `syscall_id` `syscall_nr` `sysno` `sys_nr`, and `id`/`nr` in a
//!   struct whose name contains `sys` → [`Render::Syscall`].
//! - `saddr` `daddr` `addr` `*addr` `*_v4` `*_v6` `*_ip`: 4 bytes → IPv4, 16 bytes
//!   → IPv6, or IPv4-or-IPv6 by the struct's `af`/`family` field. An
//!   8-byte `*addr` is a memory address → [`Render::Hex`].
//! - `*port` (2 bytes): host byte order, unless the member's type says
//!   network order (`__be16`, as the kernel declares `skc_dport` and
//!   `inet_sport`). Names alone cannot tell: libbpf-tools' tcplife and
//!   tcpstates convert in BPF, tcpconnect does not; a program can always say
//!   what it means with `bpfkit_port_t` (network) / `bpfkit_port_host_t`.
//! - `af` `family` `sa_family` `*_family` → [`Render::Family`].
//! - `*_ns` `*_us` `*_ms` `delta*` `lat*` `duration*` `elapsed*` → [`Render::Duration`]
//!   (unit from the suffix, default ns).
//! - `slots` (integer arrays) → [`Render::Log2Hist`].
//!
//! JSON keeps raw numbers for everything numeric (errno, signal, syscall,
//! durations, timestamps, uid) so scripts can compute; IP addresses become
//! strings (their raw integer is meaningless) and ports host-order numbers.

use crate::{hints, names};
use std::io::Write as _;

/// Units of durations and timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Ns,
    Us,
    Ms,
    S,
}

impl TimeUnit {
    pub fn nanos(self) -> u128 {
        match self {
            TimeUnit::Ns => 1,
            TimeUnit::Us => 1_000,
            TimeUnit::Ms => 1_000_000,
            TimeUnit::S => 1_000_000_000,
        }
    }

    /// The histogram label libbpf-tools uses for this unit.
    pub fn hist_label(self) -> &'static str {
        match self {
            TimeUnit::Ns => "nsecs",
            TimeUnit::Us => "usecs",
            TimeUnit::Ms => "msecs",
            TimeUnit::S => "secs",
        }
    }
}

pub use crate::clock::KernelClock;

/// How one field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// As decoded: numbers, strings, arrays.
    Plain,
    Pid,
    /// A command name (a string column 16 wide).
    Comm,
    /// NUL-separated strings (argv) shown space-separated.
    Argv,
    /// User id, shown with its user name when known and enabled.
    Uid,
    /// Negative values are `-errno`: shown as the errno name.
    Errno,
    Signal,
    Syscall,
    /// 4 bytes as stored by the kernel (network order) → `a.b.c.d`.
    Ipv4,
    /// 16 bytes → IPv6 text.
    Ipv6,
    /// 16 bytes, IPv4 (first 4 bytes) or IPv6 by the struct's family field.
    IpByFamily,
    /// A 16-bit port; `network` when stored in network byte order.
    Port {
        network: bool,
    },
    /// Address family number → `AF_INET`...
    Family,
    Duration(TimeUnit),
    Timestamp {
        clock: KernelClock,
        unit: TimeUnit,
    },
    Hex,
    /// Log2 histogram slots.
    Log2Hist,
    /// Linear histogram slots.
    LinearHist,
    /// An errno by name whatever its sign (`2` and `-2` → `ENOENT`), 0 as 0.
    ErrnoName,
    /// Octal with a leading 0 (open flags, modes).
    Octal,
    /// The value as an index into a table of names (else the number).
    Names(&'static [&'static str]),
    /// value / divisor with `decimals` decimals (`AGE(s)`: 1e9, 2).
    Scaled {
        divisor: u64,
        decimals: u8,
    },
    /// A kernel `dev_t` (major << 20 | minor) as its disk name (`vda`).
    Disk,
}

/// The shape of a member, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Int {
        size: usize,
        signed: bool,
    },
    CharArray {
        len: usize,
    },
    /// `__u8[len]` (or any one-byte non-char integer array).
    Bytes {
        len: usize,
    },
    /// An array of wider integers (`__u32 addr[4]`, `__u64 slots[26]`).
    IntArray {
        elem_size: usize,
        len: usize,
    },
    Other,
}

impl Shape {
    /// Size in bytes, for the shapes that have a fixed one.
    pub fn byte_len(self) -> Option<usize> {
        match self {
            Shape::Int { size, .. } => Some(size),
            Shape::CharArray { len } | Shape::Bytes { len } => Some(len),
            Shape::IntArray { elem_size, len } => Some(elem_size * len),
            Shape::Other => None,
        }
    }

    fn is_int(self) -> bool {
        matches!(self, Shape::Int { .. })
    }

    fn is_signed_int(self) -> bool {
        matches!(self, Shape::Int { signed: true, .. })
    }

    fn is_text(self) -> bool {
        matches!(self, Shape::CharArray { .. })
    }
}

/// Everything [`choose`] looks at for one member.
#[derive(Debug, Clone, Copy)]
pub struct FieldContext<'a> {
    /// Name of the struct the member belongs to (`""` if anonymous).
    pub struct_name: &'a str,
    pub member: &'a str,
    /// Typedef names of the member's type, outermost first.
    pub typedefs: &'a [&'a str],
    pub shape: Shape,
    /// The struct has an address-family member (`af`, `family`...).
    pub has_family: bool,
}

/// Picks how a member is shown (see the module documentation).
pub fn choose(ctx: &FieldContext) -> Render {
    if let Some(r) = ctx.typedefs.iter().find_map(|t| by_typedef(t, ctx.shape)) {
        return r;
    }
    by_name(ctx).unwrap_or(Render::Plain)
}

fn by_typedef(name: &str, shape: Shape) -> Option<Render> {
    let len = shape.byte_len();
    let r = match name {
        hints::IPV4 => Render::Ipv4,
        hints::IPV6 => Render::Ipv6,
        hints::IP_ADDR => Render::IpByFamily,
        hints::PORT => Render::Port { network: true },
        hints::PORT_HOST => Render::Port { network: false },
        hints::FAMILY => Render::Family,
        hints::DURATION_NS => Render::Duration(TimeUnit::Ns),
        hints::DURATION_US => Render::Duration(TimeUnit::Us),
        hints::DURATION_MS => Render::Duration(TimeUnit::Ms),
        hints::ERRNO => Render::Errno,
        hints::SIGNAL => Render::Signal,
        hints::SYSCALL => Render::Syscall,
        hints::KTIME => timestamp(KernelClock::Monotonic, TimeUnit::Ns),
        hints::BOOT_NS => timestamp(KernelClock::Boot, TimeUnit::Ns),
        hints::UID => Render::Uid,
        hints::PID => Render::Pid,
        hints::COMM => Render::Comm,
        hints::HIST_SLOTS => Render::Log2Hist,
        hints::LINEAR_SLOTS => Render::LinearHist,
        hints::HEX => Render::Hex,
        hints::ARGV => Render::Argv,
        _ => return None,
    };
    fits(r, shape, len).then_some(r)
}

fn timestamp(clock: KernelClock, unit: TimeUnit) -> Render {
    Render::Timestamp { clock, unit }
}

/// Whether a render can show a value of this shape.
pub fn fits(r: Render, shape: Shape, len: Option<usize>) -> bool {
    match r {
        Render::Plain => true,
        Render::Comm | Render::Argv => shape.is_text(),
        Render::Ipv4 => len == Some(4) && !shape.is_text(),
        Render::Ipv6 | Render::IpByFamily => len == Some(16) && !shape.is_text(),
        Render::Port { .. } => {
            shape
                == Shape::Int {
                    size: 2,
                    signed: false,
                }
                || shape
                    == Shape::Int {
                        size: 2,
                        signed: true,
                    }
        }
        Render::Errno => shape.is_signed_int(),
        Render::Log2Hist | Render::LinearHist => {
            matches!(shape, Shape::IntArray { .. } | Shape::Bytes { .. })
        }
        _ => shape.is_int(),
    }
}

fn unit_suffix(name: &str) -> Option<TimeUnit> {
    [
        ("_ns", TimeUnit::Ns),
        ("_nsec", TimeUnit::Ns),
        ("_nsecs", TimeUnit::Ns),
        ("_us", TimeUnit::Us),
        ("_usec", TimeUnit::Us),
        ("_usecs", TimeUnit::Us),
        ("_ms", TimeUnit::Ms),
        ("_msec", TimeUnit::Ms),
        ("_msecs", TimeUnit::Ms),
    ]
    .iter()
    .find(|(s, _)| name.ends_with(s))
    .map(|&(_, u)| u)
}

fn by_name(ctx: &FieldContext) -> Option<Render> {
    let name = ctx.member.to_ascii_lowercase();
    let n = name.as_str();
    let shape = ctx.shape;
    let candidates = name_candidates(n, ctx);
    candidates
        .into_iter()
        .find(|&r| fits(r, shape, shape.byte_len()))
}

/// Every render the name suggests, most specific first; the first one that
/// fits the shape wins.
fn name_candidates(n: &str, ctx: &FieldContext) -> Vec<Render> {
    let mut out = Vec::new();
    let ends = |s: &str| n.ends_with(s);
    if matches!(n, "comm" | "task" | "pcomm") || ends("comm") {
        out.push(Render::Comm);
    }
    if matches!(n, "args" | "argv") {
        out.push(Render::Argv);
    }
    if matches!(n, "pid" | "tid" | "ppid" | "tgid") || ends("_pid") || ends("_tid") {
        out.push(Render::Pid);
    }
    if n == "uid" || ends("_uid") {
        out.push(Render::Uid);
    }
    if is_timestamp_name(n) {
        let clock = if n.contains("boot") {
            KernelClock::Boot
        } else {
            KernelClock::Monotonic
        };
        out.push(timestamp(clock, unit_suffix(n).unwrap_or(TimeUnit::Ns)));
    }
    if matches!(n, "ret" | "retval" | "err" | "errno" | "error" | "rc")
        || ends("_ret")
        || ends("_err")
    {
        out.push(Render::Errno);
    }
    if matches!(n, "sig" | "signal" | "signo" | "signum") || ends("_sig") {
        out.push(Render::Signal);
    }
    let syscall_ctx = ctx.struct_name.to_ascii_lowercase().contains("sys");
    if matches!(
        n,
        "syscall" | "syscall_id" | "syscall_nr" | "sysno" | "sys_nr" | "syscall_no"
    ) || (syscall_ctx && matches!(n, "id" | "nr"))
    {
        out.push(Render::Syscall);
    }
    if is_address_name(n) {
        if ends("_v6") || ends("6") {
            out.push(Render::Ipv6);
        }
        out.push(Render::Ipv4);
        out.push(if ctx.has_family {
            Render::IpByFamily
        } else {
            Render::Ipv6
        });
        if ends("addr") {
            out.push(Render::Hex);
        }
    }
    if ends("port") || ends("port_host") || ends("port_h") {
        let host = names_host_order(n);
        let network = ctx.typedefs.contains(&NETWORK_ORDER_U16);
        out.push(Render::Port {
            network: network && !host,
        });
    }
    if is_family_name(n) {
        out.push(Render::Family);
    }
    if let Some(unit) = duration_unit(n) {
        out.push(Render::Duration(unit));
    }
    if n == "slots" || ends("_slots") {
        out.push(Render::Log2Hist);
    }
    out
}

/// A port member whose byte order neither a bpfkit hint typedef nor its
/// name fixes: the program's data flow may show that it holds network
/// order (see `FormatOptions::network_order_offsets`).
pub fn port_order_open(member: &str, typedefs: &[&str]) -> bool {
    let hinted = typedefs
        .iter()
        .any(|t| matches!(*t, hints::PORT | hints::PORT_HOST));
    !hinted && !names_host_order(&member.to_ascii_lowercase())
}

/// `lport`, `*_host`, `*_h`: names that say host byte order.
fn names_host_order(n: &str) -> bool {
    n == "lport" || n.ends_with("_host") || n.ends_with("_h")
}

/// The kernel's type for 16-bit values in network byte order.
const NETWORK_ORDER_U16: &str = "__be16";

fn is_timestamp_name(n: &str) -> bool {
    matches!(n, "ts" | "timestamp" | "time_ns" | "ktime" | "boot_ns")
        || n.ends_with("_ts")
        || n.starts_with("ts_")
        || n.starts_with("timestamp_")
}

fn is_address_name(n: &str) -> bool {
    matches!(n, "saddr" | "daddr" | "addr" | "src" | "dst" | "ip")
        || n.ends_with("addr")
        || n.ends_with("_v4")
        || n.ends_with("_v6")
        || n.ends_with("_ip")
        || n.ends_with("addr4")
        || n.ends_with("addr6")
}

/// Address family member names, also used to find the family of a struct.
pub fn is_family_name(n: &str) -> bool {
    matches!(n, "af" | "family" | "sa_family" | "ip_family") || n.ends_with("_family")
}

fn duration_unit(n: &str) -> Option<TimeUnit> {
    let prefixed = ["delta", "lat", "duration", "elapsed", "runtime"]
        .iter()
        .any(|p| n.starts_with(p));
    match unit_suffix(n) {
        Some(u) => Some(u),
        None if prefixed => Some(TimeUnit::Ns),
        None => None,
    }
}

/// The name of an address family (AF_INET...).
pub fn family_name(af: u64) -> Option<&'static str> {
    Some(match af {
        0 => "AF_UNSPEC",
        1 => "AF_UNIX",
        2 => "AF_INET",
        10 => "AF_INET6",
        16 => "AF_NETLINK",
        17 => "AF_PACKET",
        40 => "AF_VSOCK",
        44 => "AF_XDP",
        _ => return None,
    })
}

pub const AF_INET: u64 = 2;
pub const AF_INET6: u64 = 10;

/// `a.b.c.d` of the four bytes as they lie in memory (network order).
pub fn write_ipv4(out: &mut Vec<u8>, b: [u8; 4]) {
    for (i, octet) in b.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(itoa::Buffer::new().format(*octet).as_bytes());
    }
}

/// RFC 5952 text of sixteen bytes in network order.
pub fn write_ipv6(out: &mut Vec<u8>, b: [u8; 16]) {
    let _ = write!(out, "{}", std::net::Ipv6Addr::from(b));
}

/// An address of a family-tagged struct: IPv4 from the first four bytes for
/// AF_INET; IPv6 for AF_INET6; without a known family, IPv4 when the other
/// twelve bytes are zero.
pub fn write_ip_by_family(out: &mut Vec<u8>, b: [u8; 16], family: Option<u64>) {
    let v4 = match family {
        Some(AF_INET) => true,
        Some(AF_INET6) => false,
        _ => b[4..].iter().all(|&x| x == 0),
    };
    if v4 {
        write_ipv4(out, [b[0], b[1], b[2], b[3]]);
    } else {
        write_ipv6(out, b);
    }
}

/// A duration in human units: `850ns`, `12.34us`, `4.56ms`, `1.23s`.
pub fn write_duration(out: &mut Vec<u8>, value: u128, unit: TimeUnit) {
    let ns = value.saturating_mul(unit.nanos());
    let (scale, suffix) = match ns {
        0..1_000 => (1, "ns"),
        1_000..1_000_000 => (1_000, "us"),
        1_000_000..1_000_000_000 => (1_000_000, "ms"),
        _ => (1_000_000_000, "s"),
    };
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(ns / scale).as_bytes());
    if scale > 1 {
        let hundredths = ns % scale * 100 / scale;
        out.push(b'.');
        out.push(b'0' + (hundredths / 10) as u8);
        out.push(b'0' + (hundredths % 10) as u8);
    }
    out.extend_from_slice(suffix.as_bytes());
}

/// `value / divisor` with `decimals` decimals, computed in integers so
/// that large counters do not lose precision.
pub fn write_scaled(out: &mut Vec<u8>, value: i128, divisor: u64, decimals: u8) {
    let divisor = divisor.max(1) as i128;
    let decimals = decimals.min(9) as u32;
    let scale = 10i128.pow(decimals);
    let scaled = (value.unsigned_abs() as i128 * scale + divisor / 2) / divisor;
    if value < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(scaled / scale).as_bytes());
    if decimals > 0 {
        out.push(b'.');
        // Below 10^decimals <= 10^9, so it fits a u32.
        crate::clock::write_zero_padded(out, (scaled % scale) as u32, decimals);
    }
}

/// execsnoop's argument list: the first `count` NUL-terminated strings of
/// `args` (at most `size` bytes), separated by spaces; with `quote` each
/// one in `"..."` with inner quotes escaped; `truncated` (the program hit
/// its argument limit) appends ` ...`.
pub fn write_arg_list(
    out: &mut Vec<u8>,
    args: &[u8],
    size: usize,
    count: usize,
    quote: bool,
    truncated: bool,
) {
    let mut done = 0;
    if quote && count > 0 {
        out.push(b'"');
    }
    for &c in args.iter().take(size) {
        if done >= count {
            break;
        }
        match c {
            0 => {
                done += 1;
                if quote {
                    out.push(b'"');
                }
                out.push(b' ');
                if quote && done < count {
                    out.push(b'"');
                }
            }
            b'"' if quote => out.extend_from_slice(b"\\\""),
            // A newline or ESC in an argument must not split the row or
            // reach the terminal as a control sequence.
            c if c < 0x20 || c == 0x7f => push_escaped_byte(out, c),
            c => out.push(c),
        }
    }
    if truncated {
        out.extend_from_slice(b" ...");
    }
}

/// One byte as `\xNN`: how table text shows bytes a terminal should not get.
pub(crate) fn push_escaped_byte(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(b"\\x");
    crate::json::push_hex_byte(out, b);
}

/// A return value: `-ENOENT`-style values by name, others as numbers.
pub fn write_errno(out: &mut Vec<u8>, v: i128) {
    match i64::try_from(-v)
        .ok()
        .filter(|_| v < 0)
        .and_then(names::errno_name)
    {
        Some(name) => {
            out.push(b'-');
            out.extend_from_slice(name.as_bytes());
        }
        None => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
    }
}

/// A number by its name from `lookup`, else the number.
pub fn write_named(
    out: &mut Vec<u8>,
    v: i128,
    lookup: impl Fn(i64) -> Option<std::borrow::Cow<'static, str>>,
) {
    match i64::try_from(v).ok().and_then(lookup) {
        Some(name) => out.extend_from_slice(name.as_bytes()),
        None => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_arguments_are_escaped() {
        let args = b"echo\0a\nb\0\x1b[2J\0";
        let mut out = Vec::new();
        write_arg_list(&mut out, args, args.len(), 3, false, false);
        assert_eq!(String::from_utf8_lossy(&out), "echo a\\x0ab \\x1b[2J ");
    }

    fn ctx<'a>(member: &'a str, typedefs: &'a [&'a str], shape: Shape) -> FieldContext<'a> {
        FieldContext {
            struct_name: "event",
            member,
            typedefs,
            shape,
            has_family: false,
        }
    }

    const U32: Shape = Shape::Int {
        size: 4,
        signed: false,
    };
    const I32: Shape = Shape::Int {
        size: 4,
        signed: true,
    };
    const U64: Shape = Shape::Int {
        size: 8,
        signed: false,
    };
    const U16: Shape = Shape::Int {
        size: 2,
        signed: false,
    };

    #[test]
    fn name_rules() {
        let r = |m: &str, s: Shape| choose(&ctx(m, &[], s));
        assert_eq!(r("pid", U32), Render::Pid);
        assert_eq!(r("ppid", I32), Render::Pid);
        assert_eq!(r("comm", Shape::CharArray { len: 16 }), Render::Comm);
        assert_eq!(r("comm", U32), Render::Plain);
        assert_eq!(r("ret", I32), Render::Errno);
        assert_eq!(r("ret", U32), Render::Plain, "unsigned ret is not an errno");
        assert_eq!(r("sig", I32), Render::Signal);
        assert_eq!(r("saddr", U32), Render::Ipv4);
        assert_eq!(r("daddr", Shape::Bytes { len: 16 }), Render::Ipv6);
        assert_eq!(
            r(
                "daddr_v6",
                Shape::IntArray {
                    elem_size: 4,
                    len: 4
                }
            ),
            Render::Ipv6
        );
        assert_eq!(r("addr", U64), Render::Hex);
        // A name alone means host order (tcplife, tcpstates); __be16 says
        // network order.
        assert_eq!(r("dport", U16), Render::Port { network: false });
        assert_eq!(
            choose(&ctx("dport", &["__be16"], U16)),
            Render::Port { network: true }
        );
        assert_eq!(
            choose(&ctx("lport", &["__be16"], U16)),
            Render::Port { network: false }
        );
        assert_eq!(r("lport", U16), Render::Port { network: false });
        assert_eq!(r("sport_host", U16), Render::Port { network: false });
        assert_eq!(r("delta_us", U64), Render::Duration(TimeUnit::Us));
        assert_eq!(r("latency", U64), Render::Duration(TimeUnit::Ns));
        assert_eq!(r("duration_ms", U64), Render::Duration(TimeUnit::Ms));
        assert_eq!(
            r("ts", U64),
            timestamp(KernelClock::Monotonic, TimeUnit::Ns)
        );
        assert_eq!(
            r("ts_us", U64),
            timestamp(KernelClock::Monotonic, TimeUnit::Us)
        );
        assert_eq!(
            r("start_ts", U64),
            timestamp(KernelClock::Monotonic, TimeUnit::Ns)
        );
        assert_eq!(
            r("boot_ns", U64),
            timestamp(KernelClock::Boot, TimeUnit::Ns)
        );
        assert_eq!(r("syscall_id", U32), Render::Syscall);
        assert_eq!(r("id", U32), Render::Plain, "id outside a syscall struct");
        assert_eq!(r("af", U16), Render::Family);
        assert_eq!(
            r(
                "slots",
                Shape::IntArray {
                    elem_size: 4,
                    len: 26
                }
            ),
            Render::Log2Hist
        );
        assert_eq!(r("uid", U32), Render::Uid);
        assert_eq!(r("args", Shape::CharArray { len: 128 }), Render::Argv);
        let mut c = ctx("id", &[], U64);
        c.struct_name = "syscall_event";
        assert_eq!(choose(&c), Render::Syscall);
        let mut c = ctx("saddr", &[], Shape::Bytes { len: 16 });
        c.has_family = true;
        assert_eq!(choose(&c), Render::IpByFamily);
    }

    #[test]
    fn typedef_hints_win_over_names() {
        let hinted = ["bpfkit_duration_us_t", "__u64"];
        assert_eq!(
            choose(&ctx("pid", &hinted, U64)),
            Render::Duration(TimeUnit::Us)
        );
        assert_eq!(choose(&ctx("x", &[hints::IPV4], U32)), Render::Ipv4);
        assert_eq!(
            choose(&ctx("sport", &[hints::PORT_HOST], U16)),
            Render::Port { network: false }
        );
        assert_eq!(choose(&ctx("x", &[hints::ERRNO], I32)), Render::Errno);
        // A hint whose shape does not fit is ignored.
        assert_eq!(choose(&ctx("x", &[hints::IPV6], U32)), Render::Plain);
    }

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ip_text() {
        // 10.1.2.3 stored by the kernel in network order is the u32
        // 0x0302010a read little-endian.
        let raw = 0x0302_010au32.to_le_bytes();
        assert_eq!(text(|o| write_ipv4(o, raw)), "10.1.2.3");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(text(|o| write_ipv6(o, v6)), "::1");
        let fe80: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42];
        assert_eq!(text(|o| write_ipv6(o, fe80)), "fe80::42");
        let mut mixed = [0u8; 16];
        mixed[..4].copy_from_slice(&[192, 168, 0, 1]);
        assert_eq!(
            text(|o| write_ip_by_family(o, mixed, Some(AF_INET))),
            "192.168.0.1"
        );
        assert_eq!(text(|o| write_ip_by_family(o, mixed, None)), "192.168.0.1");
        assert_eq!(
            text(|o| write_ip_by_family(o, mixed, Some(AF_INET6))),
            "c0a8:1::"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(text(|o| write_duration(o, 850, TimeUnit::Ns)), "850ns");
        assert_eq!(text(|o| write_duration(o, 12_345, TimeUnit::Ns)), "12.34us");
        assert_eq!(text(|o| write_duration(o, 4_560, TimeUnit::Us)), "4.56ms");
        assert_eq!(text(|o| write_duration(o, 1_230, TimeUnit::Ms)), "1.23s");
        assert_eq!(text(|o| write_duration(o, 5, TimeUnit::Us)), "5.00us");
        assert_eq!(text(|o| write_duration(o, 0, TimeUnit::Ns)), "0ns");
    }

    #[test]
    fn arg_lists_like_execsnoop() {
        let args = b"ls\0-l\0a \"b\"\0junk";
        assert_eq!(
            text(|o| write_arg_list(o, args, 13, 3, false, false)),
            "ls -l a \"b\" "
        );
        assert_eq!(
            text(|o| write_arg_list(o, args, 13, 3, true, false)),
            r#""ls" "-l" "a \"b\"" "#
        );
        assert_eq!(
            text(|o| write_arg_list(o, args, 13, 2, false, true)),
            "ls -l  ..."
        );
        assert_eq!(
            text(|o| write_arg_list(o, args, 4, 3, false, false)),
            "ls -"
        );
    }

    #[test]
    fn scaled_numbers() {
        assert_eq!(
            text(|o| write_scaled(o, 1_234_567_890, 1_000_000_000, 2)),
            "1.23"
        );
        assert_eq!(text(|o| write_scaled(o, 1_005, 1_000, 2)), "1.01");
        assert_eq!(text(|o| write_scaled(o, 5, 1, 0)), "5");
        assert_eq!(text(|o| write_scaled(o, -1_500, 1_000, 1)), "-1.5");
        assert_eq!(text(|o| write_scaled(o, 7, 1_000, 3)), "0.007");
    }

    #[test]
    fn errno_and_signal_text() {
        assert_eq!(text(|o| write_errno(o, -2)), "-ENOENT");
        assert_eq!(text(|o| write_errno(o, -13)), "-EACCES");
        assert_eq!(text(|o| write_errno(o, 3)), "3");
        assert_eq!(text(|o| write_errno(o, -9999)), "-9999");
        assert_eq!(text(|o| write_named(o, 9, names::signal_name)), "SIGKILL");
        assert_eq!(text(|o| write_named(o, 99, names::signal_name)), "99");
    }
}
