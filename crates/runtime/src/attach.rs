//! Attaching a loaded program to its hook. Every link is taken out of aya's
//! program so that the session owns it: dropping the link detaches it.

use std::any::Any;
use std::num::NonZeroU32;
use std::os::fd::{FromRawFd, OwnedFd};

use aya::programs::perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent};
use aya::programs::tc::{NlOptions, TcAttachOptions, TcError};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeError, UProbeScope};
use aya::programs::{
    BtfTracePoint, FEntry, FExit, KProbe, LinkOrder, Lsm, PerfEvent, Program, ProgramError,
    RawTracePoint, SchedClassifier, TcAttachType, TracePoint, UProbe, Xdp, XdpMode,
};
use bpfkit_object::{Hook, TcDirection, UprobeTarget};

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
    let pid = settings.pid;
    let fail = |e: ProgramError| attach_error(prog, target, e);
    let mut description = describe(target);
    let links: Vec<OwnedLink> = match (&target.hook, program) {
        (Hook::Tracepoint { category, name }, Program::TracePoint(p)) => {
            check_tracepoint(prog, target, category, name)?;
            vec![tracepoint(p, category, name).map_err(fail)?]
        }
        (Hook::RawTracepoint { name }, Program::RawTracePoint(p)) => {
            vec![raw_tracepoint(p, name).map_err(fail)?]
        }
        (Hook::BtfTracepoint { .. }, Program::BtfTracePoint(p)) => {
            vec![btf_tracepoint(p).map_err(fail)?]
        }
        (Hook::Uprobe { target: t, .. }, Program::UProbe(p)) => {
            let t = t.as_ref().ok_or_else(|| uprobe_needs_target(prog))?;
            let path = resolve_binary(&t.binary).ok_or_else(|| {
                let why = format!(
                    "no binary or library '{}' (looked in $PATH and ld.so directories)",
                    t.binary
                );
                attach_msg(prog, target, why)
            })?;
            let link = uprobe(p, t, &path, pid).map_err(|e| match e {
                ProgramError::UProbeError(UProbeError::SymbolError { symbol, .. }) => {
                    let why = format!(
                        "no function '{symbol}' in {} (list them with `nm -D {0}`)",
                        path.display()
                    );
                    attach_msg(prog, target, why)
                }
                e => fail(e),
            })?;
            description = uprobe_description(&target.hook, &path, t);
            vec![link]
        }
        (Hook::Kprobe { function, .. }, Program::KProbe(p)) => {
            let function = function.as_deref().ok_or_else(|| {
                RuntimeError::Usage(format!(
                    "program '{}' ({}): no function to probe; pass --attach {}=FUNCTION",
                    prog.name, prog.section, prog.name
                ))
            })?;
            vec![kprobe(p, function).map_err(fail)?]
        }
        (Hook::Ksyscall { syscall, .. }, Program::KProbe(p)) => {
            vec![kprobe(p, &format!("{SYSCALL_PREFIX}{syscall}")).map_err(fail)?]
        }
        (Hook::Fentry { exit: false, .. }, Program::FEntry(p)) => vec![fentry(p).map_err(fail)?],
        (Hook::Fentry { exit: true, .. }, Program::FExit(p)) => vec![fexit(p).map_err(fail)?],
        (Hook::Lsm { .. }, Program::Lsm(p)) => vec![lsm(p).map_err(fail)?],
        (Hook::PerfEvent, Program::PerfEvent(p)) => {
            let links = perf_event(p, target.sample_freq, pid).map_err(fail)?;
            description = format!(
                "perf_event cpu-clock at {} Hz on {} CPUs",
                target.sample_freq,
                links.len()
            );
            links
        }
        (Hook::Xdp, Program::Xdp(p)) => {
            let iface = needs_iface(prog, target)?;
            let (link, mode) = xdp(p, iface).map_err(fail)?;
            description = format!("xdp on {iface} ({mode} mode)");
            vec![link]
        }
        (Hook::Tc { direction }, Program::SchedClassifier(p)) => {
            let iface = needs_iface(prog, target)?;
            let tcx = features::kernel().tcx && !settings.force_clsact;
            let (link, how) = tc(p, iface, *direction, tcx, qdiscs).map_err(fail)?;
            description = format!("{description} ({how})");
            vec![link]
        }
        (Hook::SocketFilter, Program::SocketFilter(p)) => {
            let socket = packet_socket(target.iface.as_deref())
                .map_err(|e| attach_msg(prog, target, format!("opening a packet socket: {e}")))?;
            p.attach(&socket).map_err(fail)?;
            description = format!(
                "socket filter on a packet socket ({})",
                target.iface.as_deref().unwrap_or("all interfaces")
            );
            vec![Box::new(socket)]
        }
        (hook, _) => {
            return Err(RuntimeError::Usage(format!(
                "program '{}' ({}): aya did not load it as a {} program",
                prog.name,
                prog.section,
                hook.kind_name()
            )));
        }
    };
    Ok(Attached { links, description })
}

