//! Loading a tool into the running kernel with aya, attaching a variant,
//! and reading what it reports (ring buffer events, map values).

use std::time::{Duration, Instant};

use aya::maps::{Array, HashMap, MapData, RingBuf};
use aya::programs::perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent};
use aya::programs::{
    BtfTracePoint, PerfEvent, RawTracePoint, SchedClassifier, TcAttachType, TracePoint, UProbe,
    Xdp, XdpMode, uprobe::UProbeScope,
};
use aya::{Btf, Ebpf, EbpfLoader, Pod};
use bpfkit_object::{Hook, TcDirection};
use bpfkit_tools::Variant;

use super::{ObjectInfo, object_info, working_variant};

/// How long to wait for something the test caused to show up. Only a bound
/// against hangs: the loops end as soon as it is there.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A loaded tool with one variant attached.
pub struct Session {
    pub ebpf: Ebpf,
    pub info: ObjectInfo,
    tool: String,
    /// Events read while waiting for another one: the order two sockets
    /// close in is up to the kernel, so a later wait may want them.
    backlog: Vec<Event>,
}

/// A `const volatile` value to set before loading.
pub enum Global {
    U8(u8),
    U16(u16),
    I32(i32),
    U32(u32),
    U64(u64),
    /// An array (`const volatile u16 ports[64]`), all of its elements.
    U16s(Vec<u16>),
    /// An array of ints (`const volatile pid_t targ_pids[16]`), all of its elements.
    I32s(Vec<i32>),
}

pub fn load(tool: &str, globals: &[(&str, Global)]) -> (Ebpf, ObjectInfo) {
    let spec = bpfkit_tools::find(tool).expect("tool");
    let mut loader = EbpfLoader::new();
    for (name, value) in globals {
        match value {
            Global::U8(v) => loader.override_global(name, v, true),
            Global::U16(v) => loader.override_global(name, v, true),
            Global::I32(v) => loader.override_global(name, v, true),
            Global::U32(v) => loader.override_global(name, v, true),
            Global::U64(v) => loader.override_global(name, v, true),
            Global::U16s(v) => loader.override_global(name, v.as_slice(), true),
            Global::I32s(v) => loader.override_global(name, v.as_slice(), true),
        };
    }
    // The aya-loadable copy (aya 0.14 refuses `tcx/*` section names).
    let object = bpfkit_object::analyze(spec.object)
        .unwrap_or_else(|e| panic!("{tool}: analyzing the object: {e}"));
    let ebpf = loader
        .load(&object.loadable_elf)
        .unwrap_or_else(|e| panic!("{tool}: loading the object: {e}"));
    (ebpf, object_info(spec))
}

impl Session {
    /// Loads `tool` and attaches its best working variant, or `variant`.
    pub fn start(tool: &str, variant: Option<&str>, globals: &[(&str, Global)]) -> Session {
        let (mut ebpf, info) = load(tool, globals);
        let spec = bpfkit_tools::find(tool).expect("tool");
        let chosen = match variant {
            Some(label) => spec.variant(label).expect("variant"),
            None => working_variant(spec, &info).expect("a working variant"),
        };
        attach_variant(&mut ebpf, &info, chosen).unwrap_or_else(|e| panic!("{tool}: {e}"));
        Session {
            ebpf,
            info,
            tool: tool.to_string(),
            backlog: Vec::new(),
        }
    }

    /// Loads `tool` without attaching anything.
    pub fn loaded(tool: &str, globals: &[(&str, Global)]) -> Session {
        let (ebpf, info) = load(tool, globals);
        Session {
            ebpf,
            info,
            tool: tool.to_string(),
            backlog: Vec::new(),
        }
    }

