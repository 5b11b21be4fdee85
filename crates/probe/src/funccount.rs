//! `funccount PATTERN...`: one tiny program per matching tracepoint, each
//! adding 1 to its own entry of a hash map keyed by an enum that names
//! the targets, so the ordinary map output shows `FUNC COUNT`.

use crate::ProbeError;
use crate::elf::{self, MapDecl, ProgramCode};
use crate::insn::{Asm, CTX, Cond, FP, R0, R1, R2, R3, R4, Size, helper};
use bpfkit_btf::encode::BtfBuilder;
use bpfkit_btf::{Composite, Enum, EnumValue, Int, Kind, Member};
use std::path::Path;

/// The map the counts are in.
pub const COUNTS_MAP: &str = "counts";
const HASH: u32 = 1;
const BPF_NOEXIST: i32 = 1;

/// The generated object and the targets it counts, in key order.
pub struct Counting {
    pub elf: Vec<u8>,
    pub targets: Vec<String>,
}

/// One program of a count: where it attaches and the names of what it
/// counts, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountTarget {
    pub section: String,
    pub names: Vec<String>,
    /// A multi-attach program: the attach cookie i (from 1) is `names[i-1]`.
    pub cookies: bool,
    /// What `-v` says about how the pattern was read (a `u:` pattern that
    /// counts functions because the binary has no USDT probe matching it).
    pub note: Option<String>,
    /// A `raw_syscalls` tracepoint counting system call tracepoints by
    /// number: `names[i]` is the system call numbered `syscalls.numbers[i]`.
    pub syscalls: Option<SyscallKeys>,
}

/// How a `raw_syscalls:sys_enter`/`sys_exit` program finds its key: the
/// system call number (`long id` at `id_offset` of the tracepoint's
/// record) of each of its names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallKeys {
    pub id_offset: i16,
    pub numbers: Vec<u32>,
}

impl CountTarget {
    fn tracepoint(category: &str, name: &str) -> CountTarget {
        CountTarget {
            section: format!("tracepoint/{category}/{name}"),
            names: vec![name.to_string()],
            ..CountTarget::default()
        }
    }
}

/// How patterns are matched and attached.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expand {
    /// The kernel has uprobe.multi links.
    pub multi: bool,
    /// `-r`: names are regular expressions (`regex.rs`), not globs.
    pub regex: bool,
}

/// A glob or a regular expression over names.
pub(crate) enum NameMatch {
    Glob(String),
    Regex(crate::regex::Regex),
}

impl NameMatch {
    pub(crate) fn new(pattern: &str, regex: bool) -> Result<NameMatch, String> {
        if regex {
            crate::regex::Regex::new(pattern)
                .map(NameMatch::Regex)
                .map_err(|e| format!("'{pattern}': {e}"))
        } else {
            Ok(NameMatch::Glob(pattern.to_string()))
        }
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            NameMatch::Glob(g) => glob(g.as_bytes(), name.as_bytes()),
            NameMatch::Regex(re) => re.is_match(name),
        }
    }
}

