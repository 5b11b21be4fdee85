//! The non-event lines: lost events, printk, attach notices, exit.
//!
//! JSON lines share the envelope `{"type": ..., ...}` with events
//! (`"event"`), map snapshots (`"map"`) and histograms (`"hist"`).

use crate::clock::WallClock;
use crate::{Mode, Sink, json};
use std::io;

fn finish(line: &mut Vec<u8>, out: &mut dyn Sink) -> io::Result<()> {
    line.extend_from_slice(b"}\n");
    out.write_all(line)?;
    out.flush()
}

fn start(kind: &str) -> Vec<u8> {
    let mut line = b"{\"type\":".to_vec();
    json::write_str(&mut line, kind.as_bytes());
    line
}

fn field_str(line: &mut Vec<u8>, key: &str, value: &str) {
    line.push(b',');
    json::write_str(line, key.as_bytes());
    line.push(b':');
    json::write_str(line, value.as_bytes());
}

fn field_num(line: &mut Vec<u8>, key: &str, value: i128) {
    line.push(b',');
    json::write_str(line, key.as_bytes());
    line.push(b':');
    json::write_int(line, value);
}

fn text_line(out: &mut dyn Sink, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Events that never reached user space, as they become known:
/// `lost 3 events on CPU #1` / `{"type":"lost","map":"events","cpu":1,"count":3}`
/// for a perf buffer's Lost record; `cpu` is `None` for a ring buffer,
/// whose drops the program counts itself (`lost 3 events` /
/// `{"type":"lost","map":"rb","count":3}`, see `bpfkit_drops_t` in bpfkit.h).
pub fn write_lost(
    mode: Mode,
    map: &str,
    cpu: Option<u32>,
    count: u64,
    out: &mut dyn Sink,
) -> io::Result<()> {
    match mode {
        Mode::Table | Mode::Detailed => {
            let text = match cpu {
                Some(cpu) => format!("lost {count} events on CPU #{cpu}"),
                None => format!("lost {count} events"),
            };
            text_line(out, &text)
        }
        Mode::Json => {
            let mut line = start("lost");
            field_str(&mut line, "map", map);
            if let Some(cpu) = cpu {
                field_num(&mut line, "cpu", cpu as i128);
            }
            field_num(&mut line, "count", count as i128);
            finish(&mut line, out)
        }
    }
}

/// The exit summary of one event map's losses over the whole run (the sum
/// of its [`write_lost`] records): `lost 7 events in total (map events)` /
/// `{"type":"lost","map":"events","count":7,"total":true}`.
pub fn write_lost_total(mode: Mode, map: &str, count: u64, out: &mut dyn Sink) -> io::Result<()> {
    match mode {
        Mode::Table | Mode::Detailed => {
            text_line(out, &format!("lost {count} events in total (map {map})"))
        }
        Mode::Json => {
            let mut line = start("lost");
            field_str(&mut line, "map", map);
            field_num(&mut line, "count", count as i128);
            line.extend_from_slice(b",\"total\":true");
            finish(&mut line, out)
        }
    }
}

/// A `bpf_printk` line from the trace pipe.
pub fn write_printk(mode: Mode, text: &str, out: &mut dyn Sink) -> io::Result<()> {
    match mode {
        Mode::Table | Mode::Detailed => text_line(out, text.trim_end_matches('\n')),
        Mode::Json => {
            let mut line = start("printk");
            field_str(&mut line, "text", text.trim_end_matches('\n'));
            finish(&mut line, out)
        }
    }
}

/// A program was attached: `attached execve_enter to tracepoint/syscalls/sys_enter_execve`.
pub fn write_attached(mode: Mode, program: &str, hook: &str, out: &mut dyn Sink) -> io::Result<()> {
    match mode {
        Mode::Table | Mode::Detailed => text_line(out, &format!("attached {program} to {hook}")),
        Mode::Json => {
            let mut line = start("attached");
            field_str(&mut line, "program", program);
            field_str(&mut line, "hook", hook);
            finish(&mut line, out)
        }
    }
}

/// The run ended (`reason`: "signal", "duration", "target exited"...).
/// Table mode prints nothing: libbpf-tools just stop.
pub fn write_exit(mode: Mode, reason: &str, code: i32, out: &mut dyn Sink) -> io::Result<()> {
    match mode {
        Mode::Table | Mode::Detailed => Ok(()),
        Mode::Json => {
            let mut line = start("exit");
            field_str(&mut line, "reason", reason);
            field_num(&mut line, "code", code as i128);
            finish(&mut line, out)
        }
    }
}

/// Any other record type as one JSON line: `{"type":kind, ...fields}`.
pub fn write_record(
    kind: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
    out: &mut dyn Sink,
) -> io::Result<()> {
    let mut line = start(kind);
    for (k, v) in fields {
        line.push(b',');
        json::write_str(&mut line, k.as_bytes());
        line.push(b':');
        json::write_value(&mut line, v);
    }
    finish(&mut line, out)
}

/// A sink that gives every JSON record written through it the `-T`
/// members (`"time"`, `"timestamp"`, see [`WallClock::write_json_now`]),
/// right after its `type`. The time is taken once, when the sink is made,
/// so that every record of one print (an interval's maps) shares it.
/// Other lines (tables) pass unchanged.
pub struct Timestamped<'s> {
    inner: &'s mut dyn Sink,
    members: Vec<u8>,
    /// The start of a line whose end has not been written yet.
    pending: Vec<u8>,
}

