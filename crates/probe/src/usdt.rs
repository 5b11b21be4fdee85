//! USDT probes (`U:LIB:PROVIDER:NAME`, bcc's `u:`): the sites of a probe
//! from the binary's `.note.stapsdt` notes (read by bpfkit-object, as for
//! `bpfkit run`), and each argument read where its spec says it is
//! (a register, memory at a register plus an offset, a constant). The
//! locations are known when the program is generated, so the reads are
//! emitted directly: no spec map, no cookie lookups.
//!
//! Sites whose argument specs are all the same share one
//! `usdt/PATH:PROVIDER:NAME` program (the runtime attaches it to every
//! site and raises semaphores); sites whose specs differ get one
//! `uprobe/PATH:0xOFFSET` program each.

use crate::compile::ProbeContext;
use crate::insn::{Alu, Asm, CTX, FP, R0, R1, R2, R3, Size, helper};
use crate::parse::{SyntaxError, Target};
use crate::tracefs::{Field, FieldKind};
use bpfkit_object::usdt::{UsdtArg, UsdtArgLocation, UsdtSite, parse_usdt_args, read_usdt_sites};
use std::path::Path;

/// Stack bytes a memory argument is read into: below the scratch slots of
/// expression evaluation (32 × 8 bytes) and the aggregation's key slots.
const READ_SLOT: i16 = -272;

/// `U`/`u` followed by `LIB:NAME` or `LIB:PROVIDER:NAME`.
pub fn parse_target(rest: &[&str], spec: &str, column: usize) -> Result<Target, SyntaxError> {
    let (library, provider, name) = match rest {
        [library, name] => (*library, None, *name),
        [library, provider, name] => (*library, Some(*provider), *name),
        _ => {
            return Err(SyntaxError::new(
                column,
                "a USDT probe is U:LIB:PROVIDER:NAME or U:LIB:NAME (e.g. U:python3:python:gc__start)",
            ));
        }
    };
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-/+".contains(c))
    };
    if !is_name(library) {
        return Err(SyntaxError::new(
            column,
            format!("'{spec}': the library must be a name or a path"),
        ));
    }
    for part in provider.iter().chain([&name]) {
        if !is_name(part) || part.contains('/') {
            return Err(SyntaxError::new(
                column,
                format!("'{spec}': the USDT provider and name must be names"),
            ));
        }
    }
    Ok(Target::Usdt {
        library: library.into(),
        provider: provider.map(Into::into),
        name: name.into(),
    })
}

/// The programs of a USDT probe: one context per program to generate.
pub fn contexts(
    library: &str,
    provider: Option<&str>,
    name: &str,
) -> Result<Vec<ProbeContext>, String> {
    let path = crate::uprobe::resolve_library(library)?;
    let sites = probe_sites(&path, provider, name)?;
    let provider = &sites[0].provider;
    let first_args = &sites[0].args;
    if sites.iter().all(|s| &s.args == first_args) {
        return Ok(vec![ProbeContext {
            fields: fields(first_args)?,
            user_strings: true,
            section: format!("usdt/{}:{provider}:{name}", path.display()),
            walks: Vec::new(),
            entry: None,
        }]);
    }
    if let Some(site) = sites.iter().find(|s| s.semaphore != 0) {
        return Err(format!(
            "{provider}:{name} in {} has sites with different argument locations and a \
             semaphore (at {:#x}): bpfkit cannot raise it for per-site probes yet",
            path.display(),
            site.semaphore
        ));
    }
    sites
        .iter()
        .map(|site| {
            Ok(ProbeContext {
                fields: fields(&site.args)?,
                user_strings: true,
                section: format!("uprobe/{}:{:#x}", path.display(), site.file_offset),
                walks: Vec::new(),
                entry: None,
            })
        })
        .collect()
}

