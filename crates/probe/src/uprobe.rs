//! User function probes (`p:LIB:FUNC`, `r:LIB:FUNC`): the library's path,
//! and the arguments as fields of the x86-64 `struct pt_regs` the program
//! gets, typed by the probe's signature.

use crate::tracefs::{Field, FieldKind};
use std::path::{Path, PathBuf};

/// Offsets in `struct pt_regs` of the six argument registers (System V
/// x86-64: rdi, rsi, rdx, rcx, r8, r9) and of rax (the return value).
pub(crate) const ARG_OFFSETS: [u32; 6] = [112, 104, 96, 88, 72, 64];
pub(crate) const RAX_OFFSET: u32 = 80;
/// The C type of an argument the signature does not name.
pub const UNTYPED: &str = "unsigned long";
/// The C type of a user function's return value (`retval`): unknown, the
/// register as a signed number unless a `%s` reads it as a string.
pub const UNTYPED_RETURN: &str = "long";

/// Where shared libraries are, in the order the dynamic loader's default
/// path and Debian's multiarch directories put them.
const LIBRARY_DIRS: [&str; 6] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// `LIB` as bcc takes it: a path (with a `/`), or a library name (`c`,
/// `libc`, `pthread`) looked up as `libNAME.so*` in the library directories.
pub fn resolve_library(library: &str) -> Result<PathBuf, String> {
    if library.contains('/') {
        let path = PathBuf::from(library);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{library}: no such file"))
        };
    }
    let stem = library.strip_prefix("lib").unwrap_or(library);
    let exact = format!("lib{stem}.so");
    for dir in LIBRARY_DIRS {
        if let Some(found) = find_in(Path::new(dir), &exact) {
            return Ok(found);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(program) = program_on_path(library, std::env::split_paths(&path)) {
        return Ok(program);
    }
    Err(format!(
        "cannot find library '{library}' (looked for lib{stem}.so* in {}); give its path",
        LIBRARY_DIRS.join(", ")
    ))
}

/// A program on PATH (`p:bash:readline`): the first ELF file of that name,
/// not a wrapper script (pyenv's python3 shim) in front of the real one.
fn program_on_path(name: &str, dirs: impl Iterator<Item = PathBuf>) -> Option<PathBuf> {
    dirs.map(|dir| dir.join(name)).find(|p| is_elf(p))
}

/// `libc.so.6` for `libc.so`: the versioned name the loader uses, or the
/// bare one (often a linker script of the -dev package) when it is an ELF
/// file and there is no versioned one.
fn find_in(dir: &Path, exact: &str) -> Option<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n == exact || n.strip_prefix(exact).is_some_and(|v| v.starts_with('.')))
        .collect();
    // Versioned first, and the shortest of those is the soname (libc.so.6,
    // not libc.so.6.1).
    names.sort_by_key(|n| (n == exact, n.len(), n.clone()));
    names.into_iter().map(|n| dir.join(n)).find(|p| is_elf(p))
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// The count targets of a user pattern of funccount/stackcount, `None`
/// when `pattern` is not one:
/// - `LIB:FUNC`, `p:LIB:FUNC`: user functions (`*` and `?` in FUNC, or a
///   regular expression): a glob where the kernel has uprobe.multi is one
///   program whose cookies tell the functions apart (the runtime gives the
///   i-th function of `matching_functions` cookie i); otherwise one
///   uprobe per function.
/// - `u:LIB:PROBE` (bcc's): the USDT probes of LIB whose name matches, else
///   (Debian's libc has no USDT notes) its functions, with a note saying so.
/// - `U:LIB:PROBE`, `u:LIB:PROVIDER:PROBE`: USDT probes only.
pub fn count_targets(
    pattern: &str,
    how: crate::funccount::Expand,
) -> Option<Result<Vec<crate::funccount::CountTarget>, String>> {
    let parts: Vec<&str> = pattern.split(':').collect();
    Some(match parts.as_slice() {
        ["p", library, functions] => user_count_targets(library, functions, how),
        ["u", library, probes] => usdt_or_functions(library, probes, how),
        ["U", library, probes] => usdt_only(library, None, probes, how),
        ["u" | "U", library, provider, probes] => usdt_only(library, Some(provider), probes, how),
        [library, functions] if !["t", "p", "r", "u", "U"].contains(library) => {
            user_count_targets(library, functions, how)
        }
        _ => return None,
    })
}

