//! The running kernel's answers for [`crate::externs::resolve`], gathered
//! as libbpf does: the version from the release string (Ubuntu's and
//! Debian's real version where they report another), `CONFIG_*` from
//! `/proc/config.gz` or `/boot/config-$(uname -r)`, symbol addresses from
//! `/proc/kallsyms`, and kfunc / typed `__ksym` ids from the kernel BTF.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use bpfkit_btf::kind_no;
use bpfkit_btf::view::BtfView;

use crate::Object;
use crate::externs::{Extern, ExternKind, ExternValues, KconfigType};

/// Where libbpf looks for the kernel config, in order (the second with the
/// release appended).
const PROC_CONFIG: &str = "/proc/config.gz";
const BOOT_CONFIG: &str = "/boot/config-";

/// What the running kernel defines, for the externs one object uses.
#[derive(Debug)]
pub struct KernelFacts {
    /// `KERNEL_VERSION(a, b, c)`.
    pub version: u32,
    /// `CONFIG_*` values as written in the config file (`y`, `m`, `"str"`,
    /// `42`), or why the file could not be read.
    config: Result<HashMap<String, String>, String>,
    addresses: HashMap<String, u64>,
    /// Kernel BTF ids of FUNCs and VARs by name.
    funcs: HashMap<String, u32>,
    vars: HashMap<String, u32>,
    has_syscall_wrapper: bool,
}

impl KernelFacts {
    /// Reads what `object`'s externs need (the config file only for
    /// `CONFIG_*` ones, kallsyms only for typeless ksyms and the syscall
    /// wrapper, BTF only for kfuncs and typed ksyms).
    pub fn gather<D: AsRef<[u8]>>(object: &Object, kernel_btf: Option<&BtfView<D>>) -> KernelFacts {
        let release = read_trimmed("/proc/sys/kernel/osrelease");
        let version_text = read_trimmed("/proc/sys/kernel/version");
        let signature = std::fs::read_to_string("/proc/version_signature").ok();
        let names = |pred: fn(&Extern) -> bool| -> HashSet<&str> {
            object
                .externs
                .iter()
                .filter(|e| pred(e))
                .map(|e| e.name.as_str())
                .collect()
        };
        let wants_config = object.externs.iter().any(|e| e.name.starts_with("CONFIG_"));
        let mut wanted_symbols = names(|e| matches!(e.kind, ExternKind::KsymVar { typed: false }));
        let wrapper = syscall_wrapper_symbol();
        let wants_wrapper = object
            .externs
            .iter()
            .any(|e| e.name == "LINUX_HAS_SYSCALL_WRAPPER");
        if wants_wrapper {
            wanted_symbols.extend(wrapper);
        }
        let addresses = if wanted_symbols.is_empty() {
            HashMap::new()
        } else {
            kallsyms(&wanted_symbols)
        };
        let wanted_ids = names(|e| {
            matches!(
                e.kind,
                ExternKind::Kfunc | ExternKind::KsymVar { typed: true }
            )
        });
        let (funcs, vars) = match kernel_btf {
            Some(view) if !wanted_ids.is_empty() => btf_ids(view, &wanted_ids),
            _ => Default::default(),
        };
        KernelFacts {
            version: kernel_version(&release, &version_text, signature.as_deref()),
            config: if wants_config {
                read_config(&release)
            } else {
                Ok(HashMap::new())
            },
            has_syscall_wrapper: wrapper.is_some_and(|w| addresses.contains_key(w)),
            addresses,
            funcs,
            vars,
        }
    }

    /// The raw text of a `LINUX_*` or `CONFIG_*` value.
    fn value_text(&self, name: &str) -> Result<Option<String>, String> {
        let yes_no = |b: bool| Some(if b { "y" } else { "n" }.to_string());
        Ok(match name {
            "LINUX_KERNEL_VERSION" => Some(self.version.to_string()),
            "LINUX_HAS_SYSCALL_WRAPPER" => yes_no(self.has_syscall_wrapper),
            // bpf_get_attach_cookie() came with Linux 5.15.
            "LINUX_HAS_BPF_COOKIE" => yes_no(self.version >= kernel_version_code(5, 15, 0)),
            n if n.starts_with("CONFIG_") => match &self.config {
                Ok(config) => config.get(n).cloned(),
                Err(why) => return Err(why.clone()),
            },
            _ => None,
        })
    }
}

impl ExternValues for KernelFacts {
    fn kconfig(&self, e: &Extern, ty: KconfigType, size: u32) -> Result<Option<Vec<u8>>, String> {
        let text = match self.value_text(&e.name) {
            Ok(text) => text,
            // No config file: a weak CONFIG_ extern is 0, a strong one an error.
            Err(_) if e.weak => None,
            Err(why) => return Err(why),
        };
        text.map(|t| kconfig_bytes(&t, ty, size)).transpose()
    }

