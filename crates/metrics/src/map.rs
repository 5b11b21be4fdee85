//! One decoded map as metric families.

use crate::expo::{Exposition, Kind, sanitize_name};
use bpfkit_output::hist::{HistKind, log2_range};
use bpfkit_output::{DecodedEntry, DecodedMap};

/// How a map is named and capped.
#[derive(Debug, Clone)]
pub struct MapMetrics {
    /// Family name stem: `bpfkit_OBJECT_MAP`, or a built-in tool's
    /// `bpfkit_TOOL` for its summary map.
    pub base: String,
    /// What the map is, for `# HELP` (`map 'counts' of execcount.bpf.o`).
    pub about: String,
    /// At most this many label sets per map; the smallest of the rest are
    /// added up into one series whose labels all say `other`.
    pub max_series: usize,
}

/// The label value of the series that holds the entries over the cap.
pub const OTHER: &str = "other";

/// Writes the families of one map. Returns how many entries went into the
/// `other` series (0 when under the cap).
pub fn write_map(expo: &mut Exposition, metrics: &MapMetrics, map: &DecodedMap) -> usize {
    let (entries, aggregated) = cap(&map.entries, metrics.max_series.max(1));
    let Some(first) = entries.first() else {
        return aggregated;
    };
    let label_names = label_names(first, map.hist.is_some());
    for (index, (field, _)) in first.numbers.iter().enumerate() {
        write_numbers(expo, metrics, &label_names, &entries, index, field);
    }
    if let Some((kind, unit)) = &map.hist {
        write_histograms(expo, metrics, &label_names, &entries, *kind, unit);
    }
    aggregated
}

/// Sanitized, unique label names; `le` is the histogram's own.
fn label_names(entry: &DecodedEntry, hist: bool) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (raw, _) in &entry.labels {
        let mut name = sanitize_name(raw);
        if (hist && name == "le") || name.starts_with("__") {
            name = format!("key_{}", name.trim_start_matches('_'));
        }
        while names.contains(&name) {
            name.push('_');
        }
        names.push(name);
    }
    names
}

/// The entries to show: all when at most `max` (sorted by labels, so that
/// a scrape reads the same twice), else the `max - 1` largest plus their
/// sum under `other` labels.
fn cap(entries: &[DecodedEntry], max: usize) -> (Vec<DecodedEntry>, usize) {
    let mut sorted: Vec<DecodedEntry> = entries.to_vec();
    let mut aggregated = 0;
    if sorted.len() > max {
        sorted.sort_by_key(|e| std::cmp::Reverse(weight(e)));
        let rest = sorted.split_off(max - 1);
        aggregated = rest.len();
        sorted.push(sum_as_other(&rest));
    }
    sorted.sort_by(|a, b| {
        let other = |e: &DecodedEntry| e.labels.iter().all(|(_, v)| v == OTHER);
        (other(a), &a.labels).cmp(&(other(b), &b.labels))
    });
    (sorted, aggregated)
}

/// What an entry weighs for the cap: its first number, or its count.
fn weight(entry: &DecodedEntry) -> i128 {
    match &entry.slots {
        Some(slots) => slots.iter().map(|&n| n as i128).sum(),
        None => entry.numbers.first().map_or(0, |(_, n)| *n),
    }
}

fn sum_as_other(rest: &[DecodedEntry]) -> DecodedEntry {
    let mut other = rest[0].clone();
    for (_, text) in &mut other.labels {
        *text = OTHER.to_string();
    }
    for entry in &rest[1..] {
        for (total, (_, n)) in other.numbers.iter_mut().zip(&entry.numbers) {
            total.1 = total.1.wrapping_add(*n);
        }
        if let (Some(total), Some(slots)) = (&mut other.slots, &entry.slots) {
            for (t, n) in total.iter_mut().zip(slots) {
                *t = t.wrapping_add(*n);
            }
        }
    }
    other
}

fn labels_of<'a>(names: &'a [String], entry: &'a DecodedEntry) -> Vec<(&'a str, &'a str)> {
    names
        .iter()
        .zip(&entry.labels)
        .map(|(name, (_, text))| (name.as_str(), text.as_str()))
        .collect()
}

fn write_numbers(
    expo: &mut Exposition,
    metrics: &MapMetrics,
    label_names: &[String],
    entries: &[DecodedEntry],
    index: usize,
    field: &str,
) {
    let kind = number_kind(if field.is_empty() {
        &metrics.base
    } else {
        field
    });
    // `total_ns` → `_seconds`, in seconds: the unit Prometheus expects.
    let (stem, divisor) = match time_unit(field) {
        Some((stem, divisor)) => (format!("{stem}_seconds"), Some(divisor)),
        None => (field.to_string(), None),
    };
    // A counter says `_total` itself: `total_seconds` is `seconds_total`.
    let stem = match kind {
        Kind::Counter => stem.strip_prefix("total_").unwrap_or(&stem).to_string(),
        _ => stem,
    };
    let name = if stem.is_empty() {
        metrics.base.clone()
    } else {
        format!("{}_{}", metrics.base, sanitize_name(&stem))
    };
    let what = if field.is_empty() {
        "value".to_string()
    } else {
        format!("member '{field}'")
    };
    if !expo.family(&name, kind, &format!("{what} of {}", metrics.about)) {
        return;
    }
    let sample = match kind {
        Kind::Counter => format!("{name}_total"),
        _ => name,
    };
    for entry in entries {
        let Some((_, n)) = entry.numbers.get(index) else {
            continue;
        };
        let labels = labels_of(label_names, entry);
        match divisor {
            Some(d) => expo.sample(&sample, &labels, *n as f64 / d),
            None => expo.sample(&sample, &labels, n),
        }
    }
}

