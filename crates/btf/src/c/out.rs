//! An in-memory output buffer with cheap integer formatting. Emission code
//! writes into it infallibly; the dumper drains it into the caller's writer
//! between top-level types, which is where I/O errors surface.

use std::io::{self, Write};

/// Drain to the writer once this much is buffered.
const FLUSH_AT: usize = 1 << 16;

/// Indentation is capped at this many tabs, like libbpf's `pfx()`.
const MAX_INDENT: usize = 13;
const TABS: &[u8; MAX_INDENT] = b"\t\t\t\t\t\t\t\t\t\t\t\t\t";

#[derive(Default)]
pub(crate) struct Out {
    pub buf: Vec<u8>,
}

impl Out {
    pub fn s(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn indent(&mut self, lvl: usize) {
        self.buf.extend_from_slice(&TABS[..lvl.min(MAX_INDENT)]);
    }

    /// A newline followed by `lvl` tabs.
    pub fn line(&mut self, lvl: usize) {
        self.buf.push(b'\n');
        self.indent(lvl);
    }

    pub fn u64(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.buf.extend_from_slice(&digits[i..]);
    }

    pub fn i64(&mut self, v: i64) {
        if v < 0 {
            self.buf.push(b'-');
        }
        self.u64(v.unsigned_abs());
    }

    /// Hands buffered output to `w` when enough has accumulated.
    pub fn maybe_flush(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush(w)?;
        }
        Ok(())
    }

    pub fn flush(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_integers() {
        let mut o = Out::default();
        for v in [0i64, 7, -1, 42, i64::MIN, i64::MAX] {
            o.buf.clear();
            o.i64(v);
            assert_eq!(String::from_utf8_lossy(&o.buf), v.to_string());
        }
        o.buf.clear();
        o.u64(u64::MAX);
        assert_eq!(String::from_utf8_lossy(&o.buf), u64::MAX.to_string());
    }
}
