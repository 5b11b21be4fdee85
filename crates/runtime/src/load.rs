//! Creating the object's maps and loading its programs one by one, with
//! aya, turning failures into errors that say what to change.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::io;

use aya::programs::{Program, ProgramError};
use aya::{Ebpf, EbpfLoader};
use bpfkit_object::{Hook, Object, PoisonedRelocation};

use crate::caps::Capability;
use crate::error::{Result, RuntimeError, SourceLine, VerifierRejection, failing_insn};
use crate::session::LoadOptions;
use crate::standin;

/// What the object needs from the running kernel's BTF, prepared once per
/// run (from one lazy view of it: a few ms, where aya's full parse costs
/// ~25 ms and ~17 MB) and dropped once every program is loaded.
#[derive(Default)]
pub(crate) struct KernelTypes {
    /// The loadable ELF with its CO-RE relocations applied by bpfkit,
    /// loaded without kernel BTF.
    pub relocated_elf: Option<Vec<u8>>,
    /// The relocations bpfkit poisoned, by function: a verifier rejection
    /// at one of them is explained instead of dumped.
    poisoned: BTreeMap<String, Vec<PoisonedRelocation>>,
    /// The entries tp_btf/fentry/fexit/lsm loads look up, at their kernel
    /// ids ([`crate::standin`]).
    standin: Option<aya::Btf>,
    /// The ELF with `.kconfig`/`.ksyms` externs resolved (on top of
    /// `relocated_elf` when bpfkit relocated), or why they cannot be.
    resolved_elf: Option<std::result::Result<Vec<u8>, String>>,
    /// aya's full parse, only when bpfkit's relocation or stand-in declines
    /// (an unsupported relocation kind, an error of its own): aya then does
    /// what it always did, and fails the same way when the kernel truly
    /// lacks what the object needs.
    full: Option<aya::Btf>,
}

impl KernelTypes {
    pub(crate) fn for_object(object: &Object, programs: &[&Hook]) -> KernelTypes {
        let has_core = bpfkit_object::has_core_relocations(object);
        let lookups: Vec<(u8, String)> =
            programs.iter().filter_map(|h| standin::lookup(h)).collect();
        let has_externs = !object.externs.is_empty();
        if !has_core && lookups.is_empty() && !has_externs {
            return KernelTypes::default();
        }
        let view = crate::features::take_kernel_btf();
        let relocated = view
            .as_ref()
            .filter(|_| has_core)
            .and_then(|kernel| bpfkit_object::relocate_core_report(object, kernel).ok());
        let (relocated_elf, poisoned) = match relocated {
            Some(r) => (Some(r.elf), r.poisoned),
            None => (None, BTreeMap::new()),
        };
        let standin = view
            .as_ref()
            .filter(|_| !lookups.is_empty())
            .and_then(|kernel| standin::standin_btf(kernel, &lookups).ok());
        let declined =
            (has_core && relocated_elf.is_none()) || (!lookups.is_empty() && standin.is_none());
        let resolved_elf = has_externs.then(|| {
            let mut elf = relocated_elf
                .clone()
                .unwrap_or_else(|| object.loadable_elf.clone());
            let facts = bpfkit_object::KernelFacts::gather(object, view.as_ref());
            bpfkit_object::resolve_externs(object, &mut elf, &facts).map(|()| elf)
        });
        KernelTypes {
            relocated_elf,
            resolved_elf,
            poisoned,
            standin,
            full: declined.then(|| aya::Btf::from_sys_fs().ok()).flatten(),
        }
    }

    /// For aya's CO-RE: only when bpfkit did not relocate.
    fn for_loader(&self) -> Option<&aya::Btf> {
        self.full.as_ref().filter(|_| self.relocated_elf.is_none())
    }

    /// For the `attach_btf_id` lookups of program loads.
    fn for_programs(&self) -> Option<&aya::Btf> {
        self.standin.as_ref().or(self.full.as_ref())
    }

