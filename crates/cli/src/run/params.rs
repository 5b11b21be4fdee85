//! `const volatile` globals → command-line flags, typed from BTF.
//!
//! Every parameter becomes `--NAME VALUE` (bools: `--NAME` / `--no-NAME`);
//! the well-known libbpf-tools names also get the short flags users know.
//! An array of integers (`const volatile u16 ports[64]`) takes a
//! comma-separated list (`--ports 80,443`); when the object also has an
//! integer `NAME_len`, that is set to how many values were given, which is
//! how the kernel half knows where the list ends.

use anyhow::{Context, Result, bail};
use bpfkit_btf::{Btf, Kind, TypeId};

/// How a parameter's value is written on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    Int {
        size: usize,
        signed: bool,
    },
    Bool,
    /// `char[N]`: a string of at most N-1 bytes.
    Str {
        capacity: usize,
    },
    Enum {
        size: usize,
        names: Vec<(String, u64)>,
    },
    /// An array of integers, bools or enums: a comma-separated list of at
    /// most `len` values; the rest of the array stays zero.
    Array {
        elem: Box<ParamKind>,
        len: usize,
    },
}

/// A parameter as the CLI sees it.
#[derive(Debug, Clone)]
pub struct ParamFlag {
    pub name: String,
    pub kind: ParamKind,
    pub short: Option<char>,
    /// Extra long names (`--pid` for `targ_pid`).
    pub aliases: Vec<&'static str>,
    pub default_text: String,
}

/// Short flags and aliases for the names libbpf-tools use.
fn well_known(name: &str) -> (Option<char>, Vec<&'static str>) {
    match name {
        "targ_pid" | "pid_filter" | "target_pid" | "filter_pid" => (Some('p'), vec!["pid"]),
        "targ_tid" | "target_tid" => (Some('t'), vec!["tid"]),
        "targ_uid" | "target_uid" | "filter_uid" => (Some('u'), vec!["uid"]),
        "targ_comm" | "target_comm" => (Some('c'), vec!["comm"]),
        "min_duration_ns" | "min_us" | "min_duration_us" => (None, vec!["min"]),
        _ => (None, vec![]),
    }
}

/// Derives the flag for a parameter of type `ty` whose default bytes are `default`.
pub fn flag_for(btf: &Btf, name: &str, ty: TypeId, default: &[u8]) -> Result<ParamFlag> {
    let kind = param_kind(btf, ty).with_context(|| format!("parameter '{name}'"))?;
    let default_text = render(&kind, default);
    let (short, aliases) = well_known(name);
    Ok(ParamFlag {
        name: name.to_string(),
        kind,
        short,
        aliases,
        default_text,
    })
}

fn param_kind(btf: &Btf, ty: TypeId) -> Result<ParamKind> {
    let id = btf.resolve(ty)?;
    Ok(match &btf.type_by_id(id)?.kind {
        Kind::Int(i) if i.bool => ParamKind::Bool,
        Kind::Int(i) => ParamKind::Int {
            size: i.size as usize,
            signed: i.signed,
        },
        Kind::Enum(e) => ParamKind::Enum {
            size: e.size as usize,
            names: e
                .values
                .iter()
                .map(|v| (btf.str_at(v.name_off).to_string(), v.value))
                .collect(),
        },
        Kind::Array(a) if is_char(btf, a.elem) => ParamKind::Str {
            capacity: a.len as usize,
        },
        Kind::Array(a) => match param_kind(btf, a.elem)? {
            elem @ (ParamKind::Int { .. } | ParamKind::Bool | ParamKind::Enum { .. }) => {
                ParamKind::Array {
                    elem: Box::new(elem),
                    len: a.len as usize,
                }
            }
            _ => bail!("only arrays of integers, bools or enums can be set from the command line"),
        },
        other => bail!("type {} cannot be set from the command line", other.name()),
    })
}

fn is_char(btf: &Btf, ty: TypeId) -> bool {
    btf.resolve(ty)
        .ok()
        .and_then(|id| btf.get(id))
        .is_some_and(|t| matches!(t.kind, Kind::Int(i) if i.size == 1))
}

