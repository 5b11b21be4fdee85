//! Attaching a loaded program to its hook. Every link is taken out of aya's
//! program so that the session owns it: dropping the link detaches it.

use std::any::Any;
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use aya::programs::tc::{NlOptions, TcAttachOptions, TcError};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeError, UProbeScope};
use aya::programs::{
    BtfTracePoint, CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, FEntry, FExit, Iter, KProbe,
    LinkOrder, Lsm, PerfEvent, Program, ProgramError, RawTracePoint, SchedClassifier, SocketFilter,
    TcAttachType, TracePoint, UProbe, Xdp, XdpMode,
};
use bpfkit_object::{Hook, TcDirection, UprobeTarget};
use std::os::fd::BorrowedFd;

use crate::error::{Result, RuntimeError, is_permission};
use crate::features;
use crate::hooks::{Target, describe};
use crate::load::{ProgramInfo, error_chain, find_io_error, needed_caps};
use crate::resolve::resolve_binary;

/// The kernel's syscall entry symbols are `PREFIX` + the syscall name.
#[cfg(target_arch = "aarch64")]
const SYSCALL_PREFIX: &str = "__arm64_sys_";
#[cfg(not(target_arch = "aarch64"))]
const SYSCALL_PREFIX: &str = "__x64_sys_";

/// A link (or socket) whose drop detaches the program.
pub(crate) type OwnedLink = Box<dyn Any + Send>;

/// A clsact qdisc bpfkit added, to delete when the session ends.
#[derive(Debug)]
pub(crate) struct CreatedQdisc {
    pub ifindex: u32,
}

/// What attaching one program produced.
pub(crate) struct Attached {
    pub links: Vec<OwnedLink>,
    pub description: String,
}

/// Session-wide attach settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttachSettings {
    /// Uprobes / perf events for this process only.
    pub pid: Option<u32>,
    /// tc through a clsact qdisc even where tcx links exist.
    pub force_clsact: bool,
    /// The event perf_event programs sample on.
    pub perf_event: crate::perf_event::PerfEventSpec,
}

/// The program being attached and where to: for error messages.
struct Ctx<'a> {
    prog: &'a ProgramInfo,
    target: &'a Target,
}

impl Ctx<'_> {
    fn msg(&self, message: String) -> RuntimeError {
        RuntimeError::Attach {
            program: self.prog.name.clone(),
            hook: describe(self.target),
            message,
        }
    }

    fn fail(&self, e: ProgramError) -> RuntimeError {
        if find_io_error(&e).is_some_and(is_permission) {
            return RuntimeError::Permission {
                what: format!(
                    "attaching program '{}' to {}",
                    self.prog.name,
                    describe(self.target)
                ),
                needed: needed_caps(&self.target.hook),
            };
        }
        self.msg(error_chain(&e))
    }

    /// One link, described as the target says.
    fn single(&self, link: Result<OwnedLink, ProgramError>) -> Result<Attached> {
        Ok(Attached {
            links: vec![link.map_err(|e| self.fail(e))?],
            description: describe(self.target),
        })
    }

    fn usage(&self, what: &str) -> RuntimeError {
        RuntimeError::Usage(format!(
            "program '{}' ({}) {what}",
            self.prog.name, self.prog.section
        ))
    }
}