    fn btf_id(&self, name: &str, func: bool) -> Option<u32> {
        let ids = if func { &self.funcs } else { &self.vars };
        ids.get(name).copied()
    }

    fn address(&self, name: &str) -> Option<u64> {
        self.addresses.get(name).copied()
    }
}

/// libbpf's `KERNEL_VERSION(a, b, c)`: the patch level saturates at 255.
pub fn kernel_version_code(major: u32, minor: u32, patch: u32) -> u32 {
    (major << 16) + (minor << 8) + patch.min(255)
}

/// The version of the running kernel: Ubuntu's `/proc/version_signature`
/// (`Ubuntu 5.15.0-91.101-generic 5.15.131`) and Debian's version string
/// (`... Debian 4.19.98-1 ...`) name the upstream release their own
/// release string hides; otherwise the release (`6.18.44-fc`).
pub fn kernel_version(release: &str, version: &str, ubuntu_signature: Option<&str>) -> u32 {
    let from_signature = ubuntu_signature.and_then(|s| s.split_whitespace().nth(2));
    let from_debian = version
        .split_once("Debian ")
        .and_then(|(_, rest)| rest.split_whitespace().next());
    [from_signature, from_debian, Some(release)]
        .into_iter()
        .flatten()
        .find_map(parse_version)
        .unwrap_or(0)
}

/// `a.b.c` at the start of `text` (anything may follow `c`).
fn parse_version(text: &str) -> Option<u32> {
    let mut parts = text.splitn(3, '.');
    let number = |s: &str| -> Option<u32> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let major = number(parts.next()?)?;
    let minor = number(parts.next()?)?;
    let patch = number(parts.next()?)?;
    Some(kernel_version_code(major, minor, patch))
}

/// The value of a `.kconfig` extern of type `ty` (`size` bytes) for the
/// config text `value`, with libbpf's rules: `y`/`n`/`m` only for bool
/// (not `m`), char and tristate; numbers for integers that hold them;
/// quoted strings for `char[N]` (cut to N-1 bytes).
pub fn kconfig_bytes(value: &str, ty: KconfigType, size: u32) -> Result<Vec<u8>, String> {
    let tri = match value {
        "y" => Some(b'y'),
        "n" => Some(b'n'),
        "m" => Some(b'm'),
        _ => None,
    };
    match (ty, tri) {
        (KconfigType::Bool, Some(b'm')) => Err("value 'm' does not fit a bool".into()),
        (KconfigType::Bool, Some(c)) => Ok(vec![u8::from(c == b'y')]),
        (KconfigType::Char, Some(c)) => Ok(vec![c]),
        (KconfigType::Tristate, Some(c)) => {
            let v: u32 = match c {
                b'y' => 1,
                b'm' => 2,
                _ => 0,
            };
            Ok(v.to_le_bytes().to_vec())
        }
        (KconfigType::Int { signed }, None) => int_bytes(value, signed, size),
        (KconfigType::CharArray, None) => {
            let inner = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| format!("value {value} is not a quoted string"))?;
            let mut bytes: Vec<u8> = inner
                .bytes()
                .take(size.saturating_sub(1) as usize)
                .collect();
            bytes.resize(size as usize, 0);
            Ok(bytes)
        }
        (KconfigType::Unsupported, _) => Err("unsupported C type for a .kconfig extern".into()),
        _ => Err(format!("value '{value}' does not fit its C type {ty:?}")),
    }
}

fn int_bytes(value: &str, signed: bool, size: u32) -> Result<Vec<u8>, String> {
    let bad = || format!("value '{value}' is not a number");
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad())?,
        None => digits.parse::<u64>().map_err(|_| bad())?,
    };
    let number = if negative {
        (magnitude as i64).wrapping_neg() as u64
    } else {
        magnitude
    };
    let bits = size * 8;
    let fits = match (bits, signed, negative) {
        (64, _, _) => true,
        (_, false, false) => magnitude >> bits == 0,
        (_, true, _) => {
            let v = number as i64;
            v >= -(1i64 << (bits - 1)) && v < (1i64 << (bits - 1))
        }
        (_, false, true) => false,
    };
    if !fits {
        return Err(format!("value '{value}' does not fit in {size} bytes"));
    }
    Ok(number.to_le_bytes()[..size as usize].to_vec())
}

/// `CONFIG_X=value` lines of the kernel config (`# CONFIG_X is not set`
/// lines leave X missing, as in libbpf).
fn read_config(release: &str) -> Result<HashMap<String, String>, String> {
    let boot = format!("{BOOT_CONFIG}{release}");
    let text = match std::fs::File::open(PROC_CONFIG) {
        Ok(f) => {
            let mut text = String::new();
            flate2::read::GzDecoder::new(f)
                .read_to_string(&mut text)
                .map_err(|e| format!("reading {PROC_CONFIG}: {e}"))?;
            text
        }
        Err(_) => std::fs::read_to_string(&boot).map_err(|e| {
            format!("no kernel config to read CONFIG_ values from ({PROC_CONFIG}, {boot}: {e})")
        })?,
    };
    Ok(parse_config(&text))
}

