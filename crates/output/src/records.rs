//! The non-event lines: lost events, printk, attach notices, exit.
//!
//! JSON lines share the envelope `{"type": ..., ...}` with events
//! (`"event"`), map snapshots (`"map"`) and histograms (`"hist"`).

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

/// Events the kernel dropped: `lost 3 events on CPU #1` /
/// `{"type":"lost","map":"events","cpu":1,"count":3}`. `cpu` is `None`
/// for ring buffers (their drops are counted by the program, not per CPU).
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
