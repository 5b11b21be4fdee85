//! Which event fields the programs fill with a value in network byte order.
//!
//! libbpf programs copy ports from kernel fields declared `__be16`
//! (`skc_dport`, `inet_sport`) into plain `__u16` event members and leave
//! the swap to their C front end (tcpconnect, tcpconnlat, tcppktlat), while
//! others swap in BPF (tcplife, tcpstates). The event member's type cannot
//! tell them apart; the data flow can.
//!
//! An abstract interpretation over each function's instructions tracks, in
//! registers and in stack/record memory, which byte orders a value may be
//! in: network (read from a CO-RE relocated field whose BTF type is
//! `__be16`/`__be32`, by a relocated load or through `bpf_probe_read_kernel`
//! of a relocated `ptr + offset`), host (any other relocated field), or
//! unknown. A byte swap (`BPF_END`) turns one into the other; masking
//! with a constant and 32-bit moves keep it; other arithmetic makes it
//! unknown; constants have no order. States meet at jump targets by union
//! (a fixpoint, bounded at 64 visits per instruction). Calls to
//! other BPF functions are not followed (libbpf-tools inline theirs): their
//! results are unknown. When a record is sent (`bpf_perf_event_output`,
//! `bpf_ringbuf_output`, `bpf_ringbuf_submit`), each value stored in the
//! record votes for its offset; the votes are keyed by record size, which
//! is how they meet the event struct. The output layer
//! swaps a port only where every vote is network order
//! ([`StoredOrder::network`]); mixed votes are [`StoredOrder::ambiguous`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bpfkit_btf::ext::BtfExt;
use bpfkit_btf::{Btf, Kind, TypeId};

use crate::elf_view::ElfView;

/// Sets of byte orders, as bits. The empty set is a constant (no order).
pub type Orders = u8;
pub const NET: Orders = 1;
pub const HOST: Orders = 2;
pub const UNKNOWN: Orders = 4;

/// What was stored at one place of a sent record: (record size, offset,
/// width) → every order seen there over all paths.
pub type StoredOrders = BTreeMap<(u32, u32, u32), Orders>;

/// What one event-struct place receives, for [`crate::MapDef::stored_orders`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredOrder {
    /// Byte offset in the record.
    pub offset: u32,
    /// Width of the stores, in bytes.
    pub width: u32,
    /// Every order the stores there were in ([`NET`], [`HOST`], [`UNKNOWN`]).
    pub orders: Orders,
}

impl StoredOrder {
    /// Every path that stores here stores a network-order value.
    pub fn network(&self) -> bool {
        self.orders == NET
    }

    /// Some paths store network order here, others do not.
    pub fn ambiguous(&self) -> bool {
        self.orders & NET != 0 && self.orders != NET
    }
}

/// The places of a `size`-byte record that some path fills with a
/// network-order value.
pub(crate) fn for_record(stored: &StoredOrders, size: u32) -> Vec<StoredOrder> {
    stored
        .range((size, 0, 0)..=(size, u32::MAX, u32::MAX))
        .filter(|(_, orders)| **orders & NET != 0)
        .map(|(&(_, offset, width), &orders)| StoredOrder {
            offset,
            width,
            orders,
        })
        .collect()
}

/// Runs the analysis on every function of every executable section.
pub(crate) fn analyze(btf: &Btf, ext: Option<&BtfExt>, view: &ElfView) -> StoredOrders {
    let mut stored = StoredOrders::new();
    for section in view.sections.iter().filter(|s| s.executable) {
        let fields = relocated_fields(btf, ext, &section.name);
        let starts: Vec<usize> = view
            .symbols
            .iter()
            .filter(|s| s.is_function && s.section == Some(section.index))
            .map(|s| (s.address / 8) as usize)
            .collect();
        for start in starts {
            analyze_function(section.data, start, &fields, &mut stored);
        }
    }
    stored
}

/// Instruction index → byte order of the field its CO-RE field-offset
/// relocation names.
fn relocated_fields(btf: &Btf, ext: Option<&BtfExt>, section: &str) -> HashMap<usize, Orders> {
    const FIELD_BYTE_OFFSET: u32 = 0;
    ext.iter()
        .flat_map(|e| &e.core_relos)
        .filter(|s| s.section == section)
        .flat_map(|s| &s.records)
        .filter(|r| r.kind == FIELD_BYTE_OFFSET)
        .filter_map(|r| {
            let order = field_order(btf, r.type_id, &r.access)?;
            Some((r.insn_off as usize / 8, order))
        })
        .collect()
}

