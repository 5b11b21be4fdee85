//! BPF instructions and a tiny assembler with forward labels. Only what the
//! code generator emits: 64-bit ALU, loads and stores, jumps, helper calls
//! and map loads (`ld_imm64` with a relocation the loader resolves).

/// One 8-byte instruction (`ld_imm64` is two of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push((self.src << 4) | (self.dst & 0x0f));
        out.extend_from_slice(&self.off.to_le_bytes());
        out.extend_from_slice(&self.imm.to_le_bytes());
    }
}

pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R4: u8 = 4;
/// The program's context (saved from R1 at entry).
pub const CTX: u8 = 6;
/// The reserved ring buffer record.
pub const EVENT: u8 = 7;
pub const FP: u8 = 10;

const LDX: u8 = 0x01;
const STX: u8 = 0x03;
const ST: u8 = 0x02;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
const MEM: u8 = 0x60;
const K: u8 = 0x00;
const X: u8 = 0x08;

/// ALU operations (the high nibble of the opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alu {
    Add = 0x00,
    Sub = 0x10,
    Mul = 0x20,
    Div = 0x30,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Neg = 0x80,
    Mod = 0x90,
    Xor = 0xa0,
    Mov = 0xb0,
    Arsh = 0xc0,
}

/// Conditional jumps (the high nibble of the opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
    Ne = 0x50,
    Sgt = 0x60,
    Sge = 0x70,
    Lt = 0xa0,
    Le = 0xb0,
    Slt = 0xc0,
    Sle = 0xd0,
}

/// Load and store sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    W = 0x00,
    H = 0x08,
    B = 0x10,
    DW = 0x18,
}

impl Size {
    /// The size of an access of `bytes` bytes (1, 2, 4 or 8).
    pub fn of(bytes: u32) -> Option<Size> {
        match bytes {
            1 => Some(Size::B),
            2 => Some(Size::H),
            4 => Some(Size::W),
            8 => Some(Size::DW),
            _ => None,
        }
    }
}

/// A jump target, placed later with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// Instructions of one program, with a relocation per map load.
#[derive(Debug, Default)]
pub struct Asm {
    pub insns: Vec<Insn>,
    /// (instruction index, map name) of every `ld_imm64` of a map.
    pub map_relocs: Vec<(usize, String)>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    fn push(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(Insn {
            code,
            dst,
            src,
            off,
            imm,
        });
    }

    pub fn alu_imm(&mut self, op: Alu, dst: u8, imm: i32) {
        self.push(ALU64 | K | op as u8, dst, 0, 0, imm);
    }

    pub fn alu_reg(&mut self, op: Alu, dst: u8, src: u8) {
        self.push(ALU64 | X | op as u8, dst, src, 0, 0);
    }

