//! Keeping the program's own types in its BTF.
//!
//! clang's BPF backend writes to `.BTF` only the types reachable from
//! functions' signatures, global variables, maps and CO-RE relocations.
//! A `struct event` that the program only uses through a local pointer
//! (`struct event *e = bpf_ringbuf_reserve(...)`) is left out, and then
//! nothing can decode the events. `-fno-eliminate-unused-debug-types` does
//! not help: it grows DWARF, not BTF (checked with clang 16).
//!
//! What we do instead:
//! 1. preprocess the source (`clang -E`) and, using the line markers, find
//!    the struct/union/enum/typedef definitions that come from the
//!    program's own files (not system headers, not vmlinux.h);
//! 2. if some are missing from the object's BTF, compile the preprocessed
//!    text once more with one pointer global per missing type appended, and
//!    take their BTF from that throw-away object;
//! 3. append those types (and what they need that is not there yet) to the
//!    real object's BTF with bpfkit-btf's builder. Appending keeps every
//!    existing type id and string offset, so `.BTF.ext` stays valid and the
//!    code is untouched. Pointers to kernel structs inside such types become
//!    forward declarations, so a `struct task_struct *` member does not drag
//!    half of vmlinux in.
//!
//! Cost, measured with clang 16 on the examples and built-in tools: `.BTF`
//! grows by 95–231 bytes per object (one `struct event` with the ints and
//! arrays it needs); the `-E` pass adds ~0.1 s to every build, the second
//! compile ~0.4–1.3 s to builds that miss a type (plain compiles take
//! 0.4–0.8 s, mostly parsing vmlinux.h). [`crate::build_cached`] pays that
//! once per source version.

use bpfkit_btf::encode::BtfBuilder;
use bpfkit_btf::{Btf, Kind, Type, TypeId, kind_no};
use std::collections::{HashMap, HashSet};

/// A type the program defines, as it can be named from file scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnType {
    /// `struct NAME`, `union NAME` or `enum NAME` (the keyword is kept).
    Tagged(&'static str, String),
    Typedef(String),
}

impl OwnType {
    pub fn name(&self) -> &str {
        match self {
            OwnType::Tagged(_, n) | OwnType::Typedef(n) => n,
        }
    }

    /// How C code names this type.
    pub fn c_name(&self) -> String {
        match self {
            OwnType::Tagged(kw, n) => format!("{kw} {n}"),
            OwnType::Typedef(n) => n.clone(),
        }
    }

    /// True when `btf` already has a full definition of this type.
    fn present_in(&self, btf: &Btf) -> bool {
        let wanted = |k: &Kind| match self {
            OwnType::Tagged("struct", _) => matches!(k, Kind::Struct(_)),
            OwnType::Tagged("union", _) => matches!(k, Kind::Union(_)),
            OwnType::Tagged(_, _) => matches!(k, Kind::Enum(_)),
            OwnType::Typedef(_) => matches!(k, Kind::Typedef(_)),
        };
        btf.find(self.name(), wanted).is_some()
    }
}

/// Own types (see the module docs) missing from `btf`.
pub fn missing_types(own: &[OwnType], btf: &Btf) -> Vec<OwnType> {
    own.iter().filter(|t| !t.present_in(btf)).cloned().collect()
}

/// Type definitions in `preprocessed` (`clang -E` output with line
/// markers) that come from files for which `is_own_file` says yes.
pub fn own_type_definitions(
    preprocessed: &str,
    is_own_file: impl Fn(&str) -> bool,
) -> Vec<OwnType> {
    let mut own_text = String::new();
    let mut own = true;
    for line in preprocessed.lines() {
        if let Some(marker) = line_marker(line) {
            own = !marker.system && is_own_file(marker.file);
            continue;
        }
        if own && !line.trim_start().starts_with('#') {
            own_text.push_str(line);
            own_text.push('\n');
        }
    }
    let mut found = Vec::new();
    for def in scan_definitions(&tokens(&own_text)) {
        if !found.contains(&def) {
            found.push(def);
        }
    }
    found
}

struct LineMarker<'a> {
    file: &'a str,
    system: bool,
}