/// Attaches `program` as `target` says. Qdiscs it creates are pushed onto
/// `qdiscs` right away, so they are deleted even if attaching then fails.
pub(crate) fn attach(
    program: &mut Program,
    prog: &ProgramInfo,
    target: &Target,
    settings: AttachSettings,
    qdiscs: &mut Vec<CreatedQdisc>,
) -> Result<Attached> {
    let cx = Ctx { prog, target };
    match (&target.hook, program) {
        (Hook::Tracepoint { category, name }, Program::TracePoint(p)) => {
            check_tracepoint(&cx, category, name)?;
            cx.single(tracepoint(p, category, name))
        }
        (Hook::RawTracepoint { name }, Program::RawTracePoint(p)) => {
            cx.single(raw_tracepoint(p, name))
        }
        (Hook::BtfTracepoint { .. }, Program::BtfTracePoint(p)) => cx.single(btf_tracepoint(p)),
        (Hook::Uprobe { target: t, .. }, Program::UProbe(p)) => {
            let t = t.as_ref().ok_or_else(|| {
                cx.usage(&format!(
                    "does not say what to probe: pass --attach {}=BINARY:SYMBOL \
                     (e.g. libc:malloc or /bin/bash:readline)",
                    prog.name
                ))
            })?;
            attach_uprobe(&cx, p, t, settings.pid)
        }
        (Hook::Kprobe { function, .. }, Program::KProbe(p)) => {
            let function = function.as_deref().ok_or_else(|| {
                cx.usage(&format!(
                    "has no function to probe: pass --attach {}=FUNCTION",
                    prog.name
                ))
            })?;
            cx.single(kprobe(p, function))
        }
        (Hook::Ksyscall { syscall, .. }, Program::KProbe(p)) => {
            cx.single(kprobe(p, &format!("{SYSCALL_PREFIX}{syscall}")))
        }
        (Hook::Fentry { exit: false, .. }, Program::FEntry(p)) => cx.single(fentry(p)),
        (Hook::Fentry { exit: true, .. }, Program::FExit(p)) => cx.single(fexit(p)),
        (Hook::Lsm { .. }, Program::Lsm(p)) => cx.single(lsm(p)),
        (Hook::PerfEvent, Program::PerfEvent(p)) => {
            let spec = settings.perf_event;
            let links = perf_event(p, spec, target.sample_freq, settings.pid).map_err(|e| {
                let errno = find_io_error(&e).and_then(std::io::Error::raw_os_error);
                match crate::perf_event::unsupported(spec, errno) {
                    Some(why) => cx.msg(why),
                    None => cx.fail(e),
                }
            })?;
            let description = format!(
                "perf_event {} on {} CPUs",
                spec.describe(target.sample_freq),
                links.len()
            );
            Ok(Attached { links, description })
        }
        (Hook::Xdp, Program::Xdp(p)) => {
            let iface = needs_iface(&cx)?;
            let (link, mode) = xdp(p, iface).map_err(|e| cx.fail(e))?;
            Ok(Attached {
                links: vec![link],
                description: format!("xdp on {iface} ({mode} mode)"),
            })
        }
        (Hook::Tc { direction }, Program::SchedClassifier(p)) => {
            let iface = needs_iface(&cx)?;
            let tcx = features::kernel().tcx && !settings.force_clsact;
            let (link, how) = tc(p, iface, *direction, tcx, qdiscs).map_err(|e| cx.fail(e))?;
            Ok(Attached {
                links: vec![link],
                description: format!("{} ({how})", describe(target)),
            })
        }
        (Hook::SocketFilter, Program::SocketFilter(p)) => attach_socket_filter(&cx, p),
        // An iterator runs when read: each read creates one
        // ([`crate::Session::read_iterators`]).
        (Hook::Iter { target }, Program::Iter(_)) => Ok(Attached {
            links: Vec::new(),
            description: format!("iter {target} (read when the run ends)"),
        }),
        (Hook::CgroupSkb { direction }, Program::CgroupSkb(p)) => {
            let dir = open_cgroup(&cx)?;
            let link = cgroup_skb(p, &dir, *direction).map_err(|e| cx.fail(e))?;
            Ok(Attached {
                links: vec![link],
                description: describe(target),
            })
        }
        (Hook::SockOps | Hook::Cgroup { .. }, program) => {
            let dir = open_cgroup(&cx)?;
            let link = cgroup_program(program, &dir).map_err(|e| cx.fail(e))?;
            Ok(Attached {
                links: vec![link],
                description: describe(target),
            })
        }
        (hook, _) => Err(cx.usage(&format!(
            "was not loaded by aya as a {} program",
            hook.kind_name()
        ))),
    }
}

