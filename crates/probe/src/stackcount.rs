//! `stackcount PATTERN`: for every hit of the matching tracepoints, the
//! kernel and/or user stack ([`Stacks`]) is counted per process; the CLI's
//! stack output symbolizes and folds them as for profile.

use crate::elf::{self, MapDecl, ProgramCode};
use crate::insn::{Alu, Asm, CTX, Cond, FP, R0, R1, R2, R3, Size, helper};
use bpfkit_btf::encode::BtfBuilder;
use bpfkit_btf::{Array, Composite, Kind, Member};

pub const COUNTS_MAP: &str = "counts";
pub const STACKS_MAP: &str = "stacks";
const HASH: u32 = 1;
const STACK_TRACE: u32 = 7;
const MAX_KEYS: u32 = 10240;
const STACK_ENTRIES: u32 = 16384;
const STACK_DEPTH: u32 = 127;
const GET_STACKID: i32 = 27;
const BPF_F_USER_STACK: i32 = 1 << 8;
/// `struct key { u32 pid; s32 kernel_stack; s32 user_stack; char comm[16]; }`
/// at fp-32.
const KEY: i16 = -32;
const COMM_LEN: u32 = 16;

/// Which stacks each hit records (bcc: both by default, `-K` or `-U` one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stacks {
    pub kernel: bool,
    pub user: bool,
}

/// The object counting stacks at `targets` (from `funccount::expand`).
pub fn build(
    targets: &[crate::funccount::CountTarget],
    only: crate::funccount::Only,
    stacks: Stacks,
) -> Vec<u8> {
    let mut btf = BtfBuilder::new();
    let int = elf::int;
    let u32_ty = int(&mut btf, "unsigned int", 4, false);
    let s32_ty = int(&mut btf, "int", 4, true);
    let char_ty = int(&mut btf, "char", 1, true);
    let comm = btf.add_type(bpfkit_btf::Type {
        name_off: 0,
        kind: Kind::Array(Array {
            elem: char_ty,
            index: u32_ty,
            len: COMM_LEN,
        }),
    });
    let members = [
        ("pid", u32_ty, 0),
        ("kernel_stack", s32_ty, 4),
        ("user_stack", s32_ty, 8),
        ("comm", comm, 12),
    ]
    .into_iter()
    .map(|(name, ty, offset)| Member {
        name_off: btf.add_string(name),
        ty,
        bit_offset: offset * 8,
        bitfield_size: 0,
    })
    .collect();
    let key = elf::named(
        &mut btf,
        "key",
        Kind::Struct(Composite {
            size: 28,
            kind_flag: false,
            members,
        }),
    );
    let count = crate::funccount::count_type(&mut btf);
    let maps = [
        MapDecl {
            name: COUNTS_MAP.into(),
            map_type: HASH,
            max_entries: MAX_KEYS,
            key: Some(key),
            value: Some(count),
            sizes: None,
        },
        MapDecl {
            name: STACKS_MAP.into(),
            map_type: STACK_TRACE,
            max_entries: STACK_ENTRIES,
            key: None,
            value: None,
            sizes: Some((4, STACK_DEPTH * 8)),
        },
    ];
    let programs: Vec<ProgramCode> = targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let asm = program(only, stacks);
            ProgramCode {
                name: format!("stack_{i}"),
                section: target.section.clone(),
                code: asm.bytes(),
                map_relocs: asm.map_relocs,
            }
        })
        .collect();
    elf::write(&programs, &maps, btf)
}

fn program(only: crate::funccount::Only, stacks: Stacks) -> Asm {
    let mut a = Asm::default();
    let out = a.label();
    a.mov(CTX, R1);
    crate::funccount::only_cpu(&mut a, only.cpu, out);
    a.call(helper::GET_CURRENT_PID_TGID);
    a.alu_imm(Alu::Rsh, R0, 32);
    if let Some(pid) = only.pid {
        a.jump_imm(Cond::Ne, R0, pid as i32, out);
    }
    a.store(Size::W, FP, KEY, R0);
    // A stack not asked for is -1, as a failed bpf_get_stackid.
    if stacks.kernel {
        stack_id(&mut a, 0, KEY + 4);
    } else {
        a.store_imm(Size::W, FP, KEY + 4, -1);
    }
    if stacks.user {
        stack_id(&mut a, BPF_F_USER_STACK, KEY + 8);
    } else {
        a.store_imm(Size::W, FP, KEY + 8, -1);
    }
    // The comm is part of the key: zero it first (get_current_comm writes
    // up to the NUL only on some kernels).
    for word in 0..4 {
        a.store_imm(Size::W, FP, KEY + 12 + 4 * word, 0);
    }
    a.mov(R1, FP);
    a.alu_imm(Alu::Add, R1, (KEY + 12) as i32);
    a.mov_imm(R2, COMM_LEN as i32);
    a.call(helper::GET_CURRENT_COMM);
    crate::funccount::add_one(&mut a, COUNTS_MAP, KEY, out);
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish().expect("fixed control flow")
}

/// `*(s32 *)(fp + at) = bpf_get_stackid(ctx, &stacks, flags)`.
fn stack_id(a: &mut Asm, flags: i32, at: i16) {
    a.mov(R1, CTX);
    a.ld_map(R2, STACKS_MAP);
    a.mov_imm(R3, flags);
    a.call(GET_STACKID);
    a.store(Size::W, FP, at, R0);
}
