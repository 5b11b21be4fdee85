//! bpfkit-object: what a BPF ELF object contains, read without loading it.
//!
//! Programs and their hooks (from `SEC()` names), maps and their BTF types,
//! `const volatile` parameters, global counters, event struct types, and the
//! rewritten bytes that aya 0.14 can load.

mod btf_fixup;
pub mod byte_order;
pub mod co_re;
pub mod disasm;
mod drops;
mod elf_view;
mod events;
pub mod externs;
mod externs_kernel;
pub mod map_type;
mod maps;
mod programs;
mod raw_btf;
mod rewrite;
pub mod section;
pub mod symbols;
pub mod usdt;
mod vars;

use std::sync::Arc;

use bpfkit_btf::{Btf, TypeId, ext::BtfExt};

pub use co_re::{
    CoreError, PoisonedRelocation, Relocated, has_core_relocations, relocate_core,
    relocate_core_report,
};
pub use drops::{DROPS_TYPEDEF, DropCounter, DropSource};
pub use events::event_type_hint;
pub use externs::{Extern, ExternKind, ExternUse, resolve as resolve_externs};
pub use externs_kernel::KernelFacts;
pub use map_type::map_type_name;
pub use maps::{DEFAULT_MAX_ENTRIES, STACK_TRACE_MAX_ENTRIES, STACK_TRACE_VALUE_SIZE};
pub use section::{
    CgroupAttach, Hook, SectionError, SkSkbKind, TcDirection, UprobeMultiTarget, UprobeTarget,
    UsdtTarget, parse_section,
};
pub use vars::list_length_param;