/// Resolves the binary, then the symbol, with errors that name both.
fn attach_uprobe(cx: &Ctx, p: &mut UProbe, t: &UprobeTarget, pid: Option<u32>) -> Result<Attached> {
    let path = resolve_binary(&t.binary).ok_or_else(|| {
        cx.msg(format!(
            "no binary or library '{}' (looked in $PATH and ld.so directories)",
            t.binary
        ))
    })?;
    let link = uprobe(p, t, &path, pid).map_err(|e| match e {
        ProgramError::UProbeError(UProbeError::SymbolError { symbol, .. }) => cx.msg(format!(
            "no function '{symbol}' in {} (list them with `nm -D {0}`)",
            path.display()
        )),
        e => cx.fail(e),
    })?;
    Ok(Attached {
        links: vec![link],
        description: uprobe_description(&cx.target.hook, &path, t),
    })
}

fn attach_socket_filter(cx: &Ctx, p: &mut SocketFilter) -> Result<Attached> {
    let iface = cx.target.iface.as_deref();
    let socket =
        packet_socket(iface).map_err(|e| cx.msg(format!("opening a packet socket: {e}")))?;
    p.attach(&socket).map_err(|e| cx.fail(e))?;
    Ok(Attached {
        links: vec![Box::new(socket)],
        description: format!(
            "socket filter on a packet socket ({})",
            iface.unwrap_or("all interfaces")
        ),
    })
}

fn check_tracepoint(cx: &Ctx, category: &str, name: &str) -> Result<()> {
    if features::tracepoint_exists(category, name) {
        return Ok(());
    }
    if let Some(why) = crate::caps::tracefs_denied() {
        return Err(cx.msg(why));
    }
    let hint = if std::path::Path::new(features::TRACEFS)
        .join("events")
        .join(category)
        .is_dir()
    {
        format!("ls {}/events/{category}", features::TRACEFS)
    } else {
        format!("ls {}/events", features::TRACEFS)
    };
    Err(cx.msg(format!(
        "this kernel has no tracepoint {category}:{name} (see `{hint}`)"
    )))
}

fn needs_iface<'t>(cx: &Ctx<'t>) -> Result<&'t str> {
    let iface = cx.target.iface.as_deref().ok_or_else(|| {
        cx.usage(&format!(
            "needs a network interface: pass --iface IFACE (or --attach {}=IFACE)",
            cx.prog.name
        ))
    })?;
    if iface.contains('\0') || ifindex(iface).is_none() {
        return Err(cx.msg(format!("no network interface '{iface}'")));
    }
    Ok(iface)
}

pub(crate) fn ifindex(iface: &str) -> Option<u32> {
    let name = std::ffi::CString::new(iface).ok()?;
    // SAFETY: name is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// Creates an iterator of program `name` and reads it to the end (the
/// program runs during the read). The link lives only as long as the read.
pub(crate) fn read_iterator(ebpf: &mut aya::Ebpf, name: &str) -> Result<Vec<u8>> {
    let failed = |what: &str, message: String| RuntimeError::Attach {
        program: name.into(),
        hook: "iter".into(),
        message: format!("{what}: {message}"),
    };
    let program: &mut Iter = ebpf
        .program_mut(name)
        .ok_or_else(|| RuntimeError::Usage(format!("no iterator program '{name}'")))?
        .try_into()
        .map_err(|e: ProgramError| failed("not an iterator", e.to_string()))?;
    let id = program
        .attach()
        .map_err(|e| failed("creating its link", error_chain(&e)))?;
    let link = program
        .take_link(id)
        .map_err(|e| failed("creating its link", error_chain(&e)))?;
    let mut file = link
        .into_file()
        .map_err(|e| failed("creating the iterator", error_chain(&e)))?;
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut text)
        .map_err(|e| failed("reading the iterator", e.to_string()))?;
    Ok(text)
}

/// The target's cgroup v2 directory, or the root of the first cgroup v2
/// mount.
fn open_cgroup(cx: &Ctx) -> Result<std::fs::File> {
    let path = match &cx.target.cgroup {
        Some(path) => std::path::PathBuf::from(path),
        None => cgroup2_root().ok_or_else(|| {
            cx.msg(
                "no cgroup v2 is mounted (this system may have only v1): \
                 mount one (mount -t cgroup2 none DIR) and pass --cgroup DIR"
                    .into(),
            )
        })?,
    };
    let dir = std::fs::File::open(&path)
        .map_err(|e| cx.msg(format!("opening cgroup {}: {e}", path.display())))?;
    if !is_cgroup2(&dir) {
        return Err(cx.msg(format!("{} is not a cgroup v2 directory", path.display())));
    }
    Ok(dir)
}

