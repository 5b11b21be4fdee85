//! Which capabilities this process has, to explain an `EPERM`.

use std::fmt;

/// The capabilities that BPF loading and attaching can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    NetAdmin,
    SysAdmin,
    Perfmon,
    Bpf,
}

impl Capability {
    fn bit(self) -> u32 {
        match self {
            Capability::NetAdmin => 12,
            Capability::SysAdmin => 21,
            Capability::Perfmon => 38,
            Capability::Bpf => 39,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::NetAdmin => "CAP_NET_ADMIN",
            Capability::SysAdmin => "CAP_SYS_ADMIN",
            Capability::Perfmon => "CAP_PERFMON",
            Capability::Bpf => "CAP_BPF",
        })
    }
}

/// The effective capability set (`CapEff` of `/proc/self/status`).
fn effective() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Of `needed`, the capabilities this process lacks. CAP_SYS_ADMIN stands in
/// for CAP_BPF and CAP_PERFMON (as on kernels before 5.8).
pub fn missing(needed: &[Capability]) -> Vec<Capability> {
    effective().map_or_else(Vec::new, |eff| missing_from(eff, needed))
}

fn missing_from(eff: u64, needed: &[Capability]) -> Vec<Capability> {
    let has = |c: Capability| eff & (1u64 << c.bit()) != 0;
    needed
        .iter()
        .copied()
        .filter(|&c| {
            let covered_by_admin =
                matches!(c, Capability::Bpf | Capability::Perfmon) && has(Capability::SysAdmin);
            !has(c) && !covered_by_admin
        })
        .collect()
}

/// A sentence on why the kernel said `EPERM` to something that needs `needed`.
pub fn explain_eperm(needed: &[Capability]) -> String {
    explain_lacking(&missing(needed))
}

fn explain_lacking(lacking: &[Capability]) -> String {
    if lacking.is_empty() {
        return "permission denied although this process has the needed capabilities \
                (check kernel.unprivileged_bpf_disabled, kernel lockdown, or whether this \
                kernel allows this program type at all)"
            .to_string();
    }
    let names: Vec<String> = lacking.iter().map(ToString::to_string).collect();
    format!(
        "permission denied: this process lacks {} (run as root, or grant it with \
         `setcap {}+ep <binary>`)",
        names.join(", "),
        lacking
            .iter()
            .map(|c| c.to_string().to_lowercase())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// The verifier log line that says a program was refused only for want of
/// privilege: without CAP_PERFMON the verifier forbids pointer arithmetic
/// on packet pointers, pointer comparisons and pointer leaks that it
/// accepts from a privileged loader (`... prohibited for !root`).
pub fn unprivileged_verifier_refusal(log: &str) -> Option<&str> {
    const MARKERS: [&str; 3] = ["for !root", "pointer comparison prohibited", "leaks addr"];
    let line = log
        .lines()
        .find(|l| MARKERS.iter().any(|m| l.contains(m)))?;
    missing(&[Capability::Perfmon])
        .contains(&Capability::Perfmon)
        .then_some(line.trim())
}

/// Why this process cannot see the kernel's tracepoints, when the reason is
/// permission: tracefs is root's alone (mode 0700), so to anyone else every
/// tracepoint looks missing.
pub fn tracefs_denied() -> Option<String> {
    let dir = crate::features::TRACEFS;
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(format!(
            "permission denied reading {dir} (tracefs, where tracepoints are found, \
             is readable by root only): run as root"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_something_either_way() {
        let msg = explain_eperm(&[Capability::Bpf, Capability::NetAdmin]);
        assert!(msg.starts_with("permission denied"), "{msg}");
    }

    #[test]
    fn names_the_missing_capabilities() {
        let needed = [Capability::Bpf, Capability::Perfmon, Capability::NetAdmin];
        let bit = |c: Capability| 1u64 << c.bit();
        assert_eq!(missing_from(0, &needed), needed);
        // CAP_SYS_ADMIN covers CAP_BPF and CAP_PERFMON, not CAP_NET_ADMIN.
        assert_eq!(
            missing_from(bit(Capability::SysAdmin), &needed),
            [Capability::NetAdmin]
        );
        assert!(
            missing_from(
                bit(Capability::Bpf) | bit(Capability::Perfmon),
                &needed[..2]
            )
            .is_empty()
        );
        let msg = explain_lacking(&[Capability::Bpf, Capability::Perfmon]);
        assert!(msg.contains("lacks CAP_BPF, CAP_PERFMON"), "{msg}");
        assert!(msg.contains("setcap cap_bpf,cap_perfmon+ep"), "{msg}");
    }
}
