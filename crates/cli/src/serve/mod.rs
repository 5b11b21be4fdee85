//! `bpfkit serve [--listen ADDR] TARGET [ARGS] [, TARGET [ARGS]]...`:
//! Prometheus metrics from objects, sources and built-in tools.
//!
//! Each target loads on its own thread ([`target`]); a scrape reads the
//! targets' result maps through their fds and renders them with
//! bpfkit-metrics ([`scrape`]); [`http`] answers `/metrics` and
//! `/healthz`. BPF stats are enabled through the kernel's stats fd only
//! while serving, and every target is detached on exit, error or signal.

mod config;
mod http;
mod scrape;
mod target;

use anyhow::{Context, Result, bail};
use bpfkit_metrics::Format;
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use target::{Target, TargetArgs};

#[derive(Args)]
#[command(
    after_help = "TARGETS are separated by ',' (or '--'); a built-in tool's name or an \
object path also starts a new target when it does not follow an option.

EXAMPLES:
    bpfkit serve runqlat biolatency tcprtt syscount
    bpfkit serve --listen 0.0.0.0:9435 examples/execcount.bpf.o , runqlat -m
    bpfkit serve --once -d 5s syscount                  # one scrape after 5 s, on stdout
    curl -s localhost:9435/metrics"
)]
pub struct ServeArgs {
    /// Address and port of the HTTP server [default: 127.0.0.1:9435].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Targets (and listen address, series cap) from a file; see docs/fleet.md.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Print one scrape on stdout at the end (after --duration or Ctrl-C)
    /// instead of serving HTTP, then exit.
    #[arg(long)]
    once: bool,
    /// Stop after this long (e.g. 30s, 5m).
    #[arg(short, long, value_name = "DURATION")]
    duration: Option<String>,
    /// At most this many label sets per map; the rest are added up into one
    /// series labelled 'other' [default: 1000].
    #[arg(long, value_name = "N")]
    max_series: Option<usize>,
    /// With --once: the Prometheus 0.0.4 text format instead of OpenMetrics.
    #[arg(long)]
    prometheus_format: bool,
    /// Targets, each with its own options: `runqlat -m , x.bpf.o -p 1`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "TARGETS",
        required_unless_present = "config"
    )]
    targets: Vec<String>,
}

