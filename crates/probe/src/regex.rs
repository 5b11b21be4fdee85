//! The regular expressions of `funccount -r`/`stackcount -r`: a small
//! backtracking matcher over what bcc's examples use (`.`, `[a-z]`,
//! `[^...]`, `*`, `+`, `?`, `(a|b)`, `^`, `$`, `\` escapes), matched as
//! Python's `re.match` (bcc's): from the start, not necessarily to the end.
//! Patterns are function and tracepoint names, so a pattern is at most
//! [`MAX_PATTERN`] characters and the backtracking stays small.

const MAX_PATTERN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Char(char),
    Any,
    /// A class: ranges (a single character is a range of one), negated.
    Class(Vec<(char, char)>, bool),
    Group(Box<Alt>),
    Start,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    One,
    ZeroOrOne,
    ZeroOrMore,
    OneOrMore,
}

/// Alternatives, each a sequence of repeated atoms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Alt(Vec<Vec<(Atom, Repeat)>>);

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regex(Alt);

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        if chars.len() > MAX_PATTERN {
            return Err(format!(
                "regular expression longer than {MAX_PATTERN} characters"
            ));
        }
        let mut pos = 0;
        let alt = parse_alt(&chars, &mut pos, 0)?;
        if pos < chars.len() {
            return Err(format!("unmatched ')' at {} in '{pattern}'", pos + 1));
        }
        Ok(Regex(alt))
    }

    /// Whether the pattern matches a prefix of `text` (Python's `re.match`).
    pub fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        match_alt(&self.0, &text, 0, &mut |_| true)
    }
}

fn parse_alt(chars: &[char], pos: &mut usize, depth: usize) -> Result<Alt, String> {
    if depth > 16 {
        return Err("regular expression nests groups too deeply".into());
    }
    let mut alternatives = vec![Vec::new()];
    while let Some(&c) = chars.get(*pos) {
        *pos += 1;
        let atom = match c {
            '|' => {
                alternatives.push(Vec::new());
                continue;
            }
            ')' if depth > 0 => return Ok(Alt(alternatives)),
            ')' => {
                *pos -= 1;
                return Ok(Alt(alternatives));
            }
            '(' => {
                // Returns after its ')' (or fails at the end without one).
                Atom::Group(Box::new(parse_alt(chars, pos, depth + 1)?))
            }
            '.' => Atom::Any,
            '^' => Atom::Start,
            '$' => Atom::End,
            '[' => parse_class(chars, pos)?,
            '\\' => {
                let escaped = chars
                    .get(*pos)
                    .ok_or("a '\\' ends the regular expression")?;
                *pos += 1;
                Atom::Char(*escaped)
            }
            '*' | '+' | '?' => {
                return Err(format!("'{c}' repeats nothing in the regular expression"));
            }
            c => Atom::Char(c),
        };
        let repeat = match chars.get(*pos) {
            Some('*') => Repeat::ZeroOrMore,
            Some('+') => Repeat::OneOrMore,
            Some('?') => Repeat::ZeroOrOne,
            _ => Repeat::One,
        };
        if repeat != Repeat::One {
            *pos += 1;
        }
        if let Some(seq) = alternatives.last_mut() {
            seq.push((atom, repeat));
        }
    }
    if depth > 0 {
        return Err("unclosed '(' in the regular expression".into());
    }
    Ok(Alt(alternatives))
}

fn parse_class(chars: &[char], pos: &mut usize) -> Result<Atom, String> {
    let negated = chars.get(*pos) == Some(&'^');
    if negated {
        *pos += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars
            .get(*pos)
            .ok_or("unclosed '[' in the regular expression")?;
        *pos += 1;
        if c == ']' && !first {
            return Ok(Atom::Class(ranges, negated));
        }
        first = false;
        let c = if c == '\\' {
            let e = *chars
                .get(*pos)
                .ok_or("unclosed '[' in the regular expression")?;
            *pos += 1;
            e
        } else {
            c
        };
        if chars.get(*pos) == Some(&'-') && chars.get(*pos + 1).is_some_and(|&e| e != ']') {
            let end = chars[*pos + 1];
            *pos += 2;
            ranges.push((c, end));
        } else {
            ranges.push((c, c));
        }
    }
}

