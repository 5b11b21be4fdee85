//! `bpfkit prog dump xlated PROG`: a loaded program's instructions as the
//! kernel keeps them after verification, in bpftool's notation, with each
//! function's signature and the source lines from the program's BTF.
//! `prog dump jited PROG` is in prog_jited.rs.

use anyhow::{Context, Result, bail};
use bpfkit_object::disasm::{self, CallNames, Insn};
use bpfkit_sys::XlatedProg;
use serde_json::json;
use std::collections::HashMap;
use std::os::fd::AsFd;

use super::inspect::{JsonArgs, Selector};

/// Prints the xlated or jited code of the one program `selector` names.
pub fn dump(words: &[String], out: JsonArgs) -> Result<()> {
    let jited = match words.first().map(String::as_str) {
        Some("xlated") => false,
        Some("jited") => true,
        Some(other) => bail!("expected 'xlated' or 'jited' after 'prog dump', not '{other}'"),
        None => bail!(
            "'prog dump' needs 'xlated' or 'jited' and a program, e.g. 'prog dump xlated id 42'"
        ),
    };
    let (selector, extra) = Selector::parse(&words[1..], super::prog::SELECTORS)?;
    if let Some(word) = extra.first() {
        bail!("unexpected '{word}' after the program selector");
    }
    let prog = super::prog::one(&selector)?;
    let id = prog.info.id;
    let fd = bpfkit_sys::prog_fd_by_id(id).with_context(|| format!("opening program {id}"))?;
    let btf = match prog.info.btf_id {
        0 => None,
        btf_id => Some(
            super::btf::btf_from_kernel(btf_id)
                .with_context(|| format!("reading the BTF of program {id}"))?,
        ),
    };
    if jited {
        let jited = bpfkit_sys::prog_jited(fd.as_fd())
            .with_context(|| format!("reading the JIT image of program {id}"))?;
        return super::prog_jited::dump(id, &jited, btf.as_ref(), out);
    }
    let xlated = bpfkit_sys::prog_xlated(fd.as_fd())
        .with_context(|| format!("reading the instructions of program {id}"))?;
    if xlated.insns.is_empty() {
        bail!(
            "program {id}: the kernel returned no instructions (reading them needs CAP_SYS_ADMIN)"
        );
    }
    let lines = annotated(&xlated, btf.as_ref());
    if out.is_json() {
        let rows = lines.iter().map(Line::json).collect();
        return out.write(&serde_json::Value::Array(rows));
    }
    let text: String = lines.iter().map(Line::text).collect();
    crate::out::stdout(text)
}

/// One instruction with what bpftool prints above it.
struct Line {
    index: usize,
    /// The signature of the function starting here.
    proto: Option<String>,
    /// The source line starting here (may be empty: objects built
    /// without the source text keep only line numbers).
    src: Option<String>,
    disasm: String,
}

impl Line {
    fn text(&self) -> String {
        let mut text = String::new();
        if let Some(proto) = &self.proto {
            text.push_str(&format!("{proto}:\n"));
        }
        if let Some(src) = &self.src {
            text.push_str(&format!("; {src}\n"));
        }
        // bpftool's "% 4d: ".
        text.push_str(&format!(" {:>3}: {}\n", self.index, self.disasm));
        text
    }

    fn json(&self) -> serde_json::Value {
        let mut row = serde_json::Map::new();
        if let Some(proto) = &self.proto {
            row.insert("proto".into(), json!(proto));
        }
        if let Some(src) = &self.src {
            row.insert("src".into(), json!(src));
        }
        row.insert("disasm".into(), json!(self.disasm));
        serde_json::Value::Object(row)
    }
}