/// Everything bpfkit needs to know about a BPF object before loading it.
#[derive(Debug)]
pub struct Object {
    /// The object's `.BTF`, with DATASEC sizes and variable offsets filled in
    /// from the ELF symbol table (clang leaves them 0; libbpf fixes them the
    /// same way).
    pub btf: Arc<Btf>,
    pub ext: Option<BtfExt>,
    pub programs: Vec<Program>,
    /// User maps: BTF-defined (`.maps`) and legacy (`maps`, `struct bpf_map_def`).
    pub maps: Vec<MapDef>,
    /// `const volatile` globals in `.rodata*`: run-time parameters.
    pub params: Vec<Param>,
    /// Writable globals in `.bss*` / `.data*` (counters printed at exit).
    pub globals: Vec<Global>,
    /// Counters of ring buffer records the programs could not send (at
    /// most one per ring buffer), which the runtime reports as lost events.
    /// An integer global (`.bss`/`.data`) or an `ARRAY`/`PERCPU_ARRAY` map
    /// of integers is one when its type is the typedef `bpfkit_drops_t`
    /// (`include/bpfkit.h`) or its name is `<ring>_dropped`,
    /// `<ring>_drops`, `<ring>_lost` or `<ring>_lost_events` for a ring
    /// buffer map `<ring>`. It counts the only ring buffer when marked with
    /// the typedef but not named after a ring, or, unmarked, when it is
    /// named `dropped`, `drops`, `lost`, `lost_events` or `dropped_events`
    /// and the object's only event map is that ring buffer.
    pub drop_counters: Vec<DropCounter>,
    /// Some program calls `bpf_trace_printk` (helper 6) or `bpf_trace_vprintk` (177).
    pub uses_printk: bool,
    /// `.kconfig` and `.ksyms` externs, which the loader must resolve
    /// ([`resolve_externs`]).
    pub externs: Vec<Extern>,
    /// Instructions of [`Object::loadable_elf`] that use `.ksyms` externs.
    pub extern_uses: Vec<ExternUse>,
    /// File range in [`Object::loadable_elf`] of the `.rodata.kconfig`
    /// section that holds `.kconfig` values (zero until resolved).
    pub kconfig_data: Option<std::ops::Range<usize>>,
    /// The ELF rewritten so that aya 0.14 accepts it: `SEC()` names aya does
    /// not know are renamed (`tc` → `classifier/tc`, `tcx/egress` →
    /// `classifier/tcx_egress`, `ksyscall/X` → `kprobe/X`, `kretsyscall/X` →
    /// `kretprobe/X`, `raw_tp.w/X` → `raw_tp/X`; [`Program::section`] keeps
    /// the original), `__type(value, ...)` on event maps is hidden, and perf
    /// event arrays get the `key_size`/`value_size` of 4 that libbpf would
    /// fill in, and externs are prepared for [`resolve_externs`] (a
    /// `.rodata.kconfig` section, kfunc calls poisoned until resolved). The
    /// same bytes as the input when nothing needed changing.
    pub loadable_elf: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Function symbol name; aya keys programs by this.
    pub name: String,
    /// The original `SEC()` name.
    pub section: String,
    /// The hook's kind, with an empty target when the `SEC()` name's target
    /// could not be read (see `target_error`).
    pub hook: Hook,
    /// Why the `SEC()` name gives no usable target (`uprobe/do_handshake`):
    /// the program attaches only where `--attach PROG=TARGET` names one.
    pub target_error: Option<String>,
    pub insn_count: usize,
    pub section_index: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    pub name: String,
    /// `BPF_MAP_TYPE_*` number, see [`map_type`].
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub key_type: Option<TypeId>,
    pub value_type: Option<TypeId>,
    /// For RINGBUF / PERF_EVENT_ARRAY maps: the struct of the records the
    /// programs send, when it could be found. Rules, in order: `__type(value,
    /// struct T)` in the map definition; `BPFKIT_EVENT(map, struct T)` from
    /// `bpfkit.h`; a struct named `<map>_event`; and, when only one event map
    /// is unresolved, a struct named `event`, the single struct that global
    /// variables point to, or the single unreferenced named struct. `None`
    /// otherwise: see [`event_type_hint`].
    pub event_type: Option<TypeId>,
    /// For event maps with a known `event_type`: the places of the record
    /// that some program path fills with a value read from a network-order
    /// kernel field (`__be16 skc_dport`) and not swapped since, whatever
    /// the event member's own type (see [`byte_order`]).
    pub stored_orders: Vec<byte_order::StoredOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ty: TypeId,
    pub section: String,
    pub offset: u32,
    pub size: u32,
    /// Initial bytes from the ELF.
    pub default: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub name: String,
    pub ty: TypeId,
    pub section: String,
    pub offset: u32,
    pub size: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("not a BPF ELF object: {0}")]
    Elf(String),
    #[error("object has no .BTF section (build it with clang -g)")]
    NoBtf,
    // The BTF error is part of the message, not a `source`, so that
    // error-chain printers (`{:#}`) do not say it twice.
    #[error("{section}: {error}")]
    Btf {
        section: &'static str,
        error: bpfkit_btf::Error,
    },
    #[error(
        "section '{section}' (program '{program}'): no loader knows this SEC() name \
         (supported: {})",
        section::SUPPORTED_SECTIONS
    )]
    UnknownSection { section: String, program: String },
    #[error("section '{section}' (program '{program}'): {why}")]
    BadSection {
        section: String,
        program: String,
        why: String,
    },
    #[error("map '{map}': {why}")]
    Map { map: String, why: String },
    #[error("variable '{var}' in {section}: {why}")]
    Var {
        var: String,
        section: String,
        why: String,
    },
    #[error("unsupported object: {0}")]
    Unsupported(String),
}