pub fn parse_config(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| l.starts_with("CONFIG_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// The symbol a syscall wrapper has for `bpf()` on this architecture
/// (`__x64_sys_bpf`), which libbpf probes for.
fn syscall_wrapper_symbol() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("__x64_sys_bpf"),
        "x86" => Some("__ia32_sys_bpf"),
        "aarch64" => Some("__arm64_sys_bpf"),
        "s390x" => Some("__s390x_sys_bpf"),
        "riscv64" => Some("__riscv_sys_bpf"),
        "powerpc64" => Some("sys_bpf"),
        _ => None,
    }
}

/// Addresses of `wanted` symbols in `/proc/kallsyms` (the first of each
/// name; 0 addresses, shown to the unprivileged, count as missing).
fn kallsyms(wanted: &HashSet<&str>) -> HashMap<String, u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(addr), Some(_), Some(name)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !wanted.contains(name) || out.contains_key(name) {
            continue;
        }
        if let Some(a) = u64::from_str_radix(addr, 16).ok().filter(|&a| a != 0) {
            out.insert(name.to_string(), a);
        }
    }
    out
}

type Ids = HashMap<String, u32>;

/// Kernel BTF ids of the `wanted` FUNCs and VARs, in one pass.
fn btf_ids<D: AsRef<[u8]>>(view: &BtfView<D>, wanted: &HashSet<&str>) -> (Ids, Ids) {
    let (mut funcs, mut vars) = (Ids::new(), Ids::new());
    let _ = view.for_each_named(
        |k| k == kind_no::FUNC || k == kind_no::VAR,
        |id, kind, name| {
            if wanted.contains(name) {
                let ids = if kind == kind_no::FUNC {
                    &mut funcs
                } else {
                    &mut vars
                };
                ids.entry(name.to_string()).or_insert(id);
            }
        },
    );
    (funcs, vars)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_as_libbpf_computes_it() {
        assert_eq!(
            kernel_version("6.18.44-fc-v1272", "#1 SMP", None),
            0x0006_122c
        );
        assert_eq!(kernel_version("4.9.300", "", None), 0x0004_09ff);
        assert_eq!(
            kernel_version(
                "4.19.0-6-amd64",
                "#1 SMP Debian 4.19.67-2+deb10u2 (2019-11-11)",
                None
            ),
            0x0004_1343
        );
        assert_eq!(
            kernel_version(
                "5.15.0-91-generic",
                "#101-Ubuntu SMP",
                Some("Ubuntu 5.15.0-91.101-generic 5.15.131\n")
            ),
            0x0005_0f83
        );
        assert_eq!(kernel_version("garbage", "", None), 0);
    }

    #[test]
    fn config_values_follow_their_c_types() {
        assert_eq!(kconfig_bytes("y", KconfigType::Bool, 1), Ok(vec![1]));
        assert!(kconfig_bytes("m", KconfigType::Bool, 1).is_err());
        assert_eq!(kconfig_bytes("m", KconfigType::Char, 1), Ok(vec![b'm']));
        assert_eq!(
            kconfig_bytes("m", KconfigType::Tristate, 4),
            Ok(vec![2, 0, 0, 0])
        );
        assert_eq!(
            kconfig_bytes("0x1000", KconfigType::Int { signed: false }, 4),
            Ok(vec![0, 0x10, 0, 0])
        );
        assert_eq!(
            kconfig_bytes("-1", KconfigType::Int { signed: true }, 2),
            Ok(vec![0xff, 0xff])
        );
        assert!(kconfig_bytes("300", KconfigType::Int { signed: false }, 1).is_err());
        assert!(kconfig_bytes("y", KconfigType::Int { signed: false }, 4).is_err());
        assert_eq!(
            kconfig_bytes("\"abcdef\"", KconfigType::CharArray, 4),
            Ok(b"abc\0".to_vec())
        );
        assert!(kconfig_bytes("abc", KconfigType::CharArray, 4).is_err());
    }

    #[test]
    fn config_lines_skip_unset_options() {
        let c =
            parse_config("# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_HZ=250\nCONFIG_S=\"x y\"\n");
        assert_eq!(c.get("CONFIG_A"), None);
        assert_eq!(c.get("CONFIG_B").map(String::as_str), Some("y"));
        assert_eq!(c.get("CONFIG_HZ").map(String::as_str), Some("250"));
        assert_eq!(c.get("CONFIG_S").map(String::as_str), Some("\"x y\""));
    }
}
