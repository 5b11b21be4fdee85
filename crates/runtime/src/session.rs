//! A loaded, attached object: what `bpfkit run` holds while it runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};

use aya::Ebpf;
use bpfkit_object::{Hook, Object, map_type};

use crate::attach::{self, AttachSettings, CreatedQdisc, OwnedLink};
use crate::error::{Result, RuntimeError};
use crate::events::{DEFAULT_PERF_PAGES, EventSources};
use crate::hooks::{self, Target, TargetDefaults};
use crate::load::{self, ProgramInfo};
use crate::maps::{DropWatch, GlobalInfo, Maps};
use crate::own_load::{self, OwnLoader};
use crate::perf_event::PerfEventSpec;
use crate::printk::TracePipe;
use crate::stop::StopHandle;

/// Default perf_event sampling frequency (Hz): a prime, so sampling does
/// not beat with periodic kernel work.
pub const DEFAULT_SAMPLE_FREQ: u64 = 99;

/// How to load and attach an object.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `const volatile` parameters by name: the bytes to put in `.rodata`
    /// (exactly the parameter's size).
    pub params: HashMap<String, Vec<u8>>,
    /// Programs (function names) not to load.
    pub disabled: HashSet<String>,
    /// Skip (and report in [`Session::skipped`]) programs whose hook this
    /// kernel lacks, instead of failing.
    pub skip_unsupported: bool,
    /// Leave out (and report in [`Session::skipped`]) programs whose kernel
    /// function or tracepoint this kernel lacks, as libbpf-tools' front ends
    /// turn off autoload for the alternatives a kernel does not have (a
    /// renamed function, an inlined one, a newer tracepoint); a hook kind the
    /// kernel lacks altogether is still an error.
    pub skip_missing: bool,
    /// `max_entries` overrides by map name.
    pub map_max_entries: HashMap<String, u32>,
    /// `--attach PROG=TARGET`: per-program attach targets.
    pub attach_overrides: HashMap<String, String>,
    /// Interface for xdp / tc / socket programs.
    pub iface: Option<String>,
    /// Cgroup v2 directory for cgroup programs (`None`: the root cgroup).
    pub cgroup: Option<String>,
    /// Only this process, for uprobes and perf_event programs.
    pub pid: Option<u32>,
    /// perf_event sampling frequency in Hz.
    pub sample_freq: u64,
    /// The event perf_event programs sample on (default: the software CPU
    /// clock at `sample_freq`).
    pub perf_event: PerfEventSpec,
    /// Pages per CPU of each perf buffer (a power of two).
    pub perf_pages: usize,
    /// Wake the reader every this many perf buffer records (per CPU).
    /// 1 (as libbpf) gives the lowest latency; larger values cost the
    /// traced code far less (no interrupt per record) and raise throughput
    /// ~10x, with a trickle of records delayed up to [`crate::PERF_FLUSH_INTERVAL`].
    pub perf_wakeup_events: u32,
    /// Attach tc programs as filters on a clsact qdisc even where tcx links
    /// exist (so that `tc filter show` lists them). A qdisc bpfkit creates
    /// is deleted again at the end.
    pub force_clsact: bool,
    /// Read `bpf_printk` output from trace_pipe when the object prints.
    /// Off, trace_pipe is never opened (it has one reader at a time; with
    /// printk off another tool can keep it) and [`crate::RunOptions::printk`]
    /// has nothing to stream.
    pub printk: bool,
    /// Errors keep details that are otherwise summed up (the verifier log
    /// of a rejection bpfkit explains), as `-v` asks.
    pub verbose: bool,
    /// The context `syscall` programs run with (`--ctx HEX`; empty: none).
    pub syscall_ctx: Vec<u8>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            params: HashMap::new(),
            disabled: HashSet::new(),
            skip_unsupported: false,
            skip_missing: false,
            map_max_entries: HashMap::new(),
            attach_overrides: HashMap::new(),
            iface: None,
            cgroup: None,
            pid: None,
            sample_freq: DEFAULT_SAMPLE_FREQ,
            perf_event: PerfEventSpec::default(),
            perf_pages: DEFAULT_PERF_PAGES,
            perf_wakeup_events: 1,
            force_clsact: false,
            printk: true,
            verbose: false,
            syscall_ctx: Vec::new(),
        }
    }
}

