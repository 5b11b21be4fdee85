//! Arbitrary bytes through the BTF parser and everything that walks a
//! parsed BTF: raw and JSON dumps, size_of and resolve for every id, and
//! parsing the same bytes again as split BTF on top of the result.
#![no_main]

use std::sync::Arc;

use bpfkit_btf::Btf;
use libfuzzer_sys::fuzz_target;

fn walk(btf: &Btf) {
    let _ = bpfkit_btf::raw::dump_raw(btf, None, &mut std::io::sink());
    let _ = bpfkit_btf::json::dump_json(btf, None, &mut std::io::sink());
    for id in 0..btf.next_id() {
        let _ = btf.size_of(id);
        let _ = btf.resolve(id);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data) else {
        return;
    };
    walk(&btf);
    if let Ok(split) = Btf::parse_split(data, Arc::new(btf)) {
        walk(&split);
    }
});
