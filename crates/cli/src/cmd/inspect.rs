//! What `prog`, `map` and `link` share: bpftool's object selectors
//! (`id N`, `name NAME`, `tag TAG`, `pinned PATH`), its `-j`/`-p` output
//! switches, and a plain aligned table for the text form.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// `-j`/`--json` and `-p`/`--pretty`, as bpftool spells them.
#[derive(Args, Clone, Copy)]
pub struct JsonArgs {
    /// JSON output (one document), like `bpftool -j`.
    #[arg(short, long, global = true)]
    pub json: bool,
    /// Pretty-printed JSON (implies --json), like `bpftool -p`.
    #[arg(short, long, global = true)]
    pub pretty: bool,
}

impl JsonArgs {
    pub fn is_json(self) -> bool {
        self.json || self.pretty
    }

    /// The rows as bpftool writes them: one object for `id N` and
    /// `pinned PATH` (which name a single object), else an array.
    pub fn write_rows(self, selector: &Selector, mut rows: Vec<serde_json::Value>) -> Result<()> {
        let single = matches!(selector, Selector::Id(_) | Selector::Pinned(_)) && rows.len() == 1;
        if single {
            return self.write(&rows.remove(0));
        }
        self.write(&serde_json::Value::Array(rows))
    }

    /// `value` as one line, or indented with `-p`.
    pub fn write(self, value: &serde_json::Value) -> Result<()> {
        let text = if self.pretty {
            serde_json::to_string_pretty(value)?
        } else {
            serde_json::to_string(value)?
        };
        crate::out::stdout(text + "\n")
    }
}

/// Which objects a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    All,
    Id(u32),
    Name(String),
    Tag(String),
    Pinned(PathBuf),
}

impl Selector {
    /// Parses bpftool's `[id N | name NAME | tag TAG | pinned PATH]` from
    /// `words`, accepting the kinds in `allowed`; returns the words after it.
    pub fn parse<'w>(words: &'w [String], allowed: &[&str]) -> Result<(Selector, &'w [String])> {
        let Some((kind, rest)) = words.split_first() else {
            return Ok((Selector::All, words));
        };
        if !allowed.contains(&kind.as_str()) {
            bail!(
                "expected one of {} before '{kind}'",
                allowed
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let Some((value, rest)) = rest.split_first() else {
            bail!("'{kind}' needs a value");
        };
        let selector = match kind.as_str() {
            "id" => Selector::Id(
                value
                    .parse()
                    .with_context(|| format!("'{value}' is not an id"))?,
            ),
            "name" => Selector::Name(value.clone()),
            "tag" => Selector::Tag(value.to_ascii_lowercase()),
            _ => Selector::Pinned(PathBuf::from(value)),
        };
        Ok((selector, rest))
    }

    /// Whether an object selected by id, tag or pin must exist: an empty
    /// answer is then an error, not an empty list.
    pub fn names_one(&self) -> bool {
        !matches!(self, Selector::All)
    }
}

/// The id of the object pinned at `path`, read through `info`.
pub fn pinned_id(
    path: &std::path::Path,
    kind: &str,
    info: impl Fn(&OwnedFd) -> bpfkit_sys::Result<u32>,
) -> Result<u32> {
    let fd = bpfkit_sys::obj_get(path)
        .with_context(|| format!("opening pinned {kind} {}", path.display()))?;
    info(&fd).with_context(|| format!("{} is not a pinned {kind}", path.display()))
}

/// Every id of a kind (`ids`), or just `id`, whose object still exists.
pub fn candidate_ids(
    selector: &Selector,
    ids: fn() -> bpfkit_sys::Result<Vec<u32>>,
    pinned: impl Fn(&std::path::Path) -> Result<u32>,
    kind: &str,
) -> Result<Vec<u32>> {
    Ok(match selector {
        Selector::Id(id) => vec![*id],
        Selector::Pinned(path) => vec![pinned(path)?],
        _ => ids().with_context(|| format!("listing {kind}s"))?,
    })
}

/// The error for a selector that found nothing.
pub fn not_found(selector: &Selector, kind: &str) -> anyhow::Error {
    match selector {
        Selector::All => anyhow::anyhow!("no {kind}s loaded"),
        Selector::Id(id) => anyhow::anyhow!("no {kind} with id {id}"),
        Selector::Name(n) => anyhow::anyhow!("no loaded {kind} is named '{n}'"),
        Selector::Tag(t) => anyhow::anyhow!("no loaded {kind} has tag {t}"),
        Selector::Pinned(p) => anyhow::anyhow!("nothing pinned at {}", p.display()),
    }
}

/// An object that vanished between listing and opening is skipped; when
/// the user named its id, that is reported as "no such id".
pub fn gone<T>(r: bpfkit_sys::Result<T>) -> bpfkit_sys::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Pins the object behind `fd` at `path` (bpftool's `pin`), naming it in
/// the error.
pub fn pin(fd: &OwnedFd, path: &std::path::Path, what: &str) -> Result<()> {
    use std::os::fd::AsFd;
    bpfkit_sys::obj_pin(fd.as_fd(), path).with_context(|| {
        format!(
            "pinning {what} at {} (a new file on a bpffs mount)",
            path.display()
        )
    })
}

/// The one word after a selector that names a file (`pin ... FILE`).
pub fn one_path<'w>(extra: &'w [String], action: &str) -> Result<&'w str> {
    match extra {
        [path] => Ok(path),
        [] => bail!("'{action}' needs a path after the object, e.g. /sys/fs/bpf/NAME"),
        [_, word, ..] => bail!("unexpected '{word}' after the pin path"),
    }
}

