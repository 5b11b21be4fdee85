//! User addresses named per mapped file, not per process.
//!
//! A process's address is turned into (file identity, file offset) with
//! one read of `/proc/PID/maps`; names are cached under that key, so every
//! process of a binary shares them and a new process of a known binary
//! costs one maps read and hash lookups (blazesym's own process source
//! re-reads the maps and resolves every address anew for each process: a
//! flood of short-lived processes made the printer fall behind and lose
//! events). A file is known by its device and inode as the maps show them:
//! an executable cannot be written while it runs (ETXTBSY), and tools that
//! replace a library write a new file (a new inode).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use blazesym::symbolize::{
    self,
    source::{Elf, Source},
};

use crate::{Sym, to_sym};

/// A mapped file, as `/proc/PID/maps` names it: device (major, minor) and
/// inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: (u32, u32),
    inode: u64,
}

/// One file-backed line of `/proc/PID/maps`.
#[derive(Debug, Clone)]
struct Mapping {
    start: u64,
    end: u64,
    /// The file offset `start` maps.
    offset: u64,
    file: FileId,
    /// The path the maps show (without ` (deleted)`).
    path: String,
}

/// Parses `/proc/PID/maps` text: file-backed mappings, sorted by address
/// (as the kernel lists them). Anonymous mappings, `[vdso]`, `[heap]` and
/// unparseable lines are left out.
fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_maps_line).collect()
}

fn parse_maps_line(line: &str) -> Option<Mapping> {
    // start-end perms offset major:minor inode path (the path may hold spaces)
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let _perms = fields.next()?;
    let offset = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let inode: u64 = fields.next()?.parse().ok()?;
    let path = fields.next()?.trim_start();
    if inode == 0 || !path.starts_with('/') {
        return None;
    }
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        offset: u64::from_str_radix(offset, 16).ok()?,
        file: FileId {
            dev: (
                u32::from_str_radix(major, 16).ok()?,
                u32::from_str_radix(minor, 16).ok()?,
            ),
            inode,
        },
        path: path.strip_suffix(" (deleted)").unwrap_or(path).to_string(),
    })
}

/// The mapping `addr` falls in.
fn mapping_of(maps: &[Mapping], addr: u64) -> Option<&Mapping> {
    let i = maps.partition_point(|m| m.start <= addr).checked_sub(1)?;
    let m = &maps[i];
    (addr < m.end).then_some(m)
}

/// A symbol file given by the user (`trace -s`): used for the mapped files
/// with its build-id, or with its file name when either has no build-id.
#[derive(Debug, Clone)]
struct SymbolFile {
    path: PathBuf,
    build_id: Option<Vec<u8>>,
    name: Option<String>,
}

/// How to read a mapped file: the path blazesym opens, and the symbol
/// file that stands in for it.
#[derive(Debug, Clone)]
struct FileEntry {
    /// `/proc/PID/map_files/START-END` of the first process seen mapping
    /// it: it opens the mapped file itself (also deleted or in another
    /// mount namespace). blazesym keeps the file open, and never re-opens
    /// the path (no auto-reload), so it serves after that process is gone.
    open_path: PathBuf,
    symbol_file: Option<PathBuf>,
}

/// A process's file mappings as last read, and the layout they were read
/// for.
struct ProcessMaps {
    layout: Option<Layout>,
    maps: Rc<Vec<Mapping>>,
    /// When the layout was last read.
    checked: Instant,
}

/// How long a process's maps are used without reading its layout again.
/// Reading `/proc/PID/stat` for every stack is an open per event: a tool
/// that traces opens and shows stacks (opensnoop -c) would trace its own
/// reads, each a new event, without end.
const LAYOUT_RECHECK: Duration = Duration::from_secs(1);

/// Sooner when an address is in none of the known mappings (an exec since:
/// the new image lies elsewhere), but not for every such stack (addresses
/// in the vDSO or JIT code are in no file).
const LAYOUT_RECHECK_ON_MISS: Duration = Duration::from_millis(50);

/// Where a process's program text and stack start (`/proc/PID/stat`'s
/// startcode, endcode, startstack): an exec places them anew (ASLR), also
/// when it runs the same binary again, and a new process with a reused pid
/// has its own; a fork keeps them, with the maps.
type Layout = [u64; 3];

