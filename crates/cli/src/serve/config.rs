//! `bpfkit serve --config FILE`: the targets (and the listen address and
//! series cap) in a file, in a small subset of TOML:
//!
//! ```toml
//! listen = "0.0.0.0:9435"
//! max_series = 1000
//!
//! [[target]]
//! run = "runqlat"
//! args = ["-m"]
//!
//! [[target]]
//! run = "/opt/probes/execcount.bpf.o"
//! ```
//!
//! Strings, integers and one-line arrays of strings; `#` comments. Anything
//! else is an error naming its line, so a typo never passes silently.

use super::target::TargetArgs;
use anyhow::{Context, Result, bail};
use std::path::Path;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub listen: Option<String>,
    pub max_series: Option<usize>,
    pub targets: Vec<TargetArgs>,
}

enum Value {
    Str(String),
    Int(u64),
    List(Vec<String>),
}

pub fn read(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    parse(&text).with_context(|| format!("config {}", path.display()))
}

pub fn parse(text: &str) -> Result<Config> {
    let mut config = Config::default();
    let mut in_target = false;
    for (number, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("line {}: {raw}", number + 1);
        if line == "[[target]]" {
            config.targets.push(TargetArgs {
                target: String::new(),
                args: Vec::new(),
            });
            in_target = true;
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("{}: expected `key = value` or [[target]]", at()))?;
        let value = parse_value(value.trim()).with_context(at)?;
        match (in_target, key.trim(), value) {
            (false, "listen", Value::Str(s)) => config.listen = Some(s),
            (false, "max_series", Value::Int(n)) => config.max_series = Some(n as usize),
            (true, "run", Value::Str(s)) => {
                if let Some(t) = config.targets.last_mut() {
                    t.target = s;
                }
            }
            (true, "args", Value::List(args)) => {
                if let Some(t) = config.targets.last_mut() {
                    t.args = args;
                }
            }
            (_, key, _) => bail!(
                "{}: unknown key '{key}' or wrong type (top level: listen = \"ADDR\", \
                 max_series = N; [[target]]: run = \"TOOL|OBJ\", args = [\"...\"])",
                at()
            ),
        }
    }
    if let Some(i) = config.targets.iter().position(|t| t.target.is_empty()) {
        bail!("[[target]] number {} has no `run = \"...\"`", i + 1);
    }
    Ok(config)
}

/// The line up to a `#` that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if in_string && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
        escaped = false;
    }
    line
}

fn parse_value(text: &str) -> Result<Value> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .context("an array must end on its line with ]")?;
        let mut items = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (item, after) = parse_string(rest)?;
            items.push(item);
            rest = after.trim_start();
            rest = match rest.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if rest.is_empty() => rest,
                None => bail!("expected ',' between array items"),
            };
        }
        return Ok(Value::List(items));
    }
    if text.starts_with('"') {
        let (s, rest) = parse_string(text)?;
        if !rest.trim().is_empty() {
            bail!("unexpected text after the string");
        }
        return Ok(Value::Str(s));
    }
    text.parse()
        .map(Value::Int)
        .with_context(|| format!("'{text}' is not a \"string\", a number or [\"a\", \"list\"]"))
}

/// A basic TOML string at the start of `text`; the rest after it.
fn parse_string(text: &str) -> Result<(String, &str)> {
    let body = text.strip_prefix('"').context("expected a \"string\"")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                other => bail!("unsupported escape \\{}", other.unwrap_or(' ')),
            },
            c => out.push(c),
        }
    }
    bail!("unterminated string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_settings_are_read() {
        let config = parse(
            "# metrics of this node\nlisten = \"0.0.0.0:9435\"  # all interfaces\nmax_series = 50\n\n\
             [[target]]\nrun = \"runqlat\"\nargs = [\"-m\", \"--pids\"]\n\
             [[target]]\nrun = \"/opt/x #1.bpf.o\"\n",
        )
        .unwrap();
        assert_eq!(
            config,
            Config {
                listen: Some("0.0.0.0:9435".into()),
                max_series: Some(50),
                targets: vec![
                    TargetArgs {
                        target: "runqlat".into(),
                        args: vec!["-m".into(), "--pids".into()],
                    },
                    TargetArgs {
                        target: "/opt/x #1.bpf.o".into(),
                        args: vec![],
                    },
                ],
            }
        );
    }

    #[test]
    fn mistakes_name_their_line() {
        for (text, says) in [
            ("listen = 9435\n", "line 1"),
            ("[[target]]\nrn = \"runqlat\"\n", "line 2: rn"),
            ("[[target]]\nargs = [\"-m\"]\n", "no `run"),
            ("[[target]]\nrun = \"x\nargs = []\n", "line 2"),
            ("max_series = 5 6\n", "line 1"),
            ("[[target]]\nargs = [\"-m\" \"-P\"]\n", "line 2"),
            ("[target]\n", "line 1"),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
