//! Which perf event `perf_event` programs sample on: the software CPU clock
//! by default, or any hardware/software event by its perf (and bpftrace)
//! name, `hw:cache-misses`, `sw:page-faults`, sampled at a frequency or
//! every N events (a period), as libbpf-tools' llcstat and profile do.

use std::fmt;

use aya::programs::perf_event::{
    HardwareEvent, PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent,
};
use aya::programs::{PerfEvent, ProgramError};

use crate::attach::OwnedLink;

/// A perf event to sample on, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfEventSpec {
    pub event: PerfEventKind,
    /// Sample every this many events; `None` samples at the session's
    /// frequency instead.
    pub period: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub enum PerfEventKind {
    Hardware(HardwareEvent),
    Software(SoftwareEvent),
}

impl PerfEventKind {
    /// perf_event_attr's `type` (0 hardware, 1 software) and `config`.
    fn type_and_config(self) -> (u32, u32) {
        match self {
            PerfEventKind::Hardware(e) => (0, e as u32),
            PerfEventKind::Software(e) => (1, e as u32),
        }
    }
}

impl PartialEq for PerfEventKind {
    fn eq(&self, other: &Self) -> bool {
        self.type_and_config() == other.type_and_config()
    }
}

impl Eq for PerfEventKind {}

/// perf's names (and bpftrace's aliases) of the generic events.
const HARDWARE: &[(&str, HardwareEvent)] = &[
    ("cpu-cycles", HardwareEvent::CpuCycles),
    ("cycles", HardwareEvent::CpuCycles),
    ("instructions", HardwareEvent::Instructions),
    ("cache-references", HardwareEvent::CacheReferences),
    ("cache-misses", HardwareEvent::CacheMisses),
    ("branch-instructions", HardwareEvent::BranchInstructions),
    ("branches", HardwareEvent::BranchInstructions),
    ("branch-misses", HardwareEvent::BranchMisses),
    ("bus-cycles", HardwareEvent::BusCycles),
    (
        "stalled-cycles-frontend",
        HardwareEvent::StalledCyclesFrontend,
    ),
    (
        "stalled-cycles-backend",
        HardwareEvent::StalledCyclesBackend,
    ),
    ("ref-cycles", HardwareEvent::RefCpuCycles),
];

const SOFTWARE: &[(&str, SoftwareEvent)] = &[
    ("cpu-clock", SoftwareEvent::CpuClock),
    ("task-clock", SoftwareEvent::TaskClock),
    ("page-faults", SoftwareEvent::PageFaults),
    ("faults", SoftwareEvent::PageFaults),
    ("context-switches", SoftwareEvent::ContextSwitches),
    ("cs", SoftwareEvent::ContextSwitches),
    ("cpu-migrations", SoftwareEvent::CpuMigrations),
    ("migrations", SoftwareEvent::CpuMigrations),
    ("minor-faults", SoftwareEvent::PageFaultsMin),
    ("major-faults", SoftwareEvent::PageFaultsMaj),
    ("alignment-faults", SoftwareEvent::AlignmentFaults),
    ("emulation-faults", SoftwareEvent::EmulationFaults),
    ("cgroup-switches", SoftwareEvent::CgroupSwitches),
];

impl PerfEventKind {
    /// `hw:NAME`, `sw:NAME` (also `hardware:`/`software:`), or a bare NAME.
    pub fn parse(text: &str) -> Result<PerfEventKind, String> {
        let (class, name) = match text.split_once(':') {
            Some((class, name)) => (Some(class), name),
            None => (None, text),
        };
        let hardware = || {
            HARDWARE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, e)| PerfEventKind::Hardware(*e))
        };
        let software = || {
            SOFTWARE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, e)| PerfEventKind::Software(*e))
        };
        let found = match class {
            Some("hw" | "hardware") => hardware(),
            Some("sw" | "software") => software(),
            None => software().or_else(hardware),
            Some(other) => {
                return Err(format!(
                    "unknown event class '{other}' in '{text}' (expected hw: or sw:)"
                ));
            }
        };
        found.ok_or_else(|| {
            format!(
                "unknown perf event '{text}' (hw: {}; sw: {})",
                names(HARDWARE),
                names(SOFTWARE)
            )
        })
    }

    fn config(self) -> PerfEventConfig {
        match self {
            PerfEventKind::Hardware(e) => PerfEventConfig::Hardware(e),
            PerfEventKind::Software(e) => PerfEventConfig::Software(e),
        }
    }

    pub fn is_hardware(self) -> bool {
        matches!(self, PerfEventKind::Hardware(_))
    }
}

