//! bpfkit-object: what a BPF ELF object contains, read without loading it.
//!
//! Programs and their hooks (from `SEC()` names), maps and their BTF types,
//! `const volatile` parameters, global counters, event struct types, and the
//! rewritten bytes that aya 0.14 can load.

pub mod section;

pub use section::{Hook, SectionError, TcDirection, UprobeTarget, parse_section};