/// The [`Layout`] of `pid`, `None` when it is gone.
fn layout(pid: u32) -> Option<Layout> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_layout(&stat)
}

fn parse_layout(stat: &str) -> Option<Layout> {
    // The command (field 2) may hold spaces and parentheses: fields are
    // counted after its closing one, from field 3.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(26 - 3);
    let mut next = || fields.next()?.parse::<u64>().ok();
    Some([next()?, next()?, next()?])
}

/// Names user addresses, cached per mapped file and file offset.
pub(crate) struct UserCache {
    /// Without auto-reload: a path, once opened, stays the file it was.
    elf: symbolize::Symbolizer,
    files: HashMap<FileId, FileEntry>,
    names: HashMap<(FileId, u64), Option<Sym>>,
    /// By pid: a process sends many events (a loop forking sends one per
    /// fork), and reading its maps for each would cost more than naming.
    processes: HashMap<u32, ProcessMaps>,
    symbol_files: Vec<SymbolFile>,
}

/// Names remembered at most; then the cache starts over (a long run over
/// many binaries must not grow without bound).
const NAMES_LIMIT: usize = 100_000;

/// Processes whose maps are remembered at most.
const PROCESSES_LIMIT: usize = 4096;

impl UserCache {
    pub(crate) fn new() -> UserCache {
        let elf = symbolize::Symbolizer::builder()
            .enable_code_info(true)
            .enable_inlined_fns(false)
            .enable_demangling(true)
            .enable_auto_reload(false)
            .build();
        UserCache {
            elf,
            files: HashMap::new(),
            names: HashMap::new(),
            processes: HashMap::new(),
            symbol_files: Vec::new(),
        }
    }

    /// Adds a symbol file for mapped files without symbols of their own.
    pub(crate) fn add_symbol_file(&mut self, path: &Path) -> Result<(), crate::Error> {
        let build_id = blazesym::helper::read_elf_build_id(path)
            .map_err(|e| crate::Error::SymbolFile(path.to_path_buf(), e.to_string()))?
            .map(|id| id.to_vec());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        self.symbol_files.push(SymbolFile {
            path: path.to_path_buf(),
            build_id,
            name,
        });
        // Files already seen may now have a symbol file.
        self.files.clear();
        self.names.clear();
        Ok(())
    }

    /// Names for `ips` in process `pid`, `None` when the process is gone.
    /// Per address: `None` for one in no mapped file (anonymous memory, the
    /// vDSO: the caller asks blazesym's process source), `Some(None)` for
    /// one in a file but in none of its symbols.
    pub(crate) fn syms(&mut self, pid: u32, ips: &[u64]) -> Option<Vec<Option<Option<Sym>>>> {
        let maps = self.process_maps(pid, ips)?;
        if self.names.len() >= NAMES_LIMIT {
            self.names.clear();
        }
        Some(
            ips.iter()
                .map(|&ip| {
                    let mapping = mapping_of(&maps, ip)?;
                    Some(self.name(pid, mapping, ip - mapping.start + mapping.offset))
                })
                .collect(),
        )
    }

    /// The mappings of `pid`: those read before while its layout is the
    /// same (also after it exited: its events may be read later).
    /// An address in a library mapped since is in none of them; the caller
    /// asks blazesym's process source, which reads the maps afresh.
    /// This process (bpfkit) never execs while it runs: its maps are read
    /// once.
    fn process_maps(&mut self, pid: u32, ips: &[u64]) -> Option<Rc<Vec<Mapping>>> {
        if let Some(known) = self.processes.get(&pid) {
            let age = known.checked.elapsed();
            let missed = ips
                .iter()
                .any(|&ip| ip != 0 && mapping_of(&known.maps, ip).is_none());
            let recheck = if missed {
                LAYOUT_RECHECK_ON_MISS
            } else {
                LAYOUT_RECHECK
            };
            if pid == std::process::id() || age < recheck {
                return Some(Rc::clone(&known.maps));
            }
        }
        let layout = layout(pid);
        // Gone: the events were its own (a new process with its pid would
        // have a layout), so what was read while it ran still holds.
        if let Some(known) = self.processes.get_mut(&pid)
            && (layout.is_none() || known.layout == layout)
        {
            known.checked = Instant::now();
            return Some(Rc::clone(&known.maps));
        }
        let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
        let maps = Rc::new(parse_maps(&text));
        if self.processes.len() >= PROCESSES_LIMIT {
            self.processes.clear();
        }
        self.processes.insert(
            pid,
            ProcessMaps {
                layout,
                maps: Rc::clone(&maps),
                checked: Instant::now(),
            },
        );
        Some(maps)
    }

