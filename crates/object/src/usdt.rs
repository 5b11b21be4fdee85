//! USDT (user statically-defined tracing) probes of a user binary: the
//! `.note.stapsdt` ELF notes that systemtap's `<sys/sdt.h>` writes, and
//! their argument specs (`-4@%edi 8@-8(%rbp) -2@$-7`), read the way libbpf's
//! `usdt.c` reads them, so that `SEC("usdt/...")` programs written against
//! libbpf's `usdt.bpf.h` get the same spec maps.

use object::{Object as _, ObjectSection, ObjectSegment};

/// `NT_STAPSDT`, the note type of a USDT probe.
const NT_STAPSDT: u32 = 3;
/// libbpf's `USDT_MAX_ARG_CNT` (and `BPF_USDT_MAX_ARG_CNT` in `usdt.bpf.h`).
pub const USDT_MAX_ARGS: usize = 12;

/// One probe site in a binary (a probe used twice has two sites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtSite {
    pub provider: String,
    pub name: String,
    /// Offset of the probe's `nop` in the file: where the uprobe goes.
    pub file_offset: u64,
    /// Virtual address of the 2-byte semaphore counter, 0 when the probe
    /// has none (the probe then always fires).
    pub semaphore: u64,
    /// Where the semaphore is in the file (to find it in a process's
    /// mappings); `None` without one.
    pub semaphore_file_offset: Option<u64>,
    /// The argument spec string, e.g. `-4@%edi 8@-8(%rbp)`.
    pub args: String,
}

/// Where an argument's value is when the probe fires (x86-64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsdtArgLocation {
    /// `$-7`: a constant.
    Const(i64),
    /// `%edi`: a register (its offset in `struct pt_regs`).
    Reg { reg_off: u16 },
    /// `-8(%rbp)`: memory at a register plus an offset.
    Deref { reg_off: u16, offset: i64 },
    /// `8(%rax,%rbx,4)`: memory at base + index * scale + offset.
    Sib {
        reg_off: u16,
        index_reg_off: u16,
        scale: u8,
        offset: i64,
    },
}

/// One argument: its size in bytes, signedness and location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub location: UsdtArgLocation,
}

/// The USDT probe sites of an ELF binary or shared library (none when it
/// has no `.note.stapsdt`).
pub fn read_usdt_sites(elf: &[u8]) -> Result<Vec<UsdtSite>, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF file: {e}"))?;
    let Some(notes) = file.section_by_name(".note.stapsdt") else {
        return Ok(Vec::new());
    };
    let data = notes
        .data()
        .map_err(|e| format!("reading .note.stapsdt: {e}"))?;
    // Prelinked binaries moved code after the notes were written: the note
    // records where `.stapsdt.base` was, the section header where it is now.
    let base_now = file.section_by_name(".stapsdt.base").map(|s| s.address());
    let segments: Vec<(u64, u64, u64)> = file
        .segments()
        .map(|s| (s.address(), s.size(), s.file_range().0))
        .collect();
    let mut sites = Vec::new();
    for note in parse_notes(data)? {
        let mut addr = note.address;
        if let (Some(now), true) = (base_now, note.base != 0) {
            addr = addr.wrapping_add(now).wrapping_sub(note.base);
        }
        let in_file = |addr: u64| {
            segments
                .iter()
                .find(|(vaddr, size, _)| addr >= *vaddr && addr < vaddr.saturating_add(*size))
                .map(|(vaddr, _, offset)| addr - vaddr + offset)
        };
        let file_offset = in_file(addr).ok_or_else(|| {
            format!(
                "USDT {}:{} at {addr:#x} is in no loadable segment",
                note.provider, note.name
            )
        })?;
        let semaphore_file_offset = match note.semaphore {
            0 => None,
            sema => Some(in_file(sema).ok_or_else(|| {
                format!(
                    "USDT {}:{}: semaphore at {sema:#x} is in no loadable segment",
                    note.provider, note.name
                )
            })?),
        };
        sites.push(UsdtSite {
            provider: note.provider,
            name: note.name,
            file_offset,
            semaphore: note.semaphore,
            semaphore_file_offset,
            args: note.args,
        });
    }
    Ok(sites)
}