/// The order of the field an access string (`0:1:2`) reaches from `root`:
/// network when its typedef chain names `__be16` or `__be32`.
fn field_order(btf: &Btf, root: TypeId, access: &str) -> Option<Orders> {
    let mut ty = root;
    // The first index steps over `root` as an array; the rest select
    // members or array elements.
    for index in access.split(':').skip(1) {
        let index: usize = index.parse().ok()?;
        ty = match &btf.type_by_id(btf.resolve(ty).ok()?).ok()?.kind {
            Kind::Struct(c) | Kind::Union(c) => c.members.get(index)?.ty,
            Kind::Array(a) => a.elem,
            _ => return None,
        };
    }
    let mut id = ty;
    for _ in 0..16 {
        let t = btf.type_by_id(id).ok()?;
        if matches!(btf.str_at(t.name_off), "__be16" | "__be32") {
            return Some(NET);
        }
        match t.kind.referenced() {
            Some(next) if t.kind.is_modifier() => id = next,
            _ => break,
        }
    }
    Some(HOST)
}

/// Memory the analysis follows: the stack, or what a helper returned
/// (`bpf_ringbuf_reserve`, `bpf_map_lookup_elem`). All returned memory is
/// one region, so that libbpf-tools' `reserve_buf()` (a ring buffer record
/// on one path, a per-CPU map value on the other) stays one pointer where
/// the paths meet; separate buffers then share places, which can only make
/// a place less certain, never network order by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Region {
    Stack,
    Returned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A number in any of these orders.
    Scalar(Orders),
    /// A known constant (helper sizes); a number with no order.
    Const(i64),
    /// A relocated field offset (`mov rX, off`) of a field in this order.
    FieldOffset(Orders),
    /// A pointer to a relocated kernel field (`rX += off`).
    FieldPtr(Orders),
    Ptr(Region, i64),
}

impl Value {
    fn orders(self) -> Orders {
        match self {
            Value::Scalar(o) => o,
            Value::Const(_) => 0,
            _ => UNKNOWN,
        }
    }

    fn join(self, other: Value) -> Value {
        if self == other {
            self
        } else {
            Value::Scalar(self.orders() | other.orders())
        }
    }
}

const UNKNOWN_VALUE: Value = Value::Scalar(UNKNOWN);

/// (offset, width, orders) of one stored place of a region.
type Place = (i64, i64, Orders);

#[derive(Debug, Clone, PartialEq)]
struct State {
    regs: [Value; 11],
    /// (region, offset) → (width, orders) of the last store there.
    mem: BTreeMap<(Region, i64), (i64, Orders)>,
}

impl State {
    fn entry() -> State {
        let mut regs = [UNKNOWN_VALUE; 11];
        regs[10] = Value::Ptr(Region::Stack, 0);
        State {
            regs,
            mem: BTreeMap::new(),
        }
    }

    /// Merges `other` in; true when this state grew. A place stored on one
    /// path only keeps that path's orders: paths that do not store a field
    /// do not vote on it. Where the paths stored different shapes, a
    /// constant (the zeroes of `struct event e = {}`) gives way to a value
    /// stored over it; two values make the place unknown as well.
    fn join(&mut self, other: &State) -> bool {
        let before = self.clone();
        for (mine, theirs) in self.regs.iter_mut().zip(other.regs) {
            *mine = mine.join(theirs);
        }
        for (&(region, at), &(width, orders)) in &other.mem {
            let overlapping = self.overlapping(region, at, at + width);
            match overlapping.as_slice() {
                [] => {
                    self.mem.insert((region, at), (width, orders));
                }
                [(o, w, mine)] if *o == at && *w == width => {
                    self.mem.insert((region, at), (width, mine | orders));
                }
                _ if orders == 0 => {}
                places => {
                    let constants = places.iter().all(|&(_, _, ord)| ord == 0);
                    let unknown = if constants { 0 } else { UNKNOWN };
                    self.store(region, at, width, orders | unknown);
                }
            }
        }
        *self != before
    }