/// Where cgroup v2 is mounted, from /proc/self/mounts.
fn cgroup2_root() -> Option<std::path::PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, dir, fs) = (fields.next()?, fields.next()?, fields.next()?);
        (fs == "cgroup2").then(|| std::path::PathBuf::from(dir))
    })
}

/// Whether `dir` is a directory of the cgroup v2 filesystem.
fn is_cgroup2(dir: &std::fs::File) -> bool {
    const CGROUP2_SUPER_MAGIC: libc::c_long = 0x6367_7270;
    // SAFETY: fstatfs fills a zeroed statfs for an fd we own.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstatfs(dir.as_raw_fd(), &mut fs) };
    rc == 0 && fs.f_type as libc::c_long == CGROUP2_SUPER_MAGIC
}

/// sockops and `cgroup/*` programs on a cgroup, with a BPF link as
/// [`cgroup_skb`].
fn cgroup_program(program: &mut Program, dir: &std::fs::File) -> Result<OwnedLink, ProgramError> {
    let mode = CgroupAttachMode::Single;
    Ok(match program {
        Program::SockOps(p) => {
            let id = p.attach(dir, mode)?;
            Box::new(p.take_link(id)?)
        }
        Program::CgroupSockAddr(p) => {
            let id = p.attach(dir, mode)?;
            Box::new(p.take_link(id)?)
        }
        Program::CgroupSock(p) => {
            let id = p.attach(dir, mode)?;
            Box::new(p.take_link(id)?)
        }
        Program::CgroupSysctl(p) => {
            let id = p.attach(dir, mode)?;
            Box::new(p.take_link(id)?)
        }
        Program::CgroupSockopt(p) => {
            let id = p.attach(dir, mode)?;
            Box::new(p.take_link(id)?)
        }
        Program::CgroupDevice(p) => {
            let id = p.attach(dir, mode)?;
            Box::new(p.take_link(id)?)
        }
        _ => return Err(ProgramError::UnexpectedProgramType),
    })
}

/// A uprobe.multi program (loaded by bpfkit, [`crate::own_load`]): one
/// link on every function of the binary that matches the pattern, the
/// i-th in name order with cookie i (from 1), which
/// `bpf_get_attach_cookie()` returns.
pub(crate) fn uprobe_multi(
    prog_fd: BorrowedFd<'_>,
    prog: &ProgramInfo,
    target: &Target,
    pid: Option<u32>,
) -> Result<Attached> {
    let cx = Ctx { prog, target };
    let Hook::UprobeMulti { ret, target: t, .. } = &target.hook else {
        return Err(cx.usage("is not a uprobe.multi program"));
    };
    let t = t.as_ref().ok_or_else(|| {
        cx.usage(&format!(
            "does not say what to probe: pass --attach {}=BINARY:PATTERN (e.g. libc:str*)",
            prog.name
        ))
    })?;
    let path = resolve_binary(&t.binary).ok_or_else(|| {
        cx.msg(format!(
            "no binary or library '{}' (looked in $PATH and ld.so directories)",
            t.binary
        ))
    })?;
    let elf = bpfkit_btf::read_input_file(&path)
        .map_err(|e| cx.msg(format!("reading {}: {e}", path.display())))?;
    let functions = bpfkit_object::symbols::matching_functions(&elf, &t.pattern)
        .map_err(|e| cx.msg(format!("{}: {e}", path.display())))?;
    if functions.is_empty() {
        return Err(cx.msg(format!(
            "no function matching '{}' in {} (list them with `nm -D {1}`)",
            t.pattern,
            path.display()
        )));
    }
    let offsets: Vec<u64> = functions.iter().map(|f| f.file_offset).collect();
    let cookies: Vec<u64> = (1..=functions.len() as u64).collect();
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| cx.msg("the binary's path holds a NUL byte".into()))?;
    let link =
        bpfkit_sys::uprobe_multi_link(prog_fd, &c_path, &offsets, &cookies, *ret, pid.unwrap_or(0))
            .map_err(|e| {
                if e.source.raw_os_error() == Some(libc::EPERM) {
                    return RuntimeError::Permission {
                        what: format!("attaching program '{}' to {}", prog.name, describe(target)),
                        needed: needed_caps(&target.hook),
                    };
                }
                cx.msg(format!("creating the uprobe multi link: {e}"))
            })?;
    Ok(Attached {
        links: vec![Box::new(link)],
        description: uprobe_multi_description(&target.hook, &path, &functions),
    })
}

