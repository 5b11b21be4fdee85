//! `.BTF.ext`: per-section function info, line info and CO-RE relocation
//! records. Strings (section and file names, source lines, access strings)
//! live in the string section of the matching `.BTF`.

use crate::parse::{Reader, detect_endianness};
use crate::{Btf, Error, Result, TypeId};

#[derive(Debug, Default)]
pub struct BtfExt {
    pub func_info: Vec<SectionRecords<FuncInfo>>,
    pub line_info: Vec<SectionRecords<LineInfo>>,
    pub core_relos: Vec<SectionRecords<CoreRelo>>,
}

/// The records of one ELF section (a program's code section).
#[derive(Debug)]
pub struct SectionRecords<T> {
    pub section: String,
    pub records: Vec<T>,
}

#[derive(Debug, Clone, Copy)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction in its section.
    pub insn_off: u32,
    pub type_id: TypeId,
}

#[derive(Debug, Clone)]
pub struct LineInfo {
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    pub file: String,
    /// The source text of the line, as clang recorded it.
    pub source: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone)]
pub struct CoreRelo {
    pub insn_off: u32,
    pub type_id: TypeId,
    pub access: String,
    pub kind: u32,
}

impl BtfExt {
    pub fn parse(data: &[u8], btf: &Btf) -> Result<BtfExt> {
        let big_endian = detect_endianness(data)?;
        let mut r = Reader::new(data, big_endian);
        let _magic = r.u16("BTF.ext magic")?;
        let version = r.u8("BTF.ext version")?;
        if version != 1 {
            return Err(Error::Unsupported(format!("BTF.ext version {version}")));
        }
        let _flags = r.u8("BTF.ext flags")?;
        let hdr_len = r.u32("BTF.ext hdr_len")?;
        if hdr_len < 24 {
            return Err(Error::Invalid(format!(
                "BTF.ext header length {hdr_len} < 24"
            )));
        }
        let func = (r.u32("func_info_off")?, r.u32("func_info_len")?);
        let line = (r.u32("line_info_off")?, r.u32("line_info_len")?);
        let core = if hdr_len >= 32 {
            (r.u32("core_relo_off")?, r.u32("core_relo_len")?)
        } else {
            (0, 0)
        };
        let sub = |(off, len): (u32, u32), what: &str| -> Result<Reader> {
            let begin = hdr_len as u64 + off as u64;
            let end = begin + len as u64;
            if end > data.len() as u64 {
                return Err(Error::Invalid(format!("BTF.ext {what} runs past the end")));
            }
            Ok(Reader::new(&data[begin as usize..end as usize], big_endian))
        };
        let string = |off: u32| -> Result<String> {
            if off >= btf.strings_end() {
                return Err(Error::Invalid(format!(
                    "BTF.ext string offset {off} out of range"
                )));
            }
            Ok(btf.str_at(off).to_owned())
        };
        let func_info = read_sections(
            sub(func, "func_info")?,
            8,
            |r| {
                Ok(FuncInfo {
                    insn_off: r.u32("func_info insn_off")?,
                    type_id: r.u32("func_info type_id")?,
                })
            },
            &string,
        )?;
        let line_info = read_sections(
            sub(line, "line_info")?,
            16,
            |r| {
                let insn_off = r.u32("line_info insn_off")?;
                let file = string(r.u32("line_info file")?)?;
                let source = string(r.u32("line_info line")?)?;
                let line_col = r.u32("line_info line_col")?;
                Ok(LineInfo {
                    insn_off,
                    file,
                    source,
                    line: line_col >> 10,
                    column: line_col & 0x3ff,
                })
            },
            &string,
        )?;
        let core_relos = read_sections(
            sub(core, "core_relo")?,
            16,
            |r| {
                Ok(CoreRelo {
                    insn_off: r.u32("core_relo insn_off")?,
                    type_id: r.u32("core_relo type_id")?,
                    access: string(r.u32("core_relo access")?)?,
                    kind: r.u32("core_relo kind")?,
                })
            },
            &string,
        )?;
        Ok(BtfExt {
            func_info,
            line_info,
            core_relos,
        })
    }

    /// The line info record that covers instruction `insn` (an index, not a
    /// byte offset) of the program in `section`: the last record at or
    /// before it.
    pub fn line_for_insn(&self, section: &str, insn: usize) -> Option<&LineInfo> {
        let byte_off = (insn as u64) * 8;
        self.line_info
            .iter()
            .find(|s| s.section == section)?
            .records
            .iter()
            .filter(|l| l.insn_off as u64 <= byte_off)
            .max_by_key(|l| l.insn_off)
    }
}

/// Reads `rec_size`, then `{sec_name_off, num_info, records...}` groups.
fn read_sections<T>(
    mut r: Reader,
    min_rec: u32,
    mut read: impl FnMut(&mut Reader) -> Result<T>,
    string: &dyn Fn(u32) -> Result<String>,
) -> Result<Vec<SectionRecords<T>>> {
    let mut out = Vec::new();
    if r.remaining() == 0 {
        return Ok(out);
    }
    let rec_size = r.u32("BTF.ext record size")?;
    if rec_size < min_rec {
        return Err(Error::Invalid(format!(
            "BTF.ext record size {rec_size} < {min_rec}"
        )));
    }
    while r.remaining() > 0 {
        let section = string(r.u32("BTF.ext section name")?)?;
        let count = r.u32("BTF.ext record count")? as usize;
        if count.saturating_mul(rec_size as usize) > r.remaining() {
            return Err(Error::Truncated {
                what: "BTF.ext records",
                at: r.pos,
            });
        }
        let mut records = Vec::with_capacity(count);
        for _ in 0..count {
            let start = r.pos;
            records.push(read(&mut r)?);
            // Newer producers may append fields; skip what we do not know.
            r.pos = start + rec_size as usize;
        }
        out.push(SectionRecords { section, records });
    }
    Ok(out)
}
