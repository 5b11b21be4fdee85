//! What can go wrong while loading, attaching and running, said so that the
//! user knows what to change.

use std::fmt;
use std::io;

use crate::caps::{self, Capability};

/// How many verifier log lines an error shows.
const VERIFIER_TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The object could not be prepared (BTF, relocations, map creation).
    #[error("loading the BPF object: {message}")]
    Object { message: String },

    /// The verifier refused a program.
    #[error("{0}")]
    Verifier(Box<VerifierRejection>),

    /// The kernel said EPERM.
    #[error("{what}: {}", caps::explain_eperm(needed))]
    Permission {
        what: String,
        needed: Vec<Capability>,
    },

    /// This kernel cannot provide a program's hook.
    #[error(
        "program '{program}' ({section}): this kernel has no {feature}{}",
        hint_suffix(hint)
    )]
    MissingFeature {
        program: String,
        section: String,
        feature: String,
        hint: Option<String>,
    },

    /// The hook's target does not exist (tracepoint, symbol, interface...).
    #[error("program '{program}' ({hook}): {message}")]
    Attach {
        program: String,
        hook: String,
        message: String,
    },

    /// The user asked for something the object does not have or allow.
    #[error("{0}")]
    Usage(String),

    #[error("no map named '{0}' in this object")]
    NoSuchMap(String),

    #[error("map '{map}': {message}")]
    Map { map: String, message: String },

    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
}

impl RuntimeError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        RuntimeError::Io {
            what: what.into(),
            source,
        }
    }
}

pub(crate) fn is_permission(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

/// A program the verifier refused, with where in the C source it stopped.
#[derive(Debug)]
pub struct VerifierRejection {
    pub program: String,
    pub section: String,
    /// The `bpf(BPF_PROG_LOAD)` error (usually EACCES or EINVAL).
    pub errno: io::Error,
    /// Index of the instruction the verifier stopped at, from the log.
    pub insn: Option<usize>,
    /// `file:line` and the source text of that instruction, from `.BTF.ext`.
    pub source_line: Option<SourceLine>,
    /// The whole verifier log.
    pub log: String,
    /// The CO-RE relocation the verifier stopped at, when bpfkit poisoned
    /// it because the running kernel lacks what it names.
    pub poisoned: Option<bpfkit_object::PoisonedRelocation>,
    /// Whether the error shows the log's tail: always when nothing else
    /// explains the rejection, with `-v` when [`Self::poisoned`] does.
    pub show_log: bool,
}

#[derive(Debug, Clone)]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
    pub text: String,
}

impl VerifierRejection {
    /// The last [`VERIFIER_TAIL_LINES`] non-empty lines of the log.
    pub fn log_tail(&self) -> Vec<&str> {
        let lines: Vec<&str> = self.log.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(VERIFIER_TAIL_LINES);
        lines[start..].to_vec()
    }
}

impl fmt::Display for VerifierRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(poisoned) = &self.poisoned {
            return self.fmt_poisoned(poisoned, f);
        }
        write!(
            f,
            "program '{}' ({}) was rejected by the kernel verifier",
            self.program, self.section
        )?;
        // EACCES is the verifier's usual answer; anything else is worth showing.
        if self.errno.raw_os_error() != Some(libc::EACCES) {
            write!(f, " ({})", self.errno)?;
        }
        if let Some(src) = &self.source_line {
            write!(f, "\n  at {}:{}: {}", src.file, src.line, src.text.trim())?;
        } else if let Some(insn) = self.insn {
            write!(f, "\n  at instruction {insn} (no line info: build with -g)")?;
        }
        self.fmt_log_tail(f)
    }
}

impl VerifierRejection {
    /// Said like libbpf says it: program, instruction, relocation kind,
    /// local type and access path, and what the kernel lacks.
    fn fmt_poisoned(
        &self,
        poisoned: &bpfkit_object::PoisonedRelocation,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        write!(
            f,
            "program '{}' ({}) cannot run on this kernel: CO-RE relocation {} of {} \
             (access {}) at instruction {}",
            self.program,
            self.section,
            poisoned.kind,
            poisoned.access_path,
            poisoned.access,
            self.insn.unwrap_or(poisoned.insn),
        )?;
        if poisoned.function != self.program {
            write!(f, " (in subprogram '{}')", poisoned.function)?;
        }
        write!(f, ": {}", poisoned.missing)?;
        if let Some(src) = &self.source_line {
            write!(f, "\n  at {}:{}: {}", src.file, src.line, src.text.trim())?;
        }
        write!(
            f,
            "\n  guard the access with bpf_core_field_exists() / bpf_core_type_exists(), \
             or use a hook variant this kernel has"
        )?;
        if !self.show_log {
            return write!(f, "\n  (-v shows the verifier log)");
        }
        self.fmt_log_tail(f)
    }

    fn fmt_log_tail(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = self.log_tail();
        if self.show_log && !tail.is_empty() {
            write!(f, "\n  verifier log (last {} lines):", tail.len())?;
            for line in tail {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

/// The instruction index of the last `N: (op) ...` line of a verifier log:
/// the instruction the verifier was looking at when it gave up.
pub fn failing_insn(log: &str) -> Option<usize> {
    log.lines().rev().find_map(|line| {
        let (index, rest) = line.trim_start().split_once(": (")?;
        let op = rest.split_once(')')?.0;
        let is_opcode = !op.is_empty() && op.chars().all(|c| c.is_ascii_hexdigit());
        if is_opcode { index.parse().ok() } else { None }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_last_instruction_line() {
        let log = "0: R1=ctx() R10=fp0\n\
                   0: (bf) r6 = r1\n\
                   1: (79) r1 = *(u64 *)(r6 +0)\n\
                   R6 invalid mem access 'scalar'\n\
                   processed 2 insns (limit 1000000)\n";
        assert_eq!(failing_insn(log), Some(1));
        assert_eq!(failing_insn("nothing here\n"), None);
        assert_eq!(failing_insn("; comment: (x) y\n"), None);
    }

    #[test]
    fn rejection_reads_well() {
        let r = VerifierRejection {
            program: "handle".into(),
            section: "tp/syscalls/sys_enter_kill".into(),
            errno: io::Error::from_raw_os_error(libc::EACCES),
            insn: Some(3),
            source_line: Some(SourceLine {
                file: "kill.bpf.c".into(),
                line: 12,
                text: "    return *p;".into(),
            }),
            log: "3: (61) r0 = *(u32 *)(r1 +0)\nR1 invalid mem access 'scalar'\n".into(),
            poisoned: None,
            show_log: true,
        };
        let text = r.to_string();
        assert!(text.contains("kill.bpf.c:12: return *p;"), "{text}");
        assert!(text.contains("invalid mem access"), "{text}");
    }

    #[test]
    fn missing_feature_has_hint() {
        let e = RuntimeError::MissingFeature {
            program: "p".into(),
            section: "ksyscall/kill".into(),
            feature: "kprobe support".into(),
            hint: Some("use X".into()),
        };
        assert_eq!(
            e.to_string(),
            "program 'p' (ksyscall/kill): this kernel has no kprobe support; use X"
        );
    }
}