fn names<T>(list: &[(&str, T)]) -> String {
    list.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

impl PerfEventKind {
    /// perf's name of the event (`cache-misses`, `cpu-clock`).
    pub fn name(self) -> &'static str {
        let found = match self {
            PerfEventKind::Hardware(e) => HARDWARE
                .iter()
                .find(|(_, x)| *x as u32 == e as u32)
                .map(|(n, _)| *n),
            PerfEventKind::Software(e) => SOFTWARE
                .iter()
                .find(|(_, x)| *x as u32 == e as u32)
                .map(|(n, _)| *n),
        };
        found.unwrap_or("?")
    }
}

/// `hw:NAME` or `sw:NAME`, as `--perf-event` takes it.
impl fmt::Display for PerfEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = if self.is_hardware() { "hw" } else { "sw" };
        write!(f, "{class}:{}", self.name())
    }
}

impl Default for PerfEventSpec {
    fn default() -> Self {
        PerfEventSpec {
            event: PerfEventKind::Software(SoftwareEvent::CpuClock),
            period: None,
        }
    }
}

impl PerfEventSpec {
    /// `cpu-clock at 99 Hz`, `cache-misses every 100 events`.
    pub(crate) fn describe(&self, freq: u64) -> String {
        let name = self.event.name();
        match self.period {
            Some(n) => format!("{name} every {n} events"),
            None => format!("{name} at {freq} Hz"),
        }
    }
}

/// One perf event per online CPU (or one that follows process `pid`
/// across CPUs), each running the program on every sample.
pub(crate) fn attach(
    p: &mut PerfEvent,
    spec: PerfEventSpec,
    freq: u64,
    pid: Option<u32>,
) -> Result<Vec<OwnedLink>, ProgramError> {
    let policy = match spec.period {
        Some(n) => SamplePolicy::Period(n),
        None => SamplePolicy::Frequency(freq),
    };
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
        let id = p.attach(spec.event.config(), scope, policy, false)?;
        links.push(Box::new(p.take_link(id)?));
    }
    Ok(links)
}

/// The message for a perf event this machine cannot count: perf_event_open
/// answers ENOENT / EOPNOTSUPP / ENODEV when the PMU lacks the event (no
/// hardware PMU at all in most VMs).
pub(crate) fn unsupported(spec: PerfEventSpec, errno: Option<i32>) -> Option<String> {
    if !matches!(
        errno,
        Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV | libc::EINVAL)
    ) {
        return None;
    }
    let why = if spec.event.is_hardware() {
        "this machine's PMU does not count it (virtual machines often have no hardware PMU: \
         ls /sys/bus/event_source/devices)"
    } else {
        "this kernel does not provide it"
    };
    Some(format!(
        "perf event {} is not supported: {why}; software events such as sw:cpu-clock \
         and sw:page-faults work everywhere",
        spec.event
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            PerfEventKind::parse("hw:cache-misses").unwrap(),
            PerfEventKind::Hardware(HardwareEvent::CacheMisses)
        );
        assert_eq!(
            PerfEventKind::parse("sw:page-faults").unwrap(),
            PerfEventKind::Software(SoftwareEvent::PageFaults)
        );
        assert_eq!(
            PerfEventKind::parse("cycles").unwrap(),
            PerfEventKind::Hardware(HardwareEvent::CpuCycles)
        );
        assert_eq!(
            PerfEventKind::parse("software:cs").unwrap().to_string(),
            "sw:context-switches"
        );
        let e = PerfEventKind::parse("hw:page-faults").unwrap_err();
        assert!(
            e.contains("unknown perf event 'hw:page-faults'") && e.contains("cache-misses"),
            "{e}"
        );
        assert!(
            PerfEventKind::parse("xx:cycles")
                .unwrap_err()
                .contains("'xx'")
        );
    }
}