    pub fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.alu_imm(Alu::Mov, dst, imm);
    }

    pub fn mov(&mut self, dst: u8, src: u8) {
        self.alu_reg(Alu::Mov, dst, src);
    }

    /// `dst = imm` for any 64-bit constant.
    pub fn ld_imm64(&mut self, dst: u8, imm: i64) {
        self.push(0x18, dst, 0, 0, imm as i32);
        self.push(0, 0, 0, 0, (imm >> 32) as i32);
    }

    /// `dst = &map`, resolved by the loader from the ELF relocation.
    pub fn ld_map(&mut self, dst: u8, map: &str) {
        self.map_relocs.push((self.insns.len(), map.to_string()));
        self.ld_imm64(dst, 0);
    }

    pub fn load(&mut self, size: Size, dst: u8, src: u8, off: i16) {
        self.push(LDX | MEM | size as u8, dst, src, off, 0);
    }

    pub fn store(&mut self, size: Size, dst: u8, off: i16, src: u8) {
        self.push(STX | MEM | size as u8, dst, src, off, 0);
    }

    pub fn store_imm(&mut self, size: Size, dst: u8, off: i16, imm: i32) {
        self.push(ST | MEM | size as u8, dst, 0, off, imm);
    }

    /// `*(u64 *)(dst + off) += src`, atomically (BPF_ATOMIC | BPF_ADD).
    pub fn atomic_add(&mut self, dst: u8, off: i16, src: u8) {
        self.push(STX | 0xc0 | Size::DW as u8, dst, src, off, 0);
    }

    /// `*(u32 *)(dst + off) += src`, atomically.
    pub fn atomic_add32(&mut self, dst: u8, off: i16, src: u8) {
        self.push(STX | 0xc0 | Size::W as u8, dst, src, off, 0);
    }

    pub fn call(&mut self, helper: i32) {
        self.push(JMP | 0x80, 0, 0, 0, helper);
    }

    pub fn exit(&mut self) {
        self.push(JMP | 0x90, 0, 0, 0, 0);
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the next instruction.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.0] = Some(self.insns.len());
    }

    pub fn jump(&mut self, to: Label) {
        self.fixups.push((self.insns.len(), to));
        self.push(JMP, 0, 0, 0, 0);
    }

    pub fn jump_imm(&mut self, cond: Cond, dst: u8, imm: i32, to: Label) {
        self.fixups.push((self.insns.len(), to));
        self.push(JMP | K | cond as u8, dst, 0, 0, imm);
    }

    pub fn jump_reg(&mut self, cond: Cond, dst: u8, src: u8, to: Label) {
        self.fixups.push((self.insns.len(), to));
        self.push(JMP | X | cond as u8, dst, src, 0, 0);
    }

    /// Resolves every jump; a label never bound or a jump too far is a bug
    /// of the code generator, reported as a message.
    pub fn finish(mut self) -> Result<Asm, String> {
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0].ok_or("jump to a label that was never placed")?;
            let delta = target as i64 - at as i64 - 1;
            self.insns[at].off =
                i16::try_from(delta).map_err(|_| "program too long for a jump".to_string())?;
        }
        self.fixups.clear();
        Ok(self)
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.insns.len() * 8);
        for insn in &self.insns {
            insn.encode(&mut out);
        }
        out
    }
}

/// Helper function numbers (`enum bpf_func_id`).
pub mod helper {
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    pub const MAP_UPDATE_ELEM: i32 = 2;
    pub const MAP_DELETE_ELEM: i32 = 3;
    pub const KTIME_GET_NS: i32 = 5;
    pub const GET_SMP_PROCESSOR_ID: i32 = 8;
    pub const GET_CURRENT_PID_TGID: i32 = 14;
    pub const GET_CURRENT_UID_GID: i32 = 15;
    pub const GET_CURRENT_COMM: i32 = 16;
    pub const GET_CURRENT_TASK: i32 = 35;
    pub const PROBE_READ_USER: i32 = 112;
    pub const PROBE_READ_USER_STR: i32 = 114;
    pub const PROBE_READ_KERNEL_STR: i32 = 115;
    pub const RINGBUF_RESERVE: i32 = 131;
    pub const RINGBUF_SUBMIT: i32 = 132;
    pub const RINGBUF_DISCARD: i32 = 133;
    pub const GET_ATTACH_COOKIE: i32 = 174;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_jump_skips_the_instructions_between() {
        let mut asm = Asm::default();
        let end = asm.label();
        asm.jump_imm(Cond::Eq, R0, 0, end);
        asm.mov_imm(R0, 1);
        asm.mov_imm(R0, 2);
        asm.bind(end);
        asm.exit();
        let asm = asm.finish().unwrap();
        assert_eq!(asm.insns[0].off, 2);
    }

    #[test]
    fn encoding_matches_the_kernel_layout() {
        let mut asm = Asm::default();
        asm.load(Size::W, R0, CTX, 16);
        let bytes = asm.finish().unwrap().bytes();
        // ldxw r0, [r6+16]: 0x61, dst 0 | src 6 << 4, off 16.
        assert_eq!(bytes, [0x61, 0x60, 16, 0, 0, 0, 0, 0]);
    }
}