/// Every tracepoint under `tracefs` that `patterns` (`t:CAT:NAME`, with
/// `*` and `?` in CAT and NAME, or regular expressions) match, sorted, then
/// the user functions of the user patterns (`LIB:FUNC`, `p:LIB:FUNC`,
/// `u:LIB:FUNC`, see `uprobe::count_targets`).
pub fn expand(
    patterns: &[String],
    tracefs: &Path,
    how: Expand,
) -> Result<Vec<CountTarget>, ProbeError> {
    let mut found = Vec::new();
    let mut user = Vec::new();
    for pattern in patterns {
        let error = |message: String| ProbeError {
            probe: pattern.clone(),
            message,
        };
        if let Some(targets) = crate::uprobe::count_targets(pattern, how) {
            user.extend(targets.map_err(error)?);
            continue;
        }
        let Some(rest) = pattern.strip_prefix("t:") else {
            return Err(error(
                "expected t:CATEGORY:NAME, LIB:FUNC or a kernel function (FUNC, p::FUNC); \
                 * and ? allowed"
                    .into(),
            ));
        };
        let Some((category, name)) = rest.split_once(':') else {
            return Err(error("a tracepoint pattern is t:CATEGORY:NAME".into()));
        };
        let before = found.len();
        let category = NameMatch::new(category, how.regex).map_err(error)?;
        let name = NameMatch::new(name, how.regex).map_err(error)?;
        for cat in matching_dirs(&tracefs.join("events"), &category) {
            for event in matching_dirs(&tracefs.join("events").join(&cat), &name) {
                if tracefs
                    .join("events")
                    .join(&cat)
                    .join(&event)
                    .join("format")
                    .exists()
                {
                    found.push((cat.clone(), event));
                }
            }
        }
        if found.len() == before {
            return Err(error("no tracepoint matches".into()));
        }
    }
    found.sort();
    found.dedup();
    let mut targets: Vec<CountTarget> = found
        .iter()
        .map(|(category, name)| CountTarget::tracepoint(category, name))
        .collect();
    targets.extend(user);
    Ok(targets)
}

/// `targets` with the `syscalls:sys_enter_NAME`/`sys_exit_NAME`
/// tracepoints that `table` (`(number, NAME)`, see `syscall_table`) numbers
/// counted by one program on `raw_syscalls:sys_enter` and one on
/// `raw_syscalls:sys_exit` instead of a program each. Attaching and above
/// all detaching a tracepoint's perf event is slow (the kernel waits a
/// grace period under a global mutex at each close: ~30 s for 720
/// tracepoints); two cost next to nothing. The counts are the same: each
/// per-syscall tracepoint fires from its `raw_syscalls` one, for its
/// number. Tracepoints the table does not name stay as they were; so does
/// everything when `tracefs` has no `raw_syscalls` tracepoint with an `id`.
pub fn through_raw_syscalls(
    targets: Vec<CountTarget>,
    tracefs: &Path,
    table: &[(u32, &str)],
) -> Vec<CountTarget> {
    let mut out = Vec::with_capacity(targets.len());
    let mut raw = [("sys_enter", Vec::new()), ("sys_exit", Vec::new())];
    for target in targets {
        let numbered = target
            .section
            .strip_prefix("tracepoint/syscalls/")
            .and_then(|event| {
                raw.iter()
                    .position(|(hook, _)| {
                        event.strip_prefix(hook).is_some_and(|n| n.starts_with('_'))
                    })
                    .map(|side| (side, &event[raw[side].0.len() + 1..]))
            })
            .and_then(|(side, name)| {
                table
                    .iter()
                    .find(|(_, known)| *known == name)
                    .map(|(number, _)| (side, *number))
            });
        match numbered {
            Some((side, number)) => raw[side].1.push((number, target)),
            None => out.push(target),
        }
    }
    for (hook, counted) in raw {
        if counted.is_empty() {
            continue;
        }
        let Some(id_offset) = syscall_id_offset(tracefs, hook) else {
            out.extend(counted.into_iter().map(|(_, target)| target));
            continue;
        };
        let (numbers, names) = counted
            .into_iter()
            .map(|(number, mut target)| (number, target.names.remove(0)))
            .unzip();
        out.push(CountTarget {
            section: format!("tracepoint/raw_syscalls/{hook}"),
            names,
            syscalls: Some(SyscallKeys { id_offset, numbers }),
            ..CountTarget::default()
        });
    }
    out
}

/// Where `raw_syscalls:HOOK`'s record has the system call number (`long
/// id`), if tracefs has that tracepoint.
fn syscall_id_offset(tracefs: &Path, hook: &str) -> Option<i16> {
    let fields = crate::tracefs::read_format(tracefs, "raw_syscalls", hook).ok()?;
    let id = fields.iter().find(|f| f.name == "id" && f.size == 8)?;
    i16::try_from(id.offset).ok()
}

