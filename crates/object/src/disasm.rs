//! BPF instructions as text, in the kernel's notation (kernel/bpf/disasm.c,
//! which `bpftool prog dump xlated` and the verifier log print), and
//! function signatures as bpftool writes them above each function.
//!
//! The kernel's current spelling is used for the instructions newer than
//! bpftool 7.1 (signed division, sign-extending moves and loads, `bswap`,
//! `gotol`, address-space casts and the verifier's per-CPU address move).

use bpfkit_btf::types::{Kind, Linkage};
use bpfkit_btf::{Btf, TypeId};

/// One 8-byte instruction, fields as `struct bpf_insn` has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

/// `BPF_LD | BPF_IMM | BPF_DW`: the first half of a 16-byte load.
pub const LD_IMM64: u8 = 0x18;
/// `src_reg` of a bpf-to-bpf call.
pub const PSEUDO_CALL: u8 = 1;

const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;
const PSEUDO_FUNC: u8 = 4;
const PSEUDO_MAP_IDX_VALUE: u8 = 6;

impl Insn {
    /// Little-endian instruction bytes (what the kernel and x86 use); a
    /// trailing partial instruction is ignored.
    pub fn parse_all(bytes: &[u8]) -> Vec<Insn> {
        bytes
            .chunks_exact(8)
            .map(|b| Insn {
                code: b[0],
                dst: b[1] & 0x0f,
                src: b[1] >> 4,
                off: i16::from_le_bytes([b[2], b[3]]),
                imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            })
            .collect()
    }

    fn class(self) -> u8 {
        self.code & 0x07
    }
    fn op(self) -> u8 {
        self.code & 0xf0
    }
    fn mode(self) -> u8 {
        self.code & 0xe0
    }
    fn size_name(self) -> &'static str {
        ["u32", "u16", "u8", "u64"][usize::from((self.code >> 3) & 3)]
    }
    fn uses_reg_source(self) -> bool {
        self.code & 0x08 != 0
    }
}

/// How calls are named: `helper` gets a helper or kfunc call and returns
/// its name (bpftool: the kallsyms symbol at `__bpf_call_base + imm`, else
/// the address in hex); `subprog` gets a bpf-to-bpf call and returns what
/// follows `call pc` (`+5`, or `+5#bpf_prog_<tag>_<name>` when JITed).
pub struct CallNames<'a> {
    pub helper: &'a dyn Fn(&Insn) -> String,
    pub subprog: &'a dyn Fn(&Insn) -> String,
}

/// Instruction `insns[i]` as bpftool's xlated dump prints it (without the
/// index): `(bf) r6 = r1`. A 64-bit load reads its upper half from
/// `insns[i + 1]` (zero when missing).
pub fn insn_text(insns: &[Insn], i: usize, names: &CallNames) -> String {
    let Some(&insn) = insns.get(i) else {
        return String::new();
    };
    let code = insn.code;
    let body = match insn.class() {
        0x04 | 0x07 => alu(insn),
        0x03 => stx(insn),
        0x02 => st(insn),
        0x01 => ldx(insn),
        0x00 => return ld(insn, insns.get(i + 1).copied()),
        0x05 | 0x06 => return jmp(insn, names),
        _ => unreachable!("the class is three bits"),
    };
    match body {
        Some(text) => format!("({code:02x}) {text}"),
        None => format!("BUG_{code:02x}"),
    }
}

fn reg(class_is_32: bool, n: u8) -> String {
    format!("{}{n}", if class_is_32 { 'w' } else { 'r' })
}

fn alu_op(op: u8, signed: bool) -> &'static str {
    match (op >> 4, signed) {
        (0x3, true) => "s/=",
        (0x9, true) => "s%=",
        (0x0, _) => "+=",
        (0x1, _) => "-=",
        (0x2, _) => "*=",
        (0x3, _) => "/=",
        (0x4, _) => "|=",
        (0x5, _) => "&=",
        (0x6, _) => "<<=",
        (0x7, _) => ">>=",
        (0x8, _) => "neg",
        (0x9, _) => "%=",
        (0xa, _) => "^=",
        (0xb, _) => "=",
        (0xc, _) => "s>>=",
        (0xd, _) => "endian",
        _ => "",
    }
}