/// A program and where it got attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub program: String,
    /// E.g. `tracepoint syscalls:sys_enter_execve`, `xdp on veth0 (native mode)`.
    pub hook: String,
}

/// A program that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub program: String,
    pub reason: String,
    /// A choice, not a problem (disabled; a twin of an attached program):
    /// worth a note only when asked (`-v`).
    pub routine: bool,
}

impl Skipped {
    fn routine(program: &str, reason: &str) -> Skipped {
        Skipped {
            program: program.into(),
            reason: reason.into(),
            routine: true,
        }
    }
}

/// What one run of a `syscall` program gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRun {
    pub program: String,
    /// The program's return value.
    pub retval: u32,
    /// The context after the run (the program may write into it).
    pub ctx_out: Vec<u8>,
}

/// A program bpfkit loaded itself ([`crate::own_load`]).
pub(crate) struct OwnProgram {
    pub name: String,
    pub fd: OwnedFd,
}

/// A loaded object with its programs attached. Dropping it detaches every
/// program, deletes qdiscs it created and unloads everything.
pub struct Session {
    // Field order is drop order: links before the programs they hold.
    pub(crate) links: Vec<OwnedLink>,
    pub(crate) qdiscs: Vec<CreatedQdisc>,
    pub(crate) sources: EventSources,
    /// Programs aya could not load (uprobe.multi, syscall).
    pub(crate) own_programs: Vec<OwnProgram>,
    pub(crate) ebpf: Ebpf,
    pub(crate) globals: Vec<GlobalInfo>,
    /// The programs' ring buffer drop counters, reported as lost events.
    pub(crate) drops: DropWatch,
    pub(crate) attachments: Vec<Attachment>,
    /// Iterator programs, by name: they run when read.
    pub(crate) iterators: Vec<String>,
    /// `syscall` programs, by name: they run once, when asked
    /// ([`Session::run_syscall_programs`]).
    pub(crate) syscalls: Vec<String>,
    pub(crate) syscall_ctx: Vec<u8>,
    pub(crate) skipped: Vec<Skipped>,
    /// Opened before attaching (old lines dropped) when the object prints.
    pub(crate) trace_pipe: Option<TracePipe>,
    pub(crate) uses_printk: bool,
    pub(crate) stop: StopHandle,
    /// The next free index of libbpf's USDT spec map (shared by all usdt programs).
    pub(crate) next_usdt_spec_id: u32,
}

