//! Function symbols of a user binary or library by glob, with their file
//! offsets: what `uprobe.multi/BINARY:PATTERN` attaches to.

use object::{Object as _, ObjectSegment, ObjectSymbol, SymbolKind};

/// A function of a binary: its symbol name and where its code is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSymbol {
    pub name: String,
    pub file_offset: u64,
}

/// The defined functions of an ELF file (`.symtab` and `.dynsym`) whose name
/// matches `pattern` (`*` and `?`, as libbpf's `glob_match`), sorted by
/// name. Aliases (several names at one address, `getpid`/`__getpid`) are
/// one function, under the first name in that order, so that no address
/// is probed twice.
pub fn matching_functions(elf: &[u8], pattern: &str) -> Result<Vec<FunctionSymbol>, String> {
    functions_where(elf, |name| glob_match(name, pattern))
}

/// [`matching_functions`] for any test of the name (a regular expression).
pub fn functions_where(
    elf: &[u8],
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<FunctionSymbol>, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF file: {e}"))?;
    let segments: Vec<(u64, u64, u64)> = file
        .segments()
        .map(|s| (s.address(), s.size(), s.file_range().0))
        .collect();
    let in_file = |addr: u64| {
        segments
            .iter()
            .find(|(vaddr, size, _)| addr >= *vaddr && addr < vaddr.saturating_add(*size))
            .map(|(vaddr, _, offset)| addr - vaddr + offset)
    };
    let mut found: Vec<FunctionSymbol> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition() && s.address() != 0)
        .filter_map(|s| {
            let name = s.name().ok()?;
            let file_offset = in_file(s.address())?;
            wanted(name).then(|| FunctionSymbol {
                name: name.to_string(),
                file_offset,
            })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|b, a| a.name == b.name);
    let mut seen = std::collections::HashSet::new();
    found.retain(|f| seen.insert(f.file_offset));
    Ok(found)
}

/// `*` matches any run of characters, `?` any one character.
pub fn glob_match(text: &str, pattern: &str) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = (text.chars().collect(), pattern.chars().collect());
    let (mut ti, mut pi) = (0, 0);
    // Where the last `*` was, and the text position it is matching up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("strlen", "str*"));
        assert!(glob_match("str", "str*"));
        assert!(!glob_match("xstrlen", "str*"));
        assert!(glob_match("getpid", "get?id"));
        assert!(!glob_match("getppid", "get?id"));
        assert!(glob_match("a_b_c", "*_*_*"));
        assert!(glob_match("abc", "*"));
        assert!(!glob_match("abc", "ab"));
        assert!(glob_match("mississippi", "*sip*"));
    }

    #[test]
    fn functions_of_this_test_binary() {
        let exe = std::fs::read("/proc/self/exe").expect("reading /proc/self/exe");
        let found = matching_functions(&exe, "*glob_match*").expect("parse");
        assert!(
            found.iter().any(|f| f.name.contains("glob_match")),
            "{found:?}"
        );
        assert!(
            matching_functions(&exe, "no_such_function_?xyz")
                .unwrap()
                .is_empty()
        );
        assert!(matching_functions(b"not elf", "*").is_err());
    }
}
