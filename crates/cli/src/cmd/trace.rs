//! `bpfkit trace PROBE...`: bcc's trace, compiled by bpfkit-probe with no
//! compiler and run through the same path as `bpfkit run`.

use crate::run::flags::{RunFlags, parse_duration};
use crate::run::printer::{MapOutput, PrintOptions};
use anyhow::{Context, Result};
use bpfkit_output::{ColumnSpec, FormatOptions, Mode, TableSpec};
use bpfkit_probe::format::Conv;
use bpfkit_probe::{CodegenOptions, ProbeOutput, stacks};
use bpfkit_symbolize::Symbolizer;
use clap::Args;
use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
#[command(
    after_help = "PROBE: t:CATEGORY:NAME | p:LIB:FUNC[(SIGNATURE)] | r:LIB:FUNC | p::KFUNC | r::KFUNC,
       | U:LIB:PROVIDER:NAME (USDT, bcc's u:; arg1..argN from the probe's notes),
       then [(FILTER)] [\"FORMAT\"[, ARG...]]
  LIB: c (libc), a library name (pthread), a path or a program on PATH
  KFUNC: a kernel function, through fentry/fexit or kprobes (whichever the kernel has; -v says)
  values: args->NAME (tracepoint fields, from tracefs), arg1..arg6 or the signature's names (p:),
          retval (r:), $latency (r:, ns since entry), $entry(NAME) (r:, argument NAME at entry),
          $pid (thread), $tgid, $uid, $gid, $comm, $cpu;
          $task: the current struct task_struct *, in every probe ($task->real_parent->tgid,
          $task->comm, $task->cred->uid.val; members and bitfields typed from kernel BTF);
          kernel functions: arguments by their BTF names (args->file, count), arg1.., retval,
          struct members (args->file->f_flags, file->f_path.dentry->d_name.name)
  filter: == != < > <= >= && || ! + - * / %, strings compare with == and != against a \"literal\"
  format: %d %i %u %x %p %c %s (l, ll, h and a width allowed); %K and %U: the kernel and
          user symbol an address falls in

EXAMPLES:
    bpfkit trace 't:syscalls:sys_enter_openat \"%s\", args->filename'
    bpfkit trace 't:syscalls:sys_enter_fchownat (args->user == 1000) \"%s\", args->filename'
    bpfkit trace -p 181 't:syscalls:sys_exit_read (args->ret > 0) \"read %d bytes\", args->ret'
    bpfkit trace 't:sched:sched_process_exec \"%s\", args->filename' 't:sched:sched_process_exit'
    bpfkit trace 'p:c:open(char *path, int flags) \"%s\", path' 'r:c:open \"fd %d\", retval'
    bpfkit trace 'p:c:malloc(size_t size) (size > 1048576) \"%llu bytes\", size'
    bpfkit trace 'r:c:usleep(u32 us) ($latency > 2000000) \"%u us: %llu ns\", $entry(us), $latency'
    bpfkit trace -p 181 'U:python3:python:gc__start \"generation %d\", arg1'
    bpfkit trace -K -M 3 't:timer:hrtimer_start \"%K\", args->function'
    bpfkit trace -l 'U:python3:*'
    bpfkit trace 't:syscalls:sys_enter_getppid ($task->real_parent->tgid == 1) \"%s\", $task->comm'
    bpfkit trace 'r::do_sys_openat2 (retval < 0) \"failed: %d\", retval'
    bpfkit trace 'p::vfs_read (args->count > 65536) \"%s %u\", file->f_path.dentry->d_name.name, count'"
)]
pub struct TraceArgs {
    /// Probes, each one argument (quote it).
    #[arg(required_unless_present = "list", value_name = "PROBE")]
    probes: Vec<String>,
    /// List the USDT probes of a binary or library matching a glob
    /// (`-l 'U:c:*'`, `-l 'U:python3:gc*'`) instead of tracing.
    #[arg(
        short = 'l',
        long = "list",
        value_name = "U:LIB:PATTERN",
        conflicts_with = "probes"
    )]
    list: Option<String>,
    /// Only events of this process (tgid).
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pid: Option<u32>,
    /// Only events of this thread.
    #[arg(short = 'L', long = "tid", value_name = "TID")]
    tid: Option<u32>,
    /// Only events of processes whose name contains NAME.
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    name: Option<String>,
    /// The kernel stack under each event.
    #[arg(short = 'K', long = "kernel-stack")]
    kernel_stack: bool,
    /// The user stack under each event.
    #[arg(short = 'U', long = "user-stack")]
    user_stack: bool,
    /// Comma-separated ELF files whose symbols name the addresses (`-U`,
    /// `%U`) of a mapped binary with the same build-id, or the same file
    /// name where either has none: symbols for a stripped binary.
    #[arg(
        short = 's',
        long = "sym-file-list",
        value_name = "SYM_FILE_LIST",
        value_delimiter = ','
    )]
    sym_files: Vec<std::path::PathBuf>,
    /// A TIME column (HH:MM:SS).
    #[arg(short = 'T', long = "time")]
    time: bool,
    /// A TIME column of seconds since tracing started.
    #[arg(short = 't', long = "timestamp")]
    elapsed: bool,
    /// A CPU column (bcc's --print_cpu).
    #[arg(short = 'C', long = "print-cpu", alias = "print_cpu")]
    print_cpu: bool,
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
    /// bcc's C headers for the probe's types: accepted and ignored (types
    /// come from BTF), with a note.
    #[arg(short = 'I', long = "include", value_name = "HEADER")]
    include: Vec<String>,
    /// Say what was generated and attached.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
}

