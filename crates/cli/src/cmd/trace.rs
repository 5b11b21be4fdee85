//! `bpfkit trace PROBE...`: bcc's trace, compiled by bpfkit-probe with no
//! compiler and run through the same path as `bpfkit run`.

use crate::run::flags::{RunFlags, parse_duration};
use crate::run::printer::{MapOutput, PrintOptions};
use anyhow::{Context, Result};
use bpfkit_output::{ColumnSpec, FormatOptions, Mode, TableSpec};
use bpfkit_probe::{CodegenOptions, ProbeOutput};
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
#[command(
    after_help = "PROBE: t:CATEGORY:NAME | p:LIB:FUNC[(SIGNATURE)] | r:LIB:FUNC | p::KFUNC | r::KFUNC,
       then [(FILTER)] [\"FORMAT\"[, ARG...]]
  LIB: c (libc), a library name (pthread), a path or a program on PATH
  KFUNC: a kernel function, through fentry/fexit or kprobes (whichever the kernel has; -v says)
  values: args->NAME (tracepoint fields, from tracefs), arg1..arg6 or the signature's names (p:),
          retval (r:), $pid (thread), $tgid, $uid, $gid, $comm, $cpu;
          kernel functions: arguments by their BTF names (args->file, count), arg1.., retval,
          struct members (args->file->f_flags, file->f_path.dentry->d_name.name)
  filter: == != < > <= >= && || ! + - * / %, strings compare with == and != against a \"literal\"
  format: %d %i %u %x %p %c %s (l, ll, h and a width allowed)

EXAMPLES:
    bpfkit trace 't:syscalls:sys_enter_openat \"%s\", args->filename'
    bpfkit trace 't:syscalls:sys_enter_fchownat (args->user == 1000) \"%s\", args->filename'
    bpfkit trace -p 181 't:syscalls:sys_exit_read (args->ret > 0) \"read %d bytes\", args->ret'
    bpfkit trace 't:sched:sched_process_exec \"%s\", args->filename' 't:sched:sched_process_exit'
    bpfkit trace 'p:c:open(char *path, int flags) \"%s\", path' 'r:c:open \"fd %d\", retval'
    bpfkit trace 'p:c:malloc(size_t size) (size > 1048576) \"%llu bytes\", size'
    bpfkit trace 'r::do_sys_openat2 (retval < 0) \"failed: %d\", retval'
    bpfkit trace 'p::vfs_read (args->count > 65536) \"%s %u\", file->f_path.dentry->d_name.name, count'"
)]
pub struct TraceArgs {
    /// Probes, each one argument (quote it).
    #[arg(required = true, value_name = "PROBE")]
    probes: Vec<String>,
    /// Only events of this process (tgid).
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pid: Option<u32>,
    /// Only events of processes whose name contains NAME.
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    name: Option<String>,
    /// A TIME column (HH:MM:SS).
    #[arg(short = 'T', long = "time")]
    time: bool,
    /// A TIME column of seconds since tracing started.
    #[arg(short = 't', long = "timestamp")]
    elapsed: bool,
    /// Stop after this many events.
    #[arg(short = 'M', long = "max-events", value_name = "MAX")]
    max_events: Option<u64>,
    /// Stop after DURATION (5s, 500ms, 1m).
    #[arg(short = 'd', long = "duration", value_name = "DURATION")]
    duration: Option<String>,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_parser = ["table", "json"], value_name = "FORMAT")]
    output: Option<String>,
    /// Kernel functions through kprobes even where fentry works.
    #[arg(long = "kprobes")]
    kprobes: bool,
    /// Say what was generated and attached.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
}

pub fn run(args: TraceArgs) -> Result<ExitCode> {
    let duration = args.duration.as_deref().map(parse_duration).transpose()?;
    let tracefs = bpfkit_runtime::features::ensure_tracefs()?;
    let codegen = CodegenOptions {
        pid: args.pid,
        name: args.name,
        kernel: super::kfunc::for_probes(args.probes.iter().map(String::as_str), args.kprobes),
    };
    let compiled = bpfkit_probe::build_trace(&args.probes, &codegen, &tracefs)?;
    // The kernel BTF it holds is not needed for loading.
    drop(codegen);
    let object =
        bpfkit_object::analyze(&compiled.elf).context("analyzing the generated program")?;
    let json = args.json || args.output.as_deref() == Some("json");
    let flags = RunFlags {
        json,
        max_events: args.max_events,
        duration,
        verbose: args.verbose,
        no_printk: true,
        ..Default::default()
    };
    let print = PrintOptions {
        mode: if json { Mode::Json } else { Mode::Table },
        maps: MapOutput::Nothing,
        header_first: true,
        event_format: Some(FormatOptions {
            time: args.time,
            elapsed: args.elapsed,
            table: TableSpec {
                columns: Some(columns(Arc::new(compiled.probes))),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    crate::run::run_object(&object, &flags, print)
}

/// bcc's columns: PID TID COMM FUNC, then the message.
fn columns(probes: Arc<Vec<ProbeOutput>>) -> Vec<ColumnSpec> {
    let of_record = |probes: &[ProbeOutput], record: &bpfkit_output::Record| {
        let index = record.num("probe")?;
        probes.get(usize::try_from(index).ok()?).cloned()
    };
    let names = probes.clone();
    vec![
        ColumnSpec::new("pid").header("PID").width(7),
        ColumnSpec::new("tid").header("TID").width(7),
        ColumnSpec::new("comm").header("COMM").width(15),
        ColumnSpec::custom("FUNC", move |record, out| {
            if let Some(probe) = of_record(&names, record) {
                out.extend_from_slice(probe.function.as_bytes());
            }
        })
        .width(16),
        ColumnSpec::custom("-", move |record, out| {
            if let Some(probe) = of_record(&probes, record) {
                bpfkit_probe::render_message(
                    &probe,
                    |field| record.num(field),
                    |field| record.raw(field),
                    out.buffer(),
                );
            }
        }),
    ]
}
