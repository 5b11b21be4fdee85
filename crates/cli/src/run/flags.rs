//! The options of `bpfkit run TARGET ...`, built at run time: the fixed run
//! options plus one flag per `const volatile` parameter of the object.

use super::params::{ParamFlag, ParamKind, flag_for, list_length, parse_value};
use anyhow::{Context, Result, bail};
use bpfkit_object::{Object, map_type};
use bpfkit_runtime::PerfEventKind;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Everything the command line decided for one run.
#[derive(Debug, Default)]
pub struct RunFlags {
    pub json: bool,
    pub time: bool,
    pub interval: Option<Duration>,
    pub duration: Option<Duration>,
    pub max_events: Option<u64>,
    pub top: Option<usize>,
    pub clear: bool,
    pub verbose: bool,
    pub attach: HashMap<String, String>,
    pub disabled: HashSet<String>,
    /// `--skip-missing`: leave out programs whose target this kernel lacks.
    pub skip_missing: bool,
    pub iface: Option<String>,
    /// Cgroup v2 directory for cgroup programs (`--cgroup`).
    pub cgroup: Option<String>,
    pub pid: Option<u32>,
    pub sample_freq: Option<u64>,
    /// `--no-printk`: leave trace_pipe alone.
    pub no_printk: bool,
    /// Parameter bytes by name, only for the parameters given.
    pub params: HashMap<String, Vec<u8>>,
    /// Cgroup array maps to fill with a cgroup directory after loading.
    pub cgroup_maps: Vec<(String, std::path::PathBuf)>,
    /// Map entries (map, key, value) to write after loading (filter rules).
    pub map_entries: Vec<(String, Vec<u8>, Vec<u8>)>,
    /// `--map-size NAME=N`: `max_entries` overrides by map name.
    pub map_sizes: HashMap<String, u32>,
    /// `--perf-event EVENT`: what perf_event programs sample on.
    pub perf_event: Option<PerfEventKind>,
    /// `--sample-period N`: sample every N events instead of at a frequency.
    pub sample_period: Option<u64>,
    /// `--ctx HEX`: the context `syscall` programs run with.
    pub syscall_ctx: Vec<u8>,
}

/// The fixed options every run has.
pub(crate) fn run_options(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("output")
            .short('o')
            .long("output")
            .value_parser(["table", "json"])
            .default_value("table")
            .help("Output format: a table, or JSON lines (one object per line)"),
    )
    .arg(flag("timestamp", Some('T'), "Include a TIME column (HH:MM:SS)"))
    .arg(value("interval", Some('i'), "DURATION", "Print maps every DURATION (5s, 500ms, 1m)"))
    .arg(value("duration", Some('d'), "DURATION", "Stop after DURATION"))
    .arg(value("max-events", None, "N", "Stop after N events"))
    .arg(value("top", None, "N", "Print only the N largest map entries"))
    .arg(flag("clear", None, "Clear maps after each interval print (deltas)"))
    .arg(flag("verbose", Some('v'), "Say what was loaded and attached, and how"))
    .arg(
        value("attach", None, "PROG=TARGET", "Attach PROG to TARGET: tracepoint CAT:NAME, symbol, BINARY:SYMBOL, uprobe.multi BINARY:PATTERN, usdt BINARY:PROVIDER:NAME, IFACE[:ingress|egress], cgroup DIR, sk_msg/sk_skb MAP")
            .action(ArgAction::Append),
    )
    .arg(value("disable", None, "PROG", "Do not load or attach PROG").action(ArgAction::Append))
    .arg(flag(
        "skip-missing",
        None,
        "Leave out programs whose kernel function or tracepoint this kernel lacks (renamed, inlined, newer), as libbpf-tools pick alternatives; a note names each",
    ))
    .arg(value("iface", None, "IFACE", "Interface for xdp and tc programs"))
    .arg(value("sample-freq", None, "HZ", "Sampling frequency of perf_event programs"))
    .arg(flag(
        "no-printk",
        None,
        "Do not stream bpf_printk output (trace_pipe stays free for another reader)",
    ))
    .arg(value("include", Some('I'), "DIR", "Include directory for building a .bpf.c target").action(ArgAction::Append))
    .arg(value("define", Some('D'), "MACRO", "Macro (NAME or NAME=VALUE) for building a .bpf.c target").action(ArgAction::Append))
    .arg(
        value("map-size", None, "MAP=N", "Create MAP with max_entries N (maps that leave it to user space get 10240; stack trace maps 1024)")
            .action(ArgAction::Append),
    )
    .arg(value("ctx", None, "HEX", "Context syscall programs run with, as hex bytes (default: none)"))
}