struct RawNote {
    provider: String,
    name: String,
    address: u64,
    base: u64,
    semaphore: u64,
    args: String,
}

/// ELF notes: namesz, descsz, type, name (4-aligned), desc (4-aligned).
fn parse_notes(mut data: &[u8]) -> Result<Vec<RawNote>, String> {
    let truncated = || "truncated .note.stapsdt".to_string();
    let mut out = Vec::new();
    while data.len() >= 12 {
        let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let (namesz, descsz, kind) = (word(0) as usize, word(4) as usize, word(8));
        let name_end = 12usize.checked_add(namesz).ok_or_else(truncated)?;
        let desc_start = align4(name_end);
        let desc_end = desc_start.checked_add(descsz).ok_or_else(truncated)?;
        if desc_end > data.len() {
            return Err(truncated());
        }
        if kind == NT_STAPSDT && &data[12..name_end] == b"stapsdt\0" {
            out.push(parse_desc(&data[desc_start..desc_end])?);
        }
        data = &data[align4(desc_end).min(data.len())..];
    }
    Ok(out)
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// The descriptor: three addresses, then provider, name and args strings.
fn parse_desc(desc: &[u8]) -> Result<RawNote, String> {
    if desc.len() < 24 {
        return Err("a USDT note shorter than its three addresses".into());
    }
    let addr = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&desc[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let mut strings = desc[24..].split(|&b| b == 0);
    let mut next = |what: &str| {
        strings
            .next()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .ok_or_else(|| format!("a USDT note without its {what}"))
    };
    Ok(RawNote {
        address: addr(0),
        base: addr(1),
        semaphore: addr(2),
        provider: next("provider")?,
        name: next("name")?,
        args: next("arguments").unwrap_or_default(),
    })
}

/// Parses an x86-64 argument spec string: space-separated `SIZE@LOCATION`,
/// where a negative SIZE means signed.
pub fn parse_usdt_args(spec: &str) -> Result<Vec<UsdtArg>, String> {
    let args: Vec<UsdtArg> = spec
        .split_whitespace()
        .map(|a| parse_arg(a).map_err(|why| format!("USDT argument '{a}': {why}")))
        .collect::<Result<_, _>>()?;
    if args.len() > USDT_MAX_ARGS {
        return Err(format!(
            "{} USDT arguments, at most {USDT_MAX_ARGS} are supported",
            args.len()
        ));
    }
    Ok(args)
}

fn parse_arg(arg: &str) -> Result<UsdtArg, String> {
    let (size, location) = arg.split_once('@').ok_or("expected SIZE@LOCATION")?;
    let size: i32 = size.parse().map_err(|_| format!("bad size '{size}'"))?;
    if ![1, 2, 4, 8].contains(&size.unsigned_abs()) {
        return Err(format!("size {size} is not 1, 2, 4 or 8 bytes"));
    }
    Ok(UsdtArg {
        size: size.unsigned_abs() as u8,
        signed: size < 0,
        location: parse_location(location)?,
    })
}

fn parse_location(loc: &str) -> Result<UsdtArgLocation, String> {
    if let Some(constant) = loc.strip_prefix('$') {
        return Ok(UsdtArgLocation::Const(parse_int(constant)?));
    }
    if let Some(reg) = loc.strip_prefix('%') {
        return Ok(UsdtArgLocation::Reg {
            reg_off: register_offset(reg)?,
        });
    }
    let (offset, inner) = loc
        .split_once('(')
        .ok_or_else(|| format!("unknown location '{loc}'"))?;
    let inner = inner
        .strip_suffix(')')
        .ok_or_else(|| format!("unclosed '(' in '{loc}'"))?;
    let offset = if offset.is_empty() {
        0
    } else {
        parse_int(offset)?
    };
    let mut parts = inner.split(',');
    let base = parts.next().unwrap_or_default();
    let reg_off = register_offset(base.strip_prefix('%').ok_or("expected a %register")?)?;
    let Some(index) = parts.next() else {
        return Ok(UsdtArgLocation::Deref { reg_off, offset });
    };
    let index_reg_off = register_offset(index.strip_prefix('%').ok_or("expected a %register")?)?;
    let scale: u8 = match parts.next() {
        None => 1,
        Some(s) => s.parse().map_err(|_| format!("bad scale '{s}'"))?,
    };
    if ![1, 2, 4, 8].contains(&scale) || parts.next().is_some() {
        return Err(format!("bad scaled index in '{loc}'"));
    }
    Ok(UsdtArgLocation::Sib {
        reg_off,
        index_reg_off,
        scale,
        offset,
    })
}

fn parse_int(s: &str) -> Result<i64, String> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let magnitude = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse(),
    }
    .map_err(|_| format!("bad number '{s}'"))?;
    // Wrapping: `$-9223372036854775808` and unsigned 64-bit constants.
    Ok(if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    })
}