/// The sites of the probe; an error naming the probes the binary has when
/// none matches, or the providers when the name alone is ambiguous.
fn probe_sites(path: &Path, provider: Option<&str>, name: &str) -> Result<Vec<UsdtSite>, String> {
    let all = binary_sites(path)?;
    let sites: Vec<UsdtSite> = all
        .iter()
        .filter(|s| s.name == name && provider.is_none_or(|p| s.provider == p))
        .cloned()
        .collect();
    let mut providers: Vec<&str> = sites.iter().map(|s| s.provider.as_str()).collect();
    providers.sort_unstable();
    providers.dedup();
    if providers.len() > 1 {
        return Err(format!(
            "{name} in {} is a probe of several providers ({}): write U:LIB:PROVIDER:{name}",
            path.display(),
            providers.join(", ")
        ));
    }
    if !sites.is_empty() {
        return Ok(sites);
    }
    let known = probe_names(&all);
    let wanted = match provider {
        Some(p) => format!("{p}:{name}"),
        None => name.to_string(),
    };
    Err(if known.is_empty() {
        format!("{} has no USDT probes (no .note.stapsdt)", path.display())
    } else {
        format!(
            "{} has no USDT probe {wanted} (it has: {})",
            path.display(),
            known.join(", ")
        )
    })
}

/// Every site of a binary's USDT probes.
fn binary_sites(path: &Path) -> Result<Vec<UsdtSite>, String> {
    let elf = bpfkit_btf::read_input_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_usdt_sites(&elf).map_err(|e| format!("{}: {e}", path.display()))
}

