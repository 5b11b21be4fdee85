//! bpfkit-symbolize: names for the instruction pointers of BPF stack traces
//! (profile, offcputime, memleak), folded stacks and SVG flame graphs.
//!
//! Addresses are resolved by [blazesym](https://docs.rs/blazesym): kernel
//! addresses through `/proc/kallsyms` (and a vmlinux with symbols when one
//! is installed), user addresses through `/proc/PID/maps` and the ELF
//! symbols and DWARF of the mapped files (also files deleted or replaced
//! since, through `/proc/PID/map_files`). blazesym 0.2 builds on Rust 1.95
//! with pure-Rust dependencies only (default features off: no zlib/zstd
//! for compressed debug sections) and caches parsed files between calls.
//!
//! User addresses can only be resolved while their process is alive: the
//! memory map goes with it. Callers symbolize a summary before the traced
//! processes exit, or accept hex addresses for the ones that did.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

mod user;

use blazesym::symbolize::{
    self,
    source::{Kernel, Process, Source},
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("writing the flame graph: {0}")]
    FlameGraph(#[source] std::io::Error),
    #[error("symbol file {path}: {reason}", path = .0.display(), reason = .1)]
    SymbolFile(PathBuf, String),
}

/// A symbol an address falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    /// The function name, demangled.
    pub name: String,
    /// How far the address is into the function, in bytes.
    pub offset: u64,
    /// The file the symbol came from (a shared object, the executable;
    /// for the kernel, the module name when it is not vmlinux).
    pub module: Option<String>,
    /// Source file and line, when the file has DWARF line info.
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{:#x}", self.name, self.offset)
    }
}

/// Resolves kernel and user addresses, caching what it read: user names
/// per mapped file (every process of a binary shares them).
pub struct Symbolizer {
    inner: symbolize::Symbolizer,
    user: user::UserCache,
    /// Addresses in no mapped file (the vDSO, JIT code with a perf map),
    /// by process: blazesym reads the whole maps for each.
    unmapped: std::collections::HashMap<(u32, u64), Option<Sym>>,
}

/// Unmapped addresses remembered at most; then that cache starts over.
const UNMAPPED_LIMIT: usize = 100_000;

impl Default for Symbolizer {
    fn default() -> Self {
        Symbolizer::new()
    }
}

impl Symbolizer {
    pub fn new() -> Symbolizer {
        let inner = symbolize::Symbolizer::builder()
            .enable_code_info(true)
            .enable_inlined_fns(false)
            .enable_demangling(true)
            // A process's map changes (dlopen); re-read it when it did.
            .enable_auto_reload(true)
            .build();
        Symbolizer {
            inner,
            user: user::UserCache::new(),
            unmapped: std::collections::HashMap::new(),
        }
    }

    /// Adds an ELF file whose symbols name the addresses of a mapped file
    /// with the same build-id (or, where either has none, the same file
    /// name): symbols for a stripped binary (bcc trace's `-s`). An error
    /// when `path` is not an ELF file that can be read.
    pub fn add_symbol_file(&mut self, path: &Path) -> Result<(), Error> {
        self.user.add_symbol_file(path)
    }

    /// The kernel symbol `addr` falls in.
    pub fn kernel(&mut self, addr: u64) -> Option<Sym> {
        self.resolve(&Source::Kernel(Kernel::default()), addr)
    }

    /// The symbol `addr` falls in, in the address space of process `pid`.
    pub fn user(&mut self, pid: u32, addr: u64) -> Option<Sym> {
        self.user_syms(pid, &[addr]).pop().flatten()
    }

    /// The symbols `ips` fall in, in process `pid`: through the per-file
    /// cache, and blazesym's process source for addresses in no mapped
    /// file (the vDSO, perf maps of JIT code).
    pub fn user_syms(&mut self, pid: u32, ips: &[u64]) -> Vec<Option<Sym>> {
        if pid == 0 {
            return vec![None; ips.len()]; // 0 would mean "this process" to blazesym
        }
        let Some(cached) = self.user.syms(pid, ips) else {
            return vec![None; ips.len()]; // the process is gone, its maps too
        };
        if self.unmapped.len() >= UNMAPPED_LIMIT {
            self.unmapped.clear();
        }
        let process = Source::Process(Process::new(pid.into()));
        ips.iter()
            .zip(cached)
            .map(|(&ip, sym)| match sym {
                Some(sym) => sym,
                None => self
                    .unmapped
                    .entry((pid, ip))
                    .or_insert_with(|| resolve(&self.inner, &process, ip))
                    .clone(),
            })
            .collect()
    }