/// Parses `text` into the parameter's bytes (little-endian), range-checked.
pub fn parse_value(kind: &ParamKind, text: &str) -> Result<Vec<u8>> {
    match kind {
        ParamKind::Array { elem, len } => Ok(parse_list(elem, *len, text)?.0),
        ParamKind::Bool => match text {
            "1" | "true" | "yes" | "on" => Ok(vec![1]),
            "0" | "false" | "no" | "off" => Ok(vec![0]),
            _ => bail!("'{text}' is not a boolean (true/false)"),
        },
        ParamKind::Int { size, signed } => parse_int(text, *size, *signed),
        ParamKind::Str { capacity } => {
            if text.len() >= *capacity {
                bail!(
                    "'{text}' is {} bytes; at most {} fit",
                    text.len(),
                    capacity - 1
                );
            }
            let mut bytes = text.as_bytes().to_vec();
            bytes.resize(*capacity, 0);
            Ok(bytes)
        }
        ParamKind::Enum { size, names } => {
            if let Some((_, v)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
                return Ok(v.to_le_bytes()[..*size].to_vec());
            }
            let known: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
            bail!("'{text}' is not one of: {}", known.join(", "))
        }
    }
}

/// Parses the comma-separated `text` into the bytes of an array of `len`
/// elements of kind `elem` (unused elements zero), and how many were given.
pub fn parse_list(elem: &ParamKind, len: usize, text: &str) -> Result<(Vec<u8>, usize)> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.len() > len {
        bail!("{} values given; at most {len} fit", items.len());
    }
    let mut bytes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.is_empty() {
            bail!("'{text}': value {} is empty", i + 1);
        }
        bytes.extend(parse_value(elem, item)?);
    }
    let given = bytes.len();
    // Every element has the same size; an empty list cannot happen.
    bytes.resize(given / items.len() * len, 0);
    Ok((bytes, items.len()))
}

/// For the list parameter `p` given as `text`: its length parameter
/// (`NAME_len`, when the object has an integer one) and the bytes of how
/// many values `text` holds.
pub fn list_length(
    params: &[ParamFlag],
    p: &ParamFlag,
    text: &str,
) -> Result<Option<(String, Vec<u8>)>> {
    let name = bpfkit_object::list_length_param(&p.name);
    let Some(length) = params.iter().find(|l| l.name == name) else {
        return Ok(None);
    };
    if !matches!(p.kind, ParamKind::Array { .. }) || !matches!(length.kind, ParamKind::Int { .. }) {
        return Ok(None);
    }
    let (_, count) = parse_list_with_length(&p.kind, &length.kind, text)
        .with_context(|| format!("--{}", p.name))?;
    Ok(Some((name, count)))
}

/// The bytes of the list parameter of kind `array` for `text`, and of its
/// length parameter (kind `length`) holding how many values were given.
pub fn parse_list_with_length(
    array: &ParamKind,
    length: &ParamKind,
    text: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let ParamKind::Array { elem, len } = array else {
        bail!("a list of values needs an array parameter");
    };
    let (bytes, given) = parse_list(elem, *len, text)?;
    let count = parse_value(length, &given.to_string())
        .context("the parameter holding the number of values")?;
    Ok((bytes, count))
}

fn parse_int(text: &str, size: usize, signed: bool) -> Result<Vec<u8>> {
    let bits = (size * 8) as u32;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = match digits.strip_prefix("0x") {
        Some(hex) => u128::from_str_radix(hex, 16),
        None => digits.parse::<u128>(),
    }
    .map_err(|_| anyhow::anyhow!("'{text}' is not an integer"))?;
    let value: i128 = if negative {
        -(i128::try_from(magnitude).unwrap_or(i128::MAX))
    } else {
        i128::try_from(magnitude).unwrap_or(i128::MAX)
    };
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if value < min || value > max {
        bail!(
            "{text} is out of range for a {bits}-bit {} integer ({min}..={max})",
            if signed { "signed" } else { "unsigned" }
        );
    }
    Ok(value.to_le_bytes()[..size].to_vec())
}

/// The default value as text for `--help`.
fn render(kind: &ParamKind, bytes: &[u8]) -> String {
    let mut raw = [0u8; 16];
    let n = bytes.len().min(16);
    raw[..n].copy_from_slice(&bytes[..n]);
    let unsigned = u128::from_le_bytes(raw);
    match kind {
        ParamKind::Bool => (unsigned != 0).to_string(),
        ParamKind::Int { size, signed: true } => {
            let shift = 128 - size * 8;
            (((unsigned << shift) as i128) >> shift).to_string()
        }
        ParamKind::Int { .. } => unsigned.to_string(),
        ParamKind::Str { .. } => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            format!("\"{}\"", String::from_utf8_lossy(&bytes[..end]))
        }
        ParamKind::Enum { names, .. } => names
            .iter()
            .find(|(_, v)| *v as u128 == unsigned)
            .map_or(unsigned.to_string(), |(n, _)| n.clone()),
        ParamKind::Array { elem, len } => render_list(elem, *len, bytes),
    }
}