/// A field named with a time unit: its name without it, and units per
/// second.
fn time_unit(field: &str) -> Option<(&str, f64)> {
    [
        ("_nsecs", 1e9),
        ("_usecs", 1e6),
        ("_msecs", 1e3),
        ("_ns", 1e9),
        ("_us", 1e6),
        ("_ms", 1e3),
    ]
    .iter()
    .find_map(|(unit, d)| field.strip_suffix(unit).map(|stem| (stem, *d)))
}

/// Counter unless the name says the value goes down too (a current level,
/// a size, a maximum, a last-seen value).
fn number_kind(name: &str) -> Kind {
    const GAUGE_WORDS: &[&str] = &[
        "cur", "current", "inflight", "queued", "qlen", "len", "depth", "size", "max", "min",
        "last", "avg", "level", "pending", "active", "gauge", "free", "used", "ts",
    ];
    let lower = name.to_ascii_lowercase();
    if lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| GAUGE_WORDS.contains(&word))
    {
        Kind::Gauge
    } else {
        Kind::Counter
    }
}

/// Seconds per unit of a histogram, when its unit is a time.
fn seconds_per(unit: &str) -> Option<f64> {
    match unit {
        "nsecs" => Some(1e9),
        "usecs" => Some(1e6),
        "msecs" => Some(1e3),
        _ => None,
    }
}

fn write_histograms(
    expo: &mut Exposition,
    metrics: &MapMetrics,
    label_names: &[String],
    entries: &[DecodedEntry],
    kind: HistKind,
    unit: &str,
) {
    let divisor = seconds_per(unit);
    let name = match divisor {
        Some(_) => format!("{}_seconds", without_unit(&metrics.base)),
        None => metrics.base.clone(),
    };
    let help = format!(
        "{} histogram of {} (_sum estimated from bucket midpoints)",
        match kind {
            HistKind::Log2 => "log2",
            HistKind::Linear { .. } => "linear",
        },
        metrics.about
    );
    if !expo.family(&name, Kind::Histogram, &help) {
        return;
    }
    let scale = |raw: f64| divisor.map_or(raw, |d| raw / d);
    let bucket = format!("{name}_bucket");
    for entry in entries {
        let Some(slots) = &entry.slots else { continue };
        let mut labels = labels_of(label_names, entry);
        let mut cumulative: u64 = 0;
        let mut sum = 0f64;
        let mut le_text = Vec::with_capacity(slots.len());
        for (i, &count) in slots.iter().enumerate() {
            let (low, high) = slot_range(kind, i);
            cumulative = cumulative.wrapping_add(count);
            sum += count as f64 * scale((low as f64 + high as f64) / 2.0);
            le_text.push((scale(high as f64).to_string(), cumulative));
        }
        for (le, count) in &le_text {
            labels.push(("le", le));
            expo.sample(&bucket, &labels, count);
            labels.pop();
        }
        labels.push(("le", "+Inf"));
        expo.sample(&bucket, &labels, cumulative);
        labels.pop();
        expo.sample(&format!("{name}_count"), &labels, cumulative);
        expo.sample(&format!("{name}_sum"), &labels, sum);
    }
}

/// `bpfkit_x_sleep_usecs` → `bpfkit_x_sleep`: the family says `_seconds`.
fn without_unit(base: &str) -> &str {
    time_unit(base).map_or(base, |(stem, _)| stem)
}

