//! bcc's probe syntax: `TYPE:LIB:FUNC [(FILTER)] ["FORMAT"[, ARG...]]`.
//! Every error carries the column (1-based, in characters of the probe
//! text) it is about, so the message can point at it.

use std::fmt;

/// An error at a column of one probe's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub column: usize,
    pub message: String,
}

impl SyntaxError {
    pub fn new(column: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            column,
            message: message.into(),
        }
    }

    /// The message, the probe and a caret under the column; the message
    /// alone for column 0 (an error about the whole probe, such as a
    /// kernel without the hooks it needs).
    pub fn render(&self, probe: &str) -> String {
        if self.column == 0 {
            return self.message.clone();
        }
        format!(
            "{} (column {})\n    {}\n    {}^",
            self.message,
            self.column,
            probe,
            " ".repeat(self.column.saturating_sub(1))
        )
    }
}

/// Where a probe attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `t:CATEGORY:NAME`
    Tracepoint { category: String, name: String },
    /// `p:LIB:FUNC` (`return_probe` false) or `r:LIB:FUNC`; LIB empty
    /// means a kernel function.
    Function {
        library: String,
        function: String,
        return_probe: bool,
    },
    /// `U:LIB:[PROVIDER:]NAME` (bcc's `u:`): a USDT probe of a binary or
    /// library; without PROVIDER, the probe of that name of any provider.
    Usdt {
        library: String,
        provider: Option<String>,
        name: String,
    },
}

impl Target {
    /// The name bcc shows in the FUNC column.
    pub fn function_name(&self) -> &str {
        match self {
            Target::Tracepoint { name, .. } => name,
            Target::Function { function, .. } => function,
            Target::Usdt { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
    /// A C cast to an integer type (`(int)retval`, bcc's trace examples):
    /// the value cut to `bytes` and sign- or zero-extended. (A pointer
    /// cast, `(char *)$retval`, changes nothing and is dropped.)
    Cast {
        bytes: u8,
        signed: bool,
    },
}

/// An expression and the column it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub column: usize,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    Int(i64),
    Str(String),
    /// `$pid`, `$tgid`, `$uid`, `$gid`, `$comm`, `$cpu`, and `$task`: the
    /// current `struct task_struct *` (bcc's `bpf_get_current_task()`),
    /// whose members are walked like a kernel function argument's.
    Builtin(String),
    /// `args->NAME`: a tracepoint field.
    Field(String),
    /// `arg1`..`arg6` or a name from the signature.
    Arg(String),
    Retval,
    /// `$entry(NAME)` in a return probe: argument NAME as it was at the
    /// function's entry (kept per thread by a companion entry program).
    Entry(String),
    /// `$latency` in a return probe: nanoseconds since the function's entry.
    Latency,
    /// `BASE->member` (`arrow`) or `BASE.member`: a struct member of a
    /// kernel function's argument, typed from kernel BTF.
    Member {
        base: Box<Expr>,
        member: String,
        arrow: bool,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// One parsed probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub target: Target,
    /// The `(type name, ...)` after the function, if given.
    pub signature: Option<Vec<(String, String)>>,
    pub filter: Option<Expr>,
    /// The format string and its column.
    pub format: Option<(String, usize)>,
    pub args: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Int(i64),
    Str(String),
    Ident(String),
    Dollar(String),
    Arrow,
    Dot,
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    _text: &'a str,
}

/// Two-character operators first, so that `<=` is not read as `<`.
const OPERATORS: [&str; 14] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%",
];

impl<'a> Lexer<'a> {
    fn new(text: &'a str, pos: usize) -> Lexer<'a> {
        Lexer {
            chars: text.chars().collect(),
            pos,
            _text: text,
        }
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// The next token and the column it starts at.
    fn next(&mut self) -> Result<(Tok, usize), SyntaxError> {
        self.skip_space();
        let column = self.pos + 1;
        let Some(&c) = self.chars.get(self.pos) else {
            return Ok((Tok::End, column));
        };
        let tok = match c {
            '(' => {
                self.pos += 1;
                Tok::LParen
            }
            ')' => {
                self.pos += 1;
                Tok::RParen
            }
            ',' => {
                self.pos += 1;
                Tok::Comma
            }
            '.' => {
                self.pos += 1;
                Tok::Dot
            }
            '"' => Tok::Str(self.string(column)?),
            '$' => {
                self.pos += 1;
                let name = self.word();
                if name.is_empty() {
                    return Err(SyntaxError::new(column, "'$' must be followed by a name"));
                }
                Tok::Dollar(name)
            }
            '0'..='9' => Tok::Int(self.number(column)?),
            c if c.is_ascii_alphabetic() || c == '_' => Tok::Ident(self.word()),
            '-' if self.chars.get(self.pos + 1) == Some(&'>') => {
                self.pos += 2;
                Tok::Arrow
            }
            _ => {
                let rest: String = self.chars[self.pos..].iter().take(2).collect();
                let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) else {
                    return Err(SyntaxError::new(
                        column,
                        format!("unexpected character '{c}'"),
                    ));
                };
                self.pos += op.len();
                Tok::Op(op)
            }
        };
        Ok((tok, column))
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn number(&mut self, column: usize) -> Result<i64, SyntaxError> {
        let text = self.word();
        let parsed = if let Some(hex) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16).map(|v| v as i64)
        } else {
            text.parse::<i64>()
        };
        parsed.map_err(|_| SyntaxError::new(column, format!("'{text}' is not a number")))
    }

    fn string(&mut self, column: usize) -> Result<String, SyntaxError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.chars.get(self.pos) else {
                return Err(SyntaxError::new(column, "this string has no closing '\"'"));
            };
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escaped = self.chars.get(self.pos).copied();
                    self.pos += 1;
                    out.push(match escaped {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('\\') => '\\',
                        Some('"') => '"',
                        Some('0') => '\0',
                        _ => {
                            return Err(SyntaxError::new(
                                self.pos - 1,
                                "unknown escape (\\n, \\t, \\\\, \\\", \\0 are known)",
                            ));
                        }
                    });
                }
                c => out.push(c),
            }
        }
    }
}

