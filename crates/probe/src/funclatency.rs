//! `funclatency LIB:FUNC`: a uprobe notes the entry time per thread, a
//! uretprobe adds the elapsed time to a log2 histogram (an array map of
//! one `struct hist { u32 slots[N]; }`, which the ordinary histogram
//! output prints as libbpf-tools do).

use crate::elf::{self, MapDecl, ProgramCode};
use crate::insn::{Alu, Asm, Cond, FP, R0, R1, R2, R3, R4, Size, helper};
use bpfkit_btf::encode::BtfBuilder;
use bpfkit_btf::{Array, Composite, Kind, Member, TypeId};

pub const HIST_MAP: &str = "hist";
const START_MAP: &str = "start";
const HASH: u32 = 1;
const ARRAY: u32 = 2;
/// Slots of the histogram, as libbpf-tools' funclatency.
pub const MAX_SLOTS: u32 = 32;
const MAX_THREADS: u32 = 10240;
const BPF_ANY: i32 = 0;

/// Time unit of the histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Nsecs,
    Usecs,
    Msecs,
}

impl Unit {
    fn divisor(self) -> i32 {
        match self {
            Unit::Nsecs => 1,
            Unit::Usecs => 1000,
            Unit::Msecs => 1_000_000,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Unit::Nsecs => "nsecs",
            Unit::Usecs => "usecs",
            Unit::Msecs => "msecs",
        }
    }
}

/// The object for `pattern` (`LIB:FUNC`, bcc's `p:LIB:FUNC` too; LIB as
/// in `bpfkit trace`).
pub fn build(pattern: &str, unit: Unit, pid: Option<u32>) -> Result<Vec<u8>, crate::ProbeError> {
    let error = |message: String| crate::ProbeError {
        probe: pattern.to_string(),
        message,
    };
    let spec = pattern.strip_prefix("p:").unwrap_or(pattern);
    let Some((library, function)) = spec
        .rsplit_once(':')
        .filter(|(l, f)| !l.is_empty() && !f.is_empty())
    else {
        return Err(error(
            "expected LIB:FUNC (c:malloc, /path/to/bin:func) or a kernel function (vfs_read)"
                .into(),
        ));
    };
    let path = crate::uprobe::resolve_library(library).map_err(error)?;
    if !function.contains(['*', '?']) {
        let path = path.to_string_lossy();
        let entry = format!("uprobe/{path}:{function}");
        let exit = format!("uretprobe/{path}:{function}");
        return Ok(object(entry, exit, unit, pid));
    }
    // bcc's `c:read*`: every match in one histogram, through one
    // uprobe.multi link each way (Linux 6.6+; older kernels say so).
    let elf = bpfkit_btf::read_input_file(&path)
        .map_err(|e| error(format!("{}: {e}", path.display())))?;
    let matches = bpfkit_object::symbols::matching_functions(&elf, function)
        .map_err(|e| error(format!("{}: {e}", path.display())))?;
    if matches.is_empty() {
        return Err(error(format!(
            "no function matching '{function}' in {} (list them with `nm -D {0}`)",
            path.display()
        )));
    }
    let path = path.to_string_lossy();
    let entry = format!("uprobe.multi/{path}:{function}");
    let exit = format!("uretprobe.multi/{path}:{function}");
    Ok(object(entry, exit, unit, pid))
}

/// The object for kernel function `pattern` (`vfs_read`, `p::vfs_read`):
/// fentry/fexit or kprobe/kretprobe, as the kernel allows.
pub fn build_kernel(
    pattern: &str,
    unit: Unit,
    pid: Option<u32>,
    kernel: &dyn crate::kfunc::Kernel,
) -> Result<Vec<u8>, crate::ProbeError> {
    let error = |message: String| crate::ProbeError {
        probe: pattern.to_string(),
        message,
    };
    let function = crate::kfunc::function_pattern(pattern)
        .filter(|f| !f.contains(['*', '?']))
        .ok_or_else(|| error("expected one kernel function (vfs_read, p::vfs_read)".into()))?;
    let (entry, exit) = crate::kfunc::latency_sections(function, kernel).map_err(error)?;
    Ok(object(entry, exit, unit, pid))
}