    fn resolve(&self, source: &Source, addr: u64) -> Option<Sym> {
        resolve(&self.inner, source, addr)
    }

    /// Names for `ips`, unknown ones in hex: in one pass over the source
    /// (blazesym groups the addresses by file), or address by address when
    /// the pass fails as a whole (one unreadable file, such as a separate
    /// debug file it could not parse, fails the whole batch).
    fn frames(&self, source: &Source, ips: &[u64]) -> Vec<String> {
        match self.inner.symbolize(source, symbolize::Input::AbsAddr(ips)) {
            Ok(symbolized) if symbolized.len() == ips.len() => ips
                .iter()
                .zip(&symbolized)
                .map(|(&ip, s)| frame_name(to_sym(s), ip))
                .collect(),
            _ => ips
                .iter()
                .map(|&ip| frame_name(self.resolve(source, ip), ip))
                .collect(),
        }
    }

    /// Frame names of a kernel stack (innermost first, as BPF stack traces
    /// hold them): the function name, or the address in hex when unknown.
    pub fn kernel_frames(&mut self, ips: &[u64]) -> Vec<String> {
        self.frames(&Source::Kernel(Kernel::default()), ips)
    }

    /// Frame names of a user stack of `pid` (innermost first).
    pub fn user_frames(&mut self, pid: u32, ips: &[u64]) -> Vec<String> {
        let syms = self.user_syms(pid, ips);
        ips.iter()
            .zip(syms)
            .map(|(&ip, sym)| frame_name(sym, ip))
            .collect()
    }
}

fn resolve(symbolizer: &symbolize::Symbolizer, source: &Source, addr: u64) -> Option<Sym> {
    let symbolized = symbolizer
        .symbolize_single(source, symbolize::Input::AbsAddr(addr))
        .ok()?;
    to_sym(&symbolized)
}

fn to_sym(symbolized: &symbolize::Symbolized) -> Option<Sym> {
    let symbolize::Symbolized::Sym(sym) = symbolized else {
        return None;
    };
    let code = sym.code_info.as_deref();
    Some(Sym {
        name: sym.name.to_string(),
        offset: sym.offset as u64,
        module: sym
            .module
            .as_deref()
            .map(|m| m.to_string_lossy().into_owned()),
        file: code.map(|c| c.to_path().display().to_string()),
        line: code.and_then(|c| c.line),
    })
}

fn frame_name(sym: Option<Sym>, ip: u64) -> String {
    sym.map(|s| s.name).unwrap_or_else(|| format!("{ip:#x}"))
}

/// The instruction pointers in a `BPF_MAP_TYPE_STACK_TRACE` value (u64s in
/// native byte order, innermost first, ended by a 0 or the value's end).
pub fn stack_ips(value: &[u8]) -> Vec<u64> {
    value
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default()))
        .take_while(|&ip| ip != 0)
        .collect()
}

/// Suffix that marks kernel frames in folded stacks (flamegraph.pl and
/// inferno color them as kernel code).
pub const KERNEL_SUFFIX: &str = "_[k]";

/// One folded-stack line, `comm;outer;...;inner weight`, root first: the
/// command, user frames from `main` inwards, then kernel frames from the
/// system call inwards (suffixed with [`KERNEL_SUFFIX`]). Frames come
/// innermost first, as BPF stack traces hold them. `;` in names (rare,
/// some C++ symbols) becomes `:` so the line stays parseable.
pub fn fold(comm: Option<&str>, user: &[String], kernel: &[String], weight: u64) -> String {
    let clean = |s: &str| s.replace(';', ":");
    let mut parts: Vec<String> = Vec::with_capacity(1 + user.len() + kernel.len());
    if let Some(comm) = comm {
        parts.push(clean(comm));
    }
    parts.extend(user.iter().rev().map(|f| clean(f)));
    parts.extend(
        kernel
            .iter()
            .rev()
            .map(|f| format!("{}{KERNEL_SUFFIX}", clean(f))),
    );
    format!("{} {weight}", parts.join(";"))
}

