//! The name rules the kernel applies when BTF is loaded (`BPF_BTF_LOAD`,
//! `kernel/bpf/btf.c`: `btf_name_valid_identifier`,
//! `btf_name_valid_section` and the per-kind `*_check_meta`), checked
//! before any of it reaches the kernel.
//!
//! Why here and not in the kernel: when the kernel rejects a name, its log
//! quotes the name, and aya 0.14 turns that log into a `String` with
//! `unwrap()` (`sys/bpf.rs`), so a name holding a byte that is not UTF-8
//! panics the loader. The rules are the kernel's, made stricter in one way:
//! only ASCII counts as a letter or a printable character (the kernel's
//! `ctype` also takes Latin-1 letters, which are not UTF-8 on their own).
//! For the same reason every other string (file names and source lines of
//! line info, which verifier logs quote) must be UTF-8.

use crate::{Btf, Error, Kind, Result};

/// `KSYM_NAME_LEN` of Linux ≥ 6.1: the longest name the kernel takes.
const MAX_NAME_LEN: usize = 512;

/// How a name must look, by where it is used.
#[derive(Clone, Copy, PartialEq)]
enum Rule {
    /// Must be 0 (no name): pointers, qualifiers, arrays, function protos.
    None,
    /// May be empty; otherwise a C identifier (struct, union, enum, member,
    /// parameter).
    OptionalIdentifier,
    /// A C identifier (typedef, fwd, func, var, enumerator).
    Identifier,
    /// Printable ASCII (DATASEC: `.rodata.str1.1`, `license`).
    Section,
    /// Any non-empty string (type tags, decl tags).
    NonEmpty,
    /// Not checked by the kernel (int, float names like `unsigned int`).
    Any,
}

impl Btf {
    /// Checks the names of this BTF's own types against the kernel's
    /// `BPF_BTF_LOAD` rules, and that every string is UTF-8. The error
    /// names the type, the string and the offending byte.
    pub fn check_kernel_names(&self) -> Result<()> {
        check_strings_are_utf8(self.string_section())?;
        for (id, t) in self.iter() {
            let rule = match &t.kind {
                Kind::Void => Rule::Any,
                Kind::Int(_) | Kind::Float { .. } => Rule::Any,
                Kind::Ptr(_)
                | Kind::Const(_)
                | Kind::Volatile(_)
                | Kind::Restrict(_)
                | Kind::Array(_)
                | Kind::FuncProto(_) => Rule::None,
                Kind::Struct(_) | Kind::Union(_) | Kind::Enum(_) => Rule::OptionalIdentifier,
                Kind::Typedef(_) | Kind::Fwd { .. } | Kind::Func { .. } | Kind::Var { .. } => {
                    Rule::Identifier
                }
                Kind::Datasec(_) => Rule::Section,
                Kind::TypeTag(_) | Kind::DeclTag { .. } => Rule::NonEmpty,
            };
            self.check_name_rule(t.name_off, rule, "name")
                .map_err(|e| e.in_type(id))?;
            self.check_member_names(&t.kind)
                .map_err(|e| e.in_type(id))?;
        }
        Ok(())
    }

    fn check_member_names(&self, kind: &Kind) -> Result<()> {
        match kind {
            Kind::Struct(c) | Kind::Union(c) => {
                for m in &c.members {
                    self.check_name_rule(m.name_off, Rule::OptionalIdentifier, "member name")?;
                }
            }
            Kind::Enum(e) => {
                for v in &e.values {
                    self.check_name_rule(v.name_off, Rule::Identifier, "enumerator name")?;
                }
            }
            Kind::FuncProto(p) => {
                for p in &p.params {
                    self.check_name_rule(p.name_off, Rule::OptionalIdentifier, "parameter name")?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_name_rule(&self, off: u32, rule: Rule, what: &str) -> Result<()> {
        let bytes = self.raw_str_at(off);
        let fail = |why: String| {
            Err(Error::Invalid(format!(
                "{what} {} (string offset {off}) {why}, which the kernel rejects",
                quote(bytes)
            )))
        };
        match rule {
            Rule::Any => Ok(()),
            Rule::None if off != 0 => fail("is set on a type that has no name".into()),
            Rule::None => Ok(()),
            Rule::OptionalIdentifier if bytes.is_empty() => Ok(()),
            Rule::NonEmpty | Rule::Identifier | Rule::Section if bytes.is_empty() => {
                fail("is empty".into())
            }
            Rule::NonEmpty => Ok(()),
            _ if bytes.len() > MAX_NAME_LEN => fail(format!(
                "is {} bytes long, over the kernel's {MAX_NAME_LEN}",
                bytes.len()
            )),
            Rule::Section => match bytes.iter().position(|b| !(0x20..0x7f).contains(b)) {
                Some(at) => fail(bad_byte(
                    bytes,
                    at,
                    "a section name must be printable ASCII",
                )),
                None => Ok(()),
            },
            _ => match bytes
                .iter()
                .enumerate()
                .position(|(i, &b)| !identifier_byte(b, i == 0))
            {
                Some(at) => fail(bad_byte(
                    bytes,
                    at,
                    "an identifier is ASCII letters, digits, '_' and '.', not starting with a digit",
                )),
                None => Ok(()),
            },
        }
    }

    /// The bytes of the string at `off` (without its NUL), whatever they are.
    fn raw_str_at(&self, off: u32) -> &[u8] {
        if off < self.str_base {
            return self.base.as_ref().map_or(&[], |b| b.raw_str_at(off));
        }
        let rest = self
            .string_section()
            .get((off - self.str_base) as usize..)
            .unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }
}

/// The kernel's `__btf_name_char_ok`, with ASCII `isalpha`/`isalnum`.
fn identifier_byte(b: u8, first: bool) -> bool {
    let alnum = if first {
        b.is_ascii_alphabetic()
    } else {
        b.is_ascii_alphanumeric()
    };
    alnum || b == b'_' || b == b'.'
}

fn bad_byte(bytes: &[u8], at: usize, rule: &str) -> String {
    format!("has byte {:#04x} at position {at} ({rule})", bytes[at])
}

/// A name for an error message: escaped, so that it prints whatever it holds.
fn quote(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

fn check_strings_are_utf8(strings: &[u8]) -> Result<()> {
    let mut start = 0;
    for s in strings.split(|&b| b == 0) {
        if let Err(e) = std::str::from_utf8(s) {
            return Err(Error::Invalid(format!(
                "string {} at offset {start} is not UTF-8 (byte {:#04x} at position {}); \
                 the kernel's log would quote it and aya cannot read such a log",
                quote(s),
                s[e.valid_up_to()],
                e.valid_up_to()
            )));
        }
        start += s.len() + 1;
    }
    Ok(())
}