fn alu(insn: Insn) -> Option<String> {
    let w = insn.class() == 0x04;
    let dst = reg(w, insn.dst);
    let op = insn.op();
    let mov_x64 = insn.code == 0xbf;
    Some(match op {
        0xd0 if !w => format!("{dst} = bswap{} {dst}", insn.imm),
        0xd0 => format!(
            "r{0} = {1}{2} r{0}",
            insn.dst,
            if insn.uses_reg_source() { "be" } else { "le" },
            insn.imm
        ),
        0x80 => format!("{dst} = -{dst}"),
        _ if mov_x64 && insn.off == 1 => format!(
            "r{} = addr_space_cast(r{}, {}, {})",
            insn.dst,
            insn.src,
            (insn.imm as u32) >> 16,
            insn.imm as u16
        ),
        _ if mov_x64 && insn.off == -1 => {
            format!("r{} = &(void __percpu *)(r{})", insn.dst, insn.src)
        }
        _ if insn.uses_reg_source() => {
            let signed = matches!(op, 0x30 | 0x90) && insn.off == 1;
            let sign_extend = match (op, insn.off) {
                (0xb0, 8) => "(s8)",
                (0xb0, 16) => "(s16)",
                (0xb0, 32) => "(s32)",
                _ => "",
            };
            format!(
                "{dst} {} {sign_extend}{}",
                alu_op(op, signed),
                reg(w, insn.src)
            )
        }
        _ => {
            let signed = matches!(op, 0x30 | 0x90) && insn.off == 1;
            format!("{dst} {} {}", alu_op(op, signed), insn.imm)
        }
    })
}

fn atomic_name(op: i32) -> Option<&'static str> {
    Some(match op & 0xf0 {
        0x00 => "add",
        0x40 => "or",
        0x50 => "and",
        0xa0 => "xor",
        _ => return None,
    })
}

fn stx(insn: Insn) -> Option<String> {
    let size = insn.size_name();
    let (d, s, off) = (insn.dst, insn.src, insn.off);
    let bits = if insn.code & 0x18 == 0x18 { "64" } else { "" };
    const FETCH: i32 = 0x01;
    const XCHG: i32 = 0xe0 | FETCH;
    const CMPXCHG: i32 = 0xf0 | FETCH;
    match insn.mode() {
        0x60 => Some(format!("*({size} *)(r{d} {off:+}) = r{s}")),
        0xc0 => match insn.imm {
            XCHG => Some(format!(
                "r{s} = atomic{bits}_xchg(({size} *)(r{d} {off:+}), r{s})"
            )),
            CMPXCHG => Some(format!(
                "r0 = atomic{bits}_cmpxchg(({size} *)(r{d} {off:+}), r0, r{s})"
            )),
            imm if imm & !0xf0 == 0 => {
                atomic_name(imm)?;
                Some(format!(
                    "lock *({size} *)(r{d} {off:+}) {} r{s}",
                    alu_op((imm & 0xf0) as u8, false)
                ))
            }
            imm if imm & !0xf0 == FETCH => Some(format!(
                "r{s} = atomic{bits}_fetch_{}(({size} *)(r{d} {off:+}), r{s})",
                atomic_name(imm)?
            )),
            _ => None,
        },
        _ => None,
    }
}

fn st(insn: Insn) -> Option<String> {
    match insn.mode() {
        0x60 => Some(format!(
            "*({} *)(r{} {:+}) = {}",
            insn.size_name(),
            insn.dst,
            insn.off,
            insn.imm
        )),
        // BPF_NOSPEC, the verifier's speculation barrier (no uapi name).
        0xc0 => Some("nospec".into()),
        _ => None,
    }
}

fn ldx(insn: Insn) -> Option<String> {
    let (d, s, off) = (insn.dst, insn.src, insn.off);
    match insn.mode() {
        0x60 => Some(format!("r{d} = *({} *)(r{s} {off:+})", insn.size_name())),
        // BPF_MEMSX: sign-extending load.
        0x80 => {
            let bits = ["s32", "s16", "s8", "s64"][usize::from((insn.code >> 3) & 3)];
            Some(format!("r{d} = *({bits} *)(r{s} {off:+})"))
        }
        _ => None,
    }
}