fn flag(name: &'static str, short: Option<char>, help: &'static str) -> Arg {
    let arg = Arg::new(name)
        .long(name)
        .action(ArgAction::SetTrue)
        .help(help);
    match short {
        Some(s) => arg.short(s),
        None => arg,
    }
}

fn value(
    name: &'static str,
    short: Option<char>,
    placeholder: &'static str,
    help: &'static str,
) -> Arg {
    let arg = Arg::new(name).long(name).value_name(placeholder).help(help);
    match short {
        Some(s) => arg.short(s),
        None => arg,
    }
}

/// The parameters of `object` as flags, in object order.
pub fn param_flags(object: &Object) -> Result<Vec<ParamFlag>> {
    object
        .params
        .iter()
        .filter(|p| !is_pointer(&object.btf, p.ty))
        .map(|p| flag_for(&object.btf, &p.name, p.ty, &p.default))
        .collect()
}

/// A pointer parameter (klockstat's `const volatile void *targ_lock`) holds
/// a kernel address its C front end looks up; it keeps its default (NULL:
/// no filter) and is not offered as a flag rather than blocking the load.
fn is_pointer(btf: &bpfkit_btf::Btf, ty: bpfkit_btf::TypeId) -> bool {
    btf.resolve(ty)
        .ok()
        .and_then(|id| btf.get(id))
        .is_some_and(|t| matches!(t.kind, bpfkit_btf::Kind::Ptr(_)))
}

fn param_arg(p: &ParamFlag, taken: &HashSet<String>) -> Vec<Arg> {
    let id: &'static str = leak(format!("param:{}", p.name));
    let long: &'static str = leak(p.name.clone());
    let mut arg = Arg::new(id).long(long);
    let hyphenated = p.name.replace('_', "-");
    if hyphenated != p.name && !taken.contains(&hyphenated) {
        arg = arg.visible_alias(leak(hyphenated));
    }
    for alias in &p.aliases {
        if !taken.contains(*alias) {
            arg = arg.visible_alias(*alias);
        }
    }
    if let Some(s) = p.short {
        arg = arg.short(s);
    }
    let what: String = match &p.kind {
        ParamKind::Bool => "bool".into(),
        ParamKind::Int { signed: true, .. } => "signed integer".into(),
        ParamKind::Int { .. } => "unsigned integer".into(),
        ParamKind::Str { .. } => "string".into(),
        ParamKind::Enum { .. } => "enum".into(),
        ParamKind::Array { len, .. } => format!("comma-separated list of at most {len}"),
    };
    let help = format!("Parameter {} ({what}, default {})", p.name, p.default_text);
    if p.kind == ParamKind::Bool {
        let no = Arg::new(leak(format!("param-no:{}", p.name)))
            .long(leak(format!("no-{}", p.name)))
            .action(ArgAction::SetTrue)
            .help(format!("Set {} to false", p.name))
            .conflicts_with(id);
        return vec![arg.action(ArgAction::SetTrue).help(help), no];
    }
    let placeholder = match &p.kind {
        ParamKind::Enum { names, .. } => names
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        _ => "VALUE".into(),
    };
    vec![arg.value_name(leak(placeholder)).help(help)]
}

