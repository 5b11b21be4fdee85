//! Histogram text exactly like libbpf-tools' `print_log2_hist` and
//! `print_linear_hist` (trace_helpers.c), and their JSON form.
//!
//! As there: trailing empty buckets are dropped, leading empty buckets are
//! kept for log2 histograms (the ranges start at 0) and skipped for linear
//! ones, stars are scaled to the fullest bucket (40 wide, 20 once there are
//! more than 33 buckets), and nothing is printed when every bucket is empty.

use crate::json;
use std::io::{self, Write};

const STARS_MAX: u64 = 40;

fn write_stars(out: &mut dyn Write, val: u64, val_max: u64, width: u64) -> io::Result<()> {
    let stars = if val_max == 0 {
        0
    } else {
        (val.min(val_max) as u128 * width as u128 / val_max as u128) as u64
    };
    let mut line = Vec::with_capacity(width as usize + 1);
    line.resize(stars as usize, b'*');
    line.resize(width as usize, b' ');
    if val > val_max {
        line.push(b'+');
    }
    out.write_all(&line)
}

/// The inclusive value range of log2 slot `i`: 0 → 1, 2 → 3, 4 → 7...
pub fn log2_range(i: usize) -> (u64, u64) {
    let high = if i >= 63 {
        u64::MAX
    } else {
        (1u64 << (i + 1)) - 1
    };
    let low = if i >= 64 { u64::MAX } else { 1u64 << i };
    if low == high {
        (low.saturating_sub(1), high)
    } else {
        (low, high)
    }
}

/// `print_log2_hist(vals, vals_size, val_type)` of libbpf-tools.
pub fn print_log2_hist(slots: &[u64], unit: &str, out: &mut dyn Write) -> io::Result<()> {
    let Some(idx_max) = slots.iter().rposition(|&v| v > 0) else {
        return Ok(());
    };
    let val_max = slots.iter().copied().max().unwrap_or(0);
    let wide = idx_max > 32;
    let (pad, label_w, width, stars) = if wide {
        (15, 29, 20, STARS_MAX / 2)
    } else {
        (5, 19, 10, STARS_MAX)
    };
    writeln!(out, "{:pad$}{unit:<label_w$} : count    distribution", "")?;
    for (i, &val) in slots.iter().enumerate().take(idx_max + 1) {
        let (low, high) = log2_range(i);
        write!(out, "{low:>width$} -> {high:<width$} : {val:<8} |")?;
        write_stars(out, val, val_max, stars)?;
        writeln!(out, "|")?;
    }
    Ok(())
}

/// `print_linear_hist(vals, vals_size, base, step, val_type)` of libbpf-tools:
/// bucket `i` is the value `base + i * step`; empty buckets are skipped.
pub fn print_linear_hist(
    slots: &[u64],
    base: u64,
    step: u64,
    unit: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(idx_max) = slots.iter().rposition(|&v| v > 0) else {
        return Ok(());
    };
    let val_max = slots.iter().copied().max().unwrap_or(0);
    writeln!(out, "     {unit:<13} : count     distribution")?;
    for (i, &val) in slots.iter().enumerate().take(idx_max + 1) {
        if val == 0 {
            continue;
        }
        let bucket = base.wrapping_add((i as u64).wrapping_mul(step));
        write!(out, "        {bucket:<10} : {val:<8} |")?;
        write_stars(out, val, val_max, STARS_MAX)?;
        writeln!(out, "|")?;
    }
    Ok(())
}

/// Whether a histogram is log2 (bcc `bpf_log2l` slots) or linear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistKind {
    Log2,
    Linear { base: u64, step: u64 },
}