/// Where serve listens unless told.
const DEFAULT_LISTEN: &str = "127.0.0.1:9435";
/// Label sets per map unless told.
const DEFAULT_MAX_SERIES: usize = 1000;

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let config = match &args.config {
        Some(path) => config::read(path)?,
        None => config::Config::default(),
    };
    // The command line wins over the file; targets add up.
    let mut target_args = config.targets;
    if !args.targets.is_empty() {
        target_args.extend(split_targets(&args.targets)?);
    }
    if target_args.is_empty() {
        bail!("a TARGET is required (an object, a .bpf.c source or a built-in tool)");
    }
    let listen = args
        .listen
        .or(config.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let max_series = args
        .max_series
        .or(config.max_series)
        .unwrap_or(DEFAULT_MAX_SERIES);
    let duration = args
        .duration
        .as_deref()
        .map(crate::run::flags::parse_duration)
        .transpose()?;
    if max_series == 0 {
        bail!("--max-series must be at least 1");
    }
    // Ctrl-C and SIGTERM are noted from here on (also while loading), and
    // end serving at the next check.
    crate::run::catch_early_stop();
    crate::run::stop_watching();
    // Bind before loading: a port in use is an error before anything is
    // attached.
    let server = if args.once {
        None
    } else {
        Some(http::Server::bind(&listen)?)
    };
    // Run counts and times are counted while this fd is open.
    let _stats = bpfkit_sys::enable_stats()
        .map_err(|e| eprintln!("bpfkit: warning: BPF program stats stay off: {e}"))
        .ok();
    let mut targets = Vec::with_capacity(target_args.len());
    for t in target_args {
        if crate::run::stop_requested() {
            return Ok(ExitCode::SUCCESS);
        }
        let what = t.target.clone();
        let mut target = Target::start(t, max_series).with_context(|| format!("serving {what}"))?;
        // The same tool or object twice (with other options) must not
        // write the same metric families twice.
        let taken = |name: &str| targets.iter().any(|t: &Target| t.name == name);
        if taken(&target.name) {
            let name = (2..)
                .map(|n| format!("{}_{n}", target.name))
                .find(|name| !taken(name))
                .unwrap_or_default();
            target.rename(name);
        }
        targets.push(target);
    }
    let deadline = duration.and_then(|d| Instant::now().checked_add(d));
    match server {
        Some(server) => {
            eprintln!("bpfkit: serving http://{}/metrics", server.address());
            server.serve(&targets, deadline)?;
        }
        None => {
            eprintln!("bpfkit: ready");
            wait_for_stop(deadline);
            let format = if args.prometheus_format {
                Format::Prometheus
            } else {
                Format::OpenMetrics
            };
            crate::out::stdout(scrape::scrape(&targets, format)?)?;
        }
    }
    for target in targets {
        target.stop()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Sleeps until the deadline or a stop signal.
fn wait_for_stop(deadline: Option<Instant>) {
    while !crate::run::stop_requested() && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Splits `runqlat -m , x.bpf.o -p 1 syscount` into targets with their own
/// arguments.
fn split_targets(args: &[String]) -> Result<Vec<TargetArgs>> {
    let mut targets: Vec<TargetArgs> = Vec::new();
    let mut after_separator = true;
    let mut value_expected = false;
    for arg in args {
        if arg == "," || arg == "--" {
            after_separator = true;
            continue;
        }
        let starts_target = after_separator || (!value_expected && names_target(arg));
        if starts_target {
            if arg.starts_with('-') {
                bail!("'{arg}' comes before a TARGET; options follow the target they belong to");
            }
            targets.push(TargetArgs {
                target: arg.clone(),
                args: Vec::new(),
            });
        } else if let Some(last) = targets.last_mut() {
            last.args.push(arg.clone());
        }
        after_separator = false;
        value_expected = match targets.last() {
            Some(t) if arg.starts_with('-') && !starts_target => takes_value(&t.target, arg),
            _ => false,
        };
    }
    if targets.is_empty() {
        bail!("a TARGET is required (an object, a .bpf.c source or a built-in tool)");
    }
    Ok(targets)
}

/// Whether `option` (`-p`, `--pid`, `-mT`) of `target` takes the next
/// argument as its value: a tool's flags say; an object's options are
/// taken to (its parameters), so a tool name after one needs a `,`.
fn takes_value(target: &str, option: &str) -> bool {
    if option.contains('=') {
        return false;
    }
    let Some(spec) = crate::tool::named(target) else {
        return true;
    };
    let named = |f: &&bpfkit_tools::Flag| matches!(f.value, bpfkit_tools::Value::Named(..));
    if let Some(long) = option.strip_prefix("--") {
        return spec.flags.iter().filter(named).any(|f| f.long == long);
    }
    // A cluster (`-mT`): a flag with a value takes the rest of the word,
    // or the next argument when it is the last letter.
    let letters = option.trim_start_matches('-');
    for (i, letter) in letters.char_indices() {
        if spec
            .flags
            .iter()
            .filter(named)
            .any(|f| f.short == Some(letter))
        {
            return i + letter.len_utf8() == letters.len();
        }
    }
    false
}

/// Whether `arg` is a built-in tool's name or an object/source path.
fn names_target(arg: &str) -> bool {
    crate::tool::named(arg).is_some() || arg.ends_with(".bpf.o") || arg.ends_with(".bpf.c")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<(String, Vec<String>)> {
        let args: Vec<String> = line.split(' ').map(String::from).collect();
        split_targets(&args)
            .unwrap()
            .into_iter()
            .map(|t| (t.target, t.args))
            .collect()
    }

    #[test]
    fn targets_split_at_commas_and_at_names() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split("runqlat biolatency -D syscount"),
            vec![
                ("runqlat".into(), vec![]),
                ("biolatency".into(), s(&["-D"])),
                ("syscount".into(), vec![]),
            ]
        );
        // A value that names a tool stays the value of the flag before it.
        assert_eq!(
            split("syscount -p 7 runqlat -mT execsnoop --name runqlat"),
            vec![
                ("syscount".into(), s(&["-p", "7"])),
                ("runqlat".into(), s(&["-mT"])),
                ("execsnoop".into(), s(&["--name", "runqlat"])),
            ]
        );
        assert_eq!(
            split("x.bpf.o -p 7 , opensnoop -n execsnoop"),
            vec![
                ("x.bpf.o".into(), s(&["-p", "7"])),
                ("opensnoop".into(), s(&["-n", "execsnoop"])),
            ]
        );
        assert_eq!(
            split("a.o , b.o"),
            vec![("a.o".into(), vec![]), ("b.o".into(), vec![])]
        );
    }

    #[test]
    fn options_before_any_target_are_refused() {
        let err = split_targets(&["-m".to_string()]).unwrap_err();
        assert!(err.to_string().contains("comes before a TARGET"), "{err}");
        assert!(split_targets(&[",".to_string()]).is_err());
    }
}
