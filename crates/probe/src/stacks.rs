//! `trace -K`/`-U`: the kernel and user stacks of every event, written by
//! `bpf_get_stack` straight into the record (no stack map, so the event
//! carries its own stacks and nothing has to be looked up or cleared
//! later), and read back as frame addresses for the symbolizer.

use crate::insn::{Alu, Asm, CTX, EVENT, R1, R2, R3, R4};

/// Event members holding the stacks.
pub const KERNEL_STACK: &str = "kernel_stack";
pub const USER_STACK: &str = "user_stack";
/// Frames kept per stack.
pub const DEPTH: u32 = 64;
/// Bytes of one stack in the record.
pub const BYTES: u32 = DEPTH * 8;
const GET_STACK: i32 = 67;
const BPF_F_USER_STACK: i32 = 1 << 8;

/// Writes the current kernel (or user) stack into the record at `offset`.
/// The helper zeroes what it does not fill, and the whole buffer when it
/// fails, so the frames are the non-zero addresses before the first zero.
pub fn emit(a: &mut Asm, offset: u32, user: bool) {
    a.mov(R1, CTX);
    a.mov(R2, EVENT);
    a.alu_imm(Alu::Add, R2, offset as i32);
    a.mov_imm(R3, BYTES as i32);
    a.mov_imm(R4, if user { BPF_F_USER_STACK } else { 0 });
    a.call(GET_STACK);
}

/// The frame addresses of a stack member's bytes, innermost first.
pub fn frames(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .take_while(|&ip| ip != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_end_at_the_first_zero() {
        let mut bytes = Vec::new();
        for ip in [0x10u64, 0x20, 0, 0x30] {
            bytes.extend_from_slice(&ip.to_ne_bytes());
        }
        bytes.push(1); // a torn tail is ignored
        assert_eq!(frames(&bytes), [0x10, 0x20]);
        assert!(frames(&[]).is_empty());
    }
}
