//! `bpfkit prog dump jited PROG`: a loaded program's x86-64 machine code as
//! the JIT left it, disassembled (iced-x86, AT&T syntax as bpftool's
//! libbfd build prints it), each function under its signature and kernel
//! symbol, with the source lines from the program's BTF line info where
//! their code starts. Call targets are named through /proc/kallsyms.

use anyhow::{Result, bail};
use bpfkit_sys::JitedProg;
use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, SymbolResolver, SymbolResult};
use serde_json::json;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use super::inspect::JsonArgs;

/// One machine instruction with what is printed above it.
struct Line {
    /// The signature of the function starting here, from BTF.
    proto: Option<String>,
    /// The kernel symbol of the function starting here.
    symbol: Option<String>,
    /// The source lines whose code starts here.
    src: Vec<String>,
    /// Offset from the start of the function.
    pc: u64,
    disasm: String,
}

impl Line {
    fn text(&self) -> String {
        let mut text = String::new();
        if let Some(proto) = &self.proto {
            text.push_str(&format!("{proto}:\n"));
        }
        if let Some(symbol) = &self.symbol {
            text.push_str(&format!("{symbol}:\n"));
        }
        for src in &self.src {
            text.push_str(&format!("; {src}\n"));
        }
        // bpftool's "%4x:\t".
        text.push_str(&format!("{:>4x}:\t{}\n", self.pc, self.disasm));
        text
    }

    fn json(&self) -> serde_json::Value {
        let mut row = serde_json::Map::new();
        if let Some(proto) = &self.proto {
            row.insert("proto".into(), json!(proto));
        }
        if let Some(symbol) = &self.symbol {
            row.insert("symbol".into(), json!(symbol));
        }
        if !self.src.is_empty() {
            row.insert("src".into(), json!(self.src));
        }
        row.insert("pc".into(), json!(format!("{:#x}", self.pc)));
        row.insert("disasm".into(), json!(self.disasm));
        serde_json::Value::Object(row)
    }
}

/// Prints the disassembled JIT image of program `id`.
pub fn dump(
    id: u32,
    jited: &JitedProg,
    btf: Option<&bpfkit_btf::Btf>,
    out: JsonArgs,
) -> Result<()> {
    if jited.image.is_empty() {
        bail!(
            "program {id}: the kernel returned no JIT image (the program is not JITed, \
             or reading it needs CAP_SYS_ADMIN)"
        );
    }
    if !cfg!(target_arch = "x86_64") {
        bail!("program {id}: bpfkit disassembles x86-64 JIT images only");
    }
    let symbols = KernelSymbols::read();
    let lines = disassemble(jited, btf, &symbols);
    if out.is_json() {
        let rows = lines.iter().map(Line::json).collect();
        return out.write(&serde_json::Value::Array(rows));
    }
    let text: String = lines.iter().map(Line::text).collect();
    crate::out::stdout(text)
}

/// The image's functions (one alone when the kernel gives no lengths),
/// each `(kernel address, its bytes)`.
fn functions(jited: &JitedProg) -> Vec<(u64, &[u8])> {
    if jited.func_lens.is_empty() || jited.func_lens.len() != jited.ksyms.len() {
        let start = jited.ksyms.first().copied().unwrap_or(0);
        return vec![(start, &jited.image[..])];
    }
    let mut funcs = Vec::with_capacity(jited.ksyms.len());
    let mut offset = 0usize;
    for (&addr, &len) in jited.ksyms.iter().zip(&jited.func_lens) {
        let end = offset.saturating_add(len as usize).min(jited.image.len());
        funcs.push((addr, &jited.image[offset..end]));
        offset = end;
    }
    funcs
}