/// `PROVIDER:NAME` of every probe, sorted, each once.
fn probe_names(sites: &[UsdtSite]) -> Vec<String> {
    let mut names: Vec<String> = sites
        .iter()
        .map(|s| format!("{}:{}", s.provider, s.name))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The USDT probes of a binary that a funccount/stackcount pattern
/// matches, one program each (the runtime attaches a `usdt/` program to
/// every site of its probe and raises the semaphores with `-p`), named
/// `PROVIDER:NAME`; and every probe of the binary, for the message when
/// none matches.
pub struct CountProbes {
    pub targets: Vec<crate::funccount::CountTarget>,
    path: std::path::PathBuf,
    known: Vec<String>,
}

impl CountProbes {
    /// "PATH has no USDT probe matching 'PATTERN' (it has: ...)".
    pub fn none_matching(&self, pattern: &str) -> String {
        if self.known.is_empty() {
            format!(
                "{} has no USDT probes (no .note.stapsdt)",
                self.path.display()
            )
        } else {
            format!(
                "{} has no USDT probe matching '{pattern}' (it has: {})",
                self.path.display(),
                self.known.join(", ")
            )
        }
    }
}

/// The probes of `path` whose name matches `pattern` (a glob, or with
/// `regex` a regular expression, as bcc matches the probe name), of
/// `provider` (the same kind of pattern) when it is given.
pub fn count_targets(
    path: &Path,
    provider: Option<&str>,
    pattern: &str,
    regex: bool,
) -> Result<CountProbes, String> {
    use crate::funccount::{CountTarget, NameMatch};
    let name = NameMatch::new(pattern, regex)?;
    let provider = provider.map(|p| NameMatch::new(p, regex)).transpose()?;
    let mut probes: Vec<(String, String)> = binary_sites(path)?
        .into_iter()
        .map(|site| (site.provider, site.name))
        .collect();
    probes.sort();
    probes.dedup();
    let known = probes.iter().map(|(p, n)| format!("{p}:{n}")).collect();
    let targets = probes
        .iter()
        .filter(|(p, n)| name.matches(n) && provider.as_ref().is_none_or(|m| m.matches(p)))
        .map(|(p, n)| CountTarget {
            section: format!("usdt/{}:{p}:{n}", path.display()),
            names: vec![format!("{p}:{n}")],
            ..CountTarget::default()
        })
        .collect();
    Ok(CountProbes {
        targets,
        path: path.to_path_buf(),
        known,
    })
}

/// `bpfkit trace -l`'s lines for `U:LIB:PATTERN` (a glob over
/// `PROVIDER:NAME` or NAME): `PATH PROVIDER:NAME`, as bcc's tplist.
pub fn list(library: &str, pattern: &str) -> Result<Vec<String>, String> {
    let path = crate::uprobe::resolve_library(library)?;
    let names = probe_names(&binary_sites(&path)?);
    Ok(names
        .into_iter()
        .filter(|full| {
            let bare = full.split_once(':').map_or(full.as_str(), |(_, n)| n);
            glob_match(pattern, full) || glob_match(pattern, bare)
        })
        .map(|full| format!("{} {full}", path.display()))
        .collect())
}

/// `*` (any run) and `?` (one character) glob match.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `arg1`..`argN` of one site, from its spec string.
fn fields(spec: &str) -> Result<Vec<Field>, String> {
    let args = parse_usdt_args(spec)?;
    Ok(args
        .into_iter()
        .enumerate()
        .map(|(i, arg)| Field {
            name: format!("arg{}", i + 1),
            // Untyped: a `%s` makes a 64-bit argument a string pointer.
            c_type: if arg.size == 8 {
                crate::uprobe::UNTYPED.into()
            } else {
                format!("{}{}", if arg.signed { "s" } else { "u" }, arg.size * 8)
            },
            offset: 0,
            size: 8,
            kind: FieldKind::Usdt { arg, string: false },
        })
        .collect())
}

/// Emits code that leaves argument `arg`'s value in R0, cut to its size
/// and sign-extended as its spec says. Clobbers R1-R5.
pub fn load_arg(a: &mut Asm, arg: &UsdtArg) {
    let reg = |a: &mut Asm, dst: u8, off: u16| a.load(Size::DW, dst, CTX, off as i16);
    match arg.location {
        UsdtArgLocation::Const(value) => {
            // Constants are already of their size; only a cut is needed.
            load_imm(a, R0, value);
        }
        UsdtArgLocation::Reg { reg_off } => reg(a, R0, reg_off),
        UsdtArgLocation::Deref { reg_off, offset } => {
            reg(a, R3, reg_off);
            add_imm(a, R3, offset);
            read_user(a, arg.size);
        }
        UsdtArgLocation::Sib {
            reg_off,
            index_reg_off,
            scale,
            offset,
        } => {
            reg(a, R3, reg_off);
            reg(a, R1, index_reg_off);
            a.alu_imm(Alu::Lsh, R1, scale.trailing_zeros() as i32);
            a.alu_reg(Alu::Add, R3, R1);
            add_imm(a, R3, offset);
            read_user(a, arg.size);
        }
    }
    let shift = 64 - 8 * i32::from(arg.size);
    if shift > 0 {
        a.alu_imm(Alu::Lsh, R0, shift);
        a.alu_imm(if arg.signed { Alu::Arsh } else { Alu::Rsh }, R0, shift);
    }
}

/// R0 = `size` bytes of user memory at R3 (0 when unreadable: the helper
/// zeroes its buffer on failure).
fn read_user(a: &mut Asm, size: u8) {
    a.mov(R1, FP);
    a.alu_imm(Alu::Add, R1, i32::from(READ_SLOT));
    a.mov_imm(R2, i32::from(size));
    a.call(helper::PROBE_READ_USER);
    let size = Size::of(u32::from(size)).unwrap_or(Size::DW);
    a.load(size, R0, FP, READ_SLOT);
}

fn load_imm(a: &mut Asm, dst: u8, value: i64) {
    match i32::try_from(value) {
        Ok(small) => a.mov_imm(dst, small),
        Err(_) => a.ld_imm64(dst, value),
    }
}

fn add_imm(a: &mut Asm, dst: u8, value: i64) {
    match i32::try_from(value) {
        Ok(0) => {}
        Ok(small) => a.alu_imm(Alu::Add, dst, small),
        Err(_) => {
            a.ld_imm64(R1, value);
            a.alu_reg(Alu::Add, dst, R1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_with_and_without_provider() {
        let t = parse_target(&["c", "libc", "setjmp"], "U:c:libc:setjmp", 1).unwrap();
        assert_eq!(
            t,
            Target::Usdt {
                library: "c".into(),
                provider: Some("libc".into()),
                name: "setjmp".into()
            }
        );
        let t = parse_target(&["/bin/x", "tick"], "u:/bin/x:tick", 1).unwrap();
        assert!(matches!(t, Target::Usdt { provider: None, .. }));
        assert!(parse_target(&["c"], "U:c", 1).is_err());
        assert!(parse_target(&["c", "a b", "x"], "U:c:a b:x", 1).is_err());
        assert!(parse_target(&["c", "p", "x", "y"], "U:c:p:x:y", 1).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "libc:setjmp"));
        assert!(glob_match("mem*retry", "memory_malloc_retry"));
        assert!(glob_match("g?__start", "gc__start"));
        assert!(!glob_match("gc", "gc__start"));
        assert!(!glob_match("*x", "abc"));
    }

    #[test]
    fn fields_follow_the_spec() {
        let f = fields("-4@%edi 8@-8(%rbp) 2@$7").unwrap();
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["arg1", "arg2", "arg3"]
        );
        assert_eq!(f[0].c_type, "s32");
        assert_eq!(f[1].c_type, crate::uprobe::UNTYPED);
        assert!(fields("4@%nope").is_err());
    }
}
