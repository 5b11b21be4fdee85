//! Which processes hold which BPF objects, found in one pass by a
//! `task_file` BPF iterator (`bpf/holders.bpf.c`, as bpftool does), instead
//! of walking `/proc/*/fd` (a handful of syscalls per process and per BPF
//! fd). Where iterators are missing (kernels before 5.8) or the program does
//! not load, [`HolderScanner`] falls back to [`Holders::scan_proc`] and
//! gives the same answer. Loading the iterator has a fixed cost, so
//! [`holders`] scans /proc on machines with few processes.
//!
//! The program is loaded here directly, not through a [`crate::Session`]:
//! it has no maps, globals or subprograms, so all it needs is its CO-RE
//! relocations and the kernel BTF id of `bpf_iter_task_file`, both from
//! one lazy view of the kernel BTF (a Session would also build aya's
//! stand-in BTF and loader, several times the cost of the whole scan).

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use bpfkit_btf::kind_no::FUNC;
use bpfkit_btf::view::BtfView;
use bpfkit_object::Object;
use bpfkit_sys::{Holder, HolderKind, Holders, attach_type, prog_type};

use crate::error::{Result, RuntimeError};

/// The committed iterator object (rebuilt by `scripts/build-bpf.sh`).
const HOLDERS_OBJECT: &[u8] = include_bytes!("../bpf/holders.bpf.o");

/// `struct holder_record` of holders.bpf.c: kind, id, pid (`__u32` each,
/// native byte order), then the comm (16 bytes, NUL-padded).
const RECORD_SIZE: usize = 12 + COMM_LEN;
const COMM_LEN: usize = 16;

/// Finds holders with the iterator while it loads, else by scanning /proc.
/// Keep one to scan repeatedly: the program is loaded once.
pub struct HolderScanner {
    iterator: Option<Iterator>,
    /// Why /proc is scanned instead.
    fallback_reason: Option<String>,
}

impl HolderScanner {
    /// Loads the iterator program; on failure, scans will read /proc.
    pub fn new() -> HolderScanner {
        HolderScanner::from_load(Iterator::load())
    }

    /// The cheaper scanner for this machine: the iterator where at least
    /// [`iterator_from_processes`] processes run, else /proc (the iterator's
    /// fixed load cost is more than a scan of few processes).
    pub fn for_this_machine() -> HolderScanner {
        let from = iterator_from_processes();
        if process_count() >= from {
            return HolderScanner::new();
        }
        HolderScanner {
            iterator: None,
            fallback_reason: Some(format!(
                "fewer than {from} processes: scanning /proc is cheaper than loading the iterator"
            )),
        }
    }

    fn from_load(loaded: Result<Iterator>) -> HolderScanner {
        match loaded {
            Ok(iterator) => HolderScanner {
                iterator: Some(iterator),
                fallback_reason: None,
            },
            Err(e) => HolderScanner {
                iterator: None,
                fallback_reason: Some(e.to_string()),
            },
        }
    }

    /// Why /proc is scanned instead of running the iterator (`None`: the
    /// iterator is used).
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// The id of the loaded iterator program (`None` when scanning /proc).
    pub fn program_id(&self) -> Option<u32> {
        let iterator = self.iterator.as_ref()?;
        bpfkit_sys::prog_info(iterator.prog.as_fd())
            .ok()
            .map(|info| info.id)
    }

    /// Every BPF object held through an fd, with its holders. A failed
    /// iterator run falls back to /proc, for this and later scans.
    pub fn scan(&mut self) -> Holders {
        if let Some(iterator) = &self.iterator {
            match iterator.read() {
                Ok(holders) => return holders,
                Err(e) => {
                    self.fallback_reason = Some(e.to_string());
                    self.iterator = None;
                }
            }
        }
        Holders::scan_proc()
    }
}

impl Default for HolderScanner {
    fn default() -> Self {
        HolderScanner::new()
    }
}