fn ld(insn: Insn, next: Option<Insn>) -> String {
    let code = insn.code;
    let size = insn.size_name();
    match insn.mode() {
        0x20 => format!("({code:02x}) r0 = *({size} *)skb[{}]", insn.imm),
        0x40 => format!(
            "({code:02x}) r0 = *({size} *)skb[r{} + {}]",
            insn.src, insn.imm
        ),
        0x00 if code == LD_IMM64 => {
            let high = next.map_or(0, |n| n.imm);
            let value = match insn.src {
                PSEUDO_MAP_FD => format!("map[id:{}]", insn.imm as u32),
                PSEUDO_MAP_VALUE => format!("map[id:{}][0]+{}", insn.imm as u32, high as u32),
                PSEUDO_MAP_IDX_VALUE => format!("map[idx:{}]+{}", insn.imm as u32, high as u32),
                PSEUDO_FUNC => format!("subprog[{:+}]", insn.imm),
                // Plain constants; bpftool prints PSEUDO_BTF_ID and
                // PSEUDO_MAP_IDX (gone after loading) as the raw value too.
                _ => {
                    let full = (u64::from(high as u32) << 32) | u64::from(insn.imm as u32);
                    format!("{full:#x}")
                }
            };
            format!("({code:02x}) r{} = {value}", insn.dst)
        }
        _ => format!("BUG_ld_{code:02x}"),
    }
}

fn jmp_op(op: u8) -> &'static str {
    match op >> 4 {
        0x1 => "==",
        0x2 => ">",
        0x3 => ">=",
        0x4 => "&",
        0x5 => "!=",
        0x6 => "s>",
        0x7 => "s>=",
        0xa => "<",
        0xb => "<=",
        0xc => "s<",
        0xd => "s<=",
        _ => "",
    }
}

fn jmp(insn: Insn, names: &CallNames) -> String {
    let code = insn.code;
    let w = insn.class() == 0x06;
    match insn.op() {
        0x80 if insn.src == PSEUDO_CALL => {
            format!("({code:02x}) call pc{}", (names.subprog)(&insn))
        }
        0x80 => format!("({code:02x}) call {}#{}", (names.helper)(&insn), insn.imm),
        0x00 if w => format!("({code:02x}) gotol pc{:+}", insn.imm),
        0x00 => format!("({code:02x}) goto pc{:+}", insn.off),
        0x90 => format!("({code:02x}) exit"),
        op if insn.uses_reg_source() => format!(
            "({code:02x}) if {} {} {} goto pc{:+}",
            reg(w, insn.dst),
            jmp_op(op),
            reg(w, insn.src),
            insn.off
        ),
        op => format!(
            "({code:02x}) if {} {} {:#x} goto pc{:+}",
            reg(w, insn.dst),
            jmp_op(op),
            insn.imm as u32,
            insn.off
        ),
    }
}

/// A function's signature as bpftool prints it above the function in a
/// dump (`int count_kill(struct syscall_enter * ctx)`), from its BTF FUNC
/// type; `None` for types bpftool cannot print that way.
pub fn func_signature(btf: &Btf, func: TypeId) -> Option<String> {
    let mut out = String::new();
    type_only(btf, func, &mut out, 0)?;
    Some(out)
}

