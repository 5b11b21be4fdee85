//! Typedef names that tell bpfkit how to show a field.
//!
//! `include/bpfkit.h` declares each of these as a C typedef. A BPF program
//! that declares `bpfkit_ipv4_t daddr;` in its event struct gets `10.0.0.1`
//! without bpfkit guessing from the field name; a typedef hint always wins
//! over the field-name rules in [`crate::semantic`].
//!
//! The underlying C type is given in each doc comment; bpfkit checks the
//! shape (size) and falls back to the plain number when it does not match.

/// `__u32`: IPv4 address as stored by the kernel (network byte order),
/// shown as `a.b.c.d`. `__u8[4]` works too.
pub const IPV4: &str = "bpfkit_ipv4_t";
/// `__u8[16]`: IPv6 address, shown in RFC 5952 text (`::1`, `fe80::1`).
pub const IPV6: &str = "bpfkit_ipv6_t";
/// `__u8[16]`: IPv4 or IPv6 address chosen by the struct's `family`/`af`
/// field (AF_INET=2 uses the first four bytes).
pub const IP_ADDR: &str = "bpfkit_ip_addr_t";
/// `__u16`: port in network byte order (as in `struct sock`'s `skc_dport`),
/// shown in host order.
pub const PORT: &str = "bpfkit_port_t";
/// `__u16`: port already in host byte order (as `skc_num`).
pub const PORT_HOST: &str = "bpfkit_port_host_t";
/// `__u16`: address family (AF_INET, AF_INET6, ...) shown by name.
pub const FAMILY: &str = "bpfkit_family_t";
/// `__u64`: a duration in nanoseconds; tables show human units (`1.25ms`),
/// JSON the raw number.
pub const DURATION_NS: &str = "bpfkit_duration_ns_t";
/// `__u64`: a duration in microseconds.
pub const DURATION_US: &str = "bpfkit_duration_us_t";
/// `__u64`: a duration in milliseconds.
pub const DURATION_MS: &str = "bpfkit_duration_ms_t";
/// `__s32`/`__s64`: a return value where negative numbers are `-errno`
/// (shown as `ENOENT`); non-negative values are shown as numbers.
pub const ERRNO: &str = "bpfkit_errno_t";
/// `__s32`: a signal number shown by name (`SIGKILL`).
pub const SIGNAL: &str = "bpfkit_signal_t";
/// `__s64`/`__u32`: an x86-64 system call number shown by name (`openat`).
pub const SYSCALL: &str = "bpfkit_syscall_t";
/// `__u64`: `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) shown as wall-clock time.
pub const KTIME: &str = "bpfkit_ktime_t";
/// `__u64`: `bpf_ktime_get_boot_ns()` (CLOCK_BOOTTIME) shown as wall-clock time.
pub const BOOT_NS: &str = "bpfkit_boot_ns_t";
/// `__u32`: a user id; tables show the user name when `/etc/passwd` has it.
pub const UID: &str = "bpfkit_uid_t";
/// `__u32`: a process or thread id.
pub const PID: &str = "bpfkit_pid_t";
/// `char[16]`: a task command name.
pub const COMM: &str = "bpfkit_comm_t";
/// `__u32[N]`/`__u64[N]`: log2 histogram slots (`slots[i]` counts values
/// in `[2^i, 2^(i+1))`), printed like bcc's `print_log2_hist`.
pub const HIST_SLOTS: &str = "bpfkit_hist_slots_t";
/// `__u32[N]`/`__u64[N]`: linear histogram slots (`slots[i]` counts
/// value `i`), printed like libbpf-tools' `print_linear_hist`.
pub const LINEAR_SLOTS: &str = "bpfkit_linear_slots_t";
/// `__u64`: a kernel or user address shown in hex.
pub const HEX: &str = "bpfkit_hex_t";
/// `char[N]` holding NUL-separated strings (argv), shown space-separated.
pub const ARGV: &str = "bpfkit_argv_t";

/// Every hint with its one-line meaning, for `include/bpfkit.h` generation
/// and `--help` texts.
pub const ALL: &[(&str, &str)] = &[
    (IPV4, "__u32 IPv4 address, network byte order"),
    (IPV6, "__u8[16] IPv6 address"),
    (
        IP_ADDR,
        "__u8[16] IPv4/IPv6 address chosen by the family/af field",
    ),
    (PORT, "__u16 port, network byte order"),
    (PORT_HOST, "__u16 port, host byte order"),
    (FAMILY, "__u16 address family"),
    (DURATION_NS, "__u64 duration in nanoseconds"),
    (DURATION_US, "__u64 duration in microseconds"),
    (DURATION_MS, "__u64 duration in milliseconds"),
    (ERRNO, "__s64 return value, negative = -errno"),
    (SIGNAL, "__s32 signal number"),
    (SYSCALL, "__s64 x86-64 syscall number"),
    (KTIME, "__u64 bpf_ktime_get_ns() timestamp"),
    (BOOT_NS, "__u64 bpf_ktime_get_boot_ns() timestamp"),
    (UID, "__u32 user id"),
    (PID, "__u32 process/thread id"),
    (COMM, "char[16] task command name"),
    (HIST_SLOTS, "__u32/__u64 array of log2 histogram slots"),
    (LINEAR_SLOTS, "__u32/__u64 array of linear histogram slots"),
    (HEX, "__u64 shown in hexadecimal"),
    (ARGV, "char[N] NUL-separated argument list"),
];