impl Session {
    /// Loads `object` and attaches all its programs. On any error, whatever
    /// was attached or created is removed again before the error returns.
    ///
    /// A program with a twin of another kind (fentry and kprobe for one
    /// function, tp_btf and raw_tp for one tracepoint) that fails to load or
    /// attach is replaced by its twin, as libbpf-tools' front ends probe
    /// fentry before choosing it: the whole object is loaded again, from a
    /// clean kernel, without it (`-v` names it and the error).
    pub fn load(object: &Object, opts: &LoadOptions) -> Result<Session> {
        // Probing the kernel also mounts tracefs and bpffs when missing.
        crate::features::kernel();
        let mut failed_twins = BTreeMap::new();
        loop {
            match Session::try_load(object, opts, &failed_twins) {
                Ok(session) => return Ok(session),
                // Each retry rules out one more program, so this ends.
                Err(LoadFailure {
                    twin: Some(program),
                    error,
                }) if !failed_twins.contains_key(&program) => {
                    // The first line names the failure; a verifier log
                    // after it is no news for a twin that has a substitute.
                    let text = error.to_string();
                    let first = text.lines().next().unwrap_or_default().to_string();
                    failed_twins.insert(program, first);
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    /// One attempt of [`Session::load`], without the twins in
    /// `failed_twins` (program name → why it failed).
    fn try_load(
        object: &Object,
        opts: &LoadOptions,
        failed_twins: &BTreeMap<String, String>,
    ) -> std::result::Result<Session, LoadFailure> {
        let plan = plan_programs(object, opts, failed_twins)?;
        // Errors of a program with a twin to fall back to name it.
        let blame = |prog: &ProgramInfo| {
            let twin = plan
                .with_twin
                .contains(&prog.name)
                .then(|| prog.name.clone());
            move |error| LoadFailure { twin, error }
        };
        let hooks: Vec<&Hook> = plan.programs.iter().map(|(p, _)| &p.hook).collect();
        let kernel = load::KernelTypes::for_object(object, &hooks);
        let ebpf = load::open_object(object, opts, &kernel)?;
        let mut session = Session {
            links: Vec::new(),
            qdiscs: Vec::new(),
            sources: EventSources::default(),
            own_programs: Vec::new(),
            ebpf,
            globals: global_infos(object),
            drops: DropWatch::default(),
            attachments: Vec::new(),
            iterators: Vec::new(),
            syscalls: Vec::new(),
            syscall_ctx: opts.syscall_ctx.clone(),
            skipped: plan.skipped.clone(),
            trace_pipe: None,
            uses_printk: object.uses_printk && opts.printk,
            stop: StopHandle::new()?,
            next_usdt_spec_id: 0,
        };
        let mut own_loader = None;
        for (prog, _) in &plan.programs {
            let Some(kind) = own_load::own_load_kind(&prog.hook) else {
                load::load_program(&mut session.ebpf, prog, object, &kernel, opts.verbose)
                    .map_err(blame(prog))?;
                continue;
            };
            let loader = match own_loader.take() {
                Some(loader) => loader,
                None => OwnLoader::new(load::final_elf(object, &kernel)?, &session.ebpf)?,
            };
            let fd = loader.load(prog, object, kind).map_err(blame(prog))?;
            own_loader = Some(loader);
            session.own_programs.push(OwnProgram {
                name: prog.name.clone(),
                fd,
            });
        }
        drop(kernel);
        load::return_freed_memory();
        // Perf buffers must exist before programs run, or early events are lost.
        session.open_event_sources(object, opts)?;
        // Drops before attaching are impossible: this is the zero point.
        session.drops = DropWatch::start(&object.drop_counters, &session.maps())?;
        // trace_pipe has one reader at a time: when busy now, run() tries again.
        if session.uses_printk
            && let Ok(mut pipe) = TracePipe::open()
        {
            pipe.discard_backlog()?;
            session.trace_pipe = Some(pipe);
        }
        let settings = AttachSettings {
            pid: opts.pid,
            force_clsact: opts.force_clsact,
            perf_event: opts.perf_event,
        };
        for (prog, target) in &plan.programs {
            session
                .attach_planned(object, prog, target, settings)
                .map_err(blame(prog))?;
        }
        Ok(session)
    }

    /// Attaches one loaded program where `target` says.
    fn attach_planned(
        &mut self,
        object: &Object,
        prog: &ProgramInfo,
        target: &Target,
        settings: AttachSettings,
    ) -> Result<()> {
        match &target.hook {
            Hook::Usdt { target: usdt } => self.attach_usdt(object, prog, usdt, settings),
            Hook::UprobeMulti { .. } => {
                let fd = self.own_fd(&prog.name)?;
                let attached = attach::uprobe_multi(fd.as_fd(), prog, target, settings.pid)?;
                self.add_attached(prog, attached);
                Ok(())
            }
            Hook::KprobeMulti { .. } => {
                let fd = self.own_fd(&prog.name)?;
                let attached = attach::kprobe_multi(fd.as_fd(), prog, target)?;
                self.add_attached(prog, attached);
                Ok(())
            }
            Hook::Syscall => {
                self.syscalls.push(prog.name.clone());
                self.attachments.push(Attachment {
                    program: prog.name.clone(),
                    hook: "syscall (run once with BPF_PROG_RUN)".into(),
                });
                Ok(())
            }
            Hook::SkMsg | Hook::SkSkb { .. } => self.attach_to_sockmap(object, prog, target),
            _ => self.attach_one(prog, target, settings),
        }
    }

    /// Programs and where they are attached, in object order.
    pub fn attachments(&self) -> &[Attachment] {
        &self.attachments
    }

    /// Programs not loaded (disabled, or hook missing with
    /// `skip_unsupported`).
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Names of the iterator programs ([`Session::read_iterators`]).
    pub fn iterators(&self) -> &[String] {
        &self.iterators
    }

    /// Runs every iterator program once: what each wrote, by program name.
    pub fn read_iterators(&mut self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut texts = Vec::new();
        for name in &self.iterators {
            let text = attach::read_iterator(&mut self.ebpf, name)?;
            texts.push((name.clone(), text));
        }
        Ok(texts)
    }

    /// Names of the `syscall` programs ([`Session::run_syscall_programs`]).
    pub fn syscall_programs(&self) -> &[String] {
        &self.syscalls
    }

    /// Runs every `syscall` program once with `BPF_PROG_RUN`, with the
    /// context of [`LoadOptions::syscall_ctx`]: what each returned.
    pub fn run_syscall_programs(&self) -> Result<Vec<SyscallRun>> {
        let mut runs = Vec::new();
        for name in &self.syscalls {
            let fd = self.own_fd(name)?;
            let run = bpfkit_sys::prog_test_run(fd.as_fd(), &self.syscall_ctx).map_err(|e| {
                let hint = if e.errno() == Some(libc::EINVAL) {
                    " (if the program reads its context, pass it with --ctx HEX, \
                     as long as the struct it reads)"
                } else {
                    ""
                };
                RuntimeError::Attach {
                    program: name.clone(),
                    hook: "syscall".into(),
                    message: format!("running it: {e}{hint}"),
                }
            })?;
            runs.push(SyscallRun {
                program: name.clone(),
                retval: run.retval,
                ctx_out: run.ctx_out,
            });
        }
        Ok(runs)
    }

    /// The fd of a program bpfkit loaded itself.
    fn own_fd(&self, name: &str) -> Result<&OwnedFd> {
        self.own_programs
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.fd)
            .ok_or_else(|| RuntimeError::Usage(format!("program '{name}' was not loaded")))
    }

    fn add_attached(&mut self, prog: &ProgramInfo, attached: attach::Attached) {
        self.links.extend(attached.links);
        self.attachments.push(Attachment {
            program: prog.name.clone(),
            hook: attached.description,
        });
    }

    /// An sk_msg/sk_skb program on its sockmap: the one `--attach PROG=MAP`
    /// names, else the object's only sockmap/sockhash.
    fn attach_to_sockmap(
        &mut self,
        object: &Object,
        prog: &ProgramInfo,
        target: &Target,
    ) -> Result<()> {
        let map_name = sockmap_of(object, prog, target)?;
        let maps = self.maps();
        let map_fd = maps
            .fd(&map_name)?
            .try_clone_to_owned()
            .map_err(|e| RuntimeError::io(format!("duplicating the fd of map '{map_name}'"), e))?;
        let program = self.ebpf.program(&prog.name).ok_or_else(|| {
            RuntimeError::Usage(format!("program '{}' vanished after loading", prog.name))
        })?;
        let prog_fd = program.fd().map_err(|e| RuntimeError::Attach {
            program: prog.name.clone(),
            hook: prog.hook.to_string(),
            message: load::error_chain(&e),
        })?;
        let attached = attach::sockmap(prog_fd.as_fd(), map_fd.as_fd(), prog, target, &map_name)?;
        self.add_attached(prog, attached);
        Ok(())
    }

    /// Map names events are read from by [`Session::run`].
    pub fn event_maps(&self) -> Vec<&str> {
        self.sources.map_names()
    }

    /// Reading, clearing and global variables of the other maps.
    pub fn maps(&self) -> Maps<'_> {
        Maps {
            ebpf: &self.ebpf,
            globals: &self.globals,
        }
    }

    /// A handle that makes [`Session::run`] return, from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Kernel ids of the loaded programs (for `bpftool prog show id N`).
    pub fn program_ids(&self) -> Vec<u32> {
        let own = self
            .own_programs
            .iter()
            .filter_map(|p| bpfkit_sys::prog_info(p.fd.as_fd()).ok())
            .map(|info| info.id);
        self.ebpf
            .programs()
            .filter_map(|(_, p)| p.info().ok())
            .map(|info| info.id())
            .chain(own)
            .collect()
    }

    /// The aya object, for what this crate does not cover.
    pub fn ebpf(&mut self) -> &mut Ebpf {
        &mut self.ebpf
    }

    fn open_event_sources(&mut self, object: &Object, opts: &LoadOptions) -> Result<()> {
        let pages = opts.perf_pages.max(1).next_power_of_two();
        for def in &object.maps {
            let is_ring = def.map_type == map_type::RINGBUF;
            let is_perf = def.map_type == map_type::PERF_EVENT_ARRAY && def.event_type.is_some();
            if !is_ring && !is_perf {
                continue;
            }
            let map = self
                .ebpf
                .take_map(&def.name)
                .ok_or_else(|| RuntimeError::NoSuchMap(def.name.clone()))?;
            if is_ring {
                self.sources.add_ring(&def.name, map)?;
            } else {
                let wakeup = opts.perf_wakeup_events.max(1);
                self.sources.add_perf(&def.name, map, pages, wakeup)?;
            }
        }
        Ok(())
    }

    fn attach_one(
        &mut self,
        prog: &ProgramInfo,
        target: &Target,
        settings: AttachSettings,
    ) -> Result<()> {
        let program = self.ebpf.program_mut(&prog.name).ok_or_else(|| {
            RuntimeError::Usage(format!("program '{}' vanished after loading", prog.name))
        })?;
        let attached = attach::attach(program, prog, target, settings, &mut self.qdiscs)?;
        if matches!(target.hook, Hook::Iter { .. }) {
            self.iterators.push(prog.name.clone());
        }
        self.links.extend(attached.links);
        self.attachments.push(Attachment {
            program: prog.name.clone(),
            hook: attached.description,
        });
        Ok(())
    }

    /// A usdt program: its sites' argument specs go into the object's
    /// spec map before its uprobes are attached.
    fn attach_usdt(
        &mut self,
        object: &Object,
        prog: &ProgramInfo,
        usdt: &Option<bpfkit_object::UsdtTarget>,
        settings: AttachSettings,
    ) -> Result<()> {
        let fail = |message: String| RuntimeError::Attach {
            program: prog.name.clone(),
            hook: prog.hook.to_string(),
            message,
        };
        let usdt = usdt.as_ref().ok_or_else(|| {
            RuntimeError::Usage(format!(
                "program '{}' ({}) does not say which probe: pass --attach {}=BINARY:PROVIDER:NAME",
                prog.name, prog.section, prog.name
            ))
        })?;
        let mut next_spec_id = self.next_usdt_spec_id;
        let prepared =
            crate::usdt::prepare(usdt, object, &self.maps(), settings.pid, &mut next_spec_id)
                .map_err(fail)?;
        self.next_usdt_spec_id = next_spec_id;
        let program = self.ebpf.program_mut(&prog.name).ok_or_else(|| {
            RuntimeError::Usage(format!("program '{}' vanished after loading", prog.name))
        })?;
        let attached = crate::usdt::attach(program, usdt, &prepared, settings.pid).map_err(fail)?;
        self.links.extend(attached.links);
        self.attachments.push(Attachment {
            program: prog.name.clone(),
            hook: attached.description,
        });
        Ok(())
    }

    /// Detaches everything now (also done on drop).
    pub fn detach_all(&mut self) {
        drop_links(std::mem::take(&mut self.links));
        for qdisc in self.qdiscs.drain(..) {
            // Best effort: the interface may be gone (a deleted veth).
            let _ = crate::netlink::delete_clsact(qdisc.ifindex);
        }
        self.attachments.clear();
    }
}

/// Links above this count are dropped from several threads at once.
const PARALLEL_DETACH_FROM: usize = 16;
/// At most this many detaching threads.
const DETACH_THREADS: usize = 32;

/// Drops `links`. Closing a tracepoint's perf event waits for an RCU grace
/// period in the kernel (about 60 ms here), so 720 syscall tracepoints
/// detached one by one took 50 s; closes from several threads share their
/// grace periods.
fn drop_links(mut links: Vec<OwnedLink>) {
    if links.len() < PARALLEL_DETACH_FROM {
        drop(links);
        return;
    }
    let per_thread = links.len().div_ceil(DETACH_THREADS);
    std::thread::scope(|scope| {
        while !links.is_empty() {
            let chunk: Vec<OwnedLink> = links.drain(..per_thread.min(links.len())).collect();
            // A thread that cannot be started hands its chunk back, and
            // the chunk is dropped here.
            let chunk = std::sync::Arc::new(std::sync::Mutex::new(Some(chunk)));
            let theirs = chunk.clone();
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                drop(theirs.lock().ok().and_then(|mut c| c.take()));
            });
            if spawned.is_err() {
                drop(chunk.lock().ok().and_then(|mut c| c.take()));
            }
        }
    });
}