    /// Attaches the XDP and tc programs of `variant` to `iface`, found in
    /// the calling thread's network namespace (XDP in generic mode; tc on
    /// tcx, which leaves no qdisc behind).
    pub fn attach_net(&mut self, variant: &str, iface: &str) {
        let spec = bpfkit_tools::find(&self.tool).expect("tool");
        let variant = spec.variant(variant).expect("variant");
        for name in variant.programs {
            let hook = self.info.hook(name);
            let program = self.ebpf.program_mut(name).expect("program");
            match hook {
                Hook::Xdp => {
                    let p: &mut Xdp = program.try_into().expect("xdp program");
                    p.load().unwrap_or_else(|e| panic!("{name}: {e}"));
                    p.attach(iface, XdpMode::Skb)
                        .unwrap_or_else(|e| panic!("{name} on {iface}: {e}"));
                }
                Hook::Tc { direction } => {
                    let p: &mut SchedClassifier = program.try_into().expect("tc program");
                    p.load().unwrap_or_else(|e| panic!("{name}: {e}"));
                    let attach_type = match direction {
                        TcDirection::Ingress => TcAttachType::Ingress,
                        TcDirection::Egress => TcAttachType::Egress,
                    };
                    p.attach(iface, attach_type)
                        .unwrap_or_else(|e| panic!("{name} on {iface}: {e}"));
                }
                other => panic!("{name}: {other} is not a network hook"),
            }
        }
    }

    pub fn offset(&self, member: &str) -> usize {
        self.info.offset_of("event", member)
    }

