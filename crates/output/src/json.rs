//! Small JSON writers that append to a byte buffer without allocating.

use bpfkit_btf::value::JSON_SAFE_INT;

/// Appends `s` as a JSON string. Invalid UTF-8 bytes become the text
/// `\xNN` (JSON strings must be valid UTF-8).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    if s.iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(s);
    } else {
        for chunk in s.utf8_chunks() {
            write_escaped(out, chunk.valid());
            for b in chunk.invalid() {
                out.extend_from_slice(b"\\\\x");
                push_hex_byte(out, *b);
            }
        }
    }
    out.push(b'"');
}

fn write_escaped(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(b"\\u00");
                push_hex_byte(out, c as u8);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

pub(crate) fn push_hex_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(HEX[(b >> 4) as usize]);
    out.push(HEX[(b & 15) as usize]);
}

/// An unsigned number; beyond 2^53 a decimal string.
pub(crate) fn write_uint(out: &mut Vec<u8>, v: u128) {
    let mut buf = itoa::Buffer::new();
    if v <= JSON_SAFE_INT {
        out.extend_from_slice(buf.format(v as u64).as_bytes());
    } else {
        out.push(b'"');
        out.extend_from_slice(buf.format(v).as_bytes());
        out.push(b'"');
    }
}

/// A signed number; beyond ±2^53 a decimal string.
pub(crate) fn write_int(out: &mut Vec<u8>, v: i128) {
    let mut buf = itoa::Buffer::new();
    if v.unsigned_abs() <= JSON_SAFE_INT {
        out.extend_from_slice(buf.format(v as i64).as_bytes());
    } else {
        out.push(b'"');
        out.extend_from_slice(buf.format(v).as_bytes());
        out.push(b'"');
    }
}

/// A whole serde_json value (for the rare nested-struct columns).
pub(crate) fn write_value(out: &mut Vec<u8>, v: &serde_json::Value) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        write_str(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_and_stay_valid() {
        assert_eq!(s(b"bash"), "\"bash\"");
        assert_eq!(s(b"a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(s(b"\x01"), r#""\u0001""#);
        assert_eq!(s("é".as_bytes()), "\"é\"");
        let bad = s(b"a\xffb");
        assert_eq!(bad, r#""a\\xffb""#);
        let parsed: serde_json::Value = serde_json::from_str(&bad).unwrap();
        assert_eq!(parsed, "a\\xffb");
    }

    #[test]
    fn big_numbers_are_strings() {
        let mut out = Vec::new();
        write_uint(&mut out, 1 << 53);
        out.push(b' ');
        write_uint(&mut out, (1 << 53) + 1);
        out.push(b' ');
        write_int(&mut out, -(1 << 60));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "9007199254740992 \"9007199254740993\" \"-1152921504606846976\""
        );
    }
}