/// clap wants `'static` names for arguments built at run time; a run builds
/// one command, so the leak is bounded and small.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Builds the command for this object and parses `args` with it. `--help`
/// and usage errors exit the process, as clap does.
pub fn parse(bin: &str, target: &str, object: &Object, args: &[String]) -> Result<RunFlags> {
    let params = param_flags(object)?;
    let base = perf_event_options(run_options(
        Command::new(leak(format!("{bin} run {target}")))
            .no_binary_name(true)
            .about(leak(describe(object))),
    ));
    let mut taken: HashSet<String> = base
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    let mut cmd = base;
    for p in &params {
        for arg in param_arg(p, &taken) {
            taken.extend(arg.get_long().map(str::to_string));
            // Aliases too: `--pid` for `targ_pid` must not be added twice.
            taken.extend(
                arg.get_all_aliases()
                    .into_iter()
                    .flatten()
                    .map(str::to_string),
            );
            cmd = cmd.arg(arg);
        }
    }
    let uprobe_pid_free = !taken.contains("pid");
    if uprobe_pid_free {
        cmd = cmd.arg(value(
            "pid",
            None,
            "PID",
            "Only this process (uprobes, perf_event)",
        ));
    }
    // A parameter may be called `cgroup` too; it keeps the name.
    let cgroup_free = !taken.contains("cgroup");
    if cgroup_free {
        cmd = cmd.arg(value(
            "cgroup",
            None,
            "DIR",
            "Cgroup v2 directory: cgroup_skb, cgroup/* and sockops programs attach to it \
             (default: the root cgroup), cgroup array maps get it and a filter_cg parameter is set, as \
             the libbpf-tools' -c does",
        ));
    }
    let matches = cmd
        .try_get_matches_from(args)
        .unwrap_or_else(|e| crate::out::clap_exit_now(&e));
    let mut flags = fixed_flags(&matches)?;
    perf_event_flags(&matches, &mut flags)?;
    if uprobe_pid_free {
        flags.pid = number(&matches, "pid")?;
    }
    flags.params = param_values(&params, &matches)?;
    if cgroup_free && let Some(path) = matches.get_one::<String>("cgroup") {
        cgroup_option(object, path, &mut flags)?;
    }
    if let Some(hex) = matches.get_one::<String>("ctx") {
        flags.syscall_ctx = ctx_option(object, hex)?;
    }
    Ok(flags)
}

/// `--ctx HEX`: the bytes `syscall` programs get as their context.
fn ctx_option(object: &Object, hex: &str) -> Result<Vec<u8>> {
    if !object
        .programs
        .iter()
        .any(|p| p.hook == bpfkit_object::Hook::Syscall)
    {
        bail!("--ctx: this object has no syscall program (SEC(\"syscall\")) to run with it");
    }
    parse_hex(hex).with_context(|| format!("--ctx {hex}"))
}

/// `0a0b`, `0x0a0b` or `0a 0b`: bytes in order.
fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        bail!("expected whole bytes (an even number of hex digits)");
    }
    if digits.len() > 2 * usize::from(u16::MAX) {
        bail!("a context is at most 65535 bytes");
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| anyhow::anyhow!("'{}' is not a hex byte", &digits[i..i + 2]))
        })
        .collect()
}

/// Options for perf_event programs on other events (libbpf-tools' llcstat).
fn perf_event_options(cmd: Command) -> Command {
    cmd.arg(value(
        "perf-event",
        None,
        "EVENT",
        "Event perf_event programs sample on: sw:cpu-clock (default), sw:page-faults, \
         sw:context-switches, hw:cycles, hw:instructions, hw:cache-misses, ...",
    ))
    .arg(value(
        "sample-period",
        None,
        "N",
        "Run perf_event programs every N events (instead of at --sample-freq)",
    ))
}

fn perf_event_flags(m: &ArgMatches, flags: &mut RunFlags) -> Result<()> {
    if let Some(event) = m.get_one::<String>("perf-event") {
        let kind = PerfEventKind::parse(event).map_err(|e| anyhow::anyhow!("--perf-event: {e}"))?;
        flags.perf_event = Some(kind);
    }
    flags.sample_period = number(m, "sample-period")?;
    if flags.sample_period == Some(0) {
        bail!("--sample-period: must be at least 1");
    }
    Ok(())
}