fn matching_dirs(dir: &Path, pattern: &NameMatch) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| pattern.matches(name))
        .collect()
}

/// Shell-style `*` and `?` matching.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Which hits are counted: `-p PID` (a process), `-c CPU` (bcc's
/// funccount: hits on that CPU only).
#[derive(Debug, Clone, Copy, Default)]
pub struct Only {
    pub pid: Option<u32>,
    pub cpu: Option<u32>,
}

/// Builds the counting object for `targets` (from [`expand`]).
pub fn build(targets: &[CountTarget], only: Only) -> Counting {
    let mut btf = BtfBuilder::new();
    let names: Vec<&String> = targets.iter().flat_map(|t| &t.names).collect();
    let values = names
        .iter()
        .enumerate()
        .map(|(i, name)| EnumValue {
            name_off: btf.add_string(&crate::compile::identifier(name)),
            value: i as u64,
        })
        .collect();
    let key = elf::named(
        &mut btf,
        "func",
        Kind::Enum(Enum {
            size: 4,
            signed: false,
            is_64: false,
            values,
        }),
    );
    let value = count_type(&mut btf);
    let mut first_key = 0;
    let programs: Vec<ProgramCode> = targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let key = match (&target.syscalls, target.cookies) {
                (Some(syscalls), _) => Key::Syscall(first_key, syscalls),
                (None, true) => Key::Cookie(first_key),
                (None, false) => Key::Fixed(first_key),
            };
            let asm = count_program(key, only);
            first_key += target.names.len() as u32;
            ProgramCode {
                name: format!("count_{i}"),
                section: target.section.clone(),
                code: asm.bytes(),
                map_relocs: asm.map_relocs,
            }
        })
        .collect();
    let maps = [MapDecl {
        name: COUNTS_MAP.into(),
        map_type: HASH,
        // One spare entry: with every target hit, a map of exactly
        // names.len() is full, and a full map reads as dropped counts.
        max_entries: names.len() as u32 + 1,
        key: Some(key),
        value: Some(value),
        sizes: None,
    }];
    Counting {
        elf: elf::write(&programs, &maps, btf),
        targets: names.into_iter().cloned().collect(),
    }
}