    fn name(&mut self, pid: u32, mapping: &Mapping, file_offset: u64) -> Option<Sym> {
        let key = (mapping.file, file_offset);
        if let Some(sym) = self.names.get(&key) {
            return sym.clone();
        }
        let entry = self.file_entry(pid, mapping);
        let from_symbol_file = entry
            .symbol_file
            .as_deref()
            .and_then(|path| self.resolve(path, file_offset));
        let sym = match from_symbol_file {
            Some(sym) => Ok(Some(sym)),
            None => self.resolve_result(&entry.open_path, file_offset),
        };
        let sym = match sym {
            Ok(sym) => sym,
            Err(()) => {
                // The path could not be opened (that process went before
                // its file was read): choose again next time, uncached.
                self.files.remove(&mapping.file);
                return None;
            }
        };
        let sym = sym.map(|mut s| {
            s.module = Some(mapping.path.clone());
            s
        });
        self.names.insert(key, sym.clone());
        sym
    }

    fn file_entry(&mut self, pid: u32, mapping: &Mapping) -> FileEntry {
        if let Some(entry) = self.files.get(&mapping.file) {
            return entry.clone();
        }
        let map_files = PathBuf::from(format!(
            "/proc/{pid}/map_files/{:x}-{:x}",
            mapping.start, mapping.end
        ));
        // map_files needs CAP_SYS_ADMIN; without it, the path the maps show.
        let open_path = if std::fs::metadata(&map_files).is_ok() {
            map_files
        } else {
            PathBuf::from(&mapping.path)
        };
        let symbol_file = self.symbol_file_for(&open_path, &mapping.path);
        let entry = FileEntry {
            open_path,
            symbol_file,
        };
        self.files.insert(mapping.file, entry.clone());
        entry
    }

    /// The symbol file for a mapped file: the one with its build-id, else
    /// one with its file name (when the two cannot be told apart by id).
    fn symbol_file_for(&self, open_path: &Path, shown_path: &str) -> Option<PathBuf> {
        if self.symbol_files.is_empty() {
            return None;
        }
        let build_id = blazesym::helper::read_elf_build_id(open_path)
            .ok()
            .flatten()
            .map(|id| id.to_vec());
        let name = Path::new(shown_path).file_name()?.to_string_lossy();
        let by_id = build_id.as_ref().and_then(|id| {
            self.symbol_files
                .iter()
                .find(|f| f.build_id.as_ref() == Some(id))
        });
        let by_name = || {
            self.symbol_files.iter().find(|f| {
                (build_id.is_none() || f.build_id.is_none()) && f.name.as_deref() == Some(&name)
            })
        };
        by_id.or_else(by_name).map(|f| f.path.clone())
    }

    /// The symbol at `file_offset` of the ELF file at `path`.
    fn resolve(&self, path: &Path, file_offset: u64) -> Option<Sym> {
        self.resolve_result(path, file_offset).ok().flatten()
    }