    /// The first event for which `want` holds, polling the ring buffer.
    pub fn wait_event(&mut self, want: impl Fn(&Event) -> bool) -> Event {
        if let Some(i) = self.backlog.iter().position(&want) {
            return self.backlog.remove(i);
        }
        let layout = Layout::of(self);
        let mut ring = RingBuf::try_from(self.ebpf.map_mut("events").expect("events map"))
            .expect("ring buffer");
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            while let Some(item) = ring.next() {
                let event = Event {
                    bytes: item.to_vec(),
                    layout: layout.clone(),
                };
                if want(&event) {
                    return event;
                }
                self.backlog.push(event);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no matching event within {PATIENCE:?}");
    }

    /// Values of a hash map, once `ready` holds for them (polling).
    pub fn hash_values<K: Pod, const N: usize>(
        &self,
        map: &str,
        ready: impl Fn(&[(K, [u8; N])]) -> bool,
    ) -> Vec<(K, [u8; N])> {
        self.check_value_size(map, N);
        let data = self.ebpf.map(map).expect("map");
        let hash: HashMap<&MapData, K, [u8; N]> = HashMap::try_from(data).expect("hash map");
        poll(|| {
            let all: Vec<_> = hash.iter().filter_map(Result::ok).collect();
            ready(&all).then_some(all)
        })
    }

    pub fn array_values<const N: usize>(
        &self,
        map: &str,
        ready: impl Fn(&[[u8; N]]) -> bool,
    ) -> Vec<[u8; N]> {
        self.check_value_size(map, N);
        let data = self.ebpf.map(map).expect("map");
        let array: Array<&MapData, [u8; N]> = Array::try_from(data).expect("array map");
        poll(|| {
            let all: Vec<_> = array.iter().filter_map(Result::ok).collect();
            ready(&all).then_some(all)
        })
    }

    pub fn check_value_size(&self, map: &str, n: usize) {
        let (_, value) = self.info.map_types(map).expect("map type");
        assert_eq!(
            self.info.btf.size_of(value).ok(),
            Some(n as u64),
            "size of {map}'s value"
        );
    }
}

pub fn poll<T>(mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = attempt() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Member offsets of `struct event`, from the object's BTF.
#[derive(Clone)]
pub struct Layout(std::collections::HashMap<String, usize>);

impl Layout {
    pub fn of(session: &Session) -> Layout {
        let event = session.info.btf.find_struct("event").expect("struct event");
        Layout(
            session
                .info
                .members(event)
                .into_iter()
                .map(|(name, _)| {
                    let off = session.offset(&name);
                    (name, off)
                })
                .collect(),
        )
    }
}

pub struct Event {
    bytes: Vec<u8>,
    layout: Layout,
}

impl Event {
    pub fn at(&self, member: &str) -> usize {
        *self
            .layout
            .0
            .get(member)
            .unwrap_or_else(|| panic!("struct event has no {member}"))
    }

    pub fn u32(&self, member: &str) -> u32 {
        let at = self.at(member);
        u32::from_ne_bytes(self.bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    pub fn u16(&self, member: &str) -> u16 {
        let at = self.at(member);
        u16::from_ne_bytes(self.bytes[at..at + 2].try_into().expect("2 bytes"))
    }

    /// `n` bytes of a member (addresses).
    pub fn bytes(&self, member: &str, n: usize) -> &[u8] {
        let at = self.at(member);
        &self.bytes[at..at + n]
    }

    pub fn i32(&self, member: &str) -> i32 {
        self.u32(member) as i32
    }

    pub fn u64(&self, member: &str) -> u64 {
        let at = self.at(member);
        u64::from_ne_bytes(self.bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    /// The first `args_size` bytes of `args` (execsnoop's argument list).
    pub fn args(&self) -> &[u8] {
        let at = self.at("args");
        let size = (self.u32("args_size") as usize).min(self.bytes.len() - at);
        &self.bytes[at..at + size]
    }

    /// Whether the argument list has this exact argument.
    pub fn has_arg(&self, arg: &str) -> bool {
        self.args().split(|&b| b == 0).any(|a| a == arg.as_bytes())
    }

    /// A NUL-terminated string member.
    pub fn str(&self, member: &str) -> String {
        let rest = &self.bytes[self.at(member)..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    }
}

pub fn attach_variant(ebpf: &mut Ebpf, info: &ObjectInfo, variant: &Variant) -> Result<(), String> {
    let btf = Btf::from_sys_fs().map_err(|e| format!("vmlinux BTF: {e}"))?;
    for name in variant.programs {
        let hook = info.hook(name);
        let program = ebpf.program_mut(name).ok_or(format!("no program {name}"))?;
        let failed = |e: &dyn std::fmt::Display| format!("{name} ({hook}): {e}");
        match &hook {
            Hook::Tracepoint { category, name: tp } => {
                let p: &mut TracePoint = program.try_into().map_err(|e| failed(&e))?;
                p.load().map_err(|e| failed(&e))?;
                p.attach(category, tp).map_err(|e| failed(&e))?;
            }
            Hook::RawTracepoint { name: tp } => {
                let p: &mut RawTracePoint = program.try_into().map_err(|e| failed(&e))?;
                p.load().map_err(|e| failed(&e))?;
                p.attach(tp).map_err(|e| failed(&e))?;
            }
            Hook::BtfTracepoint { name: tp } => {
                let p: &mut BtfTracePoint = program.try_into().map_err(|e| failed(&e))?;
                p.load(tp, &btf).map_err(|e| failed(&e))?;
                p.attach().map_err(|e| failed(&e))?;
            }
            Hook::Uprobe {
                target: Some(t), ..
            } => {
                let p: &mut UProbe = program.try_into().map_err(|e| failed(&e))?;
                p.load().map_err(|e| failed(&e))?;
                let symbol = t.symbol.as_deref().ok_or(format!("{name}: no symbol"))?;
                // Bare names (`libc.so.6`) the way the runtime finds them.
                let binary = bpfkit_runtime::resolve_binary(&t.binary)
                    .ok_or_else(|| failed(&format!("no file for {}", t.binary)))?;
                let attached = p.attach(symbol, &binary, UProbeScope::AllProcesses);
                if attached.is_err() && variant.optional.contains(name) {
                    continue;
                }
                attached.map_err(|e| failed(&e))?;
            }
            Hook::PerfEvent => {
                let p: &mut PerfEvent = program.try_into().map_err(|e| failed(&e))?;
                p.load().map_err(|e| failed(&e))?;
                let cpus = aya::util::online_cpus()
                    .map_err(|(what, e)| failed(&format!("{what}: {e}")))?;
                for cpu in cpus {
                    p.attach(
                        PerfEventConfig::Software(SoftwareEvent::CpuClock),
                        PerfEventScope::AllProcessesOneCpu { cpu },
                        SamplePolicy::Frequency(99),
                        false,
                    )
                    .map_err(|e| failed(&e))?;
                }
            }
            other => return Err(format!("{name}: the test cannot attach {other}")),
        }
    }
    Ok(())
}