/// `--cgroup PATH`: the cgroup cgroup_skb programs attach to, and the one
/// cgroup array maps filter on; an error when the object has neither.
fn cgroup_option(object: &Object, path: &str, flags: &mut RunFlags) -> Result<()> {
    let attaches = object.programs.iter().any(|p| {
        matches!(
            p.hook,
            bpfkit_object::Hook::CgroupSkb { .. }
                | bpfkit_object::Hook::Cgroup { .. }
                | bpfkit_object::Hook::SockOps
        )
    });
    let filters = object
        .maps
        .iter()
        .any(|m| m.map_type == map_type::CGROUP_ARRAY);
    if !attaches && !filters {
        bail!(
            "--cgroup: this object has no cgroup program and no cgroup array map \
             (BPF_MAP_TYPE_CGROUP_ARRAY) to filter with"
        );
    }
    flags.cgroup = Some(path.to_string());
    if filters {
        cgroup_filter(object, std::path::Path::new(path), flags)?;
    }
    Ok(())
}

/// `--cgroup PATH`: every `BPF_MAP_TYPE_CGROUP_ARRAY` map gets the cgroup
/// (at index 0, where `bpf_current_task_under_cgroup()` looks), and a
/// `filter_cg` parameter (libbpf-tools' name for "filter on it") is set
/// unless given.
fn cgroup_filter(object: &Object, path: &std::path::Path, flags: &mut RunFlags) -> Result<()> {
    let maps = object
        .maps
        .iter()
        .filter(|m| m.map_type == map_type::CGROUP_ARRAY)
        .map(|m| m.name.as_str());
    for map in maps {
        flags
            .cgroup_maps
            .push((map.to_string(), path.to_path_buf()));
    }
    if let Some(p) = object.params.iter().find(|p| p.name == "filter_cg") {
        let mut on = vec![0u8; p.size as usize];
        if let Some(first) = on.first_mut() {
            *first = 1;
        }
        flags.params.entry(p.name.clone()).or_insert(on);
    }
    Ok(())
}

fn describe(object: &Object) -> String {
    let progs: Vec<String> = object
        .programs
        .iter()
        .map(|p| format!("{} ({})", p.name, p.section))
        .collect();
    format!("Programs: {}", progs.join(", "))
}

fn fixed_flags(m: &ArgMatches) -> Result<RunFlags> {
    let mut attach = HashMap::new();
    for spec in m.get_many::<String>("attach").into_iter().flatten() {
        let (prog, target) = spec
            .split_once('=')
            .with_context(|| format!("--attach {spec}: expected PROG=TARGET"))?;
        attach.insert(prog.to_string(), target.to_string());
    }
    Ok(RunFlags {
        json: m.get_one::<String>("output").is_some_and(|o| o == "json"),
        time: m.get_flag("timestamp"),
        interval: match duration_flag(m, "interval")? {
            Some(zero) if zero.is_zero() => bail!("--interval: must be longer than 0"),
            interval => interval,
        },
        duration: duration_flag(m, "duration")?,
        max_events: number(m, "max-events")?,
        top: number(m, "top")?,
        clear: m.get_flag("clear"),
        verbose: m.get_flag("verbose"),
        attach,
        disabled: m
            .get_many::<String>("disable")
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        skip_missing: m.get_flag("skip-missing"),
        iface: m.get_one::<String>("iface").cloned(),
        cgroup: None,
        pid: None,
        sample_freq: number(m, "sample-freq")?,
        no_printk: m.get_flag("no-printk"),
        params: HashMap::new(),
        cgroup_maps: Vec::new(),
        map_entries: Vec::new(),
        map_sizes: map_sizes(m)?,
        perf_event: None,
        sample_period: None,
        syscall_ctx: Vec::new(),
    })
}

fn duration_flag(m: &ArgMatches, name: &str) -> Result<Option<Duration>> {
    m.get_one::<String>(name)
        .map(|d| parse_duration(d).with_context(|| format!("--{name}")))
        .transpose()
}