fn disassemble(
    jited: &JitedProg,
    btf: Option<&bpfkit_btf::Btf>,
    symbols: &KernelSymbols,
) -> Vec<Line> {
    let mut formatter = GasFormatter::with_options(Some(Box::new(symbols.clone())), None);
    formatter.options_mut().set_uppercase_hex(false);
    let mut lines = Vec::new();
    for (index, (start, code)) in functions(jited).into_iter().enumerate() {
        symbols.set_function(start, code.len());
        let proto = btf.and_then(|btf| {
            let (_, func) = jited.funcs.get(index)?;
            super::prog_dump::signature(btf, *func)
        });
        let mut header = (proto, symbols.name_at(start));
        let mut decoder = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
        for insn in &mut decoder {
            let mut disasm = String::new();
            formatter.format(&insn, &mut disasm);
            let (proto, symbol) = std::mem::take(&mut header);
            lines.push(Line {
                proto,
                symbol,
                src: source_lines_at(jited, btf, insn.ip()),
                pc: insn.ip() - start,
                disasm,
            });
        }
    }
    lines
}

/// The source text of every line record whose code starts at `addr`.
fn source_lines_at(jited: &JitedProg, btf: Option<&bpfkit_btf::Btf>, addr: u64) -> Vec<String> {
    let Some(btf) = btf else {
        return Vec::new();
    };
    let mut texts: Vec<String> = Vec::new();
    for (line, _) in jited
        .lines
        .iter()
        .zip(&jited.line_addrs)
        .filter(|(_, at)| **at == addr)
    {
        let text = super::prog_dump::ltrim(btf.str_at(line.line_off)).to_string();
        if !text.is_empty() && texts.last() != Some(&text) {
            texts.push(text);
        }
    }
    texts
}

/// Kernel symbols by address, for naming functions and call targets; a
/// jump inside the function being disassembled shows its offset from the
/// function's start, as the left column does.
#[derive(Clone, Default)]
struct KernelSymbols {
    names: Rc<HashMap<u64, String>>,
    /// `(start, length)` of the function being disassembled.
    function: Rc<Cell<(u64, usize)>>,
}

impl KernelSymbols {
    /// Every /proc/kallsyms symbol; none without root (addresses read 0).
    fn read() -> KernelSymbols {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let names = super::prog_dump::symbols(&text)
            .filter(|(addr, _)| *addr != 0)
            .map(|(addr, name)| (addr, name.to_string()))
            .collect();
        KernelSymbols {
            names: Rc::new(names),
            function: Rc::default(),
        }
    }

    fn set_function(&self, start: u64, len: usize) {
        self.function.set((start, len));
    }

    fn name_at(&self, addr: u64) -> Option<String> {
        self.names.get(&addr).cloned()
    }
}

impl SymbolResolver for KernelSymbols {
    fn symbol(
        &mut self,
        _instruction: &iced_x86::Instruction,
        _operand: u32,
        _instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<SymbolResult<'_>> {
        let (start, len) = self.function.get();
        let offset = address.wrapping_sub(start);
        if offset != 0 && offset < len as u64 {
            return Some(SymbolResult::with_string(address, format!("{offset:#x}")));
        }
        let name = self.names.get(&address)?;
        Some(SymbolResult::with_str(address, name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_split_the_image_by_length_and_lines_land_on_their_address() {
        // push %rbp; mov %rsp,%rbp; je +0 (to leave); leave; ret |
        // xor %eax,%eax; ret
        let image = vec![
            0x55, 0x48, 0x89, 0xe5, 0x74, 0x00, 0xc9, 0xc3, 0x31, 0xc0, 0xc3,
        ];
        let jited = JitedProg {
            image,
            ksyms: vec![0x1000, 0x2000],
            func_lens: vec![8, 3],
            ..JitedProg::default()
        };
        let mut names = HashMap::new();
        names.insert(0x2000, "bpf_prog_00_sub".to_string());
        let symbols = KernelSymbols {
            names: Rc::new(names),
            function: Rc::default(),
        };
        let lines = disassemble(&jited, None, &symbols);
        let text: Vec<String> = lines.iter().map(Line::text).collect();
        assert_eq!(
            text,
            [
                "   0:\tpush %rbp\n",
                "   1:\tmov %rsp,%rbp\n",
                "   4:\tje 0x6\n",
                "   6:\tleave\n",
                "   7:\tret\n",
                "bpf_prog_00_sub:\n   0:\txor %eax,%eax\n",
                "   2:\tret\n",
            ]
        );
    }
}