/// One counted stack out of a BPF map, as the stack tools keep them: the
/// stack trace map's instruction pointers (innermost first) and what the
/// key weighs.
#[derive(Debug, Clone, Default)]
pub struct StackSample {
    pub pid: u32,
    pub comm: Option<String>,
    pub kernel_ips: Vec<u64>,
    pub user_ips: Vec<u64>,
    pub weight: u64,
}

/// A [`StackSample`] with names for its frames.
#[derive(Debug, Clone)]
pub struct NamedStack {
    pub pid: u32,
    pub comm: Option<String>,
    /// Innermost first, as collected.
    pub kernel: Vec<String>,
    pub user: Vec<String>,
    pub weight: u64,
}

impl Symbolizer {
    /// Names the frames of `sample` (user frames in its process).
    pub fn name(&mut self, sample: &StackSample) -> NamedStack {
        NamedStack {
            pid: sample.pid,
            comm: sample.comm.clone(),
            kernel: self.kernel_frames(&sample.kernel_ips),
            user: self.user_frames(sample.pid, &sample.user_ips),
            weight: sample.weight,
        }
    }
}

impl NamedStack {
    /// The folded line ([`fold`]).
    pub fn folded(&self) -> String {
        fold(self.comm.as_deref(), &self.user, &self.kernel, self.weight)
    }

    /// bcc offwaketime's folded line: this (the blocked task) root first,
    /// `--`, then the waker's frames innermost first and its command last,
    /// so a flame graph grows both stacks towards the middle:
    /// `target;main;read;--;pipe_write;write;main;waker 17`.
    pub fn folded_with_waker(&self, waker: &NamedStack) -> String {
        let clean = |s: &str| s.replace(';', ":");
        let target = fold(self.comm.as_deref(), &self.user, &self.kernel, 0);
        let target = target.strip_suffix(" 0").unwrap_or(&target);
        let mut parts = vec![target.to_string(), "--".to_string()];
        parts.extend(
            waker
                .kernel
                .iter()
                .map(|f| format!("{}{KERNEL_SUFFIX}", clean(f))),
        );
        parts.extend(waker.user.iter().map(|f| clean(f)));
        parts.push(clean(waker.comm.as_deref().unwrap_or("")));
        format!("{} {}", parts.join(";"), self.weight)
    }

    /// bcc offwaketime's layout: the waker's line and frames outermost
    /// first, `--`, this task's frames innermost first, its line and the
    /// weight.
    pub fn indented_with_waker(&self, waker: &NamedStack) -> String {
        let mut out = String::new();
        let waker_comm = waker.comm.as_deref().unwrap_or("");
        out.push_str(&format!(
            "    {:<16} {waker_comm} {}\n",
            "waker:", waker.pid
        ));
        for frame in waker.user.iter().rev().chain(waker.kernel.iter().rev()) {
            out.push_str(&format!("    {frame}\n"));
        }
        out.push_str(&format!("    {:<16} --\n", "--"));
        for frame in self.kernel.iter().chain(&self.user) {
            out.push_str(&format!("    {frame}\n"));
        }
        let comm = self.comm.as_deref().unwrap_or("");
        out.push_str(&format!("    {:<16} {comm} {}\n", "target:", self.pid));
        out.push_str(&format!("        {}\n", self.weight));
        out
    }

    /// Frames one per line, innermost first (kernel, then `--`, then user,
    /// as bcc's profile prints them), then `-  comm (pid)` and the weight:
    ///
    /// ```text
    ///     do_nanosleep
    ///     --
    ///     main
    ///     -                app (42)
    ///         17
    /// ```
    pub fn indented(&self) -> String {
        let mut out = String::new();
        for frame in &self.kernel {
            out.push_str(&format!("    {frame}\n"));
        }
        if !self.kernel.is_empty() && !self.user.is_empty() {
            out.push_str("    --\n");
        }
        for frame in &self.user {
            out.push_str(&format!("    {frame}\n"));
        }
        let comm = self.comm.as_deref().unwrap_or("");
        out.push_str(&format!("    -                {comm} ({})\n", self.pid));
        out.push_str(&format!("        {}\n", self.weight));
        out
    }
}

