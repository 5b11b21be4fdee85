//! Tool columns through the path `bpfkit TOOL` uses (`print_options` →
//! [`super::columns`] / [`super::snapshot`] → bpfkit-output): the argument
//! list cell, and random records of every tool's events and summary maps.

use super::super::{Options, print_options};
use crate::run::flags::RunFlags;
use crate::run::printer::PrintOptions;
use bpfkit_object::{Object, map_type};
use bpfkit_output::{EventFormatter, FormatOptions, Mode};
use bpfkit_tools::{Output, ToolSpec};

fn analyze(spec: &ToolSpec) -> Object {
    bpfkit_object::analyze(spec.object).expect("committed tool object analyzes")
}

fn tool_print(object: &Object, output: &Output, given: bool, quote: bool) -> PrintOptions {
    let opts = Options {
        quote,
        ..Default::default()
    };
    print_options(object, output, &RunFlags::default(), &opts, &|_| given)
}

/// The event formatter `bpfkit TOOL` builds for the object's event map.
fn event_formatter(object: &Object, format: &FormatOptions, mode: Mode) -> EventFormatter {
    let map = object
        .maps
        .iter()
        .find(|m| map_type::is_event_stream(m.map_type) && m.event_type.is_some())
        .expect("an event map with a type");
    let format = FormatOptions {
        mode,
        map_name: map.name.clone(),
        ..format.clone()
    };
    let ty = map.event_type.expect("checked above");
    EventFormatter::new(&object.btf, ty, &format)
        .unwrap_or_else(|e| panic!("events of map '{}': {e}", map.name))
}

fn execsnoop_formatter(quote: bool) -> EventFormatter {
    let spec = bpfkit_tools::find("execsnoop").expect("execsnoop spec");
    let object = analyze(spec);
    let print = tool_print(&object, &spec.outputs[0], false, quote);
    let format = print.event_format.expect("execsnoop prints events");
    event_formatter(&object, &format, Mode::Table)
}

/// Writes `value` into `record` where `field` lies.
fn set(f: &EventFormatter, record: &mut [u8], field: &str, value: &[u8]) {
    let at = f.field_bytes(record, field).expect("field exists");
    let offset = at.as_ptr() as usize - record.as_ptr() as usize;
    record[offset..offset + value.len()].copy_from_slice(value);
}

/// An execsnoop record of `bash` (pid 42, ppid 1, exec returned 0) with
/// `args_count` arguments in `args`.
fn exec_record(f: &EventFormatter, args: &[u8], args_count: i32) -> Vec<u8> {
    let mut record = vec![0; f.record_size()];
    set(f, &mut record, "comm", b"bash");
    set(f, &mut record, "pid", &42i32.to_ne_bytes());
    set(f, &mut record, "ppid", &1i32.to_ne_bytes());
    set(f, &mut record, "args_count", &args_count.to_ne_bytes());
    set(
        f,
        &mut record,
        "args_size",
        &(args.len() as u32).to_ne_bytes(),
    );
    set(f, &mut record, "args", args);
    record
}

/// The table row of [`exec_record`].
fn exec_line(f: &mut EventFormatter, args: &[u8], args_count: i32) -> String {
    let record = exec_record(f, args, args_count);
    String::from_utf8(f.format_event(&record).expect("formats").to_vec()).expect("UTF-8")
}

// PCOMM (16) PID (6) PPID (6) RET (3, right) ARGS: the row ends with RET
// and its separator, whatever ARGS holds.
const ROW: &str = "bash             42     1        0 ";

#[test]
fn empty_arg_list_keeps_the_previous_separator() {
    for quote in [false, true] {
        let mut f = execsnoop_formatter(quote);
        assert_eq!(exec_line(&mut f, b"", 0), format!("{ROW}\n"));
    }
}

#[test]
fn blank_arguments_stay_inside_their_cell() {
    let mut f = execsnoop_formatter(false);
    assert_eq!(exec_line(&mut f, b"   \0", 1), format!("{ROW}\n"));
    assert_eq!(exec_line(&mut f, b" \0 \0", 2), format!("{ROW}\n"));
    let mut quoted = execsnoop_formatter(true);
    assert_eq!(
        exec_line(&mut quoted, b"   \0", 1),
        format!("{ROW}\"   \"\n")
    );
}

#[test]
fn arguments_follow_the_ret_column() {
    let mut f = execsnoop_formatter(false);
    assert_eq!(
        exec_line(&mut f, b"/bin/ls\0-l\0", 2),
        format!("{ROW}/bin/ls -l\n")
    );
}