/// An array as a list up to its last non-zero element; `none` if all are zero.
fn render_list(elem: &ParamKind, len: usize, bytes: &[u8]) -> String {
    let size = bytes.len() / len.max(1);
    if size == 0 {
        return "none".into();
    }
    let used = bytes
        .chunks(size)
        .rposition(|c| c.iter().any(|&b| b != 0))
        .map_or(0, |last| last + 1);
    if used == 0 {
        return "none".into();
    }
    let items: Vec<String> = bytes
        .chunks(size)
        .take(used)
        .map(|c| render(elem, c))
        .collect();
    items.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_range_checked() {
        let u8k = ParamKind::Int {
            size: 1,
            signed: false,
        };
        assert_eq!(parse_value(&u8k, "255").unwrap(), vec![255]);
        assert!(parse_value(&u8k, "256").is_err());
        assert!(parse_value(&u8k, "-1").is_err());
        let i32k = ParamKind::Int {
            size: 4,
            signed: true,
        };
        assert_eq!(
            parse_value(&i32k, "-2").unwrap(),
            (-2i32).to_le_bytes().to_vec()
        );
        assert_eq!(
            parse_value(&i32k, "0x10").unwrap(),
            16i32.to_le_bytes().to_vec()
        );
        assert!(parse_value(&i32k, "2147483648").is_err());
        assert!(parse_value(&i32k, "abc").is_err());
        let u64k = ParamKind::Int {
            size: 8,
            signed: false,
        };
        assert_eq!(
            parse_value(&u64k, "18446744073709551615").unwrap(),
            vec![0xff; 8]
        );
    }

    #[test]
    fn strings_bools_enums() {
        let s = ParamKind::Str { capacity: 4 };
        assert_eq!(parse_value(&s, "abc").unwrap(), b"abc\0".to_vec());
        assert!(parse_value(&s, "abcd").is_err());
        assert_eq!(parse_value(&ParamKind::Bool, "true").unwrap(), vec![1]);
        let e = ParamKind::Enum {
            size: 4,
            names: vec![("MODE_A".into(), 0), ("MODE_B".into(), 1)],
        };
        assert_eq!(
            parse_value(&e, "mode_b").unwrap(),
            1u32.to_le_bytes().to_vec()
        );
        assert!(
            parse_value(&e, "C")
                .unwrap_err()
                .to_string()
                .contains("MODE_A")
        );
        assert_eq!(render(&e, &1u32.to_le_bytes()), "MODE_B");
        assert_eq!(
            render(
                &ParamKind::Int {
                    size: 4,
                    signed: true
                },
                &(-5i32).to_le_bytes()
            ),
            "-5"
        );
    }

    #[test]
    fn lists_fill_arrays_and_count() {
        let ports = ParamKind::Array {
            elem: Box::new(ParamKind::Int {
                size: 2,
                signed: false,
            }),
            len: 4,
        };
        let len = ParamKind::Int {
            size: 4,
            signed: false,
        };
        let (bytes, count) = parse_list_with_length(&ports, &len, "80, 443").unwrap();
        assert_eq!(bytes, vec![80, 0, 0xbb, 1, 0, 0, 0, 0]);
        assert_eq!(count, 2u32.to_le_bytes().to_vec());
        assert_eq!(render(&ports, &bytes), "80,443");
        assert_eq!(render(&ports, &[0; 8]), "none");
        let error = |text: &str| parse_value(&ports, text).unwrap_err().to_string();
        assert_eq!(error("1,2,3,4,5"), "5 values given; at most 4 fit");
        assert_eq!(error("80,http"), "'http' is not an integer");
        assert!(
            error("70000").contains("out of range"),
            "{}",
            error("70000")
        );
        assert!(error("80,").contains("value 2 is empty"));
        // The length parameter is range-checked too.
        let tiny = ParamKind::Int {
            size: 1,
            signed: false,
        };
        let big = ParamKind::Array {
            elem: Box::new(tiny.clone()),
            len: 300,
        };
        let many = vec!["1"; 256].join(",");
        assert!(parse_list_with_length(&big, &tiny, &many).is_err());
    }
}