    /// The poisoned relocation that explains a verifier rejection of
    /// `program` (`own_len` instructions long) at instruction `insn` (the
    /// `call unknown#195896080` the log names): the one at that
    /// instruction of the program; past its own instructions (where the
    /// subprograms it calls are appended), the first one in `.text`.
    fn poisoned_at(
        &self,
        program: &str,
        own_len: usize,
        insn: usize,
    ) -> Option<&PoisonedRelocation> {
        if insn < own_len {
            return self.poisoned.get(program)?.iter().find(|p| p.insn == insn);
        }
        self.poisoned
            .values()
            .flatten()
            .find(|p| p.section == ".text")
    }
}

/// An `EbpfLoader` that has not parsed the kernel BTF. aya 0.14's
/// `EbpfLoader::new` always reads and parses `/sys/kernel/btf/vmlinux`
/// (about half of bpfkit's start-up CPU and most of its peak memory) and
/// neither lends that copy nor lets it be skipped; bpfkit parses its own
/// copy once, for CO-RE and for the programs that name kernel types. So the
/// loader is made on a short-lived thread whose root directory is
/// `/sys/kernel/btf` (a per-thread `chroot` after `unshare(CLONE_FS)`), where
/// that absolute path does not exist and aya's read fails at once. When the
/// thread cannot get a root of its own, it makes the loader normally.
fn loader_without_kernel_btf<'a>() -> EbpfLoader<'a> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // Unrooted, the loader parses as usual and `btf()` drops it.
                let _rooted = own_root_directory("/sys/kernel/btf");
                EbpfLoader::new()
            })
            .join()
            .unwrap_or_else(|_| EbpfLoader::new())
    })
}

/// Gives the calling thread its own filesystem context and roots it at
/// `dir`; false (and nothing changed) when either step fails. Only for a
/// thread that ends right after: it cannot go back.
fn own_root_directory(dir: &str) -> bool {
    let Ok(path) = std::ffi::CString::new(dir) else {
        return false;
    };
    // SAFETY: plain syscalls on this thread's own state. chroot is only
    // called once unshare has given the thread a private fs_struct, so the
    // rest of the process keeps its root.
    unsafe { libc::unshare(libc::CLONE_FS) == 0 && libc::chroot(path.as_ptr()) == 0 }
}

/// Gives the memory freed after loading (aya's and our copies of the
/// kernel BTF, ~10 MB of small allocations) back to the system, so a
/// long trace does not sit on its start-up peak.
pub(crate) fn return_freed_memory() {
    // SAFETY: malloc_trim only walks glibc's own heap; it has no inputs.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `e` and its sources, joined with ": " (aya's messages are terse on
/// their own: "error relocating function").
pub fn error_chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The first `io::Error` in `e`'s source chain.
pub(crate) fn find_io_error<'e>(e: &'e (dyn StdError + 'static)) -> Option<&'e io::Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = err.source();
    }
    None
}

/// Creates the object's maps (with parameter values and map sizes applied);
/// programs are loaded later, one by one, by [`load_program`].
pub(crate) fn open_object(
    object: &Object,
    opts: &LoadOptions,
    kernel: &KernelTypes,
) -> Result<Ebpf> {
    check_params(object, &opts.params)?;
    check_map_sizes(object, &opts.map_max_entries)?;
    let elf = final_elf(object, kernel)?;
    let sizes = map_sizes(object, &opts.map_max_entries);
    let mut loader = loader_without_kernel_btf();
    loader.btf(kernel.for_loader());
    loader.allow_unsupported_maps();
    for (name, bytes) in &opts.params {
        loader.override_global(name.as_str(), bytes.as_slice(), true);
    }
    for (name, &size) in &sizes {
        loader.map_max_entries(name.as_str(), size);
    }
    loader.load(elf).map_err(|e| {
        let eperm = find_io_error(&e).is_some_and(crate::error::is_permission);
        if eperm {
            RuntimeError::Permission {
                what: "creating the object's maps".into(),
                needed: vec![Capability::Bpf],
            }
        } else {
            RuntimeError::Object {
                message: map_create_explanation(&e, object, &sizes)
                    .unwrap_or_else(|| error_chain(&e)),
            }
        }
    })
}