/// bcc's `u:LIB:PROBE`: USDT probes where LIB has some matching PROBE,
/// else its functions matching it (`u:c:str*`), else one error naming both.
fn usdt_or_functions(
    library: &str,
    pattern: &str,
    how: crate::funccount::Expand,
) -> Result<Vec<crate::funccount::CountTarget>, String> {
    let path = resolve_library(library)?;
    let probes = crate::usdt::count_targets(&path, None, pattern, how.regex)?;
    if !probes.targets.is_empty() {
        return Ok(probes.targets);
    }
    let no_probe = probes.none_matching(pattern);
    let mut functions = user_count_targets(library, pattern, how)
        .map_err(|functions| format!("{no_probe}, and {functions}"))?;
    if let Some(first) = functions.first_mut() {
        first.note = Some(format!("{no_probe}: counting its functions"));
    }
    Ok(functions)
}

/// USDT probes only: an error naming the binary's probes when none matches.
fn usdt_only(
    library: &str,
    provider: Option<&str>,
    pattern: &str,
    how: crate::funccount::Expand,
) -> Result<Vec<crate::funccount::CountTarget>, String> {
    let path = resolve_library(library)?;
    let probes = crate::usdt::count_targets(&path, provider, pattern, how.regex)?;
    if probes.targets.is_empty() {
        return Err(probes.none_matching(pattern));
    }
    Ok(probes.targets)
}

