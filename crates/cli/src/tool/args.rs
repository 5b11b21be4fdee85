//! A tool's command line, built from its spec: libbpf-tools' options and
//! positional arguments, plus `--json` and `-v`, and libbpf-tools-style help.

use crate::run::params::{ParamKind, parse_list_with_length};
use anyhow::{Context, Result};
use bpfkit_tools::{Flag, ToolSpec, Value};
use clap::{Arg, ArgAction, Command};
use std::collections::HashMap;
use std::fmt::Write as _;

/// What the command line said.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Given flags by long name; switches map to an empty string.
    values: HashMap<&'static str, String>,
    pub json: bool,
    pub verbose: bool,
}

impl Parsed {
    /// Whether the flag was given (defaults do not count).
    pub fn has(&self, long: &str) -> bool {
        self.values.contains_key(long)
    }

    /// Gives the flag `long` this value, as if the command line had.
    pub fn set(&mut self, long: &'static str, value: String) {
        self.values.insert(long, value);
    }

    /// The flag's value, or its documented default.
    pub fn value<'a>(&'a self, flag: &'a Flag) -> Option<&'a str> {
        self.values
            .get(flag.long)
            .map(String::as_str)
            .or(flag.default)
    }
}

/// bpfkit's own options, added when the tool does not use their letters.
const JSON: &str = "bpfkit-json";
const VERBOSE: &str = "bpfkit-verbose";
const HELP: &str = "bpfkit-help";
const VERSION: &str = "bpfkit-version";

/// Help texts shared by `--help`, man pages and completions.
const VERBOSE_HELP: &str =
    "Say which hook was chosen (and why better ones were not) and what was attached";
const JSON_HELP: &str = "Print JSON lines (events, maps) instead of tables";
const HELP_HELP: &str = "Give this help list";
const VERSION_HELP: &str = "Print program version";

/// Parses `args` (without the program name). `--help` prints the tool's
/// help and exits; usage errors exit as clap does.
pub fn parse(spec: &ToolSpec, args: &[String]) -> Result<Parsed> {
    let matches = command(spec)
        .try_get_matches_from(args)
        .unwrap_or_else(|e| crate::out::clap_exit_now(&e));
    if matches.get_flag(HELP) {
        crate::out::help_exit_now(&help(spec));
    }
    if matches.get_flag(VERSION) {
        crate::out::help_exit_now(&version(spec));
    }
    let mut parsed = Parsed {
        json: matches.get_flag(JSON),
        verbose: matches.try_get_one::<bool>(VERBOSE).ok().flatten() == Some(&true),
        ..Default::default()
    };
    for flag in spec.flags {
        let value = match flag.value {
            Value::Switch => matches.get_flag(flag.long).then(String::new),
            _ => matches.get_one::<String>(flag.long).cloned(),
        };
        if let Some(v) = value {
            parsed.values.insert(flag.long, v);
        }
    }
    Ok(parsed)
}

/// The parameter values an [`bpfkit_tools::Effect::ParamList`] sets for the
/// comma-separated `text`: the array `array` and its length parameter.
pub(super) fn list_params(
    kinds: &HashMap<String, ParamKind>,
    array: &str,
    text: &str,
) -> Result<[(String, Vec<u8>); 2]> {
    let length = bpfkit_object::list_length_param(array);
    let length = length.as_str();
    let kind = |name: &str| {
        kinds
            .get(name)
            .with_context(|| format!("the object has no parameter '{name}'"))
    };
    let (values, count) = parse_list_with_length(kind(array)?, kind(length)?, text)?;
    Ok([(array.to_string(), values), (length.to_string(), count)])
}

/// `--version`, as argp prints it: the tool's name and version.
fn version(spec: &ToolSpec) -> String {
    format!("{} (bpfkit) {}\n", spec.name, env!("CARGO_PKG_VERSION"))
}

/// The tool's options as a clap command: what parses them, and what man
/// pages and shell completions are generated from.
pub(crate) fn command(spec: &ToolSpec) -> Command {
    let mut cmd = Command::new(spec.name)
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .about(spec.summary);
    let mut position = 1;
    for flag in spec.flags {
        let mut arg = Arg::new(flag.long);
        match flag.value {
            Value::Switch => arg = arg.long(flag.long).action(ArgAction::SetTrue),
            Value::Named(metavar, _) => arg = arg.long(flag.long).value_name(metavar),
            Value::Positional(metavar, _) => {
                arg = arg.index(position).value_name(metavar);
                position += 1;
            }
        }
        if let Some(s) = flag.short {
            arg = arg.short(s);
        }
        cmd = cmd.arg(arg.help(help_with_default(flag)));
    }
    let help = Arg::new(HELP)
        .long("help")
        .short(free_short(spec, 'h').unwrap_or('?'))
        .action(ArgAction::SetTrue)
        .help(HELP_HELP);
    let mut version = Arg::new(VERSION)
        .long("version")
        .action(ArgAction::SetTrue)
        .help(VERSION_HELP);
    if let Some(v) = free_short(spec, 'V') {
        version = version.short(v);
    }
    let mut verbose = Arg::new(VERBOSE)
        .long("verbose")
        .action(ArgAction::SetTrue)
        .help(VERBOSE_HELP);
    if let Some(v) = free_short(spec, 'v') {
        verbose = verbose.short(v);
    }
    if spec.flag("verbose").is_none() {
        cmd = cmd.arg(verbose);
    }
    cmd.arg(help).arg(version).arg(
        Arg::new(JSON)
            .long("json")
            .action(ArgAction::SetTrue)
            .help(JSON_HELP),
    )
}