impl Drop for Session {
    fn drop(&mut self) {
        self.detach_all();
    }
}

struct Plan {
    programs: Vec<(ProgramInfo, Target)>,
    skipped: Vec<Skipped>,
    /// Planned programs with a twin of another kind left out, which
    /// replaces them if they fail here.
    with_twin: HashSet<String>,
}

/// Why one attempt of [`Session::load`] failed: the error, and the program
/// it came from when that program has a twin to try instead.
struct LoadFailure {
    twin: Option<String>,
    error: RuntimeError,
}

impl From<RuntimeError> for LoadFailure {
    fn from(error: RuntimeError) -> Self {
        LoadFailure { twin: None, error }
    }
}

/// Which programs to load and where each attaches; checks the hooks against
/// the kernel before anything is loaded. Twins in `failed_twins` (program
/// name → error) failed in an earlier attempt and count as unusable.
fn plan_programs(
    object: &Object,
    opts: &LoadOptions,
    failed_twins: &BTreeMap<String, String>,
) -> Result<Plan> {
    check_names(object, opts)?;
    let defaults = TargetDefaults {
        iface: opts.iface.as_deref(),
        sample_freq: opts.sample_freq,
        cgroup: opts.cgroup.as_deref(),
    };
    let mut plan = Plan {
        programs: Vec::new(),
        skipped: Vec::new(),
        with_twin: HashSet::new(),
    };
    let mut candidates = Vec::new();
    for p in &object.programs {
        if opts.disabled.contains(&p.name) {
            plan.skipped.push(Skipped::routine(&p.name, "disabled"));
            continue;
        }
        let over = opts.attach_overrides.get(&p.name).map(String::as_str);
        if let (Some(why), None) = (&p.target_error, over) {
            plan.skipped.push(Skipped {
                program: p.name.clone(),
                reason: format!(
                    "SEC(\"{}\") names no target ({why}); give one with --attach {}=TARGET",
                    p.section, p.name
                ),
                routine: false,
            });
            continue;
        }
        let target = hooks::resolve_target(&p.name, &p.hook, over, &defaults)?;
        candidates.push((p, target));
    }
    let named: Vec<(&str, &Hook)> = candidates
        .iter()
        .map(|(p, t)| (p.name.as_str(), &t.hook))
        .collect();
    let usable =
        |name: &str, hook: &Hook| !failed_twins.contains_key(name) && hooks::usable_here(hook);
    let twins = hooks::losing_twins(&named, &usable);
    let has_twin: Vec<bool> = (0..named.len())
        .map(|i| hooks::has_twin_of_other_kind(&named, i))
        .collect();
    for (i, (p, target)) in candidates.into_iter().enumerate() {
        if let Some(reason) = twins.get(&i) {
            let reason = match failed_twins.get(&p.name) {
                Some(error) => format!("{reason}: {error}"),
                None => reason.clone(),
            };
            plan.skipped.push(Skipped::routine(&p.name, &reason));
            continue;
        }
        if has_twin[i] {
            plan.with_twin.insert(p.name.clone());
        }
        match hooks::check_supported(&p.name, &p.section, &target.hook) {
            Ok(()) if opts.skip_missing => {
                if let Some(why) = hooks::missing_target(&target.hook) {
                    plan.skipped.push(Skipped {
                        program: p.name.clone(),
                        reason: format!("left out (--skip-missing): {why}"),
                        routine: false,
                    });
                    continue;
                }
            }
            Ok(()) => {}
            Err(e) if opts.skip_unsupported => {
                plan.skipped.push(Skipped {
                    program: p.name.clone(),
                    reason: e.to_string(),
                    routine: false,
                });
                continue;
            }
            Err(e) => return Err(e),
        }
        let info = ProgramInfo {
            name: p.name.clone(),
            section: p.section.clone(),
            hook: target.hook.clone(),
        };
        plan.programs.push((info, target));
    }
    if opts.skip_missing
        && plan.programs.is_empty()
        && let Some(first) = plan.skipped.iter().find(|s| !s.routine)
    {
        return Err(RuntimeError::Usage(format!(
            "every program was left out, this kernel lacks their targets (first: {}: {})",
            first.program, first.reason
        )));
    }
    Ok(plan)
}

