//! Built-in tools (`bpfkit execsnoop ...`, `bpfkit run execsnoop ...`, or a
//! symlink named `execsnoop`): a [`ToolSpec`] from bpfkit-tools turned into
//! the generic run — the variant this kernel supports, the spec's flags as
//! parameters and runtime options, its output as columns or histograms.

mod args;
mod command;
mod hooks;
mod list;
mod output;
mod rules;
pub(crate) mod stacks;

pub(crate) use args::command;
pub use list::{ListArgs, list, verdicts, warn_tracefs_denied};

use crate::run::flags::{RunFlags, param_flags, parse_duration};
use crate::run::params::{ParamKind, parse_value};
use crate::run::printer::{EventFilter, MapOutput, MapPrint, PrintOptions};
use anyhow::{Context, Result, anyhow, bail};
use args::Parsed;
use bpfkit_object::{Hook, Object};
use bpfkit_output::{FormatOptions, Mode, TableSpec};
use bpfkit_runtime::Session;
use bpfkit_tools::{Effect, Flag, Output, Parse, Runtime, ToolSpec, Value};
use hooks::Choice;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The built-in tool called `name`. The tool wins over a file of that name
/// in the current directory (which would otherwise change what
/// `bpfkit run execsnoop` does depending on where it runs); a path
/// (`./execsnoop`) or an object or source name (`.o`, `.c`) means the file.
pub fn named(name: &str) -> Option<&'static ToolSpec> {
    if name.contains('/') || name.ends_with(".o") || name.ends_with(".c") {
        return None;
    }
    bpfkit_tools::find(name)
}