/// From how many processes on the machine the iterator is worth loading.
/// Measured on a 2-vCPU VM (optimized build, best of 25): loading it costs
/// ~3.5 ms (kernel BTF view 0.7, CO-RE 1.6, verifier 0.4), one run
/// ~0.3 ms; the /proc scan ~27 µs per process (2.8 ms for 104). Below
/// ~140 processes the scan is cheaper.
pub const ITERATOR_FROM_PROCESSES: usize = 150;

/// The environment variable that overrides [`ITERATOR_FROM_PROCESSES`]
/// (0: always load the iterator); a value that is not a number is
/// ignored.
pub const ITERATOR_FROM_ENV: &str = "BPFKIT_HOLDERS_ITERATOR_FROM";

/// From how many processes the iterator is loaded: `$BPFKIT_HOLDERS_ITERATOR_FROM`
/// where set, else [`ITERATOR_FROM_PROCESSES`].
pub fn iterator_from_processes() -> usize {
    std::env::var(ITERATOR_FROM_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(ITERATOR_FROM_PROCESSES)
}

/// Holders, found once: by the iterator on machines with at least
/// [`iterator_from_processes`] processes, else (and where the iterator
/// does not load) by scanning /proc; the answer is the same.
pub fn holders() -> Holders {
    HolderScanner::for_this_machine().scan()
}

/// How many processes /proc lists (0 when it cannot be read).
fn process_count() -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .as_encoded_bytes()
                .iter()
                .all(u8::is_ascii_digit)
        })
        .count()
}

/// The loaded iterator program and its link; dropping them unloads it.
struct Iterator {
    link: OwnedFd,
    prog: OwnedFd,
}

impl Iterator {
    fn load() -> Result<Iterator> {
        let object = iterator_object()?;
        let program = object
            .programs
            .first()
            .ok_or_else(|| failed("it has no program"))?;
        let kernel = BtfView::vmlinux().map_err(|e| failed(&format!("kernel BTF: {e}")))?;
        let relocated = bpfkit_object::relocate_core_report(&object, &kernel)
            .map_err(|e| failed(&format!("CO-RE: {e}")))?;
        if let Some(poisoned) = relocated.poisoned_in(&program.name).first() {
            return Err(failed(&poisoned.to_string()));
        }
        let insns = bpfkit_object::program_code(&relocated.elf, program)
            .map_err(|e| failed(&e.to_string()))?;
        let load = bpfkit_sys::ProgLoad {
            name: "bpfkit_holders",
            prog_type: prog_type::TRACING,
            expected_attach_type: attach_type::TRACE_ITER,
            attach_btf_id: iter_target_id(&kernel, "bpf_iter_task_file")?,
            flags: 0,
            insns,
            license: c"GPL",
        };
        let prog = bpfkit_sys::prog_load(&load).map_err(|f| {
            let last = f.log.lines().last().unwrap_or("");
            failed(&format!("loading: {}: {last}", f.error))
        })?;
        let link = bpfkit_sys::iter_link_create(prog.as_fd())
            .map_err(|e| failed(&format!("creating its link: {e}")))?;
        Ok(Iterator { link, prog })
    }

    /// Runs the iterator once and decodes its records.
    fn read(&self) -> Result<Holders> {
        let fd = bpfkit_sys::iter_create(self.link.as_fd())
            .map_err(|e| failed(&format!("starting a run: {e}")))?;
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|e| failed(&format!("reading: {e}")))?;
        let mut holders = Holders::default();
        decode_records(&bytes, &mut holders)?;
        Ok(holders)
    }
}

fn failed(why: &str) -> RuntimeError {
    RuntimeError::Object {
        message: format!("the holders iterator: {why}"),
    }
}