/// Parses one probe, as one command-line argument of `bpfkit trace`.
pub fn parse_probe(text: &str) -> Result<Probe, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    while chars.get(pos).is_some_and(|c| c.is_whitespace()) {
        pos += 1;
    }
    let spec_start = pos;
    while chars
        .get(pos)
        .is_some_and(|c| !c.is_whitespace() && *c != '(')
    {
        pos += 1;
    }
    let spec: String = chars[spec_start..pos].iter().collect();
    let target = parse_target(&spec, spec_start + 1)?;
    let mut signature = None;
    if chars.get(pos) == Some(&'(') {
        let close = chars[pos..]
            .iter()
            .position(|&c| c == ')')
            .map(|i| pos + i)
            .ok_or_else(|| SyntaxError::new(pos + 1, "this signature has no closing ')'"))?;
        let inner: String = chars[pos + 1..close].iter().collect();
        signature = Some(parse_signature(&inner, pos + 2)?);
        if matches!(target, Target::Tracepoint { .. }) {
            return Err(SyntaxError::new(
                pos + 1,
                "a tracepoint takes no signature: its fields are args->NAME",
            ));
        }
        pos = close + 1;
    }
    let mut parser = Parser {
        lexer: Lexer::new(text, pos),
        peeked: None,
    };
    let mut probe = Probe {
        target,
        signature,
        filter: None,
        format: None,
        args: Vec::new(),
    };
    if parser.peek()?.0 == Tok::LParen {
        parser.bump()?;
        probe.filter = Some(parser.expr()?);
        parser.expect(Tok::RParen, "')' to close the filter")?;
    }
    match parser.bump()? {
        (Tok::End, _) => return Ok(probe),
        (Tok::Str(format), column) => probe.format = Some((format, column)),
        (_, column) => {
            return Err(SyntaxError::new(
                column,
                "expected a \"format\" string (or a (filter) before it)",
            ));
        }
    }
    loop {
        match parser.bump()? {
            (Tok::End, _) => return Ok(probe),
            (Tok::Comma, _) => probe.args.push(parser.expr()?),
            (_, column) => {
                return Err(SyntaxError::new(
                    column,
                    "expected ',' and an argument, or the end of the probe",
                ));
            }
        }
    }
}