fn user_count_targets(
    library: &str,
    pattern: &str,
    how: crate::funccount::Expand,
) -> Result<Vec<crate::funccount::CountTarget>, String> {
    use crate::funccount::CountTarget;
    if library.is_empty() {
        return Err(
            "kernel functions need kprobes or fentry, which this build does not \
                    generate yet; user functions are LIB:FUNC (c:malloc)"
                .into(),
        );
    }
    let path = resolve_library(library)?;
    let elf = bpfkit_btf::read_input_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    // A glob as the runtime matches it when it attaches (the cookies follow
    // this order); a regular expression before aliases are merged, so that
    // a name matches even when its address is also another's (__getpgid).
    let functions = if how.regex {
        let wanted = crate::funccount::NameMatch::new(pattern, true)?;
        bpfkit_object::symbols::functions_where(&elf, |name| wanted.matches(name))
    } else {
        bpfkit_object::symbols::matching_functions(&elf, pattern)
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    if functions.is_empty() {
        return Err(format!(
            "no function matching '{pattern}' in {} (list them with `nm -D {0}`)",
            path.display()
        ));
    }
    let names: Vec<String> = functions.into_iter().map(|f| f.name).collect();
    // A uprobe.multi section names its functions by a glob.
    if how.multi && !how.regex {
        return Ok(vec![CountTarget {
            section: format!("uprobe.multi/{}:{pattern}", path.display()),
            names,
            cookies: true,
            note: None,
            syscalls: None,
        }]);
    }
    Ok(names
        .into_iter()
        .map(|name| CountTarget {
            section: format!("uprobe/{}:{name}", path.display()),
            names: vec![name],
            cookies: false,
            note: None,
            syscalls: None,
        })
        .collect())
}

/// The values a probe can read: `arg1`..`arg6` (and the signature's names
/// for them) on entry, `retval` on return.
pub fn fields(signature: &[(String, String)], return_probe: bool) -> Result<Vec<Field>, String> {
    if signature.len() > ARG_OFFSETS.len() {
        return Err("at most six arguments are passed in registers".into());
    }
    if return_probe {
        return Ok(vec![field("retval", UNTYPED_RETURN, RAX_OFFSET)?]);
    }
    let mut fields = Vec::new();
    for (i, offset) in ARG_OFFSETS.iter().enumerate() {
        let c_type = signature
            .get(i)
            .map_or("unsigned long", |(t, _)| t.as_str());
        fields.push(field(&format!("arg{}", i + 1), c_type, *offset)?);
        if let Some((_, name)) = signature.get(i) {
            fields.push(field(name, c_type, *offset)?);
        }
    }
    Ok(fields)
}

fn field(name: &str, c_type: &str, offset: u32) -> Result<Field, String> {
    let kind = if let Some(pointee) = c_type.strip_suffix('*') {
        let pointee = pointee.trim().trim_start_matches("const ").trim();
        if pointee == "char" {
            FieldKind::CharPointer
        } else {
            FieldKind::Int {
                width: 8,
                signed: false,
            }
        }
    } else {
        let (width, signed) = crate::tracefs::c_int_type(c_type).ok_or_else(|| {
            format!("type '{c_type}' of {name}: integer types (int, long, size_t, u32...) and pointers are supported")
        })?;
        FieldKind::Int { width, signed }
    };
    Ok(Field {
        name: name.to_string(),
        c_type: c_type.to_string(),
        offset,
        size: 8,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_is_found_by_its_short_name() {
        let path = resolve_library("c").unwrap();
        assert!(
            path.to_string_lossy().contains("libc.so"),
            "{}",
            path.display()
        );
    }

    /// Multi-attach: one program whose names are in the order the runtime
    /// gives cookies (matching_functions'); otherwise one uprobe each.
    #[test]
    fn user_patterns_become_one_multi_program_or_one_uprobe_per_function() {
        use crate::funccount::Expand;
        let glob = Expand {
            multi: true,
            regex: false,
        };
        let multi = count_targets("c:getp?id", glob).unwrap().unwrap();
        assert_eq!(multi.len(), 1);
        assert!(multi[0].cookies);
        assert!(multi[0].section.starts_with("uprobe.multi/"), "{multi:?}");
        assert!(multi[0].section.ends_with(":getp?id"), "{multi:?}");
        let path = resolve_library("c").unwrap();
        let elf = std::fs::read(&path).unwrap();
        let order: Vec<String> = bpfkit_object::symbols::matching_functions(&elf, "getp?id")
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(multi[0].names, order);
        assert!(order.contains(&"getppid".to_string()), "{order:?}");

        let single = count_targets("u:c:getp?id", Expand::default())
            .unwrap()
            .unwrap();
        assert_eq!(single.len(), order.len());
        for (target, name) in single.iter().zip(&order) {
            assert!(!target.cookies);
            assert_eq!(target.names, std::slice::from_ref(name));
            assert!(target.section.ends_with(&format!(":{name}")), "{target:?}");
            assert!(target.section.starts_with("uprobe/"), "{target:?}");
        }
        // Not user patterns: tracepoints.
        assert!(count_targets("t:syscalls:sys_enter_*", glob).is_none());
        let missing = count_targets("c:no_such_function_*", glob).unwrap();
        assert!(missing.unwrap_err().contains("no function matching"));
        // A regular expression: one uprobe per function it matches.
        let regex = Expand {
            multi: true,
            regex: true,
        };
        let by_regex = count_targets("c:getp(p|g)id$", regex).unwrap().unwrap();
        let mut names: Vec<&str> = by_regex.iter().map(|t| t.names[0].as_str()).collect();
        names.sort();
        assert_eq!(names, ["getpgid", "getppid"]);
        assert!(by_regex.iter().all(|t| t.section.starts_with("uprobe/")));
        let bad = count_targets("c:get(", regex).unwrap();
        assert!(bad.unwrap_err().contains("unclosed"));
    }

    /// Found with pyenv: its python3 on PATH is a shell script in front of
    /// the real interpreter, and was taken for the binary to probe.
    #[test]
    fn a_script_on_path_is_passed_over_for_the_program_behind_it() {
        let dir = bpfkit_testkit::TempDir::new("uprobe-path");
        let shims = dir.path().join("shims");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&shims).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(shims.join("prog"), "#!/bin/sh\nexec prog \"$@\"\n").unwrap();
        let elf = std::env::current_exe().unwrap();
        std::fs::copy(&elf, bin.join("prog")).unwrap();
        let found = program_on_path("prog", [shims.clone(), bin.clone()].into_iter());
        assert_eq!(found, Some(bin.join("prog")));
        assert_eq!(program_on_path("prog", [shims].into_iter()), None);
    }

    #[test]
    fn signature_names_and_types_the_registers() {
        let sig = [
            ("size_t".to_string(), "size".to_string()),
            ("const char *".to_string(), "name".to_string()),
        ];
        let regs = fields(&sig, false).unwrap();
        let size = regs.iter().find(|f| f.name == "size").unwrap();
        assert_eq!(
            (size.offset, &size.kind),
            (
                112,
                &FieldKind::Int {
                    width: 8,
                    signed: false
                }
            )
        );
        let name = regs.iter().find(|f| f.name == "name").unwrap();
        assert_eq!((name.offset, &name.kind), (104, &FieldKind::CharPointer));
        assert!(fields(&[("struct foo".into(), "x".into())], false).is_err());
    }
}