pub fn run(args: TraceArgs) -> Result<ExitCode> {
    if let Some(pattern) = &args.list {
        return list(pattern);
    }
    super::kfunc::note_ignored_includes(&args.include);
    use_symbol_files(&args.sym_files)?;
    let duration = args.duration.as_deref().map(parse_duration).transpose()?;
    let tracefs = bpfkit_runtime::features::ensure_tracefs()?;
    let codegen = CodegenOptions {
        pid: args.pid,
        name: args.name,
        tid: args.tid,
        // bpfkit's own work (a malloc per printed line) is not traced.
        exclude_pid: Some(std::process::id()),
        kernel_stack: args.kernel_stack,
        user_stack: args.user_stack,
        kernel: super::kfunc::for_probes(args.probes.iter().map(String::as_str), args.kprobes),
    };
    let compiled = bpfkit_probe::build_trace(&args.probes, &codegen, &tracefs)?;
    let stacks = wanted_stacks(&codegen);
    // The kernel BTF it holds is not needed for loading.
    drop(codegen);
    let object =
        bpfkit_object::analyze(&compiled.elf).context("analyzing the generated program")?;
    let json = args.json || args.output.as_deref() == Some("json");
    let flags = RunFlags {
        json,
        max_events: args.max_events,
        duration,
        // Uprobes in this process only; USDT semaphores raised in it.
        pid: args.pid,
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
                columns: Some(columns(
                    Arc::new(compiled.probes),
                    stacks,
                    json,
                    args.print_cpu,
                )),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    crate::run::run_object(&object, &flags, print)
}

/// `-l U:LIB:PATTERN`: `PATH PROVIDER:NAME` per matching USDT probe.
fn list(pattern: &str) -> Result<ExitCode> {
    let (library, glob) = pattern
        .strip_prefix("U:")
        .or_else(|| pattern.strip_prefix("u:"))
        .and_then(|rest| rest.rsplit_once(':').or(Some((rest, "*"))))
        .filter(|(library, _)| !library.is_empty())
        .ok_or_else(|| anyhow::anyhow!("-l {pattern}: expected U:LIB[:PATTERN], e.g. 'U:c:*'"))?;
    let lines = bpfkit_probe::usdt::list(library, glob)
        .map_err(|e| anyhow::anyhow!("-l {pattern}: {e}"))?;
    if lines.is_empty() {
        anyhow::bail!("-l {pattern}: no USDT probe matches");
    }
    let mut text = lines.join("\n");
    text.push('\n');
    crate::out::stdout(text)?;
    Ok(ExitCode::SUCCESS)
}

thread_local! {
    /// The symbolizer caches what it read (kallsyms, ELF files); it cannot
    /// move between threads, and events are printed on one.
    static SYMBOLIZER: RefCell<Option<Symbolizer>> = const { RefCell::new(None) };
}

/// `-s`: the symbolizer of this thread (the one that prints) with the
/// symbol files added; a file that is not readable ELF is an error here,
/// before anything is loaded.
fn use_symbol_files(paths: &[std::path::PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let mut symbolizer = Symbolizer::new();
    for path in paths {
        symbolizer
            .add_symbol_file(path)
            .with_context(|| format!("-s {}", path.display()))?;
    }
    SYMBOLIZER.with_borrow_mut(|slot| *slot = Some(symbolizer));
    Ok(())
}

fn with_symbolizer<T>(f: impl FnOnce(&mut Symbolizer) -> T) -> T {
    SYMBOLIZER.with_borrow_mut(|symbolizer| f(symbolizer.get_or_insert_with(Symbolizer::new)))
}

/// `-K`/`-U`: the event's stack in member `member` (`stacks::KERNEL_STACK`
/// or `USER_STACK`), symbolized, innermost frame first.
fn stack_frames(record: &bpfkit_output::Record, member: &str) -> Vec<String> {
    let Some(bytes) = record.raw(member) else {
        return Vec::new();
    };
    let ips = stacks::frames(bytes);
    with_symbolizer(|symbolizer| {
        if member == stacks::KERNEL_STACK {
            symbolizer.kernel_frames(&ips)
        } else {
            symbolizer.user_frames(record_pid(record), &ips)
        }
    })
}

/// The stack members `-K`/`-U` asked for, kernel first (as bcc prints
/// them), with their JSON keys (those of `stack` records).
fn wanted_stacks(codegen: &CodegenOptions) -> Vec<(&'static str, &'static str)> {
    let mut wanted = Vec::new();
    if codegen.kernel_stack {
        wanted.push((stacks::KERNEL_STACK, "kernel"));
    }
    if codegen.user_stack {
        wanted.push((stacks::USER_STACK, "user"));
    }
    wanted
}

/// `%K`/`%U`: the name of the symbol `addr` falls in (user symbols in the
/// event's process).
fn symbol(conv: Conv, record: &bpfkit_output::Record, addr: u64) -> Option<String> {
    with_symbolizer(|symbolizer| {
        let sym = match conv {
            Conv::KernelSym => symbolizer.kernel(addr),
            _ => symbolizer.user(record_pid(record), addr),
        };
        sym.map(|s| s.name)
    })
}

fn record_pid(record: &bpfkit_output::Record) -> u32 {
    record
        .num("pid")
        .and_then(|p| u32::try_from(p).ok())
        .unwrap_or(0)
}

/// bcc's columns: (CPU with -C) PID TID COMM FUNC, then the message with
/// the stacks under it, one frame a line. In JSON, the message and the
/// stacks (arrays of frames) are members of the event next to its `data`.
fn columns(
    probes: Arc<Vec<ProbeOutput>>,
    stacks: Vec<(&'static str, &'static str)>,
    json: bool,
    print_cpu: bool,
) -> Vec<ColumnSpec> {
    let of_record = |probes: &[ProbeOutput], record: &bpfkit_output::Record| {
        let index = record.num("probe")?;
        probes.get(usize::try_from(index).ok()?).cloned()
    };
    let names = probes.clone();
    let under_message = if json { Vec::new() } else { stacks.clone() };
    let cpu = print_cpu.then(|| ColumnSpec::new("cpu").header("CPU").width(3));
    let mut columns: Vec<ColumnSpec> = cpu.into_iter().collect();
    columns.extend([
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
                    |conv, addr| symbol(conv, record, addr),
                    out.buffer(),
                );
            }
            for (member, _) in &under_message {
                for frame in stack_frames(record, member) {
                    out.extend_from_slice(b"\n        ");
                    out.extend_from_slice(frame.as_bytes());
                }
            }
        })
        .json("message", false),
    ]);
    if json {
        for (member, key) in stacks {
            let cell = ColumnSpec::custom(key, move |record, out| {
                let frames = stack_frames(record, member);
                // A list of strings always serializes.
                let _ = serde_json::to_writer(out.buffer(), &frames);
            });
            columns.push(cell.json(key, true));
        }
    }
    columns
}
