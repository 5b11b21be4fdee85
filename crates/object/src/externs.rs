//! `extern` variables and functions the object expects the loader to
//! resolve against the running kernel: `.kconfig` (`LINUX_KERNEL_VERSION`,
//! `CONFIG_*`, `LINUX_HAS_SYSCALL_WRAPPER`) and `.ksyms` (`__ksym`
//! variables, kfuncs, `__weak` ones for `bpf_ksym_exists`). clang puts them
//! in DATASECs of those names. aya 0.14 resolves none of them and fails with
//! a BTF error about the section's size, so the runtime names them instead.

use bpfkit_btf::{Btf, Kind};

/// Sections that hold externs, as libbpf names them.
const EXTERN_SECTIONS: &[&str] = &[".kconfig", ".ksyms"];

/// An extern the loader must resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    pub name: String,
    /// `.kconfig` or `.ksyms`.
    pub section: String,
}

pub(crate) fn find(btf: &Btf) -> Vec<Extern> {
    let mut out = Vec::new();
    for section in EXTERN_SECTIONS {
        let Some(id) = btf.find(section, |k| matches!(k, Kind::Datasec(_))) else {
            continue;
        };
        let Some(Kind::Datasec(sec)) = btf.get(id).map(|t| &t.kind) else {
            continue;
        };
        out.extend(sec.vars.iter().map(|v| Extern {
            name: btf.name_of(v.ty).to_string(),
            section: section.to_string(),
        }));
    }
    out
}