/// The inclusive raw value range of slot `i`.
fn slot_range(kind: HistKind, i: usize) -> (u64, u64) {
    match kind {
        HistKind::Log2 => log2_range(i),
        HistKind::Linear { base, step } => {
            let low = base.saturating_add((i as u64).saturating_mul(step));
            (low, low.saturating_add(step.max(1) - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn entry(
        labels: &[(&str, &str)],
        numbers: &[(&str, i128)],
        slots: Option<&[u64]>,
    ) -> DecodedEntry {
        DecodedEntry {
            labels: labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            numbers: numbers.iter().map(|(a, n)| (a.to_string(), *n)).collect(),
            slots: slots.map(<[u64]>::to_vec),
        }
    }

    fn metrics(base: &str, max_series: usize) -> MapMetrics {
        MapMetrics {
            base: base.into(),
            about: "map 'm' of t.bpf.o".into(),
            max_series,
        }
    }

    fn render(m: &MapMetrics, map: &DecodedMap) -> (String, usize) {
        let mut expo = Exposition::new(Format::OpenMetrics);
        let aggregated = write_map(&mut expo, m, map);
        (expo.finish(), aggregated)
    }

    #[test]
    fn struct_values_give_one_family_per_member() {
        let map = DecodedMap {
            hist: None,
            entries: vec![
                entry(
                    &[("pid", "7"), ("comm", "sh")],
                    &[("count", 3), ("max_len", 9), ("total_ns", 1500)],
                    None,
                ),
                entry(
                    &[("pid", "5"), ("comm", "cat")],
                    &[("count", 1), ("max_len", 2), ("total_ns", 2_000_000_000)],
                    None,
                ),
            ],
        };
        let (text, aggregated) = render(&metrics("bpfkit_t_m", 10), &map);
        assert_eq!(aggregated, 0);
        assert_eq!(
            text,
            "# HELP bpfkit_t_m_count member 'count' of map 'm' of t.bpf.o
# TYPE bpfkit_t_m_count counter
bpfkit_t_m_count_total{pid=\"5\",comm=\"cat\"} 1
bpfkit_t_m_count_total{pid=\"7\",comm=\"sh\"} 3
# HELP bpfkit_t_m_max_len member 'max_len' of map 'm' of t.bpf.o
# TYPE bpfkit_t_m_max_len gauge
bpfkit_t_m_max_len{pid=\"5\",comm=\"cat\"} 2
bpfkit_t_m_max_len{pid=\"7\",comm=\"sh\"} 9
# HELP bpfkit_t_m_seconds member 'total_ns' of map 'm' of t.bpf.o
# TYPE bpfkit_t_m_seconds counter
bpfkit_t_m_seconds_total{pid=\"5\",comm=\"cat\"} 2
bpfkit_t_m_seconds_total{pid=\"7\",comm=\"sh\"} 0.0000015
# EOF
"
        );
    }

    #[test]
    fn log2_slots_become_a_histogram_in_seconds() {
        let map = DecodedMap {
            hist: Some((HistKind::Log2, "usecs".into())),
            entries: vec![entry(&[], &[], Some(&[1, 0, 2]))],
        };
        let (text, _) = render(&metrics("bpfkit_runqlat", 10), &map);
        let (renamed, _) = render(&metrics("bpfkit_runqlat_usecs", 10), &map);
        assert_eq!(renamed, text, "the unit is said once, as seconds");
        assert_eq!(
            text,
            "# HELP bpfkit_runqlat_seconds log2 histogram of map 'm' of t.bpf.o (_sum estimated from bucket midpoints)
# TYPE bpfkit_runqlat_seconds histogram
bpfkit_runqlat_seconds_bucket{le=\"0.000001\"} 1
bpfkit_runqlat_seconds_bucket{le=\"0.000003\"} 1
bpfkit_runqlat_seconds_bucket{le=\"0.000007\"} 3
bpfkit_runqlat_seconds_bucket{le=\"+Inf\"} 3
bpfkit_runqlat_seconds_count 3
bpfkit_runqlat_seconds_sum 0.0000115
# EOF
"
        );
    }

    #[test]
    fn unitless_linear_histograms_keep_raw_bounds() {
        let map = DecodedMap {
            hist: Some((HistKind::Linear { base: 0, step: 10 }, "value".into())),
            entries: vec![entry(&[("le", "x")], &[], Some(&[4, 1]))],
        };
        let (text, _) = render(&metrics("bpfkit_q", 10), &map);
        assert!(
            text.contains("bpfkit_q_bucket{key_le=\"x\",le=\"9\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("bpfkit_q_bucket{key_le=\"x\",le=\"19\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("bpfkit_q_count{key_le=\"x\"} 5\n"), "{text}");
    }

    #[test]
    fn entries_over_the_cap_are_summed_into_other() {
        let entries = (0..100)
            .map(|i| entry(&[("pid", &i.to_string())], &[("", i as i128)], None))
            .collect();
        let map = DecodedMap {
            hist: None,
            entries,
        };
        let (text, aggregated) = render(&metrics("bpfkit_t_counts", 3), &map);
        assert_eq!(aggregated, 98);
        let other: i128 = (0..98).sum();
        assert_eq!(
            text,
            format!(
                "# HELP bpfkit_t_counts value of map 'm' of t.bpf.o
# TYPE bpfkit_t_counts counter
bpfkit_t_counts_total{{pid=\"98\"}} 98
bpfkit_t_counts_total{{pid=\"99\"}} 99
bpfkit_t_counts_total{{pid=\"other\"}} {other}
# EOF
"
            )
        );
    }

    #[test]
    fn empty_maps_write_nothing() {
        let map = DecodedMap {
            hist: None,
            entries: vec![],
        };
        let (text, aggregated) = render(&metrics("bpfkit_t_m", 3), &map);
        assert_eq!((text.as_str(), aggregated), ("# EOF\n", 0));
    }
}