/// Left-aligned columns, two spaces apart, header first.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// `pid/comm` of every holder, comma-separated (`-` for none).
pub fn holders_cell(holders: Option<&Vec<bpfkit_sys::Holder>>) -> String {
    match holders {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|h| format!("{}/{}", h.pid, h.comm))
            .collect::<Vec<_>>()
            .join(","),
        _ => "-".into(),
    }
}

/// bpftool's `pids` array.
pub fn holders_json(holders: Option<&Vec<bpfkit_sys::Holder>>) -> serde_json::Value {
    holders
        .map(|list| {
            list.iter()
                .map(|h| serde_json::json!({"pid": h.pid, "comm": h.comm}))
                .collect()
        })
        .unwrap_or_else(|| serde_json::Value::Array(Vec::new()))
}

/// The first word picks the action (`list` when there is none or it is a
/// selector keyword, as bpftool does).
pub fn split_action<'w>(words: &'w [String], actions: &[&str]) -> (&'w str, &'w [String]) {
    match words.split_first() {
        Some((first, rest)) if actions.contains(&first.as_str()) => (first.as_str(), rest),
        _ => ("list", words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn selectors() {
        let all = ["id", "name", "tag", "pinned"];
        let w = words("id 42 key 1");
        let (sel, rest) = Selector::parse(&w, &all).unwrap();
        assert_eq!(sel, Selector::Id(42));
        assert_eq!(rest, &w[2..]);
        assert_eq!(Selector::parse(&[], &all).unwrap().0, Selector::All);
        assert!(Selector::parse(&words("id x"), &all).is_err());
        assert!(Selector::parse(&words("id"), &all).is_err());
        assert!(Selector::parse(&words("tag ab"), &["id"]).is_err());
        let (sel, _) = Selector::parse(&words("tag ABcd"), &all).unwrap();
        assert_eq!(sel, Selector::Tag("abcd".into()));
    }

    #[test]
    fn table_aligns() {
        let t = table(&["ID", "NAME"], &[vec!["1".into(), "a".into()]]);
        assert_eq!(t, "ID  NAME\n1   a\n");
    }
}