/// The sockmap or sockhash an sk_msg/sk_skb program attaches to.
fn sockmap_of(object: &Object, prog: &ProgramInfo, target: &Target) -> Result<String> {
    let sockmaps: Vec<&str> = object
        .maps
        .iter()
        .filter(|m| matches!(m.map_type, map_type::SOCKMAP | map_type::SOCKHASH))
        .map(|m| m.name.as_str())
        .collect();
    if let Some(name) = &target.map {
        return match sockmaps.iter().find(|&&m| m == name) {
            Some(_) => Ok(name.clone()),
            None => Err(RuntimeError::Usage(format!(
                "--attach {}={name}: no sockmap or sockhash '{name}' (this object has: {})",
                prog.name,
                list_or_none(&sockmaps)
            ))),
        };
    }
    match sockmaps.as_slice() {
        [only] => Ok(only.to_string()),
        _ => Err(RuntimeError::Usage(format!(
            "program '{}' ({}) attaches to a sockmap or sockhash: pass --attach {}=MAP \
             (this object has: {})",
            prog.name,
            prog.section,
            prog.name,
            list_or_none(&sockmaps)
        ))),
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// `--disable` / `--attach` must name programs the object has.
fn check_names(object: &Object, opts: &LoadOptions) -> Result<()> {
    let named = opts.disabled.iter().chain(opts.attach_overrides.keys());
    for name in named {
        if !object.programs.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = object.programs.iter().map(|p| p.name.as_str()).collect();
            return Err(RuntimeError::Usage(format!(
                "no program named '{name}' (this object has: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn global_infos(object: &Object) -> Vec<GlobalInfo> {
    object
        .globals
        .iter()
        .map(|g| GlobalInfo {
            name: g.name.clone(),
            section: g.section.clone(),
            offset: g.offset,
            size: g.size,
        })
        .collect()
}