    /// (offset, width, orders) of the places that overlap `start..end`.
    fn overlapping(&self, region: Region, start: i64, end: i64) -> Vec<Place> {
        self.mem
            .range((region, i64::MIN)..(region, end))
            .filter(|&(_, &(w, _))| w > 0)
            .filter(|&(&(_, o), &(w, _))| o + w > start)
            .map(|(&(_, o), &(w, ord))| (o, w, ord))
            .collect()
    }

    fn store(&mut self, region: Region, offset: i64, width: i64, orders: Orders) {
        let end = offset + width;
        for (o, w, ord) in self.overlapping(region, offset, end) {
            self.mem.remove(&(region, o));
            // What the new value leaves of an old one: a constant stays
            // one (`struct event e = {}` zeroes 8 bytes at a time, then
            // members are stored), part of a number is a number.
            let rest = if ord == 0 { 0 } else { UNKNOWN };
            if o < offset {
                self.mem.insert((region, o), (offset - o, rest));
            }
            if o + w > end {
                self.mem.insert((region, end), (o + w - end, rest));
            }
        }
        self.mem.insert((region, offset), (width, orders));
    }

    /// The value stored at exactly this place, or a part of a constant.
    fn load(&self, region: Region, offset: i64, width: i64) -> Value {
        let covering = self.mem.range(..=(region, offset)).next_back();
        match covering {
            Some((&(r, o), &(w, orders))) if r == region && o == offset && w == width => {
                Value::Scalar(orders)
            }
            Some((&(r, o), &(w, 0))) if r == region && o + w >= offset + width => Value::Scalar(0),
            _ => UNKNOWN_VALUE,
        }
    }
}

/// Visits of one instruction before the analysis stops following it
/// (a bound, so that odd loops end).
const MAX_VISITS: u32 = 64;

/// Interprets the function starting at instruction `start` of `code`.
fn analyze_function(
    code: &[u8],
    start: usize,
    fields: &HashMap<usize, Orders>,
    stored: &mut StoredOrders,
) {
    let count = code.len() / 8;
    let mut states: HashMap<usize, State> = HashMap::from([(start, State::entry())]);
    let mut visits: HashMap<usize, u32> = HashMap::new();
    let mut sends = Sends::default();
    let mut work = vec![start];
    while let Some(pc) = work.pop() {
        if pc >= count {
            continue;
        }
        let visit = visits.entry(pc).or_default();
        *visit += 1;
        if *visit > MAX_VISITS {
            continue;
        }
        let mut state = states[&pc].clone();
        let insn = Insn::at(code, pc);
        let next = step(&insn, pc, &mut state, fields, &mut sends);
        for target in next {
            let grew = match states.get_mut(&target) {
                Some(existing) => existing.join(&state),
                None => {
                    states.insert(target, state.clone());
                    true
                }
            };
            if grew {
                work.push(target);
            }
        }
    }
    sends.vote(stored);
}

struct Insn {
    code: u8,
    dst: usize,
    src: usize,
    off: i64,
    imm: i64,
}

impl Insn {
    fn at(code: &[u8], pc: usize) -> Insn {
        let b = &code[pc * 8..pc * 8 + 8];
        Insn {
            code: b[0],
            dst: usize::from(b[1] & 0x0f).min(10),
            src: usize::from(b[1] >> 4).min(10),
            off: i64::from(i16::from_le_bytes([b[2], b[3]])),
            imm: i64::from(i32::from_le_bytes([b[4], b[5], b[6], b[7]])),
        }
    }

    fn width(&self) -> i64 {
        match self.code & 0x18 {
            0x00 => 4,
            0x08 => 2,
            0x10 => 1,
            _ => 8,
        }
    }
}