/// `struct count { unsigned long long count; }`.
pub(crate) fn count_type(btf: &mut BtfBuilder) -> bpfkit_btf::TypeId {
    let u64_ty = elf::named(
        btf,
        "unsigned long long",
        Kind::Int(Int {
            size: 8,
            signed: false,
            char: false,
            bool: false,
            offset: 0,
            bits: 64,
        }),
    );
    let count_name = btf.add_string("count");
    elf::named(
        btf,
        "count",
        Kind::Struct(Composite {
            size: 8,
            kind_flag: false,
            members: vec![Member {
                name_off: count_name,
                ty: u64_ty,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        }),
    )
}

/// Which key of the counts map a program adds to.
enum Key<'a> {
    /// Always this one.
    Fixed(u32),
    /// `index + cookie - 1`: the attach cookie says which function was hit.
    Cookie(u32),
    /// `index + i` where the system call number is `numbers[i]`; other
    /// numbers are not counted.
    Syscall(u32, &'a SyscallKeys),
}

/// `counts[key] += 1`, inserting the entry on the first hit (and adding
/// to it when another CPU inserted it first).
fn count_program(key: Key, only: Only) -> Asm {
    let mut a = Asm::default();
    let out = a.label();
    a.mov(CTX, R1);
    if let Some(pid) = only.pid {
        a.call(helper::GET_CURRENT_PID_TGID);
        a.alu_imm(crate::insn::Alu::Rsh, R0, 32);
        a.jump_imm(Cond::Ne, R0, pid as i32, out);
    }
    only_cpu(&mut a, only.cpu, out);
    match key {
        Key::Fixed(index) => a.store_imm(Size::W, FP, -4, index as i32),
        Key::Cookie(index) => {
            a.mov(R1, CTX);
            a.call(helper::GET_ATTACH_COOKIE);
            a.alu_imm(crate::insn::Alu::Add, R0, index as i32 - 1);
            a.store(Size::W, FP, -4, R0);
        }
        Key::Syscall(index, syscalls) => {
            let mut keys: Vec<(u32, u32)> = (index..)
                .zip(&syscalls.numbers)
                .map(|(key, &number)| (number, key))
                .collect();
            keys.sort_unstable();
            let found = a.label();
            a.load(Size::DW, R1, CTX, syscalls.id_offset);
            syscall_key(&mut a, &keys, found, out);
            a.bind(found);
        }
    }
    add_one(&mut a, COUNTS_MAP, -4, out);
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish().expect("fixed control flow")
}

/// fp-4 = the key of the system call number in R1 among `keys` (`(number,
/// key)`, sorted by number, never empty), then on to `found`; numbers not
/// among them go to `out`. A binary search: a few compares per system call
/// however many are counted, where an array map would need filling from
/// user space after loading.
fn syscall_key(
    a: &mut Asm,
    keys: &[(u32, u32)],
    found: crate::insn::Label,
    out: crate::insn::Label,
) {
    if let [(number, key)] = keys {
        a.jump_imm(Cond::Ne, R1, *number as i32, out);
        a.store_imm(Size::W, FP, -4, *key as i32);
        a.jump(found);
        return;
    }
    let (low, high) = keys.split_at(keys.len() / 2);
    let upper = a.label();
    // Unsigned: a negative number (no system call) is above them all.
    a.jump_imm(Cond::Ge, R1, high[0].0 as i32, upper);
    syscall_key(a, low, found, out);
    a.bind(upper);
    syscall_key(a, high, found, out);
}

/// Jumps to `out` unless the program runs on CPU `cpu` (when given).
pub(crate) fn only_cpu(a: &mut Asm, cpu: Option<u32>, out: crate::insn::Label) {
    if let Some(cpu) = cpu {
        a.call(helper::GET_SMP_PROCESSOR_ID);
        a.jump_imm(Cond::Ne, R0, cpu as i32, out);
    }
}

/// `map[key at fp+key] += 1` (a `struct count`), inserting the entry on
/// the first hit and adding to it when another CPU inserted it first.
pub(crate) fn add_one(a: &mut Asm, map: &str, key: i16, out: crate::insn::Label) {
    add_one_at(a, map, (FP, key), out);
}

/// `map[key at reg+offset] += 1`, as [`add_one`], for a key on the stack
/// (`FP`) or in a map value (argdist's scratch record). The first value is
/// written at fp-24, below the keys of funccount (fp-4) and argdist
/// (fp-16), or 8 bytes below a key on the stack that starts lower.
pub(crate) fn add_one_at(a: &mut Asm, map: &str, key: (u8, i16), out: crate::insn::Label) {
    let one: i16 = match key {
        (FP, offset) if offset <= -24 => offset - 8,
        _ => -24,
    };
    let add = a.label();
    lookup(a, map, key);
    a.jump_imm(Cond::Ne, R0, 0, add);
    a.store_imm(Size::DW, FP, one, 1);
    a.ld_map(R1, map);
    a.mov(R2, key.0);
    a.alu_imm(crate::insn::Alu::Add, R2, key.1 as i32);
    a.mov(R3, FP);
    a.alu_imm(crate::insn::Alu::Add, R3, one as i32);
    a.mov_imm(R4, BPF_NOEXIST);
    a.call(helper::MAP_UPDATE_ELEM);
    a.jump_imm(Cond::Eq, R0, 0, out);
    lookup(a, map, key);
    a.jump_imm(Cond::Eq, R0, 0, out);
    a.bind(add);
    a.mov_imm(R1, 1);
    a.atomic_add(R0, 0, R1);
}

/// R0 = the entry of `map` for the key at reg+offset, or 0.
fn lookup(a: &mut Asm, map: &str, key: (u8, i16)) {
    a.ld_map(R1, map);
    a.mov(R2, key.0);
    a.alu_imm(crate::insn::Alu::Add, R2, key.1 as i32);
    a.call(helper::MAP_LOOKUP_ELEM);
}

#[cfg(test)]
mod tests {
    use super::{CountTarget, SyscallKeys, glob, through_raw_syscalls};
    use std::path::Path;

    fn tracepoints(names: &[&str]) -> Vec<CountTarget> {
        names
            .iter()
            .map(|n| {
                let (category, name) = n.split_once(':').unwrap();
                CountTarget::tracepoint(category, name)
            })
            .collect()
    }

    /// A tracefs with `raw_syscalls:sys_enter` (its `id` at 8) and no
    /// `sys_exit`.
    fn tracefs_with_sys_enter(dir: &Path) {
        let event = dir.join("events/raw_syscalls/sys_enter");
        std::fs::create_dir_all(&event).unwrap();
        std::fs::write(
            event.join("format"),
            "name: sys_enter\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
             \tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\
             \tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n",
        )
        .unwrap();
    }

    /// Numbered system call tracepoints move to raw_syscalls; one the
    /// table lacks, one whose raw tracepoint is missing and other
    /// tracepoints stay attached one by one.
    #[test]
    fn syscall_tracepoints_the_table_numbers_are_counted_by_number() {
        let dir = bpfkit_testkit::TempDir::new("raw-syscalls");
        tracefs_with_sys_enter(dir.path());
        let table = [(4, "newstat"), (110, "getppid"), (124, "getsid")];
        let targets = tracepoints(&[
            "sched:sched_switch",
            "syscalls:sys_enter_getppid",
            "syscalls:sys_enter_getsid",
            "syscalls:sys_enter_newstat",
            "syscalls:sys_enter_uprobe",
            "syscalls:sys_exit_getppid",
            "syscalls:sys_enterx_getppid",
        ]);
        let out = through_raw_syscalls(targets, dir.path(), &table);
        let sections: Vec<&str> = out.iter().map(|t| t.section.as_str()).collect();
        assert_eq!(
            sections,
            [
                "tracepoint/sched/sched_switch",
                "tracepoint/syscalls/sys_enter_uprobe",
                "tracepoint/syscalls/sys_enterx_getppid",
                "tracepoint/raw_syscalls/sys_enter",
                // No raw_syscalls:sys_exit in this tracefs.
                "tracepoint/syscalls/sys_exit_getppid",
            ]
        );
        let raw = &out[3];
        assert_eq!(
            raw.names,
            ["sys_enter_getppid", "sys_enter_getsid", "sys_enter_newstat"]
        );
        assert_eq!(
            raw.syscalls,
            Some(SyscallKeys {
                id_offset: 8,
                numbers: vec![110, 124, 4],
            })
        );
    }

    #[test]
    fn without_raw_syscalls_every_tracepoint_stays() {
        let dir = bpfkit_testkit::TempDir::new("no-raw-syscalls");
        let targets = tracepoints(&["syscalls:sys_enter_getppid", "syscalls:sys_exit_getppid"]);
        let out = through_raw_syscalls(targets.clone(), dir.path(), &[(110, "getppid")]);
        assert_eq!(out, targets);
    }

    #[test]
    fn glob_matches_like_the_shell() {
        assert!(glob(b"sys_enter_*", b"sys_enter_openat"));
        assert!(glob(b"*open*", b"sys_enter_openat"));
        assert!(glob(b"sys_?nter_openat", b"sys_enter_openat"));
        assert!(!glob(b"sys_enter_*", b"sys_exit_openat"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"a*b", b"acbd"));
    }
}