/// Runs a tool with its command-line arguments (without the tool name).
pub fn run(spec: &'static ToolSpec, args: &[String]) -> Result<ExitCode> {
    let parsed = args::parse(spec, args)?;
    if runtime_given(spec, &parsed, |r| r == Runtime::ListSyscalls) {
        crate::out::stdout(syscall_list())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut parsed = parsed;
    let mut command = start_command(spec, &mut parsed)?;
    let LoadedTool {
        object,
        session,
        flags,
        mut print,
    } = load_parsed(spec, &parsed)?;
    if !flags.json && flags.interval.is_none() && flags.duration.is_none() && summarizes(&print) {
        // As libbpf-tools say it, but on stderr: stdout stays the summary.
        print.ready_message = Some("Tracing... Hit Ctrl-C to end.");
    }
    if let Some(command) = &mut command {
        command.start(session.stop_handle())?;
    }
    let result = crate::run::run_session(&object, session, &flags, print);
    // After the final output, which may need the command's memory map.
    if let Some(command) = command {
        command.finish();
    }
    result
}

/// The `-c COMMAND` of a tool that has one, forked and held before its
/// exec; its process ID becomes the value of the flag it stands for.
fn start_command(spec: &ToolSpec, parsed: &mut Parsed) -> Result<Option<command::Command>> {
    let Some((flag, pid_flag)) = command_flag(spec) else {
        return Ok(None);
    };
    let Some(line) = parsed.has(flag.long).then(|| parsed.value(flag)).flatten() else {
        return Ok(None);
    };
    if parsed.has(pid_flag) {
        bail!("--{} and --{pid_flag} exclude each other", flag.long);
    }
    let command = command::Command::spawn(line)?;
    parsed.set(pid_flag, command.pid().to_string());
    Ok(Some(command))
}

/// The flag with [`Runtime::Command`], and the flag its process ID goes to.
fn command_flag(spec: &ToolSpec) -> Option<(&'static Flag, &'static str)> {
    spec.flags.iter().find_map(|f| {
        f.effects.iter().find_map(|e| match e {
            Effect::Runtime(Runtime::Command { pid_flag }) => Some((f, *pid_flag)),
            _ => None,
        })
    })
}

/// A tool loaded and attached with its arguments: what `run` prints and
/// `serve` exports.
pub(crate) struct LoadedTool {
    pub object: Object,
    pub session: Session,
    pub flags: RunFlags,
    pub print: PrintOptions,
}

/// Parses a tool's arguments (without the tool name) and loads the variant
/// that works here.
pub(crate) fn load(spec: &'static ToolSpec, args: &[String]) -> Result<LoadedTool> {
    let parsed = args::parse(spec, args)?;
    if let Some((flag, _)) = command_flag(spec).filter(|(f, _)| parsed.has(f.long)) {
        bail!(
            "--{} starts a command for one run; serve runs none",
            flag.long
        );
    }
    load_parsed(spec, &parsed)
}

fn load_parsed(spec: &'static ToolSpec, parsed: &Parsed) -> Result<LoadedTool> {
    let object = bpfkit_object::analyze(spec.object)
        .with_context(|| format!("analyzing the {} object", spec.name))?;
    // Flag values first: a usage error beats a kernel probe.
    let (mut flags, print) = settings(spec, &object, parsed)?;
    let given = |long: &str| parsed.has(long);
    let has_value = |long: &str, wanted: &str| {
        let flag = spec.flags.iter().find(|f| f.long == long);
        flag.and_then(|f| parsed.value(f)) == Some(wanted)
    };
    let retarget = hooks::Retarget {
        binary: runtime_value(spec, parsed, Runtime::UprobeBinary),
        prefix: runtime_value(spec, parsed, Runtime::UprobeSymbolPrefix),
    };
    crate::run::catch_early_stop();
    let (choice, session) =
        load_variant(spec, &object, &mut flags, (&given, &has_value), retarget)?;
    if parsed.verbose {
        report_choice(spec, &choice);
    }
    Ok(LoadedTool {
        object,
        session,
        flags,
        print,
    })
}

/// Whether a flag was given, and whether it has a value, by long name.
type FlagQueries<'a> = (&'a dyn Fn(&str) -> bool, &'a dyn Fn(&str, &str) -> bool);

/// Loads the first variant that loads and attaches here; a failed one is
/// passed over (its session dropped, the kernel clean) for the next. When
/// only one variant got as far as loading, its own error is returned: it
/// is about this run (a missing interface, no privileges), not a choice.
fn load_variant(
    spec: &ToolSpec,
    object: &Object,
    flags: &mut RunFlags,
    (given, has_value): FlagQueries,
    retarget: hooks::Retarget,
) -> Result<(Choice, Session)> {
    let mut session = None;
    let mut load_errors = Vec::new();
    let candidates = spec.candidate_variants_for(given, has_value);
    let chosen = hooks::choose_loadable(&candidates, object, retarget, |choice| {
        if crate::run::stop_requested() {
            return Err("stopped while loading".into());
        }
        flags.disabled = choice.disabled.clone();
        let loaded = match retarget.is_some() {
            true => retarget_uprobes(flags, object, choice, retarget),
            false => Ok(()),
        }
        .and_then(|()| crate::run::load(object, flags));
        match loaded {
            Ok(loaded) => {
                session = Some(loaded);
                Ok(())
            }
            Err(e) => {
                let why = format!("{e:#}");
                load_errors.push(e);
                Err(why)
            }
        }
    });
    match (chosen, session) {
        (Ok(choice), Some(session)) => Ok((choice, session)),
        (Err(_), _) if load_errors.len() == 1 => Err(load_errors.remove(0)),
        // To a user who may not read tracefs every tracepoint looks missing.
        (Err(why), _) => match bpfkit_runtime::caps::tracefs_denied() {
            Some(denied) => bail!("{} cannot run: {denied}", invoked(spec, given)),
            None => bail!("{} cannot run on this kernel: {why}", invoked(spec, given)),
        },
        (Ok(_), None) => bail!("{}: no variant was loaded", spec.name),
    }
}

/// The tool's name, with the flag that selected its variants if one did
/// (`tcpretrans --lossprobe`): that flag is what needs the missing hooks.
fn invoked(spec: &ToolSpec, given: &dyn Fn(&str) -> bool) -> String {
    match spec
        .candidate_variants(given)
        .first()
        .and_then(|v| v.only_with)
    {
        Some(flag) => format!("{} --{flag}", spec.name),
        None => spec.name.to_string(),
    }
}

/// Whether the tool prints a summary at the end rather than events.
fn summarizes(print: &PrintOptions) -> bool {
    matches!(
        print.maps,
        MapOutput::Only(_) | MapOutput::Several(_) | MapOutput::Stacks(_)
    )
}

fn report_choice(spec: &ToolSpec, choice: &Choice) {
    for (label, why) in &choice.passed_over {
        eprintln!("bpfkit: {}: not using {label}: {why}", spec.name);
    }
    eprintln!(
        "bpfkit: {}: using the {} variant",
        spec.name, choice.variant.label
    );
    for (program, why) in &choice.left_out {
        eprintln!("bpfkit: {}: leaving out {program}: {why}", spec.name);
    }
}

/// Whether a given flag has a runtime effect matching `pred`.
fn runtime_given(spec: &ToolSpec, parsed: &Parsed, pred: impl Fn(Runtime) -> bool) -> bool {
    spec.flags.iter().any(|f| {
        parsed.has(f.long)
            && f.effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(r) if pred(*r)))
    })
}