/// Matches `alt` at `at`, then `rest` from where it ended (backtracking
/// into every way `alt` can match).
fn match_alt(alt: &Alt, text: &[char], at: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    alt.0.iter().any(|seq| match_seq(seq, text, at, rest))
}

fn match_seq(
    seq: &[(Atom, Repeat)],
    text: &[char],
    at: usize,
    rest: &mut dyn FnMut(usize) -> bool,
) -> bool {
    let Some(((atom, repeat), tail)) = seq.split_first() else {
        return rest(at);
    };
    let mut then = |next: usize| match_seq(tail, text, next, rest);
    match repeat {
        Repeat::One => match_atom(atom, text, at, &mut then),
        Repeat::ZeroOrOne => match_atom(atom, text, at, &mut then) || then(at),
        Repeat::ZeroOrMore => match_many(atom, text, at, &mut then),
        Repeat::OneOrMore => match_atom(atom, text, at, &mut |next| {
            next > at && match_many(atom, text, next, &mut then)
        }),
    }
}

/// Greedy: as many repetitions as match, then fewer.
fn match_many(atom: &Atom, text: &[char], at: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    match_atom(atom, text, at, &mut |next| {
        next > at && match_many(atom, text, next, rest)
    }) || rest(at)
}

fn match_atom(atom: &Atom, text: &[char], at: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    let here = text.get(at).copied();
    match atom {
        Atom::Start => at == 0 && rest(at),
        Atom::End => at == text.len() && rest(at),
        Atom::Group(alt) => match_alt(alt, text, at, rest),
        Atom::Char(c) => here == Some(*c) && rest(at + 1),
        Atom::Any => here.is_some() && rest(at + 1),
        Atom::Class(ranges, negated) => {
            here.is_some_and(|c| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && rest(at + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn matches_a_prefix_as_python_re_match() {
        assert!(matches("vfs_", "vfs_read"));
        assert!(!matches("read", "vfs_read"));
        assert!(matches("^vfs_(read|write)$", "vfs_write"));
        assert!(!matches("^vfs_(read|write)$", "vfs_writev"));
        assert!(matches("get.*id$", "getppid"));
        assert!(!matches("get.*id$", "getpid_cached"));
        assert!(matches("str[a-c]+py", "strcpy"));
        assert!(!matches("str[^c]py", "strcpy"));
        assert!(matches("a?b+c*$", "bb"));
        assert!(matches("x\\.y", "x.y"));
        assert!(!matches("x\\.y", "xzy"));
        assert!(matches("(a|ab)(c|bcd)$", "abcd"));
        assert!(matches("", "anything"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in [
            "(ab",
            "ab)",
            "[ab",
            "*a",
            "a\\",
            "((((((((((((((((((a))))))))))))))))))",
        ] {
            assert!(Regex::new(bad).is_err(), "{bad}");
        }
        assert!(Regex::new(&"a".repeat(300)).is_err());
    }

    /// Random patterns and texts: an answer or an error, never a panic
    /// or a hang (patterns are short, texts are names).
    #[test]
    fn random_patterns_never_panic() {
        let mut rng = bpfkit_testkit::Rng::new(0x000e_6ec5);
        let alphabet: Vec<char> = "ab.*+?()|[]^$\\-".chars().collect();
        for _ in 0..3000 {
            let pattern: String = (0..rng.below(12))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let text: String = (0..rng.below(12))
                .map(|_| ['a', 'b', '.'][rng.below(3)])
                .collect();
            if let Ok(re) = Regex::new(&pattern) {
                re.is_match(&text);
            }
        }
    }
}