/// A kprobe.multi program (loaded by bpfkit): one link on every kernel
/// function matching the pattern that can take a kprobe, the i-th in name
/// order with cookie i (from 1).
pub(crate) fn kprobe_multi(
    prog_fd: BorrowedFd<'_>,
    prog: &ProgramInfo,
    target: &Target,
) -> Result<Attached> {
    let cx = Ctx { prog, target };
    let Hook::KprobeMulti { ret, pattern } = &target.hook else {
        return Err(cx.usage("is not a kprobe.multi program"));
    };
    let functions = features::kprobe_functions_matching(pattern).ok_or_else(|| {
        cx.msg(format!(
            "cannot read {}/available_filter_functions to match '{pattern}'",
            features::TRACEFS
        ))
    })?;
    if functions.is_empty() {
        return Err(cx.msg(format!(
            "no kernel function matching '{pattern}' can take a kprobe \
             (see {}/available_filter_functions)",
            features::TRACEFS
        )));
    }
    let symbols: Vec<std::ffi::CString> = functions
        .iter()
        .filter_map(|f| std::ffi::CString::new(f.as_str()).ok())
        .collect();
    let cookies: Vec<u64> = (1..=symbols.len() as u64).collect();
    let link = bpfkit_sys::kprobe_multi_link(prog_fd, &symbols, &cookies, *ret).map_err(|e| {
        if e.source.raw_os_error() == Some(libc::EPERM) {
            return RuntimeError::Permission {
                what: format!("attaching program '{}' to {}", prog.name, describe(target)),
                needed: needed_caps(&target.hook),
            };
        }
        // Kernels built without CONFIG_FPROBE (Debian's 6.1) know the link
        // type but cannot create it.
        if e.source.raw_os_error() == Some(libc::EOPNOTSUPP) {
            return cx.msg(format!(
                "this kernel has no kprobe.multi links (built without CONFIG_FPROBE): {e}"
            ));
        }
        cx.msg(format!("creating the kprobe multi link: {e}"))
    })?;
    Ok(Attached {
        links: vec![Box::new(link)],
        description: format!("{} ({} functions)", target.hook, symbols.len()),
    })
}

/// `uprobe.multi:/lib/libc.so.6:get?id (4 functions; cookies 1=getgid, 2=getpid, ...)`.
fn uprobe_multi_description(
    hook: &Hook,
    path: &std::path::Path,
    functions: &[bpfkit_object::symbols::FunctionSymbol],
) -> String {
    const LISTED: usize = 8;
    let pattern = match hook {
        Hook::UprobeMulti {
            target: Some(t), ..
        } => t.pattern.as_str(),
        _ => "?",
    };
    let mut cookies: Vec<String> = functions
        .iter()
        .take(LISTED)
        .enumerate()
        .map(|(i, f)| format!("{}={}", i + 1, f.name))
        .collect();
    if functions.len() > LISTED {
        cookies.push("...".into());
    }
    format!(
        "{}:{}:{pattern} ({} functions; cookies {})",
        hook.kind_name(),
        path.display(),
        functions.len(),
        cookies.join(", ")
    )
}

/// Keeps an sk_msg/sk_skb program attached to a sockmap with
/// `BPF_PROG_ATTACH` (sockmaps have no links on these kernels); detaches on
/// drop.
pub(crate) struct SockmapAttachment {
    prog: OwnedFd,
    map: OwnedFd,
    attach_type: u32,
}