fn parse_target(spec: &str, column: usize) -> Result<Target, SyntaxError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (kind, rest): (&str, &[&str]) = match parts.as_slice() {
        // bcc: LIB:FUNC (`c:malloc`) is an entry probe when LIB is no type.
        [library, _] if !["p", "r", "t", "u", "U"].contains(library) => ("p", parts.as_slice()),
        [kind, rest @ ..] if kind.len() == 1 && !rest.is_empty() => (kind, rest),
        // bcc: an omitted type (`:c:malloc`, `::do_sys_open`) is an entry probe.
        ["", rest @ ..] if !rest.is_empty() => ("p", rest),
        // bcc: a bare name is a kernel function.
        [function] if !function.is_empty() => ("p", parts.as_slice()),
        _ => {
            return Err(SyntaxError::new(
                column,
                "expected a probe: t:CATEGORY:NAME, p:LIB:FUNC, r:LIB:FUNC, U:LIB:PROVIDER:NAME",
            ));
        }
    };
    let part = |i: usize| rest.get(i).copied().unwrap_or("");
    let need_name = |name: &str, what: &str| {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
        {
            Err(SyntaxError::new(
                column,
                format!("'{spec}': {what} must be a name"),
            ))
        } else {
            Ok(())
        }
    };
    match kind {
        "t" => {
            if rest.len() != 2 {
                return Err(SyntaxError::new(
                    column,
                    "a tracepoint is t:CATEGORY:NAME (e.g. t:syscalls:sys_enter_openat)",
                ));
            }
            need_name(part(0), "the tracepoint category")?;
            need_name(part(1), "the tracepoint name")?;
            Ok(Target::Tracepoint {
                category: part(0).into(),
                name: part(1).into(),
            })
        }
        "p" | "r" => {
            let (library, function) = match rest {
                [function] => ("", *function),
                [library, function] => (*library, *function),
                _ => {
                    return Err(SyntaxError::new(
                        column,
                        "a function probe is p:LIB:FUNC or r:LIB:FUNC",
                    ));
                }
            };
            need_name(function, "the function")?;
            Ok(Target::Function {
                library: library.into(),
                function: function.into(),
                return_probe: kind == "r",
            })
        }
        "u" | "U" => crate::usdt::parse_target(rest, spec, column),
        other => Err(SyntaxError::new(
            column,
            format!(
                "unknown probe type '{other}': t (tracepoint), p (entry), r (return), \
                 U (USDT) are supported"
            ),
        )),
    }
}