/// bpftool's `__btf_dumper_type_only`: a type name with its trailing
/// space, pointers as `* `, for prototypes. `depth` bounds malformed
/// reference loops (which `Btf::parse` already rejects).
fn type_only(btf: &Btf, id: TypeId, out: &mut String, depth: u32) -> Option<()> {
    if depth > 64 {
        return None;
    }
    if id == 0 {
        out.push_str("void ");
        return Some(());
    }
    let ty = btf.get(id)?;
    let name = btf.str_at(ty.name_off);
    let next = depth + 1;
    match &ty.kind {
        Kind::Int(_) | Kind::Typedef(_) | Kind::Float { .. } => out.push_str(&format!("{name} ")),
        Kind::Struct(_) => out.push_str(&format!("struct {name} ")),
        Kind::Union(_) => out.push_str(&format!("union {name} ")),
        Kind::Enum(_) => out.push_str(&format!("enum {name} ")),
        Kind::Array(array) => {
            type_only(btf, array.elem, out, next)?;
            out.push_str(&format!("[{}]", array.len));
        }
        Kind::Ptr(to) => {
            type_only(btf, *to, out, next)?;
            out.push_str("* ");
        }
        Kind::Fwd { is_union } => {
            let what = if *is_union { "union" } else { "struct" };
            out.push_str(&format!("{what} {name} "));
        }
        Kind::Volatile(to) | Kind::Const(to) | Kind::Restrict(to) => {
            out.push_str(match ty.kind {
                Kind::Volatile(_) => "volatile ",
                Kind::Const(_) => "const ",
                _ => "restrict ",
            });
            type_only(btf, *to, out, next)?;
        }
        Kind::FuncProto(_) => prototype(btf, id, None, out, next)?,
        Kind::Func { proto, .. } => prototype(btf, *proto, Some(name), out, next)?,
        Kind::Var { ty, linkage } => {
            if *linkage == Linkage::Static {
                out.push_str("static ");
            }
            type_only(btf, *ty, out, next)?;
            out.push_str(&format!(" {name}"));
        }
        Kind::Datasec(_) => out.push_str(&format!("section (\"{name}\") ")),
        Kind::Void | Kind::TypeTag(_) | Kind::DeclTag { .. } => return None,
    }
    Some(())
}

