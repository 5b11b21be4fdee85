//! bcc's printf subset, rendered in user space from the decoded record:
//! the BPF side only stores the values.

use crate::parse::SyntaxError;

/// How one `%` conversion shows its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    Signed,
    Unsigned,
    Hex,
    Pointer,
    Char,
    Str,
    /// `%K`: the kernel symbol an address falls in.
    KernelSym,
    /// `%U`: the user symbol an address falls in, in the event's process.
    UserSym,
}

impl Conv {
    pub fn wants_string(self) -> bool {
        self == Conv::Str
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// A conversion of the format argument with this index, padded to
    /// `width` (negative: left-aligned). Without `l`/`ll`/`z` an integer is
    /// shown as C's printf does with an `int`: its low 32 bits.
    Value {
        arg: usize,
        conv: Conv,
        width: i32,
        long: bool,
    },
}

/// Splits a format into text and conversions; `column` is where the
/// format string starts in the probe, for errors.
pub fn parse_format(format: &str, column: usize) -> Result<Vec<Piece>, SyntaxError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = format.chars().peekable();
    let mut arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        let mut spec = String::new();
        let conv = loop {
            let Some(c) = chars.next() else {
                return Err(SyntaxError::new(
                    column,
                    format!("'%{spec}' in the format is unfinished"),
                ));
            };
            match c {
                '-' | '0'..='9' | 'l' | 'h' | 'z' => spec.push(c),
                'd' | 'i' => break Conv::Signed,
                'u' => break Conv::Unsigned,
                'x' | 'X' => break Conv::Hex,
                'p' => break Conv::Pointer,
                'c' => break Conv::Char,
                's' => break Conv::Str,
                'K' => break Conv::KernelSym,
                'U' => break Conv::UserSym,
                other => {
                    return Err(SyntaxError::new(
                        column,
                        format!(
                            "'%{spec}{other}' is not supported: %d %i %u %x %p %c %s %K %U (with l/ll/h and a width) are"
                        ),
                    ));
                }
            }
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let digits: String = spec
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        let width = digits.parse().unwrap_or(0).clamp(-64, 64);
        let long = spec.contains('l') || spec.contains('z');
        pieces.push(Piece::Value {
            arg,
            conv,
            width,
            long,
        });
        arg += 1;
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The number of values a format takes.
pub fn conversions(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .filter(|p| matches!(p, Piece::Value { .. }))
        .count()
}

/// One value for [`render`]: a number, string bytes (up to the first
/// NUL), or a text made for it (a symbol's name).
pub enum Arg<'a> {
    Num(i128),
    Bytes(&'a [u8]),
    Text(String),
}

/// Renders `pieces` with `value(arg)` giving each conversion's value.
pub fn render<'a>(
    pieces: &[Piece],
    value: impl Fn(usize, Conv) -> Option<Arg<'a>>,
    out: &mut Vec<u8>,
) {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Value {
                arg,
                conv,
                width,
                long,
            } => {
                let text = match (value(*arg, *conv), conv) {
                    (Some(Arg::Num(n)), Conv::Signed) if *long => (n as i64).to_string(),
                    (Some(Arg::Num(n)), Conv::Signed) => (n as i32).to_string(),
                    (Some(Arg::Num(n)), Conv::Unsigned) if *long => (n as u64).to_string(),
                    (Some(Arg::Num(n)), Conv::Unsigned) => (n as u32).to_string(),
                    (Some(Arg::Num(n)), Conv::Hex) if *long => format!("{:x}", n as u64),
                    (Some(Arg::Num(n)), Conv::Hex) => format!("{:x}", n as u32),
                    (Some(Arg::Num(n)), Conv::Pointer) => format!("0x{:x}", n as u64),
                    (Some(Arg::Num(n)), Conv::Char) => char::from(n as u8).to_string(),
                    // A symbol the caller could not name: its address.
                    (Some(Arg::Num(n)), Conv::KernelSym | Conv::UserSym) => {
                        format!("0x{:x}", n as u64)
                    }
                    (Some(Arg::Text(t)), _) => t,
                    (Some(Arg::Bytes(b)), _) => {
                        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                        String::from_utf8_lossy(&b[..end]).into_owned()
                    }
                    (_, _) => "?".into(),
                };
                let pad = (width.unsigned_abs() as usize).saturating_sub(text.chars().count());
                if *width > 0 {
                    out.extend(std::iter::repeat_n(b' ', pad));
                }
                // Control characters would corrupt the line.
                for c in text.chars() {
                    if c.is_control() {
                        out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes());
                    } else {
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
                if *width < 0 {
                    out.extend(std::iter::repeat_n(b' ', pad));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_text_alternate() {
        let pieces = parse_format("read %d bytes from %s (%llx) 100%% %d %lu", 5).unwrap();
        assert_eq!(conversions(&pieces), 5);
        let mut out = Vec::new();
        let values = [
            Arg::Num(-3),
            Arg::Bytes(b"/etc\0junk"),
            Arg::Num(255),
            // -100 in a 64-bit register as an int argument: %d shows -100.
            Arg::Num(0xffff_ff9c),
            Arg::Num(5_000_000_000),
        ];
        render(
            &pieces,
            |i, _| {
                values.get(i).map(|v| match v {
                    Arg::Num(n) => Arg::Num(*n),
                    Arg::Bytes(b) => Arg::Bytes(b),
                    Arg::Text(t) => Arg::Text(t.clone()),
                })
            },
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "read -3 bytes from /etc (ff) 100% -100 5000000000"
        );
    }

    #[test]
    fn symbols_show_their_name_or_their_address() {
        let pieces = parse_format("%K in %U", 1).unwrap();
        let mut out = Vec::new();
        render(
            &pieces,
            |i, conv| {
                Some(match (i, conv) {
                    (0, Conv::KernelSym) => Arg::Text("do_sys_openat2".into()),
                    _ => Arg::Num(0x1234),
                })
            },
            &mut out,
        );
        assert_eq!(String::from_utf8(out).unwrap(), "do_sys_openat2 in 0x1234");
    }

    #[test]
    fn unknown_conversion_is_an_error_at_the_format() {
        let e = parse_format("%f", 7).unwrap_err();
        assert_eq!(e.column, 7);
        assert!(e.message.contains("%f"), "{}", e.message);
    }
}