/// Applies one instruction; returns the instructions that may follow.
fn step(
    insn: &Insn,
    pc: usize,
    state: &mut State,
    fields: &HashMap<usize, Orders>,
    sends: &mut Sends,
) -> Vec<usize> {
    const LD_IMM64: u8 = 0x18;
    let relocated = fields.get(&pc).copied();
    match insn.code & 0x07 {
        // LD: a 64-bit immediate (map, address) takes two slots.
        0x00 => {
            let skip = if insn.code == LD_IMM64 { 2 } else { 1 };
            state.regs[if insn.code == LD_IMM64 { insn.dst } else { 0 }] = UNKNOWN_VALUE;
            return vec![pc + skip];
        }
        // LDX: from followed memory, or from a relocated kernel field.
        0x01 => {
            state.regs[insn.dst] = match (state.regs[insn.src], relocated) {
                (Value::Ptr(region, at), _) => state.load(region, at + insn.off, insn.width()),
                (_, Some(order)) => Value::Scalar(order),
                _ => UNKNOWN_VALUE,
            };
        }
        // ST: an immediate, which has no order.
        0x02 => {
            if let Value::Ptr(region, at) = state.regs[insn.dst] {
                state.store(region, at + insn.off, insn.width(), 0);
            }
        }
        // STX: a register (atomics leave the place and `src` unknown).
        0x03 => {
            let atomic = insn.code & 0xe0 == 0xc0;
            let orders = if atomic {
                UNKNOWN
            } else {
                state.regs[insn.src].orders()
            };
            let place = state.regs[insn.dst];
            if atomic {
                state.regs[insn.src] = UNKNOWN_VALUE;
                state.regs[0] = UNKNOWN_VALUE;
            }
            if let Value::Ptr(region, at) = place {
                state.store(region, at + insn.off, insn.width(), orders);
            }
        }
        0x04 | 0x07 => alu(insn, &mut state.regs, relocated),
        _ => return jump(insn, pc, state, sends),
    }
    vec![pc + 1]
}

fn alu(insn: &Insn, regs: &mut [Value; 11], relocated: Option<Orders>) {
    const ADD: u8 = 0x00;
    const AND: u8 = 0x50;
    const MOV: u8 = 0xb0;
    const END: u8 = 0xd0;
    let by_reg = insn.code & 0x08 != 0;
    let is64 = insn.code & 0x07 == 0x07;
    let dst = regs[insn.dst];
    let operand = if by_reg {
        regs[insn.src]
    } else {
        Value::Const(insn.imm)
    };
    regs[insn.dst] = match insn.code & 0xf0 {
        MOV if !by_reg => relocated.map_or(Value::Const(insn.imm), Value::FieldOffset),
        MOV if is64 => operand,
        // A 32-bit move keeps a number's order (`w1 = w2` of a u16), not a pointer.
        MOV => Value::Scalar(operand.orders()),
        ADD => match (dst, operand, relocated) {
            (_, _, Some(order)) if !by_reg => Value::FieldPtr(order),
            (_, Value::FieldOffset(order), _) | (Value::FieldOffset(order), _, _) => {
                Value::FieldPtr(order)
            }
            (Value::Ptr(region, at), Value::Const(c), _) if is64 => Value::Ptr(region, at + c),
            (Value::Const(a), Value::Const(b), _) => Value::Const(a.wrapping_add(b)),
            _ => UNKNOWN_VALUE,
        },
        // Masking to the value's width keeps its bytes where they are.
        AND if !by_reg => Value::Scalar(dst.orders()),
        // BPF_END: `be16`/`be32` (and 64-bit `bswap`) swap on this
        // little-endian target, `le16`/`le32` only truncate.
        END if is64 || by_reg => Value::Scalar(swapped(dst.orders())),
        END => Value::Scalar(dst.orders()),
        _ => UNKNOWN_VALUE,
    };
}

/// A swapped value is in the other order.
fn swapped(orders: Orders) -> Orders {
    let mut out = orders & UNKNOWN;
    if orders & NET != 0 {
        out |= HOST;
    }
    if orders & HOST != 0 {
        out |= NET;
    }
    out
}

fn jump(insn: &Insn, pc: usize, state: &mut State, sends: &mut Sends) -> Vec<usize> {
    const JA: u8 = 0x00;
    const CALL: u8 = 0x80;
    const EXIT: u8 = 0x90;
    let target = |off: i64| (pc as i64 + 1 + off).try_into().ok();
    match insn.code & 0xf0 {
        EXIT => Vec::new(),
        CALL => {
            if insn.src == 0 {
                helper(insn.imm, state, sends);
            }
            state.regs[..6].fill(UNKNOWN_VALUE);
            if insn.src == 0 && matches!(insn.imm, MAP_LOOKUP_ELEM | RINGBUF_RESERVE) {
                state.regs[0] = Value::Ptr(Region::Returned, 0);
            }
            vec![pc + 1]
        }
        // `gotol` (JMP32 class) jumps by its immediate.
        JA if insn.code & 0x07 == 0x06 => target(insn.imm).into_iter().collect(),
        JA => target(insn.off).into_iter().collect(),
        _ => [Some(pc + 1), target(insn.off)]
            .into_iter()
            .flatten()
            .collect(),
    }
}