/// Every instruction (the second half of a 64-bit load is not one) with
/// its signature and source line where they start.
fn annotated(xlated: &XlatedProg, btf: Option<&bpfkit_btf::Btf>) -> Vec<Line> {
    let insns = Insn::parse_all(&xlated.insns);
    let symbols = KernelSymbols::for_calls(&insns, &xlated.jited_ksyms);
    let helper = |insn: &Insn| symbols.helper(insn);
    let subprog = |insn: &Insn| symbols.subprog(insn, &xlated.jited_ksyms);
    let names = CallNames {
        helper: &helper,
        subprog: &subprog,
    };
    let mut lines = Vec::with_capacity(insns.len());
    let mut i = 0;
    while i < insns.len() {
        let at = |off: u32| off as usize == i;
        let proto = btf.and_then(|btf| {
            let (_, func) = xlated.funcs.iter().find(|(off, _)| at(*off))?;
            signature(btf, *func)
        });
        let src = btf.and_then(|btf| {
            let line = xlated.lines.iter().find(|l| at(l.insn_off))?;
            Some(ltrim(btf.str_at(line.line_off)).to_string())
        });
        lines.push(Line {
            index: i,
            proto,
            src,
            disasm: disasm::insn_text(&insns, i, &names),
        });
        i += if insns[i].code == disasm::LD_IMM64 {
            2
        } else {
            1
        };
    }
    lines
}

/// A function's C signature from BTF, as bpftool prints it above its code.
pub(super) fn signature(btf: &bpfkit_btf::Btf, func: u32) -> Option<String> {
    disasm::func_signature(btf, func).filter(|s| !s.is_empty())
}

/// C's isspace, as bpftool's ltrim uses.
pub(super) fn ltrim(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
}

/// The kallsyms names of the functions a program calls: a helper or kfunc
/// call's immediate is its address minus `__bpf_call_base`, a bpf-to-bpf
/// call's indexes the program's JITed functions.
struct KernelSymbols {
    call_base: u64,
    names: HashMap<u64, String>,
}

impl KernelSymbols {
    fn for_calls(insns: &[Insn], jited: &[u64]) -> KernelSymbols {
        // Without root, kallsyms shows every address as 0: no names then.
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let call_base = symbols(&text)
            .find(|(_, name)| *name == "__bpf_call_base")
            .map_or(0, |(addr, _)| addr);
        let mut wanted: HashMap<u64, String> = HashMap::new();
        for insn in insns.iter().filter(|i| i.code & 0xf7 == 0x85) {
            let addr = match jited.get(insn.imm as u32 as usize) {
                Some(&addr) if insn.src == disasm::PSEUDO_CALL => addr,
                _ => call_base.wrapping_add_signed(i64::from(insn.imm)),
            };
            wanted.insert(addr, String::new());
        }
        if call_base != 0 {
            for (addr, name) in symbols(&text) {
                if let Some(slot) = wanted.get_mut(&addr).filter(|s| s.is_empty()) {
                    *slot = name.to_string();
                }
            }
        }
        wanted.retain(|_, name| !name.is_empty());
        KernelSymbols {
            call_base,
            names: wanted,
        }
    }

    /// bpftool's `print_call_helper`: the symbol, else the address.
    fn helper(&self, insn: &Insn) -> String {
        let addr = self.call_base.wrapping_add_signed(i64::from(insn.imm));
        self.names
            .get(&addr)
            .cloned()
            .unwrap_or_else(|| format!("{addr:#x}"))
    }

    /// bpftool's `print_call_pcrel`: the relative target (kept in `off`
    /// once the verifier has put the function's index in `imm`), and the
    /// JITed function's symbol.
    fn subprog(&self, insn: &Insn, jited: &[u64]) -> String {
        if jited.is_empty() {
            return format!("{:+}", insn.off);
        }
        let addr = match jited.get(insn.imm as u32 as usize) {
            Some(&addr) => addr,
            None => self.call_base.wrapping_add_signed(i64::from(insn.imm)),
        };
        match self.names.get(&addr) {
            Some(name) => format!("{:+}#{name}", insn.off),
            None => format!("{:+}#{addr:#x}", insn.off),
        }
    }
}

/// `(address, name)` of each /proc/kallsyms line (`ADDR TYPE NAME [MOD]`).
pub(super) fn symbols(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.lines().filter_map(|line| {
        let mut words = line.split_ascii_whitespace();
        let addr = u64::from_str_radix(words.next()?, 16).ok()?;
        let name = words.nth(1)?;
        Some((addr, name))
    })
}