fn attach_msg(prog: &ProgramInfo, target: &Target, message: String) -> RuntimeError {
    RuntimeError::Attach {
        program: prog.name.clone(),
        hook: describe(target),
        message,
    }
}

fn attach_error(prog: &ProgramInfo, target: &Target, e: ProgramError) -> RuntimeError {
    if find_io_error(&e).is_some_and(is_permission) {
        return RuntimeError::Permission {
            what: format!("attaching program '{}' to {}", prog.name, describe(target)),
            needed: needed_caps(&target.hook),
        };
    }
    attach_msg(prog, target, error_chain(&e))
}

fn check_tracepoint(prog: &ProgramInfo, target: &Target, category: &str, name: &str) -> Result<()> {
    if features::tracepoint_exists(category, name) {
        return Ok(());
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
    Err(attach_msg(
        prog,
        target,
        format!("this kernel has no tracepoint {category}:{name} (see `{hint}`)"),
    ))
}

fn needs_iface<'t>(prog: &ProgramInfo, target: &'t Target) -> Result<&'t str> {
    let iface = target.iface.as_deref().ok_or_else(|| {
        RuntimeError::Usage(format!(
            "program '{}' ({}) needs a network interface: pass --iface IFACE \
             (or --attach {}=IFACE)",
            prog.name, prog.section, prog.name
        ))
    })?;
    if iface.contains('\0') || ifindex(iface).is_none() {
        return Err(attach_msg(
            prog,
            target,
            format!("no network interface '{iface}'"),
        ));
    }
    Ok(iface)
}

pub(crate) fn ifindex(iface: &str) -> Option<u32> {
    let name = std::ffi::CString::new(iface).ok()?;
    // SAFETY: name is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

fn uprobe_needs_target(prog: &ProgramInfo) -> RuntimeError {
    RuntimeError::Usage(format!(
        "program '{}' ({}) does not say what to probe: pass --attach {}=BINARY:SYMBOL \
         (e.g. libc:malloc or /bin/bash:readline)",
        prog.name, prog.section, prog.name
    ))
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

/// One perf event per online CPU on the software CPU clock (or one that
/// follows process `pid` across CPUs).
fn perf_event(
    p: &mut PerfEvent,
    freq: u64,
    pid: Option<u32>,
) -> Result<Vec<OwnedLink>, ProgramError> {
    let config = PerfEventConfig::Software(SoftwareEvent::CpuClock);
    let scopes: Vec<PerfEventScope> = match pid {
        Some(pid) => vec![PerfEventScope::OneProcess { pid, cpu: None }],
        None => aya::util::online_cpus()
            .map_err(|(_, e)| ProgramError::IOError(e))?
            .into_iter()
            .map(|cpu| PerfEventScope::AllProcessesOneCpu { cpu })
            .collect(),
    };
    let mut links: Vec<OwnedLink> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let id = p.attach(config, scope, SamplePolicy::Frequency(freq), false)?;
        links.push(Box::new(p.take_link(id)?));
    }
    Ok(links)
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