const MAP_LOOKUP_ELEM: i64 = 1;
const PROBE_READ: i64 = 4;
const PERF_EVENT_OUTPUT: i64 = 25;
const PROBE_READ_KERNEL: i64 = 113;
const RINGBUF_OUTPUT: i64 = 130;
const RINGBUF_RESERVE: i64 = 131;
const RINGBUF_SUBMIT: i64 = 132;

/// The memory effects of helper `id` that matter here.
fn helper(id: i64, state: &mut State, sends: &mut Sends) {
    let regs = state.regs;
    let constant = |v: Value| match v {
        Value::Const(c) => Some(c),
        _ => None,
    };
    match id {
        PERF_EVENT_OUTPUT => sends.record(state, regs[4], constant(regs[5])),
        RINGBUF_OUTPUT => sends.record(state, regs[2], constant(regs[3])),
        RINGBUF_RESERVE => {
            if let Some(size) = constant(regs[2]) {
                sends.reserved.insert(size);
            }
        }
        // The record's size is the one its function reserves.
        RINGBUF_SUBMIT => sends.record(state, regs[1], None),
        // Any other helper given (buffer, size) writes it: a kernel read
        // of a relocated field copies that field's order, others unknown.
        _ => {
            if let (Value::Ptr(region, at), Some(size)) = (regs[1], constant(regs[2])) {
                let orders = match regs[3] {
                    Value::FieldPtr(order) if matches!(id, PROBE_READ | PROBE_READ_KERNEL) => order,
                    _ => UNKNOWN,
                };
                state.store(region, at, size, orders);
            }
        }
    }
}

/// The records a function sends, with what their places hold.
#[derive(Default)]
struct Sends {
    /// Constant sizes passed to `bpf_ringbuf_reserve`.
    reserved: BTreeSet<i64>,
    /// Per send: the size (`None`: the reserved one), and (offset, width,
    /// orders) of each place stored in the record.
    records: Vec<(Option<i64>, Vec<Place>)>,
}

impl Sends {
    /// Remembers what each place of the record at `ptr` holds. A submit's
    /// size is resolved at the end: the reserve may be on a path the
    /// analysis reaches later.
    fn record(&mut self, state: &State, ptr: Value, size: Option<i64>) {
        let Value::Ptr(region, base) = ptr else {
            return;
        };
        let places = state
            .mem
            .range((region, base)..=(region, i64::MAX))
            .map(|(&(_, at), &(width, orders))| (at - base, width, orders))
            .collect();
        self.records.push((size, places));
    }