impl Drop for SockmapAttachment {
    fn drop(&mut self) {
        use std::os::fd::AsFd;
        // Best effort: closing the map also detaches.
        let _ = bpfkit_sys::prog_detach(self.prog.as_fd(), self.map.as_fd(), self.attach_type);
    }
}

/// Attaches an sk_msg/sk_skb program to the sockmap or sockhash `map`.
pub(crate) fn sockmap(
    prog_fd: BorrowedFd<'_>,
    map_fd: BorrowedFd<'_>,
    prog: &ProgramInfo,
    target: &Target,
    map_name: &str,
) -> Result<Attached> {
    let cx = Ctx { prog, target };
    let attach_type = match &target.hook {
        Hook::SkMsg => SK_MSG_VERDICT,
        Hook::SkSkb { kind } => match kind {
            bpfkit_object::SkSkbKind::StreamParser => SK_SKB_STREAM_PARSER,
            bpfkit_object::SkSkbKind::StreamVerdict => SK_SKB_STREAM_VERDICT,
            bpfkit_object::SkSkbKind::Verdict => bpfkit_sys::attach_type::SK_SKB_VERDICT,
        },
        _ => return Err(cx.usage("is not an sk_msg or sk_skb program")),
    };
    let dup = |fd: BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .map_err(|e| cx.msg(format!("duplicating an fd: {e}")))
    };
    let attachment = SockmapAttachment {
        prog: dup(prog_fd)?,
        map: dup(map_fd)?,
        attach_type,
    };
    bpfkit_sys::prog_attach(prog_fd, map_fd, attach_type).map_err(|e| {
        if e.source.raw_os_error() == Some(libc::EPERM) {
            return RuntimeError::Permission {
                what: format!("attaching program '{}' to map '{map_name}'", prog.name),
                needed: needed_caps(&target.hook),
            };
        }
        cx.msg(format!("attaching to map '{map_name}': {e}"))
    })?;
    Ok(Attached {
        links: vec![Box::new(attachment)],
        description: format!("{} on map {map_name}", target.hook),
    })
}

/// `enum bpf_attach_type` values of sockmap programs.
const SK_SKB_STREAM_PARSER: u32 = 4;
const SK_SKB_STREAM_VERDICT: u32 = 5;
const SK_MSG_VERDICT: u32 = 7;

/// Attaches with a BPF link, which sits next to programs already there
/// (links take no mode flags: `AllowMultiple` is EINVAL).
fn cgroup_skb(
    p: &mut CgroupSkb,
    dir: &std::fs::File,
    direction: TcDirection,
) -> Result<OwnedLink, ProgramError> {
    let attach_type = match direction {
        TcDirection::Ingress => CgroupSkbAttachType::Ingress,
        TcDirection::Egress => CgroupSkbAttachType::Egress,
    };
    let id = p.attach(dir, attach_type, CgroupAttachMode::Single)?;
    Ok(Box::new(p.take_link(id)?))
}

fn tracepoint(p: &mut TracePoint, category: &str, name: &str) -> Result<OwnedLink, ProgramError> {
    let id = p.attach(category, name)?;
    Ok(Box::new(p.take_link(id)?))
}

fn raw_tracepoint(p: &mut RawTracePoint, name: &str) -> Result<OwnedLink, ProgramError> {
    let id = p.attach(name)?;
    Ok(Box::new(p.take_link(id)?))
}

fn btf_tracepoint(p: &mut BtfTracePoint) -> Result<OwnedLink, ProgramError> {
    let id = p.attach()?;
    Ok(Box::new(p.take_link(id)?))
}

fn kprobe(p: &mut KProbe, function: &str) -> Result<OwnedLink, ProgramError> {
    let id = p.attach(function, 0)?;
    Ok(Box::new(p.take_link(id)?))
}

fn fentry(p: &mut FEntry) -> Result<OwnedLink, ProgramError> {
    let id = p.attach()?;
    Ok(Box::new(p.take_link(id)?))
}

fn fexit(p: &mut FExit) -> Result<OwnedLink, ProgramError> {
    let id = p.attach()?;
    Ok(Box::new(p.take_link(id)?))
}

fn lsm(p: &mut Lsm) -> Result<OwnedLink, ProgramError> {
    let id = p.attach()?;
    Ok(Box::new(p.take_link(id)?))
}