/// The `-I DIR` and `-D MACRO` (or `-IDIR`, `-DMACRO`) among the run
/// options: they are needed before the object exists, to build a source
/// target, so they are read ahead of the object's own flags (which accept
/// and ignore them).
pub fn build_flags(args: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut includes, mut defines) = (Vec::new(), Vec::new());
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (list, value) = match arg.as_str() {
            "-I" => (&mut includes, rest.next().cloned()),
            "-D" => (&mut defines, rest.next().cloned()),
            a if a.starts_with("-I") => (&mut includes, Some(a[2..].to_string())),
            a if a.starts_with("-D") => (&mut defines, Some(a[2..].to_string())),
            _ => continue,
        };
        list.extend(value);
    }
    (includes, defines)
}

/// `--map-size NAME=N`, repeatable.
fn map_sizes(m: &ArgMatches) -> Result<HashMap<String, u32>> {
    let mut sizes = HashMap::new();
    for spec in m.get_many::<String>("map-size").into_iter().flatten() {
        let (map, size) = spec
            .split_once('=')
            .with_context(|| format!("--map-size {spec}: expected MAP=N"))?;
        let size: u32 = size
            .parse()
            .with_context(|| format!("--map-size {spec}: '{size}' is not a number of entries"))?;
        sizes.insert(map.to_string(), size);
    }
    Ok(sizes)
}

fn number<T: std::str::FromStr>(m: &ArgMatches, name: &str) -> Result<Option<T>> {
    m.get_one::<String>(name)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| anyhow::anyhow!("--{name}: '{v}' is not a number"))
        })
        .transpose()
}

fn param_values(params: &[ParamFlag], m: &ArgMatches) -> Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    for p in params {
        let id = format!("param:{}", p.name);
        if p.kind == ParamKind::Bool {
            if m.get_flag(&id) {
                out.insert(p.name.clone(), vec![1]);
            } else if m.get_flag(&format!("param-no:{}", p.name)) {
                out.insert(p.name.clone(), vec![0]);
            }
        } else if let Some(text) = m.get_one::<String>(&id) {
            let bytes = parse_value(&p.kind, text).with_context(|| format!("--{}", p.name))?;
            out.insert(p.name.clone(), bytes);
            if let Some((name, count)) = list_length(params, p, text)? {
                // A length the user set explicitly wins.
                let explicit = m.get_one::<String>(&format!("param:{name}")).is_some();
                if !explicit {
                    out.insert(name, count);
                }
            }
        }
    }
    Ok(out)
}

/// `5s`, `500ms`, `2m`, `1h`, `250us`, `1.5s`; a bare number is seconds
/// (as libbpf-tools take their intervals). The one parser for every
/// duration on the command line: `run -d/-i` and the tools' durations and
/// intervals. Whole numbers are converted exactly; anything longer than a
/// `Duration` holds is an error, not a panic.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: u64 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" => 1_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ if number.is_empty() => bail!("'{text}' is not a duration (like 5s, 500ms, 1m)"),
        _ => bail!("'{text}': unknown unit '{unit}' (use us, ms, s, m or h)"),
    };
    let out_of_range = || anyhow::anyhow!("duration '{text}' is out of range");
    if let Ok(whole) = number.parse::<u128>() {
        let nanos = whole
            .checked_mul(u128::from(nanos_per_unit))
            .ok_or_else(out_of_range)?;
        let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| out_of_range())?;
        return Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32));
    }
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() => {
            Duration::try_from_secs_f64(n * nanos_per_unit as f64 / 1e9).map_err(|_| out_of_range())
        }
        _ => bail!("'{text}' is not a duration (like 5s, 500ms, 1m)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        let max = parse_duration("18446744073709551615").unwrap();
        assert_eq!(max, Duration::from_secs(u64::MAX));
        for huge in [
            "99999999999999999h",
            "18446744073709551616",
            "1e400",
            "9".repeat(60).as_str(),
        ] {
            let err = parse_duration(huge).unwrap_err().to_string();
            assert!(
                err.contains("out of range") || err.contains("unit"),
                "{huge}: {err}"
            );
        }
        let err = parse_duration("99999999999999999h")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "duration '99999999999999999h' is out of range");
    }
}