    /// Each place's votes, by record size (a submit's size is the one
    /// constant size its function reserves).
    fn vote(self, stored: &mut StoredOrders) {
        let reserved = match (self.reserved.first(), self.reserved.len()) {
            (Some(&size), 1) => Some(size),
            _ => None,
        };
        for (size, places) in self.records {
            let Some(size) = size.or(reserved) else {
                continue;
            };
            let Ok(record) = u32::try_from(size) else {
                continue;
            };
            for (offset, width, orders) in places {
                if offset + width > size {
                    continue;
                }
                if let (Ok(offset), Ok(width)) = (u32::try_from(offset), u32::try_from(width)) {
                    *stored.entry((record, offset, width)).or_default() |= orders;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One instruction's eight bytes.
    fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
        let mut b = vec![code, dst | (src << 4)];
        b.extend(off.to_le_bytes());
        b.extend(imm.to_le_bytes());
        b
    }

    const MOV64_IMM: u8 = 0xb7;
    const MOV64_REG: u8 = 0xbf;
    const ADD64_IMM: u8 = 0x07;
    const LDXH: u8 = 0x69;
    const STXH: u8 = 0x6b;
    const STH: u8 = 0x6a;
    const BE16: u8 = 0xdc;
    const CALL: u8 = 0x85;
    const EXIT: u8 = 0x95;
    const JEQ_IMM: u8 = 0x15;

    fn run(program: &[Vec<u8>], fields: &[(usize, Orders)]) -> StoredOrders {
        let code: Vec<u8> = program.concat();
        let mut stored = StoredOrders::new();
        analyze_function(&code, 0, &fields.iter().copied().collect(), &mut stored);
        stored
    }

    /// `bpf_probe_read_kernel(r10-8, 2, r6 + off)` with the `+ off`
    /// relocated (instructions 2..=6; the add is instruction 3).
    fn core_read_into_fp8() -> Vec<Vec<u8>> {
        vec![
            insn(MOV64_REG, 1, 10, 0, 0),
            insn(ADD64_IMM, 1, 0, 0, -8),
            insn(MOV64_REG, 3, 6, 0, 0),
            insn(ADD64_IMM, 3, 0, 0, 12),
            insn(MOV64_IMM, 2, 0, 0, 2),
            insn(CALL, 0, 0, 0, PROBE_READ_KERNEL as i32),
        ]
    }

    /// Sends the 16-byte stack record at r10-16 with `bpf_perf_event_output`.
    fn send_fp16() -> Vec<Vec<u8>> {
        vec![
            insn(MOV64_REG, 4, 10, 0, 0),
            insn(ADD64_IMM, 4, 0, 0, -16),
            insn(MOV64_IMM, 5, 0, 0, 16),
            insn(CALL, 0, 0, 0, PERF_EVENT_OUTPUT as i32),
            insn(EXIT, 0, 0, 0, 0),
        ]
    }

    #[test]
    fn a_core_read_network_field_reaches_the_record_in_network_order() {
        let mut program = core_read_into_fp8();
        program.push(insn(LDXH, 7, 10, -8, 0));
        program.push(insn(STXH, 10, 7, -14, 0)); // record offset 2
        program.extend(send_fp16());
        let stored = run(&program, &[(3, NET)]);
        assert_eq!(stored.get(&(16, 2, 2)), Some(&NET), "{stored:?}");

        let stored = run(&program, &[(3, HOST)]);
        assert_eq!(stored.get(&(16, 2, 2)), Some(&HOST), "{stored:?}");
    }

    #[test]
    fn a_byte_swap_turns_network_order_into_host_order() {
        let mut program = core_read_into_fp8();
        program.push(insn(LDXH, 7, 10, -8, 0));
        program.push(insn(BE16, 7, 0, 0, 16));
        program.push(insn(STXH, 10, 7, -14, 0));
        program.extend(send_fp16());
        let stored = run(&program, &[(3, NET)]);
        assert_eq!(stored.get(&(16, 2, 2)), Some(&HOST), "{stored:?}");
    }

    #[test]
    fn a_relocated_direct_load_into_a_ringbuf_record() {
        // r0 = bpf_ringbuf_reserve(map, 8, 0); r1 = *(u16 *)(r6 + off)
        // (relocated, instruction 4); *(u16 *)(r0 + 4) = r1; submit.
        let program = vec![
            insn(MOV64_IMM, 2, 0, 0, 8),
            insn(MOV64_IMM, 3, 0, 0, 0),
            insn(CALL, 0, 0, 0, RINGBUF_RESERVE as i32),
            insn(MOV64_REG, 8, 0, 0, 0),
            insn(LDXH, 1, 6, 12, 0),
            insn(STXH, 8, 1, 4, 0),
            insn(MOV64_REG, 1, 8, 0, 0),
            insn(CALL, 0, 0, 0, RINGBUF_SUBMIT as i32),
            insn(EXIT, 0, 0, 0, 0),
        ];
        let stored = run(&program, &[(4, NET)]);
        assert_eq!(stored.get(&(8, 4, 2)), Some(&NET), "{stored:?}");
    }

    #[test]
    fn a_record_from_either_a_ring_buffer_or_a_map_value() {
        // libbpf-tools' reserve_buf(): if (r6) r0 = bpf_ringbuf_reserve(map,
        // 8, 0) else r0 = bpf_map_lookup_elem(heap, &zero); then a network
        // order store at [2] and bpf_ringbuf_submit.
        let program = vec![
            insn(JEQ_IMM, 6, 0, 4, 0), // 0 → 5
            insn(MOV64_IMM, 2, 0, 0, 8),
            insn(MOV64_IMM, 3, 0, 0, 0),
            insn(CALL, 0, 0, 0, RINGBUF_RESERVE as i32),
            insn(0x05, 0, 0, 1, 0), // 4: ja → 6
            insn(CALL, 0, 0, 0, MAP_LOOKUP_ELEM as i32),
            insn(LDXH, 1, 7, 12, 0), // 6: relocated
            insn(STXH, 0, 1, 2, 0),
            insn(MOV64_REG, 1, 0, 0, 0),
            insn(CALL, 0, 0, 0, RINGBUF_SUBMIT as i32),
            insn(EXIT, 0, 0, 0, 0),
        ];
        let stored = run(&program, &[(6, NET)]);
        assert_eq!(stored.get(&(8, 2, 2)), Some(&NET), "{stored:?}");
    }

    #[test]
    fn a_member_stored_into_zeroed_memory_leaves_its_neighbours_constant() {
        // *(u64 *)(r10 - 16) = 0; r7 = net; *(u16 *)(r10 - 14) = r7;
        // r8 = *(u16 *)(r10 - 16) (still the zero); *(u16 *)(r10 - 4) = r8.
        let mut program = core_read_into_fp8(); // 0..=5
        program.push(insn(0x7a, 10, 0, -16, 0)); // 6: *(u64 *)(r10 - 16) = 0
        program.push(insn(LDXH, 7, 10, -8, 0));
        program.push(insn(STXH, 10, 7, -14, 0));
        program.push(insn(LDXH, 8, 10, -16, 0));
        program.push(insn(STXH, 10, 8, -4, 0));
        program.push(insn(LDXH, 8, 10, -10, 0)); // inside the zeroes
        program.push(insn(STXH, 10, 8, -6, 0));
        program.extend(send_fp16());
        let stored = run(&program, &[(3, NET)]);
        assert_eq!(stored.get(&(16, 2, 2)), Some(&NET), "{stored:?}");
        assert_eq!(stored.get(&(16, 0, 2)), Some(&0), "{stored:?}");
        assert_eq!(stored.get(&(16, 12, 2)), Some(&0), "{stored:?}");
        assert_eq!(stored.get(&(16, 10, 2)), Some(&0), "{stored:?}");
    }

    #[test]
    fn zeroes_on_one_path_give_way_to_a_member_stored_on_the_other() {
        // tcptracer's accept: the tuple is zeroed, a path that fails early
        // keeps the zeroes, the other reads the port into them; later
        // stores next to the port must not lose it where the paths meet.
        let mut program = core_read_into_fp8(); // 0..=5
        program.push(insn(0x7a, 10, 0, -16, 0)); // 6: *(u64 *)(r10 - 16) = 0
        program.push(insn(JEQ_IMM, 6, 0, 2, 0)); // 7 → 10
        program.push(insn(LDXH, 7, 10, -8, 0));
        program.push(insn(STXH, 10, 7, -14, 0));
        program.push(insn(STH, 10, 0, -16, 0)); // 10
        program.extend(send_fp16());
        let stored = run(&program, &[(3, NET)]);
        assert_eq!(stored.get(&(16, 2, 2)), Some(&NET), "{stored:?}");
    }

    #[test]
    fn paths_that_disagree_are_both_seen_and_constants_do_not_vote() {
        // if (r6 == 0) record[2] = 0 (a constant) else record[2] = net;
        // then a second store on one path only in host order at [4].
        let mut program = core_read_into_fp8(); // 0..=5
        program.push(insn(LDXH, 7, 10, -8, 0)); // 6
        program.push(insn(JEQ_IMM, 6, 0, 3, 0)); // 7 → 11
        program.push(insn(STXH, 10, 7, -14, 0)); // 8
        program.push(insn(STXH, 10, 7, -12, 0)); // 9: net at [4]
        program.push(insn(0x05, 0, 0, 2, 0)); // 10: ja → 13
        program.push(insn(STH, 10, 0, -14, 0)); // 11: constant at [2]
        program.push(insn(0x6b, 10, 9, -12, 0)); // 12: r9 (unknown) at [4]
        program.extend(send_fp16()); // 13..
        let stored = run(&program, &[(3, NET)]);
        assert_eq!(stored.get(&(16, 2, 2)), Some(&NET), "{stored:?}");
        assert_eq!(
            stored.get(&(16, 4, 2)),
            Some(&(NET | UNKNOWN)),
            "{stored:?}"
        );
    }
}