fn uprobe(
    p: &mut UProbe,
    target: &UprobeTarget,
    path: &std::path::Path,
    pid: Option<u32>,
) -> Result<OwnedLink, ProgramError> {
    let location = match &target.symbol {
        Some(sym) if target.offset != 0 => UProbeAttachLocation::SymbolOffset(sym, target.offset),
        Some(sym) => UProbeAttachLocation::Symbol(sym),
        None => UProbeAttachLocation::AbsoluteOffset(target.offset),
    };
    let scope = match pid.and_then(NonZeroU32::new) {
        Some(pid) => UProbeScope::OneProcess(pid),
        None => UProbeScope::AllProcesses,
    };
    let id = p.attach(location, path, scope)?;
    Ok(Box::new(p.take_link(id)?))
}

fn uprobe_description(hook: &Hook, path: &std::path::Path, t: &UprobeTarget) -> String {
    let resolved = UprobeTarget {
        binary: path.display().to_string(),
        ..t.clone()
    };
    let ret = matches!(hook, Hook::Uprobe { ret: true, .. });
    Hook::Uprobe {
        ret,
        target: Some(resolved),
    }
    .to_string()
}

/// On the event `spec` names (see `perf_event.rs`).
fn perf_event(
    p: &mut PerfEvent,
    spec: crate::perf_event::PerfEventSpec,
    freq: u64,
    pid: Option<u32>,
) -> Result<Vec<OwnedLink>, ProgramError> {
    crate::perf_event::attach(p, spec, freq, pid)
}

/// Native (driver) mode first, generic (SKB) mode when the driver has none.
fn xdp(p: &mut Xdp, iface: &str) -> Result<(OwnedLink, &'static str), ProgramError> {
    let (id, mode) = match p.attach(iface, XdpMode::Driver) {
        Ok(id) => (id, "native"),
        Err(_) => (p.attach(iface, XdpMode::Skb)?, "generic"),
    };
    Ok((Box::new(p.take_link(id)?), mode))
}

/// A tcx link where the kernel has them (6.6+); else a filter on a clsact
/// qdisc, which is created when the interface has none.
fn tc(
    p: &mut SchedClassifier,
    iface: &str,
    direction: TcDirection,
    tcx: bool,
    qdiscs: &mut Vec<CreatedQdisc>,
) -> Result<(OwnedLink, &'static str), ProgramError> {
    let attach_type = match direction {
        TcDirection::Ingress => TcAttachType::Ingress,
        TcDirection::Egress => TcAttachType::Egress,
    };
    if tcx {
        let options = TcAttachOptions::TcxOrder(LinkOrder::default());
        let id = p.attach_with_options(iface, attach_type, options)?;
        return Ok((Box::new(p.take_link(id)?), "tcx link"));
    }
    match aya::programs::tc::qdisc_add_clsact(iface) {
        Ok(()) => {
            if let Some(ifindex) = ifindex(iface) {
                qdiscs.push(CreatedQdisc { ifindex });
            }
        }
        Err(TcError::NetlinkError(e)) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(TcError::AlreadyAttached) => {}
        Err(e) => return Err(e.into()),
    }
    let options = TcAttachOptions::Netlink(NlOptions::default());
    let id = p.attach_with_options(iface, attach_type, options)?;
    Ok((Box::new(p.take_link(id)?), "clsact filter"))
}

/// An `AF_PACKET` socket that sees every packet (of `iface`, when given),
/// for socket filter programs to run on.
fn packet_socket(iface: Option<&str>) -> std::io::Result<OwnedFd> {
    let protocol = (libc::ETH_P_ALL as u16).to_be() as i32;
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is fresh and owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some(iface) = iface {
        let index = ifindex(iface).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no interface {iface}"),
            )
        })?;
        bind_packet_socket(&socket, index, protocol as u16)?;
    }
    Ok(socket)
}

fn bind_packet_socket(socket: &OwnedFd, ifindex: u32, protocol: u16) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol;
    addr.sll_ifindex = ifindex as i32;
    // SAFETY: addr is a valid sockaddr_ll of the given size.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