impl<'s> Timestamped<'s> {
    pub fn new(inner: &'s mut dyn Sink, clock: &mut WallClock) -> Timestamped<'s> {
        let mut members = Vec::with_capacity(48);
        clock.write_json_now(&mut members);
        Timestamped {
            inner,
            members,
            pending: Vec::new(),
        }
    }

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        const TYPE: &[u8] = b"{\"type\":\"";
        let type_end = line
            .strip_prefix(TYPE)
            .and_then(|rest| rest.iter().position(|&b| b == b'"'))
            .map(|i| TYPE.len() + i + 1);
        match type_end {
            Some(at) => {
                self.inner.write_all(&line[..at])?;
                self.inner.write_all(&self.members)?;
                self.inner.write_all(&line[at..])
            }
            None => self.inner.write_all(line),
        }
    }
}

impl Sink for Timestamped<'_> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(nl + 1);
            if self.pending.is_empty() {
                self.write_line(line)?;
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.write_line(&whole)?;
            }
            rest = tail;
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Also writes out a line still missing its end (formatters write whole
    /// lines, so there is none in practice).
    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.write_line(&line)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lost_lines() {
        assert_eq!(
            run(|o| write_lost(Mode::Table, "events", Some(1), 3, o)),
            "lost 3 events on CPU #1\n"
        );
        assert_eq!(
            run(|o| write_lost(Mode::Json, "events", Some(1), 3, o)),
            "{\"type\":\"lost\",\"map\":\"events\",\"cpu\":1,\"count\":3}\n"
        );
        assert_eq!(
            run(|o| write_lost(Mode::Json, "rb", None, 7, o)),
            "{\"type\":\"lost\",\"map\":\"rb\",\"count\":7}\n"
        );
    }

    #[test]
    fn lost_totals() {
        assert_eq!(
            run(|o| write_lost_total(Mode::Table, "rb", 7, o)),
            "lost 7 events in total (map rb)\n"
        );
        assert_eq!(
            run(|o| write_lost_total(Mode::Json, "rb", 7, o)),
            "{\"type\":\"lost\",\"map\":\"rb\",\"count\":7,\"total\":true}\n"
        );
    }

    #[test]
    fn timestamped_records_get_time_after_their_type() {
        let mut clock = WallClock::with_offsets(0, 0);
        let text = run(|o| {
            let mut t = Timestamped::new(o, &mut clock);
            write_lost(Mode::Json, "rb", None, 2, &mut t)?;
            // A record split over two writes, and a table line.
            t.write_all(b"{\"type\":\"map\",\"ma")?;
            t.write_all(b"p\":\"m\"}\nplain line\n")?;
            t.flush()
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[2], "plain line");
        for line in &lines[..2] {
            assert!(line.starts_with("{\"type\":"), "{line}");
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["time"].as_str().map(str::len), Some(8), "{line}");
            assert!(v["timestamp"].as_f64().unwrap() > 1.7e9, "{line}");
        }
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["count"], 2);
    }

    #[test]
    fn other_records_parse_as_json() {
        for line in [
            run(|o| write_printk(Mode::Json, "bash-1 [000] hello \"x\"\n", o)),
            run(|o| {
                write_attached(
                    Mode::Json,
                    "handle_exec",
                    "tracepoint/sched/sched_process_exec",
                    o,
                )
            }),
            run(|o| write_exit(Mode::Json, "signal", 0, o)),
            run(|o| {
                let mut m = serde_json::Map::new();
                m.insert("n".into(), 1.into());
                write_record("custom", &m, o)
            }),
        ] {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert!(v["type"].is_string(), "{line}");
            assert!(line.ends_with("}\n"));
        }
        assert_eq!(run(|o| write_exit(Mode::Table, "signal", 0, o)), "");
    }
}
