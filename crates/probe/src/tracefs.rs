//! Tracepoint fields from tracefs' `events/CAT/NAME/format` files: the
//! same layout the kernel hands a tracepoint program as its context.

use std::path::Path;

/// How a field's value is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer (or a pointer other than `char *`) of `width` bytes,
    /// stored in `size` bytes of the record.
    Int { width: u32, signed: bool },
    /// `char *`: a NUL-terminated string elsewhere.
    CharPointer,
    /// `char NAME[LEN]` inside the record.
    CharArray { len: u32 },
    /// `__data_loc char[] NAME`: a u32 whose low half is the string's
    /// offset in the record.
    DataLocString,
    /// A USDT argument where its spec puts it (register, memory,
    /// constant); `string` when the value is a `char *` to read.
    Usdt {
        arg: bpfkit_object::usdt::UsdtArg,
        string: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub kind: FieldKind,
}

/// Reads the format of tracepoint `category:name` under `tracefs`.
pub fn read_format(tracefs: &Path, category: &str, name: &str) -> Result<Vec<Field>, String> {
    let path = tracefs
        .join("events")
        .join(category)
        .join(name)
        .join("format");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "no tracepoint {category}:{name} on this kernel ({} is missing)",
                path.display()
            )
        } else {
            format!("reading {}: {e}", path.display())
        }
    })?;
    Ok(parse_format(&text))
}

/// The fields of a format file, without the `common_*` ones every
/// tracepoint has.
pub fn parse_format(text: &str) -> Vec<Field> {
    text.lines().filter_map(parse_field_line).collect()
}

/// `field:const char * filename;\toffset:24;\tsize:8;\tsigned:0;`
fn parse_field_line(line: &str) -> Option<Field> {
    let mut decl = None;
    let (mut offset, mut size, mut signed) = (None, None, false);
    for part in line.trim().split(';') {
        let (key, value) = part.trim().split_once(':')?;
        match key {
            "field" => decl = Some(value.trim()),
            "offset" => offset = value.parse().ok(),
            "size" => size = value.parse().ok(),
            "signed" => signed = value == "1",
            _ => {}
        }
        if size.is_some() && offset.is_some() && decl.is_some() && key == "signed" {
            break;
        }
    }
    let decl = decl?;
    let (offset, size) = (offset?, size?);
    let (c_type, name, array) = split_declaration(decl)?;
    if name.starts_with("common_") {
        return None;
    }
    let is_char = c_type.trim_start_matches("const ").trim() == "char"
        || c_type.ends_with(" char") && !c_type.contains("unsigned");
    let kind = if c_type.starts_with("__data_loc") {
        FieldKind::DataLocString
    } else if let Some(len) = array {
        if !is_char {
            return Some(Field {
                name,
                c_type: format!("{c_type}[{len}]"),
                offset,
                size,
                kind: FieldKind::Int { width: 0, signed },
            });
        }
        FieldKind::CharArray { len }
    } else if c_type.ends_with('*') {
        let pointee = c_type.trim_end_matches('*').trim();
        if pointee.trim_start_matches("const ").trim() == "char" {
            FieldKind::CharPointer
        } else {
            FieldKind::Int {
                width: size,
                signed: false,
            }
        }
    } else {
        let (width, signed) = c_int_type(&c_type).unwrap_or((size, signed));
        FieldKind::Int {
            width: width.min(size),
            signed,
        }
    };
    Some(Field {
        name,
        c_type,
        offset,
        size,
        kind,
    })
}

/// `const char * filename` → ("const char *", "filename", None);
/// `char comm[16]` → ("char", "comm", Some(16)).
fn split_declaration(decl: &str) -> Option<(String, String, Option<u32>)> {
    let (decl, array) = match decl.split_once('[') {
        Some((head, rest)) if decl.starts_with("__data_loc") => {
            let _ = rest;
            (head.to_string() + &decl[decl.find(']')? + 1..], None)
        }
        Some((head, rest)) => (head.to_string(), rest.trim_end_matches(']').parse().ok()),
        None => (decl.to_string(), None),
    };
    let split = decl.rfind(|c: char| c.is_whitespace() || c == '*')?;
    let name = decl[split + 1..].trim().to_string();
    let c_type = decl[..split + 1].trim().to_string();
    (!name.is_empty()).then_some((c_type, name, array))
}

/// The width and signedness C gives an integer type the format file names.
/// Syscall tracepoints store every argument in 8 bytes; the declared type
/// says how much of it is the value (`int dfd` is -100, not 4294967196).
pub(crate) fn c_int_type(c_type: &str) -> Option<(u32, bool)> {
    let t = c_type
        .trim_start_matches("const ")
        .trim_start_matches("volatile ")
        .trim();
    Some(match t {
        "char" | "signed char" | "s8" | "__s8" | "int8_t" => (1, true),
        "unsigned char" | "u8" | "__u8" | "uint8_t" | "bool" | "_Bool" => (1, false),
        "short" | "short int" | "s16" | "__s16" | "int16_t" => (2, true),
        "unsigned short" | "u16" | "__u16" | "uint16_t" | "umode_t" => (2, false),
        "int" | "s32" | "__s32" | "int32_t" | "pid_t" | "key_serial_t" | "clockid_t" => (4, true),
        "unsigned int" | "unsigned" | "u32" | "__u32" | "uint32_t" | "uid_t" | "gid_t"
        | "qid_t" | "mode_t" | "dev_t" | "fmode_t" => (4, false),
        "long" | "long int" | "long long" | "s64" | "__s64" | "int64_t" | "ssize_t" | "loff_t"
        | "off_t" | "time_t" => (8, true),
        "unsigned long" | "unsigned long long" | "u64" | "__u64" | "uint64_t" | "size_t" => {
            (8, false)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:0;
\tfield:char comm[16];\toffset:52;\tsize:16;\tsigned:0;
";

    #[test]
    fn fields_are_typed_by_their_declaration() {
        let fields = parse_format(OPENAT);
        let kinds: Vec<(&str, &FieldKind)> =
            fields.iter().map(|f| (f.name.as_str(), &f.kind)).collect();
        assert_eq!(
            kinds,
            [
                (
                    "__syscall_nr",
                    &FieldKind::Int {
                        width: 4,
                        signed: true
                    }
                ),
                (
                    "dfd",
                    &FieldKind::Int {
                        width: 4,
                        signed: true
                    }
                ),
                ("filename", &FieldKind::CharPointer),
                (
                    "mode",
                    &FieldKind::Int {
                        width: 2,
                        signed: false
                    }
                ),
                ("name", &FieldKind::DataLocString),
                ("comm", &FieldKind::CharArray { len: 16 }),
            ]
        );
        assert_eq!(fields[2].offset, 24);
    }
}
