//! The exposition text: families (`# HELP`/`# TYPE`), samples, escaping.

use std::fmt::Write;

/// Which text format is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`: counter families are
    /// named without `_total`, the text ends with `# EOF`.
    #[default]
    OpenMetrics,
    /// `text/plain; version=0.0.4`: counter families carry their `_total`.
    Prometheus,
}

impl Format {
    /// The format a scraper asks for with its `Accept` header.
    pub fn from_accept(accept: &str) -> Format {
        if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Exposition text under construction.
#[derive(Debug, Default)]
pub struct Exposition {
    format: Format,
    text: String,
    series: usize,
    /// Family names written so far: a second family of the same name
    /// would make the whole scrape invalid, so it is refused.
    families: std::collections::HashSet<String>,
}

impl Exposition {
    pub fn new(format: Format) -> Exposition {
        Exposition {
            format,
            ..Default::default()
        }
    }

    /// Starts family `name` (without `_total` for counters). Returns false,
    /// writing nothing, when a family of that name was written already.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> bool {
        if !self.families.insert(name.to_string()) {
            return false;
        }
        let type_name = match (kind, self.format) {
            (Kind::Counter, Format::Prometheus) => format!("{name}_total"),
            _ => name.to_string(),
        };
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(self.text, "# HELP {type_name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {type_name} {kind}");
        true
    }

    /// One sample: `name{labels} value`. `name` is the full sample name
    /// (`..._total`, `..._bucket`).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(label);
                self.text.push_str("=\"");
                escape_label_into(&mut self.text, text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
        self.series += 1;
    }

    /// Samples written so far.
    pub fn series(&self) -> usize {
        self.series
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The finished text.
    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.text.push_str("# EOF\n");
        }
        self.text
    }
}

/// A metric or label name from anything: `[a-zA-Z_][a-zA-Z0-9_]*`, other
/// characters as `_`, a leading digit prefixed with `_`.
pub fn sanitize_name(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn escape_label_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_counters_named_per_format() {
        let mut om = Exposition::new(Format::OpenMetrics);
        assert!(om.family("bpfkit_x", Kind::Counter, "Things.\nMore"));
        om.sample("bpfkit_x_total", &[("comm", "a\"b\\c\nd")], 3);
        assert!(!om.family("bpfkit_x", Kind::Gauge, "again"));
        assert_eq!(
            om.finish(),
            "# HELP bpfkit_x Things.\\nMore\n# TYPE bpfkit_x counter\n\
             bpfkit_x_total{comm=\"a\\\"b\\\\c\\nd\"} 3\n# EOF\n"
        );
        let mut prom = Exposition::new(Format::Prometheus);
        prom.family("bpfkit_x", Kind::Counter, "Things.");
        prom.sample("bpfkit_x_total", &[], 1);
        assert_eq!(
            prom.finish(),
            "# HELP bpfkit_x_total Things.\n# TYPE bpfkit_x_total counter\nbpfkit_x_total 1\n"
        );
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize_name("exec-count.v2"), "exec_count_v2");
        assert_eq!(sanitize_name("9lives"), "_9lives");
        assert_eq!(sanitize_name(""), "_");
    }

    #[test]
    fn accept_header_picks_the_format() {
        let prometheus =
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(Format::from_accept(prometheus), Format::OpenMetrics);
        assert_eq!(Format::from_accept("*/*"), Format::Prometheus);
    }
}