/// The ELF that is loaded: the loadable copy with CO-RE relocations and
/// externs resolved when the object has them.
pub(crate) fn final_elf<'a>(object: &'a Object, kernel: &'a KernelTypes) -> Result<&'a [u8]> {
    match &kernel.resolved_elf {
        Some(Ok(elf)) => Ok(elf),
        Some(Err(message)) => Err(RuntimeError::Object {
            message: message.clone(),
        }),
        None => Ok(kernel
            .relocated_elf
            .as_deref()
            .unwrap_or(&object.loadable_elf)),
    }
}

/// `max_entries` for every map: the `--map-size` overrides, and a default
/// for each map whose definition leaves it to user space (libbpf-tools set
/// those from their C front end; without one the kernel says EINVAL).
fn map_sizes(object: &Object, overrides: &HashMap<String, u32>) -> HashMap<String, u32> {
    let mut sizes: HashMap<String, u32> = object
        .maps
        .iter()
        .filter_map(|m| Some((m.name.clone(), m.default_max_entries()?)))
        .collect();
    sizes.extend(overrides.iter().map(|(name, &size)| (name.clone(), size)));
    sizes
}

/// Says which map the kernel refused to create and which of its sizes is
/// the likely cause, instead of aya's bare "failed to create map: Invalid
/// argument".
fn map_create_explanation(
    e: &aya::EbpfError,
    object: &Object,
    sizes: &HashMap<String, u32>,
) -> Option<String> {
    let aya::EbpfError::MapError(aya::maps::MapError::CreateError { name, io_error }) = e else {
        return None;
    };
    let map = object.maps.iter().find(|m| &m.name == name)?;
    let max_entries = sizes.get(name).copied().unwrap_or(map.max_entries);
    let kind = bpfkit_object::map_type_name(map.map_type);
    let what = format!(
        "creating map '{name}' ({kind}, key_size {}, value_size {}, max_entries {max_entries}): {io_error}",
        map.key_size, map.value_size
    );
    if io_error.raw_os_error() != Some(libc::EINVAL) {
        return Some(what);
    }
    let field = if max_entries == 0 {
        format!("max_entries is 0 (left to user space); pass --map-size {name}=N")
    } else if map.value_size == 0 {
        "value_size is 0 (left to user space); declare __type(value, ...) or __uint(value_size, N)"
            .to_string()
    } else if map.key_size == 0 && needs_key(map.map_type) {
        "key_size is 0; declare __type(key, ...) or __uint(key_size, N)".to_string()
    } else {
        format!(
            "the kernel refused these sizes or flags (map_flags {:#x}); try --map-size {name}=N",
            map.map_flags
        )
    };
    Some(format!("{what}: {field}"))
}

fn needs_key(map_type: u32) -> bool {
    use bpfkit_object::map_type as t;
    ![
        t::QUEUE,
        t::STACK,
        t::BLOOM_FILTER,
        t::RINGBUF,
        t::USER_RINGBUF,
    ]
    .contains(&map_type)
}