/// The value of the flag that has runtime effect `wanted`.
fn runtime_value<'a>(spec: &ToolSpec, parsed: &'a Parsed, wanted: Runtime) -> Option<&'a str> {
    spec.flags
        .iter()
        .find(|f| f.effects.contains(&Effect::Runtime(wanted)))
        .and_then(|f| parsed.value(f))
}

/// syscount's `--list`: one syscall name a line.
fn syscall_list() -> String {
    (0..1024)
        .filter_map(bpfkit_output::names::syscall_name)
        .map(|name| format!("{name}\n"))
        .collect()
}

/// Runtime options collected from the flags.
#[derive(Default)]
struct Options {
    wall_time: bool,
    /// The map outputs' time line as `[HH:MM:SS]`.
    brackets: bool,
    /// Events without a header line.
    no_header: bool,
    elapsed: bool,
    detailed: bool,
    quote: bool,
    unit: Option<&'static str>,
    top: Option<usize>,
    intervals: Option<u64>,
    contains: Vec<(&'static str, String)>,
    folded: bool,
    flamegraph: Option<std::path::PathBuf>,
    min_age: Option<stacks::MinAge>,
}

/// The run flags and print options for the parsed command line.
fn settings(spec: &ToolSpec, object: &Object, parsed: &Parsed) -> Result<(RunFlags, PrintOptions)> {
    let mut flags = RunFlags {
        json: parsed.json,
        verbose: parsed.verbose,
        ..Default::default()
    };
    let kinds: HashMap<String, ParamKind> = param_flags(object)?
        .into_iter()
        .map(|p| (p.name, p.kind))
        .collect();
    let mut opts = Options::default();
    for flag in spec.flags {
        let Some(text) = parsed.value(flag) else {
            continue;
        };
        let given = parsed.has(flag.long);
        for effect in flag.effects {
            match *effect {
                // Defaults of parameters are already in the object.
                Effect::Param(name) if given => {
                    let value = param_text(flag, text)?;
                    set_param(&mut flags, &kinds, name, &value, flag)?;
                }
                Effect::Enable(name) if given => set_param(&mut flags, &kinds, name, "1", flag)?,
                Effect::ParamScaled(name, factor) if given => {
                    let value = text
                        .parse::<u64>()
                        .ok()
                        .and_then(|n| n.checked_mul(factor))
                        .ok_or_else(|| anyhow!("{}: '{text}' is not a number", shown(flag)))?;
                    set_param(&mut flags, &kinds, name, &value.to_string(), flag)?;
                }
                Effect::ParamList(array) if given => {
                    let values =
                        args::list_params(&kinds, array, text).with_context(|| shown(flag))?;
                    flags.params.extend(values);
                }
                Effect::Runtime(r) => apply_runtime(r, flag, text, &mut flags, &mut opts)?,
                Effect::MapSize(map, entries) if given => {
                    let size = flags.map_sizes.entry(map.to_string()).or_default();
                    *size = (*size).max(entries);
                }
                _ => {}
            }
        }
    }
    let given = |long: &str| parsed.has(long);
    let output = spec
        .output(&given)
        .with_context(|| format!("{} has no output for these flags", spec.name))?;
    if let Output::Events { defaults, .. } | Output::Table { defaults, .. } = output {
        for r in *defaults {
            apply_switch(*r, &mut opts);
        }
    }
    let mut print = print_options(object, output, &flags, &opts, &given);
    if let MapOutput::Only(map) = &mut print.maps {
        map.summary = spec.summaries(&given);
    }
    if let Some(stack) = spec.stack_output(&given) {
        print.maps = MapOutput::Stacks(Box::new(stacks::StackPrint {
            tool: spec.name,
            output: stack,
            folded: opts.folded,
            flamegraph: opts.flamegraph.clone(),
            min_age: opts.min_age,
            top: opts.top,
        }));
        // Stacks add up over the whole run, as bcc prints them: memleak's
        // maps are state (allocations outstanding until freed), which
        // clearing after each interval would forget.
        print.clear = false;
    }
    Ok((flags, print))
}

fn print_options(
    object: &Object,
    output: &Output,
    flags: &RunFlags,
    opts: &Options,
    given: &dyn Fn(&str) -> bool,
) -> PrintOptions {
    let params = current_params(object, flags);
    let param = |name: &str| params.get(name).copied();
    let auto = |field: &str| auto_render(object, output, field);
    let ctx = output::Context {
        given,
        unit: opts.unit.unwrap_or(output::default_unit(output)),
        quote: opts.quote,
        param: &param,
        auto: &auto,
    };
    let mut print = PrintOptions {
        mode: if opts.detailed {
            Mode::Detailed
        } else {
            Mode::Table
        },
        header_first: true,
        intervals: opts.intervals,
        clear: flags.interval.is_some(),
        ..Default::default()
    };
    match output::snapshot(output, &ctx, opts.top) {
        Some((map, snapshot)) => {
            // The results are the map: the object's event ring buffer (kept
            // for the event mode, silent in this one) gets no table header
            // unless an event does arrive.
            print.header_first = false;
            print.maps = MapOutput::Only(Box::new(MapPrint {
                map,
                snapshot,
                time_line: opts.wall_time,
                brackets: opts.brackets,
                summary: Vec::new(),
            }));
        }
        None => {
            let Output::Events { columns, .. } = output else {
                unreachable!("snapshot() covers every map output");
            };
            print.maps = MapOutput::Nothing;
            print.event_format = Some(FormatOptions {
                time: opts.wall_time,
                elapsed: opts.elapsed,
                header: !opts.no_header,
                table: TableSpec {
                    columns: Some(output::columns(columns, &ctx)),
                },
                ..Default::default()
            });
            print.event_filter = contains_filter(&opts.contains);
        }
    }
    print
}

/// The render bpfkit-output picks by itself for a field of the output's
/// record: the event, or the map's key (`key`, `key.NAME`) or value.
fn auto_render(object: &Object, output: &Output, field: &str) -> Option<bpfkit_output::Render> {
    let (ty, member) = match output {
        Output::Events { .. } => {
            let ty = object.maps.iter().find_map(|m| {
                bpfkit_object::map_type::is_event_stream(m.map_type)
                    .then_some(m.event_type)
                    .flatten()
            })?;
            (ty, field)
        }
        Output::Histogram { map, .. } | Output::Table { map, .. } => {
            let def = object.maps.iter().find(|m| m.name == *map)?;
            match field.strip_prefix("key") {
                Some(rest) if rest.is_empty() || rest.starts_with('.') => {
                    (def.key_type?, rest.strip_prefix('.').unwrap_or(""))
                }
                _ => (def.value_type?, field),
            }
        }
    };
    bpfkit_output::default_render(&object.btf, ty, member).ok()
}

/// Keeps events whose field contains the text; `char[]` fields holding
/// several NUL-separated strings (execsnoop's args) match on any of them.
fn contains_filter(filters: &[(&'static str, String)]) -> Option<EventFilter> {
    if filters.is_empty() {
        return None;
    }
    let filters = filters.to_vec();
    Some(EventFilter(Arc::new(move |formatter, data| {
        filters.iter().all(|(field, needle)| {
            formatter.field_bytes(data, field).is_some_and(|raw| {
                raw.split(|&b| b == 0)
                    .any(|s| s.windows(needle.len()).any(|w| w == needle.as_bytes()))
            })
        })
    })))
}

/// A flag's text as a parameter value: names of errnos, signals and disks
/// become their numbers.
fn param_text(flag: &Flag, text: &str) -> Result<String> {
    let parse = match flag.value {
        Value::Switch => return Ok("1".into()),
        Value::Named(_, p) | Value::Positional(_, p) => p,
    };
    let bad = |what: &str| anyhow!("{}: '{text}' is not {what}", shown(flag));
    Ok(match parse {
        Parse::Int | Parse::Text | Parse::Path => text.to_string(),
        Parse::Errno => match text.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => bpfkit_output::names::errno_by_name(&text.to_ascii_uppercase())
                .ok_or_else(|| bad("an errno (a number or a name like ENOENT)"))?
                .to_string(),
        },
        Parse::Signal => signal_number(text)
            .ok_or_else(|| bad("a signal (a number or a name like KILL or SIGKILL)"))?
            .to_string(),
        Parse::Disk => disk_dev(text)
            .ok_or_else(|| bad("a disk (see /sys/class/block)"))?
            .to_string(),
        Parse::FileSystem if !kernel_has_file_system(text) => {
            return Err(bad(
                "a file system type this kernel knows (see /proc/filesystems)",
            ));
        }
        Parse::FileSystem => text.to_string(),
        Parse::Ipv4 => text
            .parse::<std::net::Ipv4Addr>()
            .map(|addr| u32::from_le_bytes(addr.octets()))
            .map_err(|_| bad("an IPv4 address (like 10.0.0.1)"))?
            .to_string(),
    })
}

fn signal_number(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    (1..=64).find(|&n| bpfkit_output::names::signal_name(n).is_some_and(|s| s == name))
}

/// The kernel's dev_t (`major << 20 | minor`) of disk `name`.
/// Whether `name` is a file system type in /proc/filesystems (`nodev\text4`
/// lines: the name is the last field). An unreadable file answers yes: the
/// kernel half then simply sees no such file system.
fn kernel_has_file_system(name: &str) -> bool {
    match std::fs::read_to_string("/proc/filesystems") {
        Ok(text) => text
            .lines()
            .any(|line| line.split_whitespace().last() == Some(name)),
        Err(_) => true,
    }
}

fn disk_dev(name: &str) -> Option<u64> {
    let text =
        std::fs::read_to_string(Path::new("/sys/class/block").join(name).join("dev")).ok()?;
    let (major, minor) = text.trim().split_once(':')?;
    Some((major.parse::<u64>().ok()? << 20) | minor.parse::<u64>().ok()?)
}

/// How the user wrote the flag: `--long`, or a positional's metavar.
fn shown(flag: &Flag) -> String {
    match flag.value {
        Value::Positional(metavar, _) => format!("[{metavar}]"),
        _ => format!("--{}", flag.long),
    }
}

fn set_param(
    flags: &mut RunFlags,
    kinds: &HashMap<String, ParamKind>,
    name: &str,
    text: &str,
    flag: &Flag,
) -> Result<()> {
    let kind = kinds
        .get(name)
        .with_context(|| format!("{}: the object has no parameter '{name}'", shown(flag)))?;
    let bytes = parse_value(kind, text).with_context(|| shown(flag))?;
    flags.params.insert(name.to_string(), bytes);
    Ok(())
}

fn apply_runtime(
    r: Runtime,
    flag: &Flag,
    text: &str,
    flags: &mut RunFlags,
    opts: &mut Options,
) -> Result<()> {
    let number = || -> Result<u64> {
        text.parse::<u64>()
            .map_err(|_| anyhow!("{}: '{text}' is not a number", shown(flag)))
    };
    // Seconds when bare, as in libbpf-tools; `500ms`, `2m` as in `run -d`.
    let duration = || parse_duration(text).with_context(|| shown(flag));
    match r {
        // syscount: "0 for infinite wait".
        Runtime::Interval => flags.interval = Some(duration()?).filter(|d| !d.is_zero()),
        Runtime::Count => opts.intervals = Some(number()?),
        Runtime::Duration => flags.duration = Some(duration()?),
        Runtime::Top => opts.top = Some(number()? as usize),
        Runtime::SampleFrequency => flags.sample_freq = Some(number()?),
        Runtime::Contains(field) => opts.contains.push((field, text.to_string())),
        Runtime::CgroupMap(map) => flags.cgroup_maps.push((map.to_string(), text.into())),
        Runtime::Interface => flags.iface = Some(text.to_string()),
        Runtime::PrefixRules { v4, v6 } => {
            let entries = rules::prefixes(text, v4, v6).with_context(|| shown(flag))?;
            flags.map_entries.extend(entries);
        }
        Runtime::PortRules(map) => {
            for key in rules::ports(text).with_context(|| shown(flag))? {
                flags
                    .map_entries
                    .push((map.to_string(), key, 1u32.to_ne_bytes().to_vec()));
            }
        }
        Runtime::FlameGraph => opts.flamegraph = Some(text.into()),
        Runtime::OlderThan(field) => {
            let age = Duration::from_millis(number()?);
            opts.min_age = Some(stacks::MinAge { field, age });
        }
        // Handled once the variant is known, or before anything else.
        Runtime::UprobeBinary
        | Runtime::UprobeSymbolPrefix
        | Runtime::ListSyscalls
        | Runtime::Command { .. } => {}
        switch => apply_switch(switch, opts),
    }
    Ok(())
}

/// Attaches the chosen variant's uprobes to another binary than the one in
/// their `SEC()` names (bashreadline's libreadline.so), or to their symbol
/// with a prefix (memleak's `je_malloc`).
fn retarget_uprobes(
    flags: &mut RunFlags,
    object: &Object,
    choice: &Choice,
    retarget: hooks::Retarget,
) -> Result<()> {
    for program in &object.programs {
        let Hook::Uprobe {
            target: Some(target),
            ..
        } = &program.hook
        else {
            continue;
        };
        if choice.disabled.contains(&program.name) {
            continue;
        }
        let binary = retarget.binary.unwrap_or(&target.binary);
        let Some(symbol) = &target.symbol else {
            bail!(
                "{} attaches by address; it cannot move to {binary}",
                program.name
            );
        };
        let prefix = retarget.prefix.unwrap_or_default();
        flags
            .attach
            .insert(program.name.clone(), format!("{binary}:{prefix}{symbol}"));
    }
    Ok(())
}

fn apply_switch(r: Runtime, opts: &mut Options) {
    match r {
        Runtime::Timestamp => opts.elapsed = true,
        Runtime::WallTime => opts.wall_time = true,
        Runtime::NoHeader => opts.no_header = true,
        Runtime::BracketedTimeLine => {
            opts.wall_time = true;
            opts.brackets = true;
        }
        Runtime::Unit(unit) => opts.unit = Some(unit),
        Runtime::Quote => opts.quote = true,
        Runtime::Detailed => opts.detailed = true,
        Runtime::Folded => opts.folded = true,
        _ => {}
    }
}

/// Integer parameter values of this run: given, or the object's defaults.
fn current_params(object: &Object, flags: &RunFlags) -> HashMap<String, i128> {
    object
        .params
        .iter()
        .filter(|p| (1..=8).contains(&p.default.len()))
        .map(|p| {
            let bytes = flags.params.get(&p.name).unwrap_or(&p.default);
            let mut raw = [0u8; 8];
            raw[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
            let shift = 64 - 8 * bytes.len().min(8) as u32;
            // Sign-extend: the parameters that count things are ints.
            let value = ((u64::from_le_bytes(raw) << shift) as i64) >> shift;
            (p.name.clone(), value as i128)
        })
        .collect()
}