/// Folded lines with the same stack merged (weights summed), heaviest
/// first: different keys (threads of one process, stack ids of the same
/// frames) often fold to the same line.
pub fn merge_folded(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut totals: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for line in lines {
        let Some((stack, weight)) = line.rsplit_once(' ') else {
            continue;
        };
        let weight = weight.parse::<u64>().unwrap_or(0);
        *totals.entry(stack.to_string()).or_default() += weight;
    }
    let mut merged: Vec<(String, u64)> = totals.into_iter().collect();
    merged.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    merged
        .into_iter()
        .map(|(stack, weight)| format!("{stack} {weight}"))
        .collect()
}

/// Writes an SVG flame graph of folded lines (from [`fold`]) to `out`.
/// `count_name` says what the weights are (`samples`, `us`, `bytes`).
pub fn flamegraph<'a>(
    folded_lines: impl IntoIterator<Item = &'a str>,
    out: impl Write,
    title: &str,
    count_name: &str,
) -> Result<(), Error> {
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = count_name.to_string();
    inferno::flamegraph::from_lines(&mut options, folded_lines, out).map_err(Error::FlameGraph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_with_waker_meets_in_the_middle_with_the_waker_last() {
        let stack = |comm: &str, user: &[&str], kernel: &[&str], weight| NamedStack {
            pid: 1,
            comm: Some(comm.into()),
            kernel: kernel.iter().map(|f| f.to_string()).collect(),
            user: user.iter().map(|f| f.to_string()).collect(),
            weight,
        };
        let target = stack("reader", &["read", "main"], &["schedule", "pipe_read"], 9);
        let waker = stack("writer", &["write", "start"], &["wake_up", "pipe_write"], 0);
        assert_eq!(
            target.folded_with_waker(&waker),
            "reader;main;read;pipe_read_[k];schedule_[k];--;\
             wake_up_[k];pipe_write_[k];write;start;writer 9"
        );
        let text = target.indented_with_waker(&waker);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            [
                "waker:           writer 1",
                "start",
                "write",
                "pipe_write",
                "wake_up",
                "--               --",
                "schedule",
                "pipe_read",
                "read",
                "main",
                "target:          reader 1",
                "9"
            ]
        );
    }

    #[test]
    fn fold_puts_the_root_first_and_marks_kernel_frames() {
        let user = vec!["inner".to_string(), "main".to_string()];
        let kernel = vec!["schedule".to_string(), "do_nanosleep".to_string()];
        assert_eq!(
            fold(Some("app"), &user, &kernel, 7),
            "app;main;inner;do_nanosleep_[k];schedule_[k] 7"
        );
        assert_eq!(fold(None, &["a;b".into()], &[], 1), "a:b 1");
    }

    #[test]
    fn merging_sums_equal_stacks_heaviest_first() {
        let lines = ["a;b 2", "a;c 5", "a;b 4", "broken"].map(String::from);
        assert_eq!(merge_folded(lines), vec!["a;b 6", "a;c 5"]);
    }

    #[test]
    fn indented_stacks_put_kernel_frames_first() {
        let stack = NamedStack {
            pid: 42,
            comm: Some("app".into()),
            kernel: vec!["do_nanosleep".into()],
            user: vec!["main".into()],
            weight: 17,
        };
        assert_eq!(
            stack.indented(),
            "    do_nanosleep\n    --\n    main\n    -                app (42)\n        17\n"
        );
        assert_eq!(stack.folded(), "app;main;do_nanosleep_[k] 17");
    }

    #[test]
    fn stack_ips_stop_at_the_first_zero() {
        let mut value = Vec::new();
        for ip in [0x10u64, 0x20, 0, 0x30] {
            value.extend_from_slice(&ip.to_ne_bytes());
        }
        assert_eq!(stack_ips(&value), vec![0x10, 0x20]);
        assert_eq!(stack_ips(&[1, 2, 3]), Vec::<u64>::new());
    }
}