/// bpftool's `btf_dump_func`: `ret name(type name, type name)`.
fn prototype(
    btf: &Btf,
    proto: TypeId,
    name: Option<&str>,
    out: &mut String,
    depth: u32,
) -> Option<()> {
    let Kind::FuncProto(proto) = &btf.get(proto)?.kind else {
        return None;
    };
    type_only(btf, proto.ret, out, depth)?;
    out.push_str(name.unwrap_or(""));
    out.push('(');
    for (i, param) in proto.params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if param.ty == 0 {
            out.push_str("...");
            continue;
        }
        type_only(btf, param.ty, out, depth)?;
        if param.name_off != 0 {
            out.push_str(btf.str_at(param.name_off));
        } else if out.ends_with(' ') {
            // An unnamed parameter: no space before the comma.
            out.pop();
        }
    }
    out.push(')');
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    fn text(insns: &[Insn]) -> String {
        let names = CallNames {
            helper: &|i: &Insn| format!("helper{}", i.imm),
            subprog: &|i: &Insn| format!("{:+}", i.imm),
        };
        insn_text(insns, 0, &names)
    }

    /// Expected texts are the kernel's disasm.c output (bpftool 7.1 for
    /// the instructions it knows, the kernel's own for newer ones).
    #[test]
    fn kernel_notation() {
        for (insn, expected) in [
            (insn(0xbf, 6, 1, 0, 0), "(bf) r6 = r1"),
            (insn(0xb4, 1, 0, 0, 0), "(b4) w1 = 0"),
            (insn(0x07, 2, 0, 0, -4), "(07) r2 += -4"),
            (insn(0x77, 0, 0, 0, 32), "(77) r0 >>= 32"),
            (insn(0x87, 3, 0, 0, 0), "(87) r3 = -r3"),
            (insn(0xdc, 1, 0, 0, 16), "(dc) r1 = be16 r1"),
            (insn(0xd4, 1, 0, 0, 64), "(d4) r1 = le64 r1"),
            (insn(0xd7, 1, 0, 0, 32), "(d7) r1 = bswap32 r1"),
            (insn(0x3f, 1, 2, 1, 0), "(3f) r1 s/= r2"),
            (insn(0xbf, 1, 2, 8, 0), "(bf) r1 = (s8)r2"),
            (insn(0xbf, 0, 0, -1, 0), "(bf) r0 = &(void __percpu *)(r0)"),
            (insn(0x5e, 1, 0, 45, 0), "(5e) if w1 != w0 goto pc+45"),
            (insn(0x15, 0, 0, 1, 0), "(15) if r0 == 0x0 goto pc+1"),
            (
                insn(0xa5, 0, 0, -3, -1),
                "(a5) if r0 < 0xffffffff goto pc-3",
            ),
            (insn(0x05, 0, 0, 8, 0), "(05) goto pc+8"),
            (insn(0x06, 0, 0, 0, 70000), "(06) gotol pc+70000"),
            (insn(0x95, 0, 0, 0, 0), "(95) exit"),
            (insn(0x85, 0, 0, 0, 14), "(85) call helper14#14"),
            (insn(0x85, 0, 1, 0, 7), "(85) call pc+7"),
            (insn(0x61, 1, 1, 0, 0), "(61) r1 = *(u32 *)(r1 +0)"),
            (insn(0x79, 1, 6, 24, 0), "(79) r1 = *(u64 *)(r6 +24)"),
            (insn(0x91, 1, 6, -2, 0), "(91) r1 = *(s8 *)(r6 -2)"),
            (insn(0x63, 10, 1, -4, 0), "(63) *(u32 *)(r10 -4) = r1"),
            (insn(0x62, 10, 0, -8, 7), "(62) *(u32 *)(r10 -8) = 7"),
            (insn(0xdb, 0, 6, 0, 0), "(db) lock *(u64 *)(r0 +0) += r6"),
            (
                insn(0xdb, 1, 2, 8, 0x01),
                "(db) r2 = atomic64_fetch_add((u64 *)(r1 +8), r2)",
            ),
            (
                insn(0xc3, 1, 2, 0, 0xf1),
                "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)",
            ),
            (insn(0xdb, 1, 2, 0, 0x33), "BUG_db"),
        ] {
            assert_eq!(text(&[insn]), expected, "{insn:?}");
        }
    }

    #[test]
    fn wide_loads_name_maps() {
        let pair = |src, imm, high| [insn(0x18, 1, src, 0, imm), insn(0, 0, 0, 0, high)];
        assert_eq!(text(&pair(1, 72787, 0)), "(18) r1 = map[id:72787]");
        assert_eq!(text(&pair(2, 5, 16)), "(18) r1 = map[id:5][0]+16");
        assert_eq!(text(&pair(0, -1, 1)), "(18) r1 = 0x1ffffffff");
        // A truncated program: no upper half.
        assert_eq!(text(&pair(0, 2, 0)[..1]), "(18) r1 = 0x2");
    }

    #[test]
    fn signatures() {
        use bpfkit_btf::encode::BtfBuilder;
        use bpfkit_btf::types::{Composite, FuncProto, Int, Member, Param, Type};
        let mut b = BtfBuilder::new();
        let add = |b: &mut BtfBuilder, name: &str, kind: Kind| {
            let name_off = if name.is_empty() {
                0
            } else {
                b.add_string(name)
            };
            b.add_type(Type { name_off, kind })
        };
        let int = |size, bits| {
            Kind::Int(Int {
                size,
                signed: true,
                char: false,
                bool: false,
                offset: 0,
                bits,
            })
        };
        let int_id = add(&mut b, "int", int(4, 32));
        let a = b.add_string("a");
        let s = add(
            &mut b,
            "s",
            Kind::Struct(Composite {
                size: 4,
                kind_flag: false,
                members: vec![Member {
                    name_off: a,
                    ty: int_id,
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            }),
        );
        let ps = add(&mut b, "", Kind::Ptr(s));
        let ch = add(&mut b, "char", int(1, 8));
        let cc = add(&mut b, "", Kind::Const(ch));
        let pc = add(&mut b, "", Kind::Ptr(cc));
        let ctx = b.add_string("ctx");
        let param = |name_off, ty| Param { name_off, ty };
        let proto = add(
            &mut b,
            "",
            Kind::FuncProto(FuncProto {
                ret: int_id,
                params: vec![param(ctx, ps), param(0, pc), param(0, 0)],
            }),
        );
        let f = add(
            &mut b,
            "f",
            Kind::Func {
                proto,
                linkage: Linkage::Global,
            },
        );
        let btf = b.build().unwrap();
        // An unnamed parameter loses the space after its type, as in bpftool.
        assert_eq!(
            func_signature(&btf, f).unwrap(),
            "int f(struct s * ctx, const char *, ...)"
        );
    }
}
