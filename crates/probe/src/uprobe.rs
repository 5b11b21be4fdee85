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
    // A program on PATH (`p:bash:readline`).
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(library);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(format!(
        "cannot find library '{library}' (looked for lib{stem}.so* in {}); give its path",
        LIBRARY_DIRS.join(", ")
    ))
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

/// The values a probe can read: `arg1`..`arg6` (and the signature's names
/// for them) on entry, `retval` on return.
pub fn fields(signature: &[(String, String)], return_probe: bool) -> Result<Vec<Field>, String> {
    if signature.len() > ARG_OFFSETS.len() {
        return Err("at most six arguments are passed in registers".into());
    }
    if return_probe {
        return Ok(vec![field("retval", "long", RAX_OFFSET)?]);
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