fn free_short(spec: &ToolSpec, c: char) -> Option<char> {
    spec.flags.iter().all(|f| f.short != Some(c)).then_some(c)
}

/// `--help` in libbpf-tools' layout: usage, summary, examples, options.
pub fn help(spec: &ToolSpec) -> String {
    let positionals: Vec<String> = spec
        .flags
        .iter()
        .filter_map(|f| match f.value {
            Value::Positional(metavar, _) => Some(format!(" [{metavar}]")),
            _ => None,
        })
        .collect();
    // The spec's first example line lost its indent to the string's `\`.
    let examples: Vec<String> = spec
        .examples
        .lines()
        .map(|l| format!("    {}", l.trim_start()))
        .collect();
    let mut out = format!(
        "Usage: {} [OPTION...]{}\n{}\n\nEXAMPLES:\n{}\n\n",
        spec.name,
        positionals.concat(),
        spec.summary,
        examples.join("\n")
    );
    for flag in spec.flags {
        let names = match (flag.short, flag.value) {
            (_, Value::Positional(metavar, _)) => format!("  {metavar}"),
            (Some(s), Value::Named(metavar, _)) => format!("  -{s}, --{}={metavar}", flag.long),
            (None, Value::Named(metavar, _)) => format!("      --{}={metavar}", flag.long),
            (Some(s), Value::Switch) => format!("  -{s}, --{}", flag.long),
            (None, Value::Switch) => format!("      --{}", flag.long),
        };
        option_line(&mut out, &names, &help_with_default(flag));
    }
    if spec.flag("verbose").is_none() {
        let names = match free_short(spec, 'v') {
            Some(v) => format!("  -{v}, --verbose"),
            None => "      --verbose".into(),
        };
        option_line(&mut out, &names, VERBOSE_HELP);
    }
    option_line(&mut out, "      --json", JSON_HELP);
    let help = format!("  -{}, --help", free_short(spec, 'h').unwrap_or('?'));
    option_line(&mut out, &help, HELP_HELP);
    let version = match free_short(spec, 'V') {
        Some(v) => format!("  -{v}, --version"),
        None => "      --version".into(),
    };
    option_line(&mut out, &version, VERSION_HELP);
    out
}

/// The flag's help text, with its default value when it has one.
fn help_with_default(flag: &Flag) -> String {
    match flag.default {
        Some(d) => format!("{} (default: {d})", flag.help),
        None => flag.help.to_string(),
    }
}

/// `  -x, --long=ARG` then the help text from column 30, as argp does.
fn option_line(out: &mut String, names: &str, text: &str) {
    const COLUMN: usize = 29;
    if names.len() + 2 > COLUMN {
        let _ = writeln!(out, "{names}\n{:COLUMN$}{text}", "");
    } else {
        let _ = writeln!(out, "{names:COLUMN$}{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_tool_command_is_valid() {
        for spec in bpfkit_tools::all() {
            command(spec).debug_assert();
            assert!(help(spec).starts_with(&format!("Usage: {} [OPTION...]", spec.name)));
        }
    }

    #[test]
    fn flags_positionals_and_defaults() {
        let spec = bpfkit_tools::find("runqlat").unwrap();
        let parsed = parse(spec, &strings(&["-mP", "1", "3", "--json"])).unwrap();
        assert!(parsed.has("milliseconds") && parsed.has("pids") && parsed.json);
        let interval = spec.flag("interval").unwrap();
        assert_eq!(parsed.value(interval), Some("1"));
        assert_eq!(parsed.value(spec.flag("times").unwrap()), Some("3"));
        let syscount = bpfkit_tools::find("syscount").unwrap();
        let parsed = parse(syscount, &strings(&["-e", "ENOENT"])).unwrap();
        assert!(!parsed.has("top"));
        assert_eq!(parsed.value(syscount.flag("top").unwrap()), Some("10"));
        assert_eq!(
            parsed.value(syscount.flag("errno").unwrap()),
            Some("ENOENT")
        );
    }

    #[test]
    fn port_lists_set_the_array_and_its_length() {
        let object = bpfkit_object::analyze(bpfkit_tools::find("tcpconnect").unwrap().object)
            .expect("tcpconnect object");
        let kinds: HashMap<String, ParamKind> = crate::run::flags::param_flags(&object)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.kind))
            .collect();
        let [(array, ports), (length, count)] =
            list_params(&kinds, "filter_ports", "80,443").unwrap();
        assert_eq!(
            (array.as_str(), length.as_str()),
            ("filter_ports", "filter_ports_len")
        );
        assert_eq!(ports.len(), 64 * 2);
        assert_eq!(ports[..4], [80, 0, 0xbb, 1]);
        assert_eq!(count, 2u32.to_le_bytes());
        let missing = list_params(&kinds, "nope", "1").unwrap_err();
        assert_eq!(missing.to_string(), "the object has no parameter 'nope'");
    }
}