/// The instruction bytes of `program`'s function in `elf` (the object's
/// loadable ELF, or a relocated copy of it), for loaders that hand them
/// to `BPF_PROG_LOAD` themselves.
pub fn program_code<'a>(elf: &'a [u8], program: &Program) -> Result<&'a [u8], ObjectError> {
    let view = elf_view::ElfView::read(elf)?;
    let missing = |what: &str| ObjectError::Elf(format!("program '{}': {what}", program.name));
    let section = view
        .section(program.section_index)
        .ok_or_else(|| missing("its section is gone"))?;
    let symbol = view
        .symbol_in(program.section_index, &program.name)
        .ok_or_else(|| missing("its symbol is gone"))?;
    let start = usize::try_from(symbol.address).map_err(|_| missing("bad symbol address"))?;
    let end = usize::try_from(symbol.size)
        .ok()
        .and_then(|size| start.checked_add(size))
        .filter(|&end| end <= section.data.len())
        .ok_or_else(|| missing("its symbol lies outside its section"))?;
    Ok(&section.data[start..end])
}

/// Reads a BPF ELF object: programs, maps, parameters, globals, event types,
/// and an aya-loadable copy.
pub fn analyze(elf: &[u8]) -> Result<Object, ObjectError> {
    let view = elf_view::ElfView::read(elf)?;
    let btf_section = view.section_by_name(".BTF").ok_or(ObjectError::NoBtf)?;
    let btf_error = |error| ObjectError::Btf {
        section: ".BTF",
        error,
    };
    // Validate before touching raw bytes.
    let original = Btf::parse(btf_section.data).map_err(btf_error)?;
    let mut raw = raw_btf::RawBtf::split(btf_section.data).map_err(ObjectError::Unsupported)?;
    let fixed = btf_fixup::fix_datasecs(&raw, &original, &view);
    let btf = Arc::new(Btf::parse(&fixed.encode()).map_err(btf_error)?);
    // What the kernel would refuse at load is refused here, where the
    // error can say what is wrong (see `Btf::check_kernel_names`).
    btf.check_kernel_names().map_err(btf_error)?;
    let ext = bpfkit_btf::elf::btf_ext_from_elf(elf, &btf).map_err(|error| ObjectError::Btf {
        section: ".BTF.ext",
        error,
    })?;

    let programs = programs::find(&view)?;
    let uses_printk = programs::uses_printk(&view);
    let mut maps = maps::find(&btf, &view)?;
    let hidden_values = events::assign(&btf, ext.as_ref(), &view, &mut maps);
    assign_stored_orders(&btf, ext.as_ref(), &view, &mut maps);
    let (params, globals) = vars::find(&btf, &view)?;
    let drop_counters = drops::find(&btf, &maps, &globals);
    let externs = externs::find(&btf, elf)?;
    let funcs_made_static = btf_fixup::hidden_funcs_static(&mut raw, &btf, &view);
    let rewrites = rewrite::Rewrites {
        maps: &maps,
        hidden: &hidden_values,
        externs: &externs,
        btf_changed: funcs_made_static,
    };
    let (loadable_elf, kconfig_data) = rewrite::loadable(elf, &view, &raw, &btf, rewrites)?;
    Ok(Object {
        btf,
        ext,
        programs,
        maps,
        params,
        globals,
        drop_counters,
        uses_printk,
        externs: externs.externs,
        extern_uses: externs.uses,
        kconfig_data,
        loadable_elf,
    })
}

/// Fills [`MapDef::stored_orders`]: the analysis votes by record size,
/// which is how they meet each event map's struct.
fn assign_stored_orders(
    btf: &Btf,
    ext: Option<&BtfExt>,
    view: &elf_view::ElfView,
    maps: &mut [MapDef],
) {
    let stored = byte_order::analyze(btf, ext, view);
    for map in maps.iter_mut() {
        let size = map.event_type.and_then(|t| btf.size_of(t).ok());
        if let Some(size) = size.and_then(|s| u32::try_from(s).ok()) {
            map.stored_orders = byte_order::for_record(&stored, size);
        }
    }
}

impl Object {
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }

    pub fn map(&self, name: &str) -> Option<&MapDef> {
        self.maps.iter().find(|m| m.name == name)
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}