/// Offset of a register (any of its names: `rdi`, `edi`, `di`, `dil`) in
/// the kernel's x86-64 `struct pt_regs`.
fn register_offset(name: &str) -> Result<u16, String> {
    const REGS: &[(u16, &[&str])] = &[
        (0, &["r15", "r15d", "r15w", "r15b"]),
        (8, &["r14", "r14d", "r14w", "r14b"]),
        (16, &["r13", "r13d", "r13w", "r13b"]),
        (24, &["r12", "r12d", "r12w", "r12b"]),
        (32, &["rbp", "ebp", "bp", "bpl"]),
        (40, &["rbx", "ebx", "bx", "bl"]),
        (48, &["r11", "r11d", "r11w", "r11b"]),
        (56, &["r10", "r10d", "r10w", "r10b"]),
        (64, &["r9", "r9d", "r9w", "r9b"]),
        (72, &["r8", "r8d", "r8w", "r8b"]),
        (80, &["rax", "eax", "ax", "al"]),
        (88, &["rcx", "ecx", "cx", "cl"]),
        (96, &["rdx", "edx", "dx", "dl"]),
        (104, &["rsi", "esi", "si", "sil"]),
        (112, &["rdi", "edi", "di", "dil"]),
        (128, &["rip"]),
        (152, &["rsp", "esp", "sp", "spl"]),
    ];
    REGS.iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(off, _)| *off)
        .ok_or_else(|| format!("unknown register '%{name}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_specs() {
        let args = parse_usdt_args("-4@%edi 8@-8(%rbp) -2@$-7 1@(%rax) 8@16(%rsp,%rbx,4)").unwrap();
        assert_eq!(
            args[0],
            UsdtArg {
                size: 4,
                signed: true,
                location: UsdtArgLocation::Reg { reg_off: 112 }
            }
        );
        assert_eq!(
            args[1].location,
            UsdtArgLocation::Deref {
                reg_off: 32,
                offset: -8
            }
        );
        assert!(!args[1].signed);
        assert_eq!(args[2].location, UsdtArgLocation::Const(-7));
        assert_eq!(
            args[3].location,
            UsdtArgLocation::Deref {
                reg_off: 80,
                offset: 0
            }
        );
        assert_eq!(
            args[4].location,
            UsdtArgLocation::Sib {
                reg_off: 152,
                index_reg_off: 40,
                scale: 4,
                offset: 16
            }
        );
        assert_eq!(parse_usdt_args("").unwrap(), vec![]);
    }

    #[test]
    fn bad_specs_are_errors() {
        for bad in [
            "4@%xyz",
            "3@%eax",
            "4@",
            "x@%eax",
            "4@-8(%rbp",
            "4@8(%rax,%rbx,3)",
        ] {
            let e = parse_usdt_args(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        let many = vec!["8@%rax"; 13].join(" ");
        assert!(parse_usdt_args(&many).is_err());
    }

    #[test]
    fn truncated_notes_are_errors() {
        let mut note = Vec::new();
        for w in [8u32, 100, NT_STAPSDT] {
            note.extend_from_slice(&w.to_le_bytes());
        }
        note.extend_from_slice(b"stapsdt\0");
        assert!(parse_notes(&note).is_err());
    }
}