    /// As [`resolve`](Self::resolve), with `Err` when the file cannot be
    /// read at all.
    fn resolve_result(&self, path: &Path, file_offset: u64) -> Result<Option<Sym>, ()> {
        let source = Source::Elf(Elf::new(path));
        let symbolized = self
            .elf
            .symbolize_single(&source, symbolize::Input::FileOffset(file_offset))
            .map_err(|_| ())?;
        Ok(to_sym(&symbolized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An address 0x10 into the text of `/bin/sleep` in process `pid`,
    /// once the process has exec'd it and mapped it.
    fn sleep_text_address(pid: u32) -> Option<u64> {
        text_address(pid, "bin/sleep", 0x10)
    }

    /// `offset` into the text mapping of a file whose path ends in `file`.
    fn text_address(pid: u32, file: &str, offset: u64) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
        let line = text
            .lines()
            .find(|l| l.contains("r-xp") && l.ends_with(file))?;
        let start = line.split('-').next()?;
        Some(u64::from_str_radix(start, 16).ok()? + offset)
    }

    #[test]
    fn processes_of_one_binary_share_one_file_and_its_names() {
        if !std::path::Path::new("/bin/sleep").exists() {
            eprintln!("skipped: no /bin/sleep");
            return;
        }
        let mut children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new("/bin/sleep")
                    .arg("5")
                    .spawn()
                    .expect("spawning sleep")
            })
            .collect();
        let addresses: Vec<(u32, u64)> = children
            .iter()
            .map(|child| {
                let pid = child.id();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                loop {
                    if let Some(addr) = sleep_text_address(pid) {
                        break (pid, addr);
                    }
                    assert!(std::time::Instant::now() < deadline, "sleep never mapped");
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
            .collect();
        let mut cache = UserCache::new();
        let mut names = Vec::new();
        for &(pid, addr) in &addresses {
            let syms = cache.syms(pid, &[addr]).expect("live process");
            names.push(syms[0].clone().expect("in a mapped file"));
        }
        for child in &mut children {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!(cache.files.len(), 1, "one entry for the one binary");
        assert_eq!(cache.names.len(), 1, "one name for its one offset");
        assert!(names.windows(2).all(|w| w[0] == w[1]), "{names:?}");
    }

    /// Events are often read after their process exited (a short-lived
    /// one, a reader behind): what was read while it ran still names them.
    #[test]
    fn a_process_seen_alive_is_still_named_after_it_exits() {
        if !std::path::Path::new("/bin/sleep").exists() {
            eprintln!("skipped: no /bin/sleep");
            return;
        }
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("5")
            .spawn()
            .expect("spawning sleep");
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // Into libc's text (sleep itself is stripped): some function.
        let addr = loop {
            if let Some(addr) = text_address(pid, "/libc.so.6", 0x1000) {
                break addr;
            }
            assert!(std::time::Instant::now() < deadline, "sleep never mapped");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let mut cache = UserCache::new();
        let alive = cache.syms(pid, &[addr]).expect("live process");
        let _ = child.kill();
        let _ = child.wait();
        let gone = cache.syms(pid, &[addr + 1]).expect("its maps, as read");
        let name = |syms: &[Option<Option<Sym>>]| syms[0].clone().flatten().map(|s| s.name);
        assert!(name(&alive).is_some(), "{alive:?}");
        assert_eq!(name(&gone), name(&alive));
        assert!(
            UserCache::new().syms(pid, &[addr]).is_none(),
            "never seen: no maps"
        );
    }

    #[test]
    fn the_layout_is_read_after_the_command() {
        let mut stat = String::from("42 (a) b) c) S");
        for field in 4..=30 {
            stat.push_str(&format!(" {field}"));
        }
        assert_eq!(parse_layout(&stat), Some([26, 27, 28]));
        assert_eq!(parse_layout("42 (short) S 1 2"), None);
    }

    #[test]
    fn maps_lines_become_file_mappings() {
        let text = "\
55d0a0000000-55d0a0001000 r--p 00000000 fd:01 1234 /usr/bin/app
55d0a0001000-55d0a0005000 r-xp 00001000 fd:01 1234 /usr/bin/app
55d0a1000000-55d0a1021000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000002000 r-xp 00002000 00:1f 77 /tmp/my lib.so (deleted)
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
broken line";
        let maps = parse_maps(text);
        assert_eq!(maps.len(), 3);
        assert_eq!(maps[1].offset, 0x1000);
        assert_eq!(
            maps[1].file,
            FileId {
                dev: (0xfd, 1),
                inode: 1234
            }
        );
        assert_eq!(maps[2].path, "/tmp/my lib.so");
        let m = mapping_of(&maps, 0x55d0a0001234).expect("in the text mapping");
        assert_eq!(m.start, 0x55d0a0001000);
        assert!(
            mapping_of(&maps, 0x55d0a0005000).is_none(),
            "end is exclusive"
        );
        assert!(mapping_of(&maps, 0x1000).is_none());
    }
}
