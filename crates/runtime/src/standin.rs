//! A stand-in for the kernel BTF in aya's form, for the programs whose load
//! names a kernel type: aya's tp_btf, fentry/fexit and lsm loaders find the
//! `attach_btf_id` by looking a name up in an `aya::Btf`, and nothing else.
//! Parsing all of the kernel's ~130k types into aya's representation for
//! that costs ~20 ms and ~17 MB; the stand-in holds only the looked-up
//! entries, each at its kernel id. BTF type ids are positions, so every
//! other id up to the last one needed is a 12-byte `void *` placeholder.
//! A wrong id could not go unnoticed: the kernel checks the attach type
//! against its own BTF when the program loads.

use bpfkit_btf::TypeId;
use bpfkit_btf::kind_no::{FUNC, PTR, TYPEDEF};
use bpfkit_btf::view::BtfView;
use bpfkit_object::Hook;

/// The entry a program's load looks up: its BTF kind number and name.
pub(crate) fn lookup(hook: &Hook) -> Option<(u8, String)> {
    match hook {
        Hook::BtfTracepoint { name } => Some((TYPEDEF, format!("btf_trace_{name}"))),
        Hook::Fentry { function, .. } => Some((FUNC, function.clone())),
        Hook::Lsm { hook } => Some((FUNC, format!("bpf_lsm_{hook}"))),
        Hook::Iter { target } => Some((FUNC, format!("bpf_iter_{target}"))),
        _ => None,
    }
}

/// An `aya::Btf` with each of `wanted` that `kernel` has at its kernel id.
/// A name the kernel lacks is left out, so aya's load reports it as unknown
/// just as it would with the full BTF.
pub(crate) fn standin_btf<D: AsRef<[u8]>>(
    kernel: &BtfView<D>,
    wanted: &[(u8, String)],
) -> Result<aya::Btf, String> {
    let mut found: Vec<(TypeId, u8, String)> = Vec::new();
    kernel
        .for_each_named(
            |kind| wanted.iter().any(|(k, _)| *k == kind),
            |id, kind, name| {
                if wanted.iter().any(|(k, n)| *k == kind && n == name) {
                    found.push((id, kind, name.to_string()));
                }
            },
        )
        .map_err(|e| format!("kernel BTF: {e}"))?;
    aya::Btf::parse(&encode(&found), aya::Endianness::Little)
        .map_err(|e| format!("stand-in BTF: {e}"))
}

/// Raw BTF (little-endian, as bpfkit writes it): ids 1..=max of `entries`, each entry's
/// kind and name at its id, placeholders elsewhere.
fn encode(entries: &[(TypeId, u8, String)]) -> Vec<u8> {
    let last = entries.iter().map(|(id, _, _)| *id).max().unwrap_or(0);
    let mut strings = vec![0u8];
    let mut types = Vec::with_capacity(last as usize * 12);
    for id in 1..=last {
        let (kind, name_off) = match entries.iter().find(|(i, _, _)| *i == id) {
            Some((_, kind, name)) => {
                let off = strings.len() as u32;
                strings.extend_from_slice(name.as_bytes());
                strings.push(0);
                (*kind, off)
            }
            None => (PTR, 0),
        };
        // name_off, info (kind in bits 24..29; vlen 0 = static linkage for
        // a func), type 0 (void): 12 bytes for every kind used here.
        for word in [name_off, u32::from(kind) << 24, 0] {
            types.extend_from_slice(&word.to_le_bytes());
        }
    }
    bpfkit_btf::encode::raw_btf(&types, &strings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aya_obj::btf::BtfKind;

    #[test]
    fn entries_sit_at_their_ids() {
        let entries = vec![
            (3, TYPEDEF, "btf_trace_x".to_string()),
            (7, FUNC, "f".to_string()),
        ];
        let btf = aya::Btf::parse(&encode(&entries), aya::Endianness::Little).unwrap();
        assert_eq!(
            btf.id_by_type_name_kind("btf_trace_x", BtfKind::Typedef)
                .unwrap(),
            3
        );
        assert_eq!(btf.id_by_type_name_kind("f", BtfKind::Func).unwrap(), 7);
        assert!(btf.id_by_type_name_kind("g", BtfKind::Func).is_err());
    }

    #[test]
    fn same_ids_as_the_full_kernel_btf() {
        let (Ok(kernel), Ok(full)) = (BtfView::vmlinux(), aya::Btf::from_sys_fs()) else {
            eprintln!("skipping: no kernel BTF");
            return;
        };
        let wanted = [
            (TYPEDEF, "btf_trace_sched_switch".to_string()),
            (TYPEDEF, "btf_trace_sched_wakeup".to_string()),
            (FUNC, "do_unlinkat".to_string()),
        ];
        let standin = standin_btf(&kernel, &wanted).unwrap();
        for (kind, name) in &wanted {
            let kind = if *kind == TYPEDEF {
                BtfKind::Typedef
            } else {
                BtfKind::Func
            };
            assert_eq!(
                standin.id_by_type_name_kind(name, kind).unwrap(),
                full.id_by_type_name_kind(name, kind).unwrap(),
                "{name}"
            );
        }
    }
}