/// Parses `# 12 "file.h" 1 3` (flag 3: the file is a system header).
fn line_marker(line: &str) -> Option<LineMarker<'_>> {
    let rest = line.strip_prefix("# ")?;
    let (number, rest) = rest.split_once(' ')?;
    number.parse::<u64>().ok()?;
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let flags = &rest[end + 1..];
    Some(LineMarker {
        file: &rest[..end],
        system: flags.split_whitespace().any(|f| f == "3"),
    })
}

/// C tokens, good enough to find definitions: identifiers, numbers and
/// single punctuation characters; string and character literals are
/// dropped whole.
fn tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' || c == b'\'' {
            i = skip_literal(bytes, i);
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(&text[start..i]);
        } else {
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push(&text[i..i + len]);
            i += len;
        }
    }
    out
}

/// Index just past the string or char literal starting at `start`.
fn skip_literal(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

fn is_ident(tok: &str) -> bool {
    tok.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// File-scope `struct X {`, `union X {`, `enum X {` and `typedef ... X;`.
/// Definitions nested in other braces are skipped: they are either local
/// to a function (and cannot be named from file scope) or come along with
/// the enclosing type.
fn scan_definitions(toks: &[&str]) -> Vec<OwnType> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut typedef_depth: Option<usize> = None;
    for (i, &tok) in toks.iter().enumerate() {
        match tok {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            "typedef" if depth == 0 => typedef_depth = Some(depth),
            ";" if typedef_depth == Some(depth) => {
                typedef_depth = None;
                if let Some(&name) = toks[..i].last().filter(|t| is_ident(t)) {
                    found.push(OwnType::Typedef(name.to_string()));
                }
            }
            "struct" | "union" | "enum" if depth == 0 => {
                if let Some(name) = defined_tag(&toks[i + 1..]) {
                    let kw = match tok {
                        "struct" => "struct",
                        "union" => "union",
                        _ => "enum",
                    };
                    found.push(OwnType::Tagged(kw, name.to_string()));
                }
            }
            _ => {}
        }
    }
    found
}

/// After `struct`: the tag name if this is a definition (`NAME {`),
/// allowing `__attribute__((...))` before the name.
fn defined_tag<'a>(after: &[&'a str]) -> Option<&'a str> {
    let mut i = 0;
    while after.get(i) == Some(&"__attribute__") {
        i += 1;
        let mut parens = 0usize;
        while let Some(&t) = after.get(i) {
            i += 1;
            match t {
                "(" => parens += 1,
                ")" => {
                    parens = parens.saturating_sub(1);
                    if parens == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let name = *after.get(i)?;
    (is_ident(name) && after.get(i + 1) == Some(&"{")).then_some(name)
}

/// Prefix of the globals appended to the harvesting compile.
pub const ANCHOR_PREFIX: &str = "__bpfkit_keep_";

/// C text declaring one pointer global per type, which makes clang put
/// each type into BTF.
pub fn anchors(types: &[OwnType]) -> String {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} *{ANCHOR_PREFIX}{i};\n", t.c_name()))
        .collect()
}

/// The ids (in `harvested`) of the types the anchors point at.
pub fn anchored_roots(harvested: &Btf, count: usize) -> Vec<TypeId> {
    (0..count)
        .filter_map(|i| {
            let var = harvested.find(&format!("{ANCHOR_PREFIX}{i}"), |k| {
                matches!(k, Kind::Var { .. })
            })?;
            let Kind::Var { ty, .. } = harvested.get(var)?.kind else {
                return None;
            };
            match harvested.get(ty)?.kind {
                Kind::Ptr(target) => Some(target),
                _ => None,
            }
        })
        .collect()
}

/// Deeper than this, a type graph is not something a program defined.
const MAX_DEPTH: usize = 200;

/// Appends the types `roots` of `harvested` (with what they need) to
/// `target`, reusing `target`'s types wherever one with the same kind and
/// name (or, for anonymous ones, the same shape) exists. Returns the new
/// raw BTF and the names of the roots added.
pub fn merge(target: &Btf, harvested: &Btf, roots: &[TypeId]) -> Result<Vec<u8>, String> {
    let mut merger = Merger::new(target, harvested, roots);
    for &root in roots {
        merger.copy(root, 0)?;
    }
    let merged = merger.out.build().map_err(|e| e.to_string())?;
    Ok(bpfkit_btf::encode::encode(&merged))
}

struct Merger<'a> {
    src: &'a Btf,
    out: BtfBuilder,
    /// (kind number, name) → id in `out`, for named types.
    named: HashMap<(u8, String), TypeId>,
    /// Debug text of an anonymous type (refs already mapped) → id in `out`.
    anonymous: HashMap<String, TypeId>,
    /// id in `src` → id in `out`.
    copied: HashMap<TypeId, TypeId>,
    /// Named structs/unions in `src` that must be copied in full even behind
    /// a pointer: the roots themselves.
    full: HashSet<TypeId>,
}

impl<'a> Merger<'a> {
    fn new(target: &Btf, src: &'a Btf, roots: &[TypeId]) -> Merger<'a> {
        let mut named = HashMap::new();
        let mut anonymous = HashMap::new();
        for (id, t) in target.iter() {
            let name = target.str_at(t.name_off);
            if name.is_empty() {
                anonymous.entry(format!("{:?}", t.kind)).or_insert(id);
            } else {
                named
                    .entry((t.kind.number(), name.to_string()))
                    .or_insert(id);
            }
        }
        Merger {
            src,
            out: BtfBuilder::from_btf(target),
            named,
            anonymous,
            copied: HashMap::new(),
            full: roots.iter().copied().collect(),
        }
    }

    fn copy(&mut self, id: TypeId, depth: usize) -> Result<TypeId, String> {
        if id == 0 {
            return Ok(0);
        }
        if let Some(&done) = self.copied.get(&id) {
            return Ok(done);
        }
        if depth > MAX_DEPTH {
            return Err(format!("type {id} nests more than {MAX_DEPTH} deep"));
        }
        let t = self.src.type_by_id(id).map_err(|e| e.to_string())?.clone();
        let name = self.src.str_at(t.name_off).to_string();
        if !name.is_empty()
            && let Some(&existing) = self.named.get(&(t.kind.number(), name.clone()))
        {
            self.copied.insert(id, existing);
            return Ok(existing);
        }
        if let Kind::Ptr(target) = t.kind
            && let Some(fwd) = self.forward_for(target)
        {
            return self.add_shaped(
                id,
                Type {
                    name_off: 0,
                    kind: Kind::Ptr(fwd),
                },
                "",
            );
        }
        if matches!(t.kind, Kind::Struct(_) | Kind::Union(_)) {
            // Reserve the id first: members may point back at this type.
            let reserved = self.out.add_type(Type {
                name_off: 0,
                kind: Kind::Fwd { is_union: false },
            });
            self.copied.insert(id, reserved);
            let kind = self.map_kind(&t.kind, depth)?;
            let name_off = self.out.add_string(&name);
            self.out.set_type(reserved, Type { name_off, kind });
            if !name.is_empty() {
                self.named.insert((t.kind.number(), name), reserved);
            }
            return Ok(reserved);
        }
        let kind = self.map_kind(&t.kind, depth)?;
        let name_off = self.out.add_string(&name);
        self.add_shaped(id, Type { name_off, kind }, &name)
    }

    /// Adds a non-composite type unless an identical one exists.
    fn add_shaped(&mut self, src_id: TypeId, t: Type, name: &str) -> Result<TypeId, String> {
        let new = if name.is_empty() {
            let key = format!("{:?}", t.kind);
            match self.anonymous.get(&key) {
                Some(&existing) => existing,
                None => {
                    let new = self.out.add_type(t);
                    self.anonymous.insert(key, new);
                    new
                }
            }
        } else {
            let key = (t.kind.number(), name.to_string());
            let new = self.out.add_type(t);
            self.named.insert(key, new);
            new
        };
        self.copied.insert(src_id, new);
        Ok(new)
    }

    /// For a pointer target that is a named struct/union not among the
    /// roots and not already in the output: a forward declaration to point
    /// at instead of copying the whole (typically kernel) type.
    fn forward_for(&mut self, target: TypeId) -> Option<TypeId> {
        if self.full.contains(&target) || self.copied.contains_key(&target) {
            return None;
        }
        let t = self.src.get(target)?;
        let is_union = match t.kind {
            Kind::Struct(_) => false,
            Kind::Union(_) => true,
            _ => return None,
        };
        let name = self.src.str_at(t.name_off).to_string();
        if name.is_empty() {
            return None;
        }
        if let Some(&full) = self.named.get(&(t.kind.number(), name.clone())) {
            return Some(full);
        }
        let key = (kind_no::FWD, name.clone());
        if let Some(&fwd) = self.named.get(&key) {
            return Some(fwd);
        }
        let name_off = self.out.add_string(&name);
        let fwd = self.out.add_type(Type {
            name_off,
            kind: Kind::Fwd { is_union },
        });
        self.named.insert(key, fwd);
        Some(fwd)
    }

    /// `kind` with every type reference and member/value/parameter name
    /// moved over to the output.
    fn map_kind(&mut self, kind: &Kind, depth: usize) -> Result<Kind, String> {
        let d = depth + 1;
        let mut kind = kind.clone();
        match &mut kind {
            Kind::Ptr(r)
            | Kind::Typedef(r)
            | Kind::Volatile(r)
            | Kind::Const(r)
            | Kind::Restrict(r)
            | Kind::TypeTag(r) => *r = self.copy(*r, d)?,
            Kind::Array(a) => {
                a.elem = self.copy(a.elem, d)?;
                a.index = self.copy(a.index, d)?;
            }
            Kind::Struct(c) | Kind::Union(c) => {
                for m in &mut c.members {
                    m.ty = self.copy(m.ty, d)?;
                    m.name_off = self.move_string(m.name_off);
                }
            }
            Kind::Enum(e) => {
                for v in &mut e.values {
                    v.name_off = self.move_string(v.name_off);
                }
            }
            Kind::FuncProto(p) => {
                p.ret = self.copy(p.ret, d)?;
                for param in &mut p.params {
                    param.ty = self.copy(param.ty, d)?;
                    param.name_off = self.move_string(param.name_off);
                }
            }
            Kind::Func { proto: r, .. } | Kind::Var { ty: r, .. } | Kind::DeclTag { ty: r, .. } => {
                *r = self.copy(*r, d)?
            }
            Kind::Datasec(s) => {
                for v in &mut s.vars {
                    v.ty = self.copy(v.ty, d)?;
                }
            }
            Kind::Void | Kind::Int(_) | Kind::Fwd { .. } | Kind::Float { .. } => {}
        }
        Ok(kind)
    }

    fn move_string(&mut self, off: u32) -> u32 {
        let s = self.src.str_at(off).to_string();
        self.out.add_string(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREPROCESSED: &str = r#"# 1 "prog.bpf.c"
# 1 "./vmlinux.h" 1
struct task_struct { int pid; };
typedef unsigned int __u32;
# 2 "prog.bpf.c" 2
# 1 "/usr/include/bpf/bpf_helpers.h" 1 3
struct bpf_map_def { int x; };
# 3 "prog.bpf.c" 2
# 1 "./event.h" 1
struct __attribute__((packed)) event { __u32 pid; char comm[16]; };
typedef struct { int a; } pair_t;
typedef int (*callback)(int);
# 4 "prog.bpf.c" 2
enum state { A, B };
char s[] = "struct fake { }";
struct { int type; } rb;
int f(void) { struct local { int x; } l; return 0; }
"#;

    #[test]
    fn finds_own_definitions_only() {
        let own = own_type_definitions(PREPROCESSED, |f| !f.ends_with("vmlinux.h"));
        assert_eq!(
            own,
            [
                OwnType::Tagged("struct", "event".into()),
                OwnType::Typedef("pair_t".into()),
                OwnType::Tagged("enum", "state".into()),
            ]
        );
        assert_eq!(anchors(&own[..1]), "struct event *__bpfkit_keep_0;\n");
    }
}