fn object(entry_section: String, exit_section: String, unit: Unit, pid: Option<u32>) -> Vec<u8> {
    let mut btf = BtfBuilder::new();
    let int = |btf: &mut BtfBuilder, name: &str, size: u32| elf::int(btf, name, size, false);
    let u32_ty = int(&mut btf, "unsigned int", 4);
    let u64_ty = int(&mut btf, "unsigned long long", 8);
    let hist = hist_type(&mut btf, u32_ty);
    let maps = [
        map(START_MAP, HASH, MAX_THREADS, u32_ty, u64_ty),
        map(HIST_MAP, ARRAY, 1, u32_ty, hist),
    ];
    let (entry, exit) = (entry(pid), exit(unit));
    let programs = [
        ProgramCode {
            name: "entry".into(),
            section: entry_section,
            code: entry.bytes(),
            map_relocs: entry.map_relocs,
        },
        ProgramCode {
            name: "exit".into(),
            section: exit_section,
            code: exit.bytes(),
            map_relocs: exit.map_relocs,
        },
    ];
    elf::write(&programs, &maps, btf)
}

/// `struct hist { unsigned int slots[MAX_SLOTS]; }`.
pub(crate) fn hist_type(btf: &mut BtfBuilder, u32_ty: TypeId) -> TypeId {
    let slots = btf.add_type(bpfkit_btf::Type {
        name_off: 0,
        kind: Kind::Array(Array {
            elem: u32_ty,
            index: u32_ty,
            len: MAX_SLOTS,
        }),
    });
    let slots_name = btf.add_string("slots");
    elf::named(
        btf,
        "hist",
        Kind::Struct(Composite {
            size: MAX_SLOTS * 4,
            kind_flag: false,
            members: vec![Member {
                name_off: slots_name,
                ty: slots,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        }),
    )
}

pub(crate) fn map(
    name: &str,
    map_type: u32,
    max_entries: u32,
    key: TypeId,
    value: TypeId,
) -> MapDecl {
    MapDecl {
        name: name.into(),
        map_type,
        max_entries,
        key: Some(key),
        value: Some(value),
        sizes: None,
    }
}

/// `start[tid] = now` (for process `pid` only, when given).
fn entry(pid: Option<u32>) -> Asm {
    let mut a = Asm::default();
    let out = a.label();
    if let Some(pid) = pid {
        a.call(helper::GET_CURRENT_PID_TGID);
        a.alu_imm(Alu::Rsh, R0, 32);
        a.jump_imm(Cond::Ne, R0, pid as i32, out);
    }
    keep_entry(&mut a, START_MAP, (-4, -16));
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish().expect("fixed control flow")
}

/// `hist.slots[log2((now - start[tid]) / unit)] += 1`, and the entry goes.
fn exit(unit: Unit) -> Asm {
    const DELTA: i16 = -16;
    let mut a = Asm::default();
    let out = a.label();
    take_entry(&mut a, START_MAP, (-4, DELTA), &[], out);
    a.load(Size::DW, R0, FP, DELTA);
    a.alu_imm(Alu::Div, R0, unit.divisor());
    a.store(Size::DW, FP, DELTA, R0);
    add_to_hist(&mut a, HIST_MAP, out);
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish().expect("fixed control flow")
}

/// The entry half of a latency: `map[tid] = record`, the record on the
/// stack at `record` with the time first (written here, last, as close
/// to the function's start as can be) and any values after it, the
/// thread id written at `key`. Shared with the probe compiler's return
/// probes that read `$latency` and `$entry(NAME)`.
pub(crate) fn keep_entry(a: &mut Asm, map: &str, (key, record): (i16, i16)) {
    a.call(helper::GET_CURRENT_PID_TGID);
    a.store(Size::W, FP, key, R0);
    a.call(helper::KTIME_GET_NS);
    a.store(Size::DW, FP, record, R0);
    a.ld_map(R1, map);
    a.mov(R2, FP);
    a.alu_imm(Alu::Add, R2, key as i32);
    a.mov(R3, FP);
    a.alu_imm(Alu::Add, R3, record as i32);
    a.mov_imm(R4, BPF_ANY);
    a.call(helper::MAP_UPDATE_ELEM);
}

/// The return half: takes the thread's record out of `map` (the thread
/// id written at `key`; none, as for a call entered before tracing
/// began: `out`), leaving `now - time` at `latency` and the record's
/// values at `values`, in order.
pub(crate) fn take_entry(
    a: &mut Asm,
    map: &str,
    (key, latency): (i16, i16),
    values: &[i16],
    out: crate::insn::Label,
) {
    a.call(helper::GET_CURRENT_PID_TGID);
    a.store(Size::W, FP, key, R0);
    a.ld_map(R1, map);
    a.mov(R2, FP);
    a.alu_imm(Alu::Add, R2, key as i32);
    a.call(helper::MAP_LOOKUP_ELEM);
    a.jump_imm(Cond::Eq, R0, 0, out);
    for (i, slot) in values.iter().enumerate() {
        a.load(Size::DW, R1, R0, 8 * (i as i16 + 1));
        a.store(Size::DW, FP, *slot, R1);
    }
    a.load(Size::DW, R1, R0, 0);
    a.store(Size::DW, FP, latency, R1);
    a.call(helper::KTIME_GET_NS);
    a.load(Size::DW, R1, FP, latency);
    a.alu_reg(Alu::Sub, R0, R1);
    a.store(Size::DW, FP, latency, R0);
    a.ld_map(R1, map);
    a.mov(R2, FP);
    a.alu_imm(Alu::Add, R2, key as i32);
    a.call(helper::MAP_DELETE_ELEM);
}

/// `map.slots[log2(value at fp-16)] += 1` (the last slot takes what is
/// above it); jumps to `out` when the map has no entry.
pub(crate) fn add_to_hist(a: &mut Asm, map: &str, out: crate::insn::Label) {
    const VALUE: i16 = -16;
    log2(a);
    let capped = a.label();
    a.jump_imm(Cond::Le, R0, MAX_SLOTS as i32 - 1, capped);
    a.mov_imm(R0, MAX_SLOTS as i32 - 1);
    a.bind(capped);
    a.store(Size::DW, FP, VALUE, R0);
    a.store_imm(Size::W, FP, -4, 0);
    a.ld_map(R1, map);
    a.mov(R2, FP);
    a.alu_imm(Alu::Add, R2, -4);
    a.call(helper::MAP_LOOKUP_ELEM);
    a.jump_imm(Cond::Eq, R0, 0, out);
    a.load(Size::DW, R1, FP, VALUE);
    // Re-bounded after the reload from the stack, for the verifier.
    a.jump_imm(Cond::Gt, R1, MAX_SLOTS as i32 - 1, out);
    a.alu_imm(Alu::Lsh, R1, 2);
    a.alu_reg(Alu::Add, R0, R1);
    a.mov_imm(R1, 1);
    a.atomic_add32(R0, 0, R1);
}

/// R0 = floor(log2(value at fp-16)), 0 for 0 (libbpf-tools' `log2l`),
/// by halving the range: no loop.
pub(crate) fn log2(a: &mut Asm) {
    a.load(Size::DW, R1, FP, -16);
    a.mov_imm(R0, 0);
    for shift in [32, 16, 8, 4, 2, 1] {
        let small = a.label();
        // `v >> shift != 0`: the bit is at or above `shift`.
        a.mov(R2, R1);
        a.alu_imm(Alu::Rsh, R2, shift);
        a.jump_imm(Cond::Eq, R2, 0, small);
        a.mov(R1, R2);
        a.alu_imm(Alu::Add, R0, shift);
        a.bind(small);
    }
}