/// The kernel BTF id of the FUNC `name` (an iterator target): the attach
/// point the verifier types the program's context by.
fn iter_target_id<D: AsRef<[u8]>>(kernel: &BtfView<D>, name: &str) -> Result<u32> {
    kernel.find_named(FUNC, name).ok_or_else(|| {
        failed(&format!(
            "the kernel has no {name} (iterators need Linux 5.8)"
        ))
    })
}

fn iterator_object() -> Result<Object> {
    bpfkit_object::analyze(HOLDERS_OBJECT).map_err(|e| failed(&e.to_string()))
}

/// Adds every `struct holder_record` in `bytes` to `holders`.
fn decode_records(bytes: &[u8], holders: &mut Holders) -> Result<()> {
    if !bytes.len().is_multiple_of(RECORD_SIZE) {
        return Err(failed(&format!(
            "it wrote {} bytes, not a multiple of its {RECORD_SIZE}-byte record",
            bytes.len()
        )));
    }
    for record in bytes.chunks_exact(RECORD_SIZE) {
        let word = |at: usize| {
            u32::from_ne_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
        };
        let kind = match word(0) {
            1 => HolderKind::Prog,
            2 => HolderKind::Map,
            3 => HolderKind::Link,
            _ => continue,
        };
        let comm = &record[12..];
        let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        let holder = Holder {
            pid: word(8),
            comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
        };
        holders.add(kind, word(4), holder);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, id: u32, pid: u32, comm: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [kind, id, pid] {
            bytes.extend(word.to_ne_bytes());
        }
        let mut name = [0u8; COMM_LEN];
        name[..comm.len()].copy_from_slice(comm.as_bytes());
        bytes.extend(name);
        bytes
    }

    #[test]
    fn records_decode_by_kind_once_per_holder() {
        let mut bytes = record(1, 42, 7, "loader");
        bytes.extend(record(2, 9, 7, "loader"));
        bytes.extend(record(3, 5, 8, "a-full-15-chars"));
        bytes.extend(record(1, 42, 7, "loader"));
        let mut holders = Holders::default();
        decode_records(&bytes, &mut holders).expect("decodes");
        let loader = Holder {
            pid: 7,
            comm: "loader".into(),
        };
        assert_eq!(holders.progs.get(&42), Some(&vec![loader.clone()]));
        assert_eq!(holders.maps.get(&9), Some(&vec![loader]));
        assert_eq!(holders.links[&5][0].comm, "a-full-15-chars");
    }

    #[test]
    fn a_torn_record_is_an_error() {
        let bytes = record(1, 42, 7, "loader");
        let mut holders = Holders::default();
        assert!(decode_records(&bytes[..RECORD_SIZE - 1], &mut holders).is_err());
    }

    /// A failed load leaves a scanner that reads /proc, says why, and still
    /// finds what this process holds.
    #[test]
    fn a_failed_load_falls_back_to_the_proc_scan() {
        let mut scanner = HolderScanner::from_load(Err(failed("no iterators here")));
        let reason = scanner.fallback_reason().expect("a reason");
        assert!(reason.contains("no iterators here"), "{reason}");
        assert_eq!(scanner.program_id(), None);
        // A BPF map needs no root on kernels that allow unprivileged BPF
        // only when configured so: without one, the scan is still empty.
        let Ok(map) = bpfkit_sys::map_create(2, 4, 4, 1, 0, "holders_unit") else {
            eprintln!("skipping the /proc part: cannot create a map here");
            return;
        };
        let id = bpfkit_sys::map_info(map.as_fd()).expect("map info").id;
        let held = scanner.scan();
        assert!(
            held.maps
                .get(&id)
                .is_some_and(|h| h.iter().any(|h| h.pid == std::process::id())),
            "{held:?}"
        );
    }

    #[test]
    fn the_committed_object_has_one_task_file_iterator() {
        let object = iterator_object().expect("analyzes");
        let hooks: Vec<String> = object.programs.iter().map(|p| p.hook.to_string()).collect();
        assert_eq!(hooks, ["iter:task_file"]);
    }
}