/// `{"type":"hist","map":..,"key":..,"unit":..,"buckets":[{"low":0,"high":1,"count":3},...]}`
/// with buckets up to the last non-empty one; `key_json` is already JSON.
pub fn write_hist_json(
    map: &str,
    key_json: Option<&[u8]>,
    unit: &str,
    kind: HistKind,
    slots: &[u64],
    out: &mut Vec<u8>,
) {
    let end = slots.iter().rposition(|&v| v > 0).map_or(0, |i| i + 1);
    out.extend_from_slice(b"{\"type\":\"hist\",\"map\":");
    json::write_str(out, map.as_bytes());
    if let Some(key) = key_json {
        out.extend_from_slice(b",\"key\":");
        out.extend_from_slice(key);
    }
    out.extend_from_slice(b",\"unit\":");
    json::write_str(out, unit.as_bytes());
    out.extend_from_slice(match kind {
        HistKind::Log2 => b",\"scale\":\"log2\",\"buckets\":[".as_slice(),
        HistKind::Linear { .. } => b",\"scale\":\"linear\",\"buckets\":[".as_slice(),
    });
    for (i, &count) in slots[..end].iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let (low, high) = match kind {
            HistKind::Log2 => log2_range(i),
            HistKind::Linear { base, step } => {
                let low = base.wrapping_add((i as u64).wrapping_mul(step));
                (low, low.wrapping_add(step.saturating_sub(1)))
            }
        };
        out.extend_from_slice(b"{\"low\":");
        json::write_uint(out, low as u128);
        out.extend_from_slice(b",\"high\":");
        json::write_uint(out, high as u128);
        out.extend_from_slice(b",\"count\":");
        json::write_uint(out, count as u128);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log2(slots: &[u64], unit: &str) -> String {
        let mut out = Vec::new();
        print_log2_hist(slots, unit, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Captured from `runqlat 1 1` (libbpf-tools 0.26) on this machine.
    const RUNQLAT: &str = "     usecs               : count    distribution
         0 -> 1          : 3        |*****                                   |
         2 -> 3          : 14       |************************                |
         4 -> 7          : 15       |**************************              |
         8 -> 15         : 11       |*******************                     |
        16 -> 31         : 23       |****************************************|
        32 -> 63         : 10       |*****************                       |
        64 -> 127        : 6        |**********                              |
       128 -> 255        : 1        |*                                       |
       256 -> 511        : 1        |*                                       |
";

    /// Captured from `runqlat -P 1 1`: leading empty buckets are kept.
    const RUNQLAT_LEADING_ZEROS: &str = "     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 0        |                                        |
         8 -> 15         : 0        |                                        |
        16 -> 31         : 2        |****************************************|
";

    #[test]
    fn log2_matches_libbpf_tools() {
        let mut slots = vec![3, 14, 15, 11, 23, 10, 6, 1, 1];
        slots.resize(26, 0); // trailing empty slots are trimmed
        assert_eq!(log2(&slots, "usecs"), RUNQLAT);
        assert_eq!(log2(&[0, 0, 0, 0, 2, 0, 0], "usecs"), RUNQLAT_LEADING_ZEROS);
        assert_eq!(log2(&[0; 26], "usecs"), "");
        assert_eq!(log2(&[], "usecs"), "");
    }

    #[test]
    fn log2_wide_layout_beyond_32_slots() {
        let mut slots = vec![0u64; 40];
        slots[34] = 2;
        slots[0] = 1;
        let text = log2(&slots, "nsecs");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("{:15}{:<29} : count    distribution", "", "nsecs")
        );
        assert_eq!(
            lines[1],
            format!("{:>20} -> {:<20} : 1        |{:20}|", 0, 1, "**********")
        );
        assert_eq!(lines.len(), 36);
        assert!(
            lines[35].ends_with(": 2        |********************|"),
            "{}",
            lines[35]
        );
    }

    #[test]
    fn linear_matches_libbpf_tools_layout() {
        let mut out = Vec::new();
        print_linear_hist(&[0, 4, 0, 2, 0, 0], 0, 10, "msecs", &mut out).unwrap();
        let expected = "     msecs         : count     distribution
        10         : 4        |****************************************|
        30         : 2        |********************                    |
";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn json_buckets() {
        let mut out = Vec::new();
        write_hist_json(
            "hists",
            Some(b"42"),
            "usecs",
            HistKind::Log2,
            &[1, 0, 2, 0, 0],
            &mut out,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["type"], "hist");
        assert_eq!(v["key"], 42);
        assert_eq!(v["buckets"].as_array().unwrap().len(), 3);
        assert_eq!(
            v["buckets"][2],
            serde_json::json!({"low": 4, "high": 7, "count": 2})
        );
        assert_eq!(
            v["buckets"][0],
            serde_json::json!({"low": 0, "high": 1, "count": 1})
        );
    }
}