fn parse_signature(inner: &str, column: usize) -> Result<Vec<(String, String)>, SyntaxError> {
    let mut params = Vec::new();
    if inner.trim().is_empty() {
        return Ok(params);
    }
    for param in inner.split(',') {
        let param = param.trim();
        let split = param
            .rfind(|c: char| c.is_whitespace() || c == '*')
            .ok_or_else(|| SyntaxError::new(column, format!("'{param}': expected TYPE NAME")))?;
        let (ty, name) = param.split_at(split + 1);
        params.push((ty.trim().to_string(), name.trim().to_string()));
    }
    Ok(params)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(Tok, usize)>,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&(Tok, usize), SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn bump(&mut self) -> Result<(Tok, usize), SyntaxError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next(),
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), SyntaxError> {
        let (got, column) = self.bump()?;
        if got == tok {
            Ok(())
        } else {
            Err(SyntaxError::new(column, format!("expected {what}")))
        }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(0)
    }

    /// Precedence climbing over [`LEVELS`], loosest first.
    fn binary(&mut self, level: usize) -> Result<Expr, SyntaxError> {
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        loop {
            let op = match self.peek()? {
                (Tok::Op(text), _) => ops.iter().find(|(t, _)| t == text).map(|(_, op)| *op),
                _ => None,
            };
            let Some(op) = op else { return Ok(left) };
            self.bump()?;
            let right = self.binary(level + 1)?;
            left = Expr {
                column: left.column,
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let op = match self.peek()? {
            (Tok::Op("!"), _) => Some(UnOp::Not),
            (Tok::Op("-"), _) => Some(UnOp::Neg),
            _ => None,
        };
        if let Some(op) = op {
            let (_, column) = self.bump()?;
            let inner = self.unary()?;
            return Ok(Expr {
                column,
                kind: ExprKind::Unary(op, Box::new(inner)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let (tok, column) = self.bump()?;
        let kind = match tok {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Dollar(name) => match name.as_str() {
                "pid" | "tgid" | "uid" | "gid" | "comm" | "cpu" | "task" => ExprKind::Builtin(name),
                // bcc's argdist aliases: $PID is the process id, $COMM the name.
                "PID" => ExprKind::Builtin("tgid".into()),
                "COMM" => ExprKind::Builtin("comm".into()),
                // bcc's argdist writes the return value `$retval`.
                "retval" => ExprKind::Retval,
                "latency" => ExprKind::Latency,
                "entry" => {
                    self.expect(Tok::LParen, "'(' after $entry: $entry(ARGUMENT)")?;
                    let name = match self.bump()? {
                        (Tok::Ident(name), _) => name,
                        (_, c) => {
                            return Err(SyntaxError::new(
                                c,
                                "expected an argument's name in $entry(ARGUMENT)",
                            ));
                        }
                    };
                    self.expect(Tok::RParen, "')' to close $entry(ARGUMENT)")?;
                    ExprKind::Entry(name)
                }
                _ => {
                    return Err(SyntaxError::new(
                        column,
                        format!(
                            "unknown ${name}: $pid, $tgid, $uid, $gid, $comm, $cpu, $task, \
                             $retval, $latency, $entry(ARGUMENT) (and argdist's $PID, $COMM) \
                             are known"
                        ),
                    ));
                }
            },
            Tok::Ident(name) if name == "args" => {
                let (arrow, arrow_column) = self.bump()?;
                if arrow != Tok::Arrow {
                    return Err(SyntaxError::new(arrow_column, "expected '->' after args"));
                }
                match self.bump()? {
                    (Tok::Ident(field), _) => ExprKind::Field(field),
                    (_, c) => return Err(SyntaxError::new(c, "expected a field name after '->'")),
                }
            }
            Tok::Ident(name) if name == "retval" => ExprKind::Retval,
            // bcc's string equality: STRCMP("literal", value).
            Tok::Ident(name) if name == "STRCMP" && self.peek()?.0 == Tok::LParen => {
                self.bump()?;
                let left = self.expr()?;
                self.expect(Tok::Comma, "',' between STRCMP's two strings")?;
                let right = self.expr()?;
                self.expect(Tok::RParen, "')' to close STRCMP")?;
                ExprKind::Binary(BinOp::Eq, Box::new(left), Box::new(right))
            }
            Tok::Ident(name) => ExprKind::Arg(name),
            Tok::LParen => {
                if let Some(cast) = self.cast()? {
                    let inner = self.unary()?;
                    return Ok(match cast {
                        Some(op) => Expr {
                            column,
                            kind: ExprKind::Unary(op, Box::new(inner)),
                        },
                        // A pointer keeps its value, and what reads it (a
                        // `%s`, argdist's char* TYPE) decides.
                        None => inner,
                    });
                }
                let inner = self.expr()?;
                self.expect(Tok::RParen, "')'")?;
                return Ok(inner);
            }
            Tok::End => return Err(SyntaxError::new(column, "expected an expression here")),
            _ => return Err(SyntaxError::new(column, "expected an expression")),
        };
        self.members(Expr { column, kind })
    }

    /// After a `(`: a C integer or pointer type and its `)`, taken as a
    /// cast (`Some(None)` for a pointer type, which changes no value);
    /// `None` (nothing read) when the next word names no type.
    fn cast(&mut self) -> Result<Option<Option<UnOp>>, SyntaxError> {
        let starts_type = |t: &Tok| {
            matches!(t, Tok::Ident(w) if crate::tracefs::c_int_type(w).is_some()
                || ["unsigned", "signed", "long", "short", "void"].contains(&w.as_str()))
        };
        if !starts_type(&self.peek()?.0) {
            return Ok(None);
        }
        let column = self.peek()?.1;
        let mut words = Vec::new();
        let mut pointer = false;
        loop {
            match self.bump()? {
                (Tok::Ident(word), _) if !pointer => words.push(word),
                (Tok::Op("*"), _) => pointer = true,
                (Tok::RParen, _) => break,
                (_, c) => return Err(SyntaxError::new(c, "expected ')' to close the cast")),
            }
        }
        let name = words.join(" ");
        if pointer {
            return Ok(Some(None));
        }
        let name = if name == "signed" { "int" } else { &name };
        let (bytes, signed) = crate::tracefs::c_int_type(name).ok_or_else(|| {
            SyntaxError::new(
                column,
                format!("cannot cast to '{name}': not an integer type"),
            )
        })?;
        Ok(Some(Some(UnOp::Cast {
            bytes: bytes as u8,
            signed,
        })))
    }

    /// `->member` and `.member` after a value (struct walks).
    fn members(&mut self, mut e: Expr) -> Result<Expr, SyntaxError> {
        loop {
            let arrow = match self.peek()?.0 {
                Tok::Arrow => true,
                Tok::Dot => false,
                _ => return Ok(e),
            };
            self.bump()?;
            let member = match self.bump()? {
                (Tok::Ident(member), _) => member,
                (_, c) => return Err(SyntaxError::new(c, "expected a member name")),
            };
            e = Expr {
                column: e.column,
                kind: ExprKind::Member {
                    base: Box::new(e),
                    member,
                    arrow,
                },
            };
        }
    }
}

/// Binary operators by precedence, loosest first (C's order).
const LEVELS: [&[(&str, BinOp)]; 6] = [
    &[("||", BinOp::Or)],
    &[("&&", BinOp::And)],
    &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
    &[
        ("<", BinOp::Lt),
        (">", BinOp::Gt),
        ("<=", BinOp::Le),
        (">=", BinOp::Ge),
    ],
    &[("+", BinOp::Add), ("-", BinOp::Sub)],
    &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)],
];

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> String {
        let probe = parse_probe(text).unwrap();
        crate::compile::expr_text(probe.filter.as_ref().unwrap())
    }

    #[test]
    fn precedence_follows_c() {
        assert_eq!(
            filter("t:a:b (args->x == 1 || args->y + 2 * 3 > 4 && !$pid)"),
            "((args->x == 1) || (((args->y + (2 * 3)) > 4) && !($pid)))"
        );
        assert_eq!(filter("t:a:b (-(1 - 2) - 3)"), "(-((1 - 2)) - 3)");
    }

    /// bcc's trace examples: C casts and STRCMP in filters.
    #[test]
    fn casts_and_strcmp_are_read() {
        assert_eq!(filter("r:c:read ((int)retval < 0)"), "((s32)(retval) < 0)");
        assert_eq!(
            filter("r:c:read ((unsigned long long)retval + (char *)arg1 > (short)-1)"),
            "(((u64)(retval) + arg1) > (s16)(-(1)))"
        );
        assert_eq!(
            filter(r#"p:c:open (STRCMP("test.txt", arg1))"#),
            r#"("test.txt" == arg1)"#
        );
        // A parenthesized name that is no type stays a grouping.
        assert_eq!(filter("t:a:b ((args->x) + 1)"), "(args->x + 1)");
        let error = |text: &str| parse_probe(text).unwrap_err().message;
        assert!(error("r:c:read ((int retval < 0)").contains("close the cast"));
        assert!(error(r#"p:c:open (STRCMP("a" arg1))"#).contains("','"));
    }

    #[test]
    fn probe_parts_are_read() {
        let probe = parse_probe(
            "t:syscalls:sys_enter_openat (args->dfd != 0x10) \"%s %d\", args->filename, $uid",
        )
        .unwrap();
        assert_eq!(
            probe.target,
            Target::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_openat".into()
            }
        );
        assert_eq!(probe.format, Some(("%s %d".into(), 49)));
        assert_eq!(probe.args.len(), 2);
        assert_eq!(probe.args[1].kind, ExprKind::Builtin("uid".into()));
        let probe = parse_probe("r:c:malloc(size_t size, char *name) (retval != 0)").unwrap();
        assert_eq!(
            probe.signature,
            Some(vec![
                ("size_t".into(), "size".into()),
                ("char *".into(), "name".into())
            ])
        );
        assert!(matches!(
            probe.target,
            Target::Function {
                return_probe: true,
                ..
            }
        ));
        let probe = parse_probe("c:malloc \"%d\", arg1").unwrap();
        assert_eq!(
            probe.target,
            Target::Function {
                library: "c".into(),
                function: "malloc".into(),
                return_probe: false
            }
        );
        // bcc: a bare name is a kernel function.
        let probe = parse_probe("do_sys_open").unwrap();
        assert_eq!(
            probe.target,
            Target::Function {
                library: String::new(),
                function: "do_sys_open".into(),
                return_probe: false
            }
        );
    }

    #[test]
    fn member_walks_and_dollar_retval_are_read() {
        let probe =
            parse_probe("r::vfs_read ($retval > 0) \"%d\", args->file->f_path.dentry").unwrap();
        assert_eq!(
            probe.filter.unwrap().kind,
            ExprKind::Binary(
                BinOp::Gt,
                Box::new(Expr {
                    column: 14,
                    kind: ExprKind::Retval
                }),
                Box::new(Expr {
                    column: 24,
                    kind: ExprKind::Int(0)
                }),
            )
        );
        assert_eq!(
            crate::compile::expr_text(&probe.args[0]),
            "args->file->f_path.dentry"
        );
        assert_eq!(probe.args[0].column, 33);
        let probe = parse_probe("t:a:b ($task->real_parent->tgid == 1) \"%d\", $task").unwrap();
        assert_eq!(
            crate::compile::expr_text(probe.filter.as_ref().unwrap()),
            "($task->real_parent->tgid == 1)"
        );
        assert_eq!(probe.args[0].kind, ExprKind::Builtin("task".into()));
    }

    #[test]
    fn latency_and_entry_arguments_parse() {
        let probe = parse_probe("r:c:f(int n) ($latency > 1000) \"%d\", $entry(n)").unwrap();
        let Some(Expr {
            kind: ExprKind::Binary(BinOp::Gt, latency, _),
            ..
        }) = &probe.filter
        else {
            panic!("{:?}", probe.filter);
        };
        assert_eq!(latency.kind, ExprKind::Latency);
        assert_eq!(probe.args[0].kind, ExprKind::Entry("n".into()));
    }

    #[test]
    fn errors_point_at_the_column() {
        let cases = [
            ("t:a:b (args->x == )", 19, "expected an expression"),
            ("t:a:b (args->x", 15, "')' to close the filter"),
            ("t:a:b \"%d\" args->x", 12, "expected ','"),
            ("t:a:b \"unterminated", 7, "no closing '\"'"),
            ("t:a:b ($nope)", 8, "unknown $nope"),
            ("r:c:f ($entry)", 14, "'(' after $entry"),
            ("r:c:f ($entry(1))", 15, "an argument's name"),
            ("r:c:f ($entry(n > 1)", 17, "')' to close $entry"),
            ("t:a:b (args.x)", 12, "expected '->' after args"),
            ("t:a:b (args->x->)", 17, "expected a member name"),
            ("t:a:b (args->x @)", 16, "unexpected character '@'"),
            ("t:a", 1, "t:CATEGORY:NAME"),
            ("q:a:b", 1, "unknown probe type 'q'"),
            (
                "t:a:b (args->x == 99999999999999999999)",
                19,
                "is not a number",
            ),
            ("  t:a:b(int x)", 8, "takes no signature"),
        ];
        for (text, column, message) in cases {
            let e = parse_probe(text).unwrap_err();
            assert_eq!(e.column, column, "{text}: {e:?}");
            assert!(e.message.contains(message), "{text}: {e:?}");
        }
    }
}
