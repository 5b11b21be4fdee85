//! `bpfkit run OBJ|SRC [options] [parameters]`: the generic runtime.
//!
//! analyze the object → parse the flags its parameters define → load and
//! attach (bpfkit-runtime) → print events and maps (bpfkit-output) until
//! Ctrl-C, `--duration` or `--max-events` → final maps → detach.

pub(crate) mod flags;
pub(crate) mod params;
pub(crate) mod printer;
pub(crate) mod signals;

use anyhow::{Context, Result};
use bpfkit_object::Object;
use bpfkit_output::{Mode, records};
use bpfkit_runtime::{ExitReason, LoadOptions, RunOptions, RunSummary, Session};
use clap::Args;
use flags::RunFlags;
use printer::{PrintOptions, Printer};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
// `bpfkit run OBJ --help` lists the object's own flags, so `--help` after
// the target must reach the object's command instead of this one.
#[command(
    disable_help_flag = true,
    after_help = "Options and parameters of the object: bpfkit run OBJ --help

EXAMPLES:
    bpfkit run examples/execsnoop.bpf.o               # every exec, as a table
    bpfkit run examples/opensnoop.bpf.o -p 1234       # a const volatile targ_pid
    bpfkit run examples/minimal.bpf.c -d 5s           # build (cached), run 5 seconds
    bpfkit run examples/runqlat.bpf.o -i 1s -d 5s     # histogram every second
    bpfkit run examples/exitsnoop.bpf.o -o json | jq .data.comm"
)]
pub struct RunArgs {
    /// A compiled object (`.bpf.o`), a source (`.bpf.c`, built and cached)
    /// or a built-in tool.
    // Hyphen values reach `run` so that `-h`/`--help` in the target's place
    // print this help (and other options there get a usage error).
    #[arg(allow_hyphen_values = true, value_name = "TARGET")]
    target: Option<String>,
    /// Run options and the object's parameters (see `bpfkit run OBJ --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

/// `command` is this subcommand's own clap command, for its help
/// (`bpfkit run --help`) and usage (`bpfkit run` without a target).
pub fn run(args: RunArgs, mut command: clap::Command) -> Result<ExitCode> {
    let target = match args.target.as_deref() {
        Some("-h" | "--help") => {
            crate::out::stdout(command.render_help().to_string())?;
            return Ok(ExitCode::SUCCESS);
        }
        None => return Ok(usage_error(&mut command, "a TARGET is required")),
        Some(option) if option.starts_with('-') => {
            let message = format!("'{option}' comes before the TARGET; options follow it");
            return Ok(usage_error(&mut command, &message));
        }
        Some(t) => t,
    };
    if let Some(tool) = crate::tool::named(target) {
        return crate::tool::run(tool, &args.args);
    }
    let (object, flags) = prepare_object(target, &args.args)?;
    run_object(&object, &flags, PrintOptions::default())
}

/// An object or source target read (built first when it is C source) and
/// analyzed, with the flags `args` set.
pub(crate) fn prepare_object(target: &str, args: &[String]) -> Result<(Object, RunFlags)> {
    let elf = read_target(target, args)?;
    let object = bpfkit_object::analyze(&elf).with_context(|| format!("analyzing {target}"))?;
    let flags = flags::parse("bpfkit", target, &object, args)?;
    Ok((object, flags))
}

/// A usage error as clap reports one: on stderr, with the usage, exit 2.
fn usage_error(command: &mut clap::Command, message: &str) -> ExitCode {
    let error = command.error(clap::error::ErrorKind::MissingRequiredArgument, message);
    crate::out::clap_exit(&error)
}

/// Reads an object, building it first when given C source (with the `-I`
/// and `-D` among `args`, as `bpfkit build` takes them).
fn read_target(target: &str, args: &[String]) -> Result<Vec<u8>> {
    let path = Path::new(target);
    let (include_dirs, defines) = flags::build_flags(args);
    let object_path = if target.ends_with(".c") {
        let mut opts = bpfkit_build::BuildOptions::new(path);
        opts.include_dirs
            .extend(include_dirs.into_iter().map(Into::into));
        opts.defines.extend(defines);
        bpfkit_build::build_cached(&opts).with_context(|| format!("building {target}"))?
    } else {
        if !include_dirs.is_empty() || !defines.is_empty() {
            anyhow::bail!("-I and -D apply to a .bpf.c source, and {target} is an object");
        }
        path.to_path_buf()
    };
    // Not a bare read: /dev/zero or a huge file must be refused, not read.
    Ok(bpfkit_btf::read_input_file(&object_path)?)
}

/// Loads, attaches, prints until stopped, prints the final maps, detaches.
pub fn run_object(object: &Object, flags: &RunFlags, print: PrintOptions) -> Result<ExitCode> {
    catch_early_stop();
    let session = load(object, flags)?;
    run_session(object, session, flags, print)
}

/// From here on, Ctrl-C or SIGTERM while loading ends the run once loaded.
pub(crate) fn catch_early_stop() {
    signals::catch_early_stop();
}

/// From here on a signal is only noted (see [`stop_requested`]), never
/// raised again: for `serve`, whose targets run without the run loop's own
/// signal handling.
pub(crate) fn stop_watching() {
    signals::run_finished();
}

/// Whether Ctrl-C or SIGTERM came (while loading, for instance).
pub(crate) fn stop_requested() -> bool {
    signals::stop_requested().is_some()
}

/// Loads and attaches the programs `flags` leave enabled.
pub(crate) fn load(object: &Object, flags: &RunFlags) -> Result<Session> {
    Ok(Session::load(object, &load_options(flags))?)
}

/// Prints what the loaded `session` sends until stopped, prints the final
/// maps, detaches.
pub(crate) fn run_session(
    object: &Object,
    session: Session,
    flags: &RunFlags,
    mut print: PrintOptions,
) -> Result<ExitCode> {
    if flags.json {
        print.mode = Mode::Json;
    }
    print.time |= flags.time;
    print.top = print.top.or(flags.top);
    print.clear |= flags.clear;
    let print_ready = print.ready_message;
    let mut session = session;
    let mut printer = Printer::new(object, print)?;
    printer.give_way_to(session.stop_handle());
    if flags.verbose {
        for line in printer.ambiguous_orders() {
            eprintln!("bpfkit: {line}");
        }
    }
    // Filters and rules first: the `attached` reports say the run is ready
    // (scripts and tests start their workload on them).
    for (map, path) in &flags.cgroup_maps {
        let dir = open_cgroup(path)?;
        set_cgroup(&session, map, path, &dir)?;
    }
    for (map, key, value) in &flags.map_entries {
        let maps = session.maps();
        bpfkit_sys::map_update(maps.fd(map)?, key, value, bpfkit_sys::BPF_ANY)
            .with_context(|| format!("adding a rule to map '{map}'"))?;
    }
    report_attached(&session, flags, &mut printer)?;
    printer.write_headers()?;
    // `attached` records and headers must be out before events can come.
    printer.flush()?;
    if let Some(message) = print_ready {
        eprintln!("{message}");
    }
    // Syscall programs run once, now that everything else is attached.
    print_syscall_runs(&session, &mut printer, flags.json)?;
    // Iterators and syscall programs alone give nothing to wait for: read
    // the iterators and end.
    let run_once = session.iterators().len() + session.syscall_programs().len();
    let only_iterators = run_once > 0
        && session.attachments().len() == run_once
        && session.event_maps().is_empty()
        && flags.interval.is_none();
    let run_opts = RunOptions {
        duration: flags
            .duration
            .or_else(|| only_iterators.then_some(Duration::ZERO)),
        interval: flags.interval,
        max_events: flags.max_events,
        printk: !flags.no_printk,
        end_when_closed: Some(libc::STDOUT_FILENO),
        ..Default::default()
    };
    // The deadline also ends a wait on a full stdout.
    let deadline = run_opts
        .duration
        .and_then(|d| Instant::now().checked_add(d));
    printer.give_up_writing_at(deadline);
    let summary = match signals::stop_requested() {
        // Ctrl-C while loading: only read what the programs sent so far.
        Some(signal) => {
            let drain = RunOptions {
                duration: Some(Duration::ZERO),
                interval: None,
                ..run_opts
            };
            RunSummary {
                exit: ExitReason::Signal(signal),
                ..session.run(&drain, &mut printer)?
            }
        }
        None => session.run(&run_opts, &mut printer)?,
    };
    signals::run_finished();
    if summary.exit == ExitReason::OutputClosed {
        // stdout's reader is gone (`| head -1`): quiet success, as for a
        // write that met a closed pipe; `session` detaches as it drops.
        return Ok(ExitCode::SUCCESS);
    }
    if stopped_from_outside(summary.exit) {
        // The stop request ends with the run, but it still wins: the final
        // output gets a moment, not a reader's whim.
        printer.give_up_writing_at(Instant::now().checked_add(FINAL_OUTPUT_WAIT));
    }
    if let Some(e) = printer.take_error() {
        // A closed stdout ends the run quietly, as libbpf-tools; `session`
        // detaches everything as it drops.
        if crate::out::is_broken_pipe(&e) {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e);
    }
    print_iterators(&mut session, &mut printer, flags.json)?;
    printer.print_final(&session.maps())?;
    let mode = if flags.json { Mode::Json } else { Mode::Table };
    let reason = exit_reason(summary.exit);
    printer.write_records(|out| {
        for (map, lost) in &summary.lost {
            records::write_lost_total(mode, map, *lost, out)?;
        }
        records::write_exit(mode, reason, 0, out)
    })?;
    if !flags.json && flags.verbose {
        eprintln!("bpfkit: {} events, stopped by {reason}", summary.events);
    }
    // Written before detaching: closing hundreds of tracepoint perf events
    // takes the kernel a grace period each (funccount 't:syscalls:*': ~30
    // s), and the final counts must not wait for it.
    let flushed = printer.flush();
    drop(session);
    match flushed {
        Err(e) if !crate::out::is_broken_pipe(&e) => Err(e),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// What each iterator program writes, read once the run is over: as is, or
/// one `iter` record per program.
fn print_iterators(session: &mut Session, printer: &mut Printer, json: bool) -> Result<()> {
    for (program, text) in session.read_iterators()? {
        let text = String::from_utf8_lossy(&text);
        printer.write_records(|out| {
            if json {
                // "type" first, as in every record.
                let record = format!(
                    "{{\"type\":\"iter\",\"program\":{},\"text\":{}}}\n",
                    serde_json::Value::from(program.as_str()),
                    serde_json::Value::from(text.as_ref())
                );
                out.write_all(record.as_bytes())
            } else {
                out.write_all(text.as_bytes())
            }
        })?;
    }
    Ok(())
}

/// Runs the `syscall` programs once and prints what each returned (and
/// its context afterwards, in hex, when it had one).
fn print_syscall_runs(session: &Session, printer: &mut Printer, json: bool) -> Result<()> {
    for run in session.run_syscall_programs()? {
        let ctx: String = run.ctx_out.iter().map(|b| format!("{b:02x}")).collect();
        printer.write_records(|out| {
            let line = if json {
                format!(
                    "{{\"type\":\"syscall\",\"program\":{},\"retval\":{},\"ctx\":{}}}\n",
                    serde_json::Value::from(run.program.as_str()),
                    run.retval as i32,
                    serde_json::Value::from(ctx.as_str())
                )
            } else if ctx.is_empty() {
                format!("{} returned {}\n", run.program, run.retval as i32)
            } else {
                format!(
                    "{} returned {} (ctx {ctx})\n",
                    run.program, run.retval as i32
                )
            };
            out.write_all(line.as_bytes())
        })?;
    }
    Ok(())
}

/// How long the final output of a stopped run waits for room in stdout.
const FINAL_OUTPUT_WAIT: Duration = Duration::from_secs(2);

/// Whether a signal, the deadline or a stop handle ended the run (not its
/// own event or interval count, whose final output waits for the reader).
fn stopped_from_outside(exit: ExitReason) -> bool {
    matches!(
        exit,
        ExitReason::Signal(_) | ExitReason::Duration | ExitReason::Stopped
    )
}

fn load_options(flags: &RunFlags) -> LoadOptions {
    let mut opts = LoadOptions {
        params: flags.params.clone(),
        disabled: flags.disabled.clone(),
        skip_missing: flags.skip_missing,
        attach_overrides: flags.attach.clone(),
        iface: flags.iface.clone(),
        cgroup: flags.cgroup.clone(),
        pid: flags.pid,
        printk: !flags.no_printk,
        verbose: flags.verbose,
        map_max_entries: flags.map_sizes.clone(),
        syscall_ctx: flags.syscall_ctx.clone(),
        ..Default::default()
    };
    if let Some(freq) = flags.sample_freq {
        opts.sample_freq = freq;
    }
    if let Some(event) = flags.perf_event {
        opts.perf_event.event = event;
    }
    opts.perf_event.period = flags.sample_period;
    opts
}

fn report_attached(session: &Session, flags: &RunFlags, printer: &mut Printer) -> Result<()> {
    for a in session.attachments() {
        if flags.json {
            printer.write_records(|out| {
                records::write_attached(Mode::Json, &a.program, &a.hook, out)
            })?;
        } else if flags.verbose {
            eprintln!("bpfkit: attached {} to {}", a.program, a.hook);
        }
    }
    for s in session.skipped() {
        // Programs the user (or a tool's variant choice) disabled, and twins
        // of attached programs, are no news.
        if flags.verbose || !s.routine {
            eprintln!("bpfkit: skipped {}: {}", s.program, s.reason);
        }
    }
    if session.attachments().is_empty() {
        eprintln!(
            "bpfkit: warning: no program is attached; nothing will happen until the run ends"
        );
    }
    Ok(())
}

/// Stores the fd of the cgroup directory `path` at index 0 of the cgroup
/// array `map`, where `bpf_current_task_under_cgroup()` looks it up.
fn set_cgroup(session: &Session, map: &str, path: &Path, dir: &std::fs::File) -> Result<()> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(dir) as u32;
    let maps = session.maps();
    let map_fd = maps.fd(map)?;
    // The kernel takes its own reference to the cgroup; `dir` may close.
    bpfkit_sys::map_update(map_fd, &0u32.to_ne_bytes(), &fd.to_ne_bytes(), 0)
        .with_context(|| format!("putting cgroup {} into map '{map}'", path.display()))?;
    Ok(())
}

/// The cgroup directory `path`, checked to be one: the kernel would answer
/// anything else with EBADF, which names no cause.
fn open_cgroup(path: &Path) -> Result<std::fs::File> {
    let dir =
        std::fs::File::open(path).with_context(|| format!("opening cgroup {}", path.display()))?;
    if !is_cgroup2(&dir) {
        anyhow::bail!("{} is not a cgroup v2 directory", path.display());
    }
    Ok(dir)
}

/// Whether `dir` is a directory of the cgroup v2 filesystem.
fn is_cgroup2(dir: &std::fs::File) -> bool {
    const CGROUP2_SUPER_MAGIC: libc::c_long = 0x6367_7270;
    // SAFETY: fstatfs fills a zeroed statfs for an fd we own.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstatfs(std::os::fd::AsRawFd::as_raw_fd(dir), &mut fs) };
    rc == 0 && fs.f_type as libc::c_long == CGROUP2_SUPER_MAGIC
}

fn exit_reason(exit: ExitReason) -> &'static str {
    match exit {
        ExitReason::Signal(_) => "signal",
        ExitReason::Duration => "duration",
        ExitReason::Handler => "output",
        ExitReason::EventLimit => "max-events",
        ExitReason::Stopped => "stop",
        ExitReason::NothingToDo => "nothing to do",
        ExitReason::OutputClosed => "output closed",
    }
}