fn check_params(object: &Object, params: &HashMap<String, Vec<u8>>) -> Result<()> {
    for (name, bytes) in params {
        let Some(param) = object.params.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = object.params.iter().map(|p| p.name.as_str()).collect();
            return Err(RuntimeError::Usage(format!(
                "unknown parameter '{name}' (this object has: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        if bytes.len() != param.size as usize {
            return Err(RuntimeError::Usage(format!(
                "parameter '{name}' is {} bytes, got a value of {} bytes",
                param.size,
                bytes.len()
            )));
        }
    }
    Ok(())
}

fn check_map_sizes(object: &Object, sizes: &HashMap<String, u32>) -> Result<()> {
    for (name, &size) in sizes {
        if !object.maps.iter().any(|m| &m.name == name) {
            return Err(RuntimeError::NoSuchMap(name.clone()));
        }
        if size == 0 {
            return Err(RuntimeError::Usage(format!(
                "map '{name}': max_entries must be at least 1"
            )));
        }
    }
    Ok(())
}

/// What [`load_program`] needs to know about a program.
#[derive(Debug, Clone)]
pub struct ProgramInfo {
    pub name: String,
    pub section: String,
    /// The hook after `--attach` overrides.
    pub hook: Hook,
}

/// Loads one program into the kernel (runs the verifier). `verbose`: a
/// rejection that bpfkit can explain still shows the verifier's log.
pub(crate) fn load_program(
    ebpf: &mut Ebpf,
    prog: &ProgramInfo,
    object: &Object,
    kernel: &KernelTypes,
    verbose: bool,
) -> Result<()> {
    let program = ebpf.program_mut(&prog.name).ok_or_else(|| {
        RuntimeError::Usage(format!(
            "program '{}' is not in the loadable object (bpfkit-object dropped it?)",
            prog.name
        ))
    })?;
    load_by_type(program, &prog.hook, kernel.for_programs()).map_err(|e| {
        let mut error = load_error(e, prog, object);
        if let RuntimeError::Verifier(rejection) = &mut error {
            explain_poisoned(rejection, object, kernel);
            rejection.show_log |= verbose;
        }
        error
    })
}

/// The helper number of libbpf's (and bpfkit's) poisoned calls,
/// `0xbad2310`, as the verifier log prints it.
const POISONED_CALL: &str = "unknown#195896080";

/// Replaces the raw verifier dump of a rejection at a poisoned CO-RE
/// instruction by what the relocation wanted and the kernel lacks.
fn explain_poisoned(rejection: &mut VerifierRejection, object: &Object, kernel: &KernelTypes) {
    let Some(insn) = rejection
        .insn
        .filter(|_| rejection.log.contains(POISONED_CALL))
    else {
        return;
    };
    let own_len = object
        .program(&rejection.program)
        .map_or(usize::MAX, |p| p.insn_count);
    if let Some(poisoned) = kernel.poisoned_at(&rejection.program, own_len, insn) {
        if poisoned.function != rejection.program {
            // The verifier's index points into the appended subprogram:
            // the line is the relocation's own.
            rejection.source_line = line_of(object, &poisoned.section, poisoned.section_insn);
        }
        rejection.poisoned = Some(poisoned.clone());
        rejection.show_log = false;
    }
}

fn load_by_type(
    program: &mut Program,
    hook: &Hook,
    kernel_btf: Option<&aya::Btf>,
) -> Result<(), ProgramError> {
    let btf = || {
        kernel_btf.ok_or(ProgramError::SyscallError(aya::sys::SyscallError {
            call: "reading /sys/kernel/btf/vmlinux",
            io_error: io::Error::from_raw_os_error(libc::ENOENT),
        }))
    };
    match (program, hook) {
        (Program::TracePoint(p), _) => p.load(),
        (Program::RawTracePoint(p), _) => p.load(),
        (Program::BtfTracePoint(p), Hook::BtfTracepoint { name }) => p.load(name, btf()?),
        (Program::UProbe(p), _) => p.load(),
        (Program::KProbe(p), _) => p.load(),
        (Program::PerfEvent(p), _) => p.load(),
        (Program::Xdp(p), _) => p.load(),
        (Program::SchedClassifier(p), _) => p.load(),
        (Program::SocketFilter(p), _) => p.load(),
        (Program::CgroupSkb(p), _) => p.load(),
        (Program::SockOps(p), _) => p.load(),
        (Program::SkMsg(p), _) => p.load(),
        (Program::SkSkb(p), _) => p.load(),
        (Program::CgroupSockAddr(p), _) => p.load(),
        (Program::CgroupSock(p), _) => p.load(),
        (Program::CgroupSysctl(p), _) => p.load(),
        (Program::CgroupSockopt(p), _) => p.load(),
        (Program::CgroupDevice(p), _) => p.load(),
        (Program::FEntry(p), Hook::Fentry { function, .. }) => p.load(function, btf()?),
        (Program::FExit(p), Hook::Fentry { function, .. }) => p.load(function, btf()?),
        (Program::Lsm(p), Hook::Lsm { hook }) => p.load(hook, btf()?),
        (Program::Iter(p), Hook::Iter { target }) => p.load(target, btf()?),
        _ => Err(ProgramError::UnexpectedProgramType),
    }
}

fn load_error(e: ProgramError, prog: &ProgramInfo, object: &Object) -> RuntimeError {
    match e {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            let log = verifier_log.to_string();
            if crate::error::is_permission(&io_error) && log.trim().is_empty() {
                return RuntimeError::Permission {
                    what: format!("loading program '{}' ({})", prog.name, prog.section),
                    needed: needed_caps(&prog.hook),
                };
            }
            if let Some(line) = crate::caps::unprivileged_verifier_refusal(&log) {
                return RuntimeError::Permission {
                    what: format!(
                        "loading program '{}' ({}): the verifier said \"{line}\"",
                        prog.name, prog.section
                    ),
                    needed: vec![crate::caps::Capability::Perfmon],
                };
            }
            RuntimeError::Verifier(Box::new(rejection(prog, object, io_error, log)))
        }
        ProgramError::UnexpectedProgramType => RuntimeError::Usage(format!(
            "program '{}' ({}): aya loaded it as a different program type than its \
             section says",
            prog.name, prog.section
        )),
        other => {
            if find_io_error(&other).is_some_and(crate::error::is_permission) {
                return RuntimeError::Permission {
                    what: format!("loading program '{}' ({})", prog.name, prog.section),
                    needed: needed_caps(&prog.hook),
                };
            }
            RuntimeError::Attach {
                program: prog.name.clone(),
                hook: prog.section.clone(),
                message: format!("loading failed: {}", error_chain(&other)),
            }
        }
    }
}

pub(crate) fn rejection(
    prog: &ProgramInfo,
    object: &Object,
    errno: io::Error,
    log: String,
) -> VerifierRejection {
    let insn = failing_insn(&log);
    let source_line = insn.and_then(|i| source_line(object, prog, i));
    VerifierRejection {
        program: prog.name.clone(),
        section: prog.section.clone(),
        errno,
        insn,
        source_line,
        log,
        poisoned: None,
        show_log: true,
    }
}

/// The C line of instruction `insn` of `prog`, from `.BTF.ext` line info.
/// The verifier counts from the program's first instruction, which is not
/// the section's first when a section holds several programs.
fn source_line(object: &Object, prog: &ProgramInfo, insn: usize) -> Option<SourceLine> {
    let ext = object.ext.as_ref()?;
    let start = ext
        .func_info
        .iter()
        .find(|s| s.section == prog.section)
        .and_then(|s| {
            s.records
                .iter()
                .find(|f| object.btf.name_of(f.type_id) == prog.name)
        })
        .map_or(0, |f| f.insn_off as usize / 8);
    line_of(object, &prog.section, start + insn)
}

/// The C line of instruction `insn` of section `section`.
fn line_of(object: &Object, section: &str, insn: usize) -> Option<SourceLine> {
    let line = object.ext.as_ref()?.line_for_insn(section, insn)?;
    Some(SourceLine {
        file: line.file.clone(),
        line: line.line,
        text: line.source.clone(),
    })
}

/// The capabilities a program's hook needs (for EPERM messages).
pub(crate) fn needed_caps(hook: &Hook) -> Vec<Capability> {
    match hook {
        Hook::Xdp
        | Hook::Tc { .. }
        | Hook::SocketFilter
        | Hook::CgroupSkb { .. }
        | Hook::SockOps
        | Hook::SkMsg
        | Hook::SkSkb { .. }
        | Hook::Cgroup { .. } => {
            vec![Capability::Bpf, Capability::NetAdmin]
        }
        Hook::Fentry { .. } | Hook::Lsm { .. } => {
            vec![Capability::Bpf, Capability::Perfmon, Capability::SysAdmin]
        }
        _ => vec![Capability::Bpf, Capability::Perfmon],
    }
}
