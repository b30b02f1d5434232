//! JSONPath parsing: the [`JsonPath`] syntax tree and its parser.
//!
//! # Accepted syntax (a subset of RFC 9535)
//!
//! ```text
//! path       = "$" *(S segment)
//! segment    = "." name-shorthand | ".*" | "[" S selector S "]"
//! selector   = 'name' | "name" | index | "*" | "?" S filter
//! index      = "0" | ["-"] digit1 *digit          (|index| <= 2^53 - 1)
//! filter     = and *(S "||" S and)
//! and        = basic *(S "&&" S basic)
//! basic      = "(" S filter S ")" | "!" S "(" S filter S ")" | "!" S query
//!            | query                               (existence test)
//!            | operand S op S operand              (op: == != < <= > >=)
//! operand    = literal | singular-query
//! query      = ("@" | "$") *(S segment)
//! literal    = number | 'string' | "string" | true | false | null
//! ```
//!
//! Names in shorthand form start with a letter, `_` or a non-ASCII character and go on
//! with those or digits. Quoted names take the RFC escapes (`\b \f \n \r \t \/ \\`,
//! the enclosing quote, and `\uXXXX` with surrogate pairs). `S` is optional blank
//! space (space, tab, CR, LF); a path may not start or end with it.
//!
//! Not supported, each refused with a clear [`PathError`]: descendant segments (`..`),
//! array slices (`[1:3]`), selector lists (`[0,1]`), function extensions (`length()`).
//! Inside filters, `$` queries must be singular (names and indexes only); this keeps
//! evaluation linear in the document size.
//!
//! # Limits
//!
//! Paths longer than [`MAX_PATH_LEN`] bytes, with more than [`MAX_SEGMENTS`] segments
//! in one query, or with filters and parentheses nested deeper than
//! [`MAX_FILTER_NESTING`] are refused. Parsing never panics and uses stack proportional
//! to the filter nesting only.

use std::fmt;
use strata_storage::{Value, MAX_NESTING};

/// Longest accepted path, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// Most segments accepted in one query (a path or a query inside a filter). A stored
/// document is never deeper than [`MAX_NESTING`], so longer paths could never match.
pub const MAX_SEGMENTS: usize = MAX_NESTING;

/// Deepest accepted nesting of filters (`[?...]`) and parentheses inside each other.
pub const MAX_FILTER_NESTING: usize = 32;

/// Why a string is not a valid [`JsonPath`]: the byte offset where parsing stopped and
/// a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at byte {position})")]
pub struct PathError {
    position: usize,
    reason: String,
}

impl PathError {
    fn new(position: usize, reason: impl Into<String>) -> Self {
        PathError {
            position,
            reason: reason.into(),
        }
    }

    /// Byte offset in the path string where the problem was found.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What is wrong, without the position.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// One step of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// An object member by name.
    Name(String),
    /// An array element; negative counts from the end.
    Index(i64),
    /// Every child of an object or array.
    Wildcard,
    /// The children for which the filter holds.
    Filter(Box<Filter>),
}

/// A filter expression (`[?...]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    /// True when the query selects at least one node.
    Exists(Query),
    Compare(Operand, CmpOp, Operand),
}

/// Where a query inside a filter starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryRoot {
    /// `$`: the whole document.
    Root,
    /// `@`: the node being filtered.
    Current,
}

/// A query inside a filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) root: QueryRoot,
    pub(crate) segments: Vec<Segment>,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    /// Always a singular query (checked by the parser).
    Query(Query),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed JSONPath (see the [module syntax](crate#jsonpath-syntax)). Build one with
/// [`JsonPath::parse`] (or `str::parse`); evaluate it with [`crate::get`],
/// [`crate::set`], [`crate::delete`] or [`JsonPath::select`].
///
/// A path is *singular* when it has only name and index segments; only singular paths
/// can be written. `Display` prints the original text.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    source: String,
    segments: Vec<Segment>,
}

impl JsonPath {
    /// Parses `path`. Never panics; cost is linear in the path length (which is at
    /// most [`MAX_PATH_LEN`]).
    ///
    /// ```
    /// use strata_json::JsonPath;
    /// assert!(JsonPath::parse("$.users[0]['first name']").is_ok());
    /// let err = JsonPath::parse("$.a..b").unwrap_err();
    /// assert_eq!(err.position(), 4);
    /// ```
    pub fn parse(path: &str) -> Result<JsonPath, PathError> {
        if path.len() > MAX_PATH_LEN {
            return Err(PathError::new(
                MAX_PATH_LEN,
                format!("path is longer than {MAX_PATH_LEN} bytes"),
            ));
        }
        let mut p = Parser { src: path, pos: 0 };
        if !p.eat(b'$') {
            return Err(PathError::new(0, "a path must start with `$`"));
        }
        let segments = p.segments(0)?;
        if p.pos < path.len() {
            let reason = match p.peek() {
                Some(b) if is_blank(b) => "blank space is not allowed at the end of a path".into(),
                _ => format!("unexpected {}", p.describe_here()),
            };
            return Err(PathError::new(p.pos, reason));
        }
        Ok(JsonPath {
            source: path.to_owned(),
            segments,
        })
    }

    /// The root path `$` (the whole document).
    pub fn root() -> JsonPath {
        JsonPath {
            source: "$".to_owned(),
            segments: Vec::new(),
        }
    }

    /// The text this path was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True for `$` alone.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// True when the path can select at most one node: it has only name and index
    /// segments (no wildcard, no filter). Only singular paths can be written with
    /// [`crate::set`].
    pub fn is_singular(&self) -> bool {
        is_singular(&self.segments)
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for JsonPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JsonPath::parse(s)
    }
}

pub(crate) fn is_singular(segments: &[Segment]) -> bool {
    segments
        .iter()
        .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
}

/// Renders segments as a normalized path (`$.a['b c'][0]`), for messages.
pub(crate) fn render(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for seg in segments {
        match seg {
            Segment::Name(n) if is_shorthand(n) => {
                out.push('.');
                out.push_str(n);
            }
            Segment::Name(n) => {
                out.push_str("['");
                for c in n.chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push_str("']");
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Wildcard => out.push_str("[*]"),
            Segment::Filter(_) => out.push_str("[?...]"),
        }
    }
    out
}

fn is_name_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_name_char(c: char) -> bool {
    is_name_first(c) || c.is_ascii_digit()
}

fn is_shorthand(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_first) && chars.all(is_name_char)
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Largest index magnitude accepted (the I-JSON exact integer range).
const MAX_INDEX: i64 = (1 << 53) - 1;

struct Parser<'a> {
    src: &'a str,
    /// Always on a char boundary.
    pos: usize,
}

type PResult<T> = Result<T, PathError>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.src.get(self.pos..).is_some_and(|r| r.starts_with(s)) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_blank(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    fn eat_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn describe_here(&self) -> String {
        match self.peek_char() {
            Some(c) => format!("character {c:?}"),
            None => "end of path".to_owned(),
        }
    }

    fn err<T>(&self, reason: impl Into<String>) -> PResult<T> {
        Err(PathError::new(self.pos, reason))
    }

    fn nesting_error<T>(&self) -> PResult<T> {
        self.err(format!(
            "filters and parentheses nested deeper than {MAX_FILTER_NESTING}"
        ))
    }

    /// Zero or more segments, each optionally preceded by blank space. Blank space not
    /// followed by a segment is left unconsumed.
    fn segments(&mut self, nesting: usize) -> PResult<Vec<Segment>> {
        let mut out = Vec::new();
        loop {
            let before = self.pos;
            self.skip_blank();
            let seg = match self.peek() {
                Some(b'.') => self.dot_segment()?,
                Some(b'[') => self.bracket_segment(nesting)?,
                _ => {
                    self.pos = before;
                    return Ok(out);
                }
            };
            if out.len() == MAX_SEGMENTS {
                return Err(PathError::new(
                    before,
                    format!("more than {MAX_SEGMENTS} segments in one query"),
                ));
            }
            out.push(seg);
        }
    }

    fn dot_segment(&mut self) -> PResult<Segment> {
        self.pos += 1; // '.'
        match self.peek() {
            Some(b'.') => self.err("descendant segments (`..`) are not supported"),
            Some(b'*') => {
                self.pos += 1;
                Ok(Segment::Wildcard)
            }
            _ => {
                let start = self.pos;
                match self.peek_char() {
                    Some(c) if is_name_first(c) => {}
                    Some(c) if c.is_ascii_digit() => {
                        return self.err(format!(
                            "a member name after `.` cannot start with a digit; \
                             use `[{c}]` for an array index or `['{c}']` for the name"
                        ))
                    }
                    _ => {
                        return self.err(format!(
                            "expected a member name or `*` after `.`, found {}",
                            self.describe_here()
                        ))
                    }
                }
                while let Some(c) = self.peek_char() {
                    if !is_name_char(c) {
                        break;
                    }
                    self.pos += c.len_utf8();
                }
                Ok(Segment::Name(self.src[start..self.pos].to_owned()))
            }
        }
    }

    fn bracket_segment(&mut self, nesting: usize) -> PResult<Segment> {
        self.pos += 1; // '['
        self.skip_blank();
        let seg = match self.peek() {
            Some(q @ (b'\'' | b'"')) => Segment::Name(self.string_literal(q)?),
            Some(b'*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some(b'?') => {
                if nesting >= MAX_FILTER_NESTING {
                    return self.nesting_error();
                }
                self.pos += 1;
                self.skip_blank();
                Segment::Filter(Box::new(self.or_expr(nesting + 1)?))
            }
            Some(b'-' | b'0'..=b'9') => Segment::Index(self.index()?),
            Some(b':') => return self.err("array slices are not supported"),
            _ => {
                return self.err(format!(
                    "expected a quoted name, an index, `*` or `?` after `[`, found {}",
                    self.describe_here()
                ))
            }
        };
        self.skip_blank();
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                Ok(seg)
            }
            Some(b',') => self.err("selector lists (`,`) are not supported"),
            Some(b':') => self.err("array slices are not supported"),
            _ => self.err(format!("expected `]`, found {}", self.describe_here())),
        }
    }

    fn index(&mut self) -> PResult<i64> {
        let start = self.pos;
        let negative = self.eat(b'-');
        let digits_start = self.pos;
        self.eat_digits();
        let digits = &self.src[digits_start..self.pos];
        if digits.is_empty() {
            return self.err("expected digits in an index");
        }
        if digits.len() > 1 && digits.starts_with('0') {
            return Err(PathError::new(start, "an index cannot have leading zeros"));
        }
        if negative && digits == "0" {
            return Err(PathError::new(start, "`-0` is not a valid index"));
        }
        let magnitude = digits
            .parse::<i64>()
            .ok()
            .filter(|m| *m <= MAX_INDEX)
            .ok_or_else(|| {
                PathError::new(start, format!("index is out of the range ±{MAX_INDEX}"))
            })?;
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// A quoted string; `quote` is the opening quote byte at the current position.
    fn string_literal(&mut self, quote: u8) -> PResult<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(PathError::new(start, "unterminated string"));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => out.push(self.escape(quote, at)?),
                c if (c as u32) < 0x20 => {
                    return Err(PathError::new(
                        at,
                        "control characters must be escaped in strings",
                    ))
                }
                c => out.push(c),
            }
        }
    }

    /// The character of an escape sequence; the backslash (at `at`) is consumed.
    fn escape(&mut self, quote: u8, at: usize) -> PResult<char> {
        let Some(c) = self.peek_char() else {
            return Err(PathError::new(at, "unterminated escape sequence"));
        };
        self.pos += c.len_utf8();
        Ok(match c {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '/' => '/',
            '\\' => '\\',
            c if c as u32 == u32::from(quote) => c,
            'u' => self.unicode_escape(at)?,
            other => {
                return Err(PathError::new(
                    at,
                    format!("invalid escape sequence `\\{other}`"),
                ))
            }
        })
    }

    /// The rest of a `\uXXXX` escape (the `\u` is consumed), with surrogate pairs.
    fn unicode_escape(&mut self, at: usize) -> PResult<char> {
        const NEED_LOW: &str =
            "a high surrogate escape must be followed by a low surrogate `\\uDC00`-`\\uDFFF`";
        let code = match self.hex4(at)? {
            high @ 0xD800..=0xDBFF => {
                if !self.eat_str("\\u") {
                    return Err(PathError::new(at, NEED_LOW));
                }
                let low = self.hex4(at)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(PathError::new(at, NEED_LOW));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(PathError::new(
                    at,
                    "a low surrogate escape without a preceding high surrogate",
                ))
            }
            code => code,
        };
        char::from_u32(code).ok_or_else(|| PathError::new(at, "invalid unicode escape"))
    }

    fn hex4(&mut self, at: usize) -> PResult<u32> {
        let bad = || PathError::new(at, "`\\u` must be followed by 4 hex digits");
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(bad)?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| bad())
    }

    /// `item *(S sep S item)`; a single item is returned as is.
    fn chain(
        &mut self,
        sep: &str,
        nesting: usize,
        item: fn(&mut Self, usize) -> PResult<Filter>,
        wrap: fn(Vec<Filter>) -> Filter,
    ) -> PResult<Filter> {
        let first = item(self, nesting)?;
        let mut items = Vec::new();
        loop {
            let before = self.pos;
            self.skip_blank();
            if !self.eat_str(sep) {
                self.pos = before;
                break;
            }
            self.skip_blank();
            items.push(item(self, nesting)?);
        }
        if items.is_empty() {
            Ok(first)
        } else {
            items.insert(0, first);
            Ok(wrap(items))
        }
    }

    fn or_expr(&mut self, nesting: usize) -> PResult<Filter> {
        self.chain("||", nesting, Self::and_expr, Filter::Or)
    }

    fn and_expr(&mut self, nesting: usize) -> PResult<Filter> {
        self.chain("&&", nesting, Self::basic_expr, Filter::And)
    }

    fn paren_expr(&mut self, nesting: usize) -> PResult<Filter> {
        if nesting >= MAX_FILTER_NESTING {
            return self.nesting_error();
        }
        self.pos += 1; // '('
        self.skip_blank();
        let inner = self.or_expr(nesting + 1)?;
        self.skip_blank();
        if !self.eat(b')') {
            return self.err(format!("expected `)`, found {}", self.describe_here()));
        }
        Ok(inner)
    }

    fn basic_expr(&mut self, nesting: usize) -> PResult<Filter> {
        match self.peek() {
            Some(b'(') => self.paren_expr(nesting),
            Some(b'!') => {
                self.pos += 1;
                self.skip_blank();
                match self.peek() {
                    Some(b'(') => Ok(Filter::Not(Box::new(self.paren_expr(nesting)?))),
                    Some(b'@' | b'$') => {
                        let query = self.query(nesting)?;
                        let before = self.pos;
                        self.skip_blank();
                        if self.comparison_op()?.is_some() {
                            return Err(PathError::new(
                                before,
                                "`!` cannot negate a comparison directly; write `!(a == b)`",
                            ));
                        }
                        self.pos = before;
                        Ok(Filter::Not(Box::new(Filter::Exists(query))))
                    }
                    _ => self.err(format!(
                        "expected `(` or a query after `!`, found {}",
                        self.describe_here()
                    )),
                }
            }
            _ => {
                let left_at = self.pos;
                let left = self.operand(nesting)?;
                let before = self.pos;
                self.skip_blank();
                match self.comparison_op()? {
                    Some(op) => {
                        self.skip_blank();
                        let right_at = self.pos;
                        let right = self.operand(nesting)?;
                        check_comparable(&left, left_at)?;
                        check_comparable(&right, right_at)?;
                        Ok(Filter::Compare(left, op, right))
                    }
                    None => {
                        self.pos = before;
                        match left {
                            Operand::Query(q) => Ok(Filter::Exists(q)),
                            Operand::Literal(_) => Err(PathError::new(
                                left_at,
                                "a literal on its own is not a filter; \
                                 compare it with a query, e.g. `@.x == 1`",
                            )),
                        }
                    }
                }
            }
        }
    }

    fn comparison_op(&mut self) -> PResult<Option<CmpOp>> {
        for (text, op) in [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ] {
            if self.eat_str(text) {
                return Ok(Some(op));
            }
        }
        if self.peek() == Some(b'=') {
            return self.err("use `==` to compare for equality");
        }
        Ok(None)
    }

    fn query(&mut self, nesting: usize) -> PResult<Query> {
        let root = if self.eat(b'$') {
            QueryRoot::Root
        } else if self.eat(b'@') {
            QueryRoot::Current
        } else {
            return self.err("expected `@` or `$`");
        };
        let at = self.pos;
        let segments = self.segments(nesting)?;
        if root == QueryRoot::Root && !is_singular(&segments) {
            return Err(PathError::new(
                at,
                "`$` queries inside a filter may only use names and indexes",
            ));
        }
        Ok(Query { root, segments })
    }

    fn operand(&mut self, nesting: usize) -> PResult<Operand> {
        Ok(match self.peek() {
            Some(b'@' | b'$') => Operand::Query(self.query(nesting)?),
            Some(q @ (b'\'' | b'"')) => Operand::Literal(Value::String(self.string_literal(q)?)),
            Some(b'-' | b'0'..=b'9') => Operand::Literal(self.number()?),
            Some(b) if b.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    self.pos += 1;
                }
                let word = &self.src[start..self.pos];
                match word {
                    "true" => Operand::Literal(Value::Bool(true)),
                    "false" => Operand::Literal(Value::Bool(false)),
                    "null" => Operand::Literal(Value::Null),
                    _ if self.peek() == Some(b'(') => {
                        return Err(PathError::new(
                            start,
                            format!("function extensions such as `{word}()` are not supported"),
                        ))
                    }
                    _ => {
                        return Err(PathError::new(
                            start,
                            format!(
                                "unknown word `{word}`; expected a query (`@`, `$`), \
                                 a quoted string, a number, true, false or null"
                            ),
                        ))
                    }
                }
            }
            _ => {
                return self.err(format!(
                    "expected a query (`@`, `$`), a literal, `!` or `(`, found {}",
                    self.describe_here()
                ))
            }
        })
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// Integers that fit in `i64` become `Int`, everything else `Float`.
    fn number(&mut self) -> PResult<Value> {
        let start = self.pos;
        self.eat(b'-');
        let int_start = self.pos;
        self.eat_digits();
        let int_digits = &self.src[int_start..self.pos];
        if int_digits.is_empty() {
            return self.err("expected digits in a number");
        }
        if int_digits.len() > 1 && int_digits.starts_with('0') {
            return Err(PathError::new(start, "a number cannot have leading zeros"));
        }
        let mut is_float = false;
        if self.eat(b'.') {
            is_float = true;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.err("expected digits after the decimal point");
            }
            self.eat_digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.err("expected digits in the exponent");
            }
            self.eat_digits();
        }
        let text = &self.src[start..self.pos];
        if !is_float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| PathError::new(start, "invalid number"))
    }
}

fn check_comparable(operand: &Operand, at: usize) -> PResult<()> {
    match operand {
        Operand::Query(q) if !is_singular(&q.segments) => Err(PathError::new(
            at,
            "only singular queries (names and indexes, no `*` or filters) can be compared",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn segs(p: &str) -> Vec<Segment> {
        match JsonPath::parse(p) {
            Ok(path) => path.segments,
            Err(e) => panic!("{p:?} should parse: {e}"),
        }
    }

    fn err(p: &str) -> PathError {
        match JsonPath::parse(p) {
            Ok(path) => panic!("{p:?} should fail, parsed as {:?}", path.segments),
            Err(e) => e,
        }
    }

    fn name(n: &str) -> Segment {
        Segment::Name(n.to_owned())
    }

    #[test]
    fn root_alone() {
        assert_eq!(segs("$"), vec![]);
        assert!(JsonPath::parse("$").is_ok_and(|p| p.is_root()));
        assert!(JsonPath::root().is_root());
        assert_eq!(JsonPath::root().as_str(), "$");
    }

    #[test]
    fn names_and_indexes() {
        assert_eq!(
            segs("$.a['b c'][\"d\"][0][-2]"),
            vec![
                name("a"),
                name("b c"),
                name("d"),
                Segment::Index(0),
                Segment::Index(-2)
            ]
        );
        assert_eq!(segs("$._x9.é"), vec![name("_x9"), name("é")]);
        assert_eq!(segs("$[ 'a' ] .b"), vec![name("a"), name("b")]);
        assert_eq!(segs("$[9007199254740991]"), vec![Segment::Index(MAX_INDEX)]);
    }

    #[test]
    fn escapes() {
        assert_eq!(segs(r"$['it\'s']"), vec![name("it's")]);
        assert_eq!(segs(r#"$["say \"hi\""]"#), vec![name("say \"hi\"")]);
        assert_eq!(
            segs(r"$['a\\b\/c\n\t\b\f\r']"),
            vec![name("a\\b/c\n\t\u{8}\u{c}\r")]
        );
        assert_eq!(segs(r"$['\u00e9\uD83D\uDE00']"), vec![name("é😀")]);
        assert_eq!(segs(r#"$["it's"]"#), vec![name("it's")]);
        assert_eq!(segs(r#"$['say "hi"']"#), vec![name("say \"hi\"")]);
    }

    #[test]
    fn wildcards() {
        assert_eq!(
            segs("$.*[*].a"),
            vec![Segment::Wildcard, Segment::Wildcard, name("a")]
        );
        assert!(JsonPath::parse("$.a[*]").is_ok_and(|p| !p.is_singular()));
        assert!(JsonPath::parse("$.a[3]").is_ok_and(|p| p.is_singular()));
    }

    #[test]
    fn filters_parse() {
        let ok = [
            "$[?@.a == 1]",
            "$[?@.a != 'x' && @.b < 2.5 || @.c >= -1e3]",
            "$[?(@.a <= 1 || @.b > 2) && !@.c]",
            "$[?!(@.a == null)]",
            "$[?@.tags[0] == true]",
            "$[?@]",
            "$[?@.a[?@.b == 1]]",
            "$[?@.a == $.limit]",
            "$.items[?@.price<10]",
            "$[?@['x y'] == \"z\"]",
            "$[? @.a==false ]",
        ];
        for p in ok {
            if let Err(e) = JsonPath::parse(p) {
                panic!("{p:?} should parse: {e}");
            }
        }
    }

    #[test]
    fn filter_structure() {
        let parsed = segs("$[?@.a == 1 && @.b || !$.c]");
        let current = |n: &str| Query {
            root: QueryRoot::Current,
            segments: vec![name(n)],
        };
        let expected = Segment::Filter(Box::new(Filter::Or(vec![
            Filter::And(vec![
                Filter::Compare(
                    Operand::Query(current("a")),
                    CmpOp::Eq,
                    Operand::Literal(Value::Int(1)),
                ),
                Filter::Exists(current("b")),
            ]),
            Filter::Not(Box::new(Filter::Exists(Query {
                root: QueryRoot::Root,
                segments: vec![name("c")],
            }))),
        ])));
        assert_eq!(parsed, vec![expected]);
    }

    #[test]
    fn comparison_operators() {
        let op = |p: &str| match segs(p).pop() {
            Some(Segment::Filter(f)) => match *f {
                Filter::Compare(_, op, _) => op,
                other => panic!("unexpected filter {other:?}"),
            },
            other => panic!("unexpected segment {other:?}"),
        };
        assert_eq!(op("$[?@==1]"), CmpOp::Eq);
        assert_eq!(op("$[?@!=1]"), CmpOp::Ne);
        assert_eq!(op("$[?@<1]"), CmpOp::Lt);
        assert_eq!(op("$[?@<=1]"), CmpOp::Le);
        assert_eq!(op("$[?@>1]"), CmpOp::Gt);
        assert_eq!(op("$[?@>=1]"), CmpOp::Ge);
    }

    #[test]
    fn numbers_in_filters() {
        let lit = |p: &str| match segs(p).pop() {
            Some(Segment::Filter(f)) => match *f {
                Filter::Compare(_, _, Operand::Literal(v)) => v,
                other => panic!("unexpected filter {other:?}"),
            },
            other => panic!("unexpected segment {other:?}"),
        };
        assert_eq!(lit("$[?@ == -7]"), Value::Int(-7));
        assert_eq!(lit("$[?@ == 0]"), Value::Int(0));
        assert_eq!(lit("$[?@ == 2.5]"), Value::Float(2.5));
        assert_eq!(lit("$[?@ == 1e2]"), Value::Float(100.0));
        assert_eq!(lit("$[?@ == 1E-2]"), Value::Float(0.01));
        assert_eq!(lit("$[?@ == 99999999999999999999]"), Value::Float(1e20));
        assert_eq!(lit("$[?@ == 'x']"), Value::from("x"));
        assert_eq!(lit("$[?@ == null]"), Value::Null);
    }

    #[test]
    fn errors_have_positions_and_reasons() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "must start with `$`"),
            ("a.b", 0, "must start with `$`"),
            ("$.", 2, "expected a member name"),
            ("$.a..b", 4, "descendant"),
            ("$.1", 2, "cannot start with a digit"),
            ("$[01]", 2, "leading zeros"),
            ("$[-0]", 2, "`-0`"),
            ("$[-]", 3, "expected digits"),
            ("$[1:2]", 3, "slices"),
            ("$[:2]", 2, "slices"),
            ("$[0,1]", 3, "selector lists"),
            ("$[]", 2, "expected a quoted name"),
            ("$['a'", 5, "expected `]`"),
            ("$['a", 2, "unterminated string"),
            (r"$['\q']", 3, "invalid escape"),
            (r"$['\u12']", 3, "4 hex digits"),
            (r"$['\uD800']", 3, "low surrogate"),
            (r"$['\uD800\u0041']", 3, "low surrogate"),
            (r"$['\uDC00']", 3, "without a preceding high"),
            (r#"$['\"']"#, 3, "invalid escape"),
            ("$['a\u{1}']", 4, "control characters"),
            ("$.a ", 3, "blank space"),
            (" $", 0, "must start with `$`"),
            ("$[?@.a = 1]", 7, "use `==`"),
            ("$[?1]", 3, "literal on its own"),
            ("$[?]", 3, "expected a query"),
            ("$[?length(@) > 1]", 3, "function extensions"),
            ("$[?@.a[*] == 1]", 3, "singular"),
            ("$[?1 == @[?@]]", 8, "singular"),
            ("$[?$.a[*]]", 4, "`$` queries"),
            ("$[?!@.a == 1]", 7, "cannot negate"),
            ("$[?!1]", 4, "expected `(` or a query"),
            ("$[?(@.a]", 7, "expected `)`"),
            ("$[?@.a && ]", 10, "expected a query"),
            ("$[99999999999999999]", 2, "out of the range"),
            ("$x", 1, "unexpected character 'x'"),
            ("$[?@.a == 01]", 10, "leading zeros"),
            ("$[?@.a == 1.]", 12, "after the decimal point"),
            ("$[?@.a == 1e]", 12, "exponent"),
            ("$[?@.a == nope]", 10, "unknown word"),
        ];
        for (path, pos, reason) in cases {
            let e = err(path);
            assert_eq!(e.position(), *pos, "position for {path:?}: {e}");
            assert!(
                e.reason().contains(reason),
                "reason for {path:?} should mention {reason:?}, got {:?}",
                e.reason()
            );
            assert!(e.to_string().contains(&format!("at byte {pos}")));
        }
    }

    #[test]
    fn limits() {
        let long = format!("$.{}", "a".repeat(MAX_PATH_LEN));
        assert!(err(&long).reason().contains("longer than"));

        let many = format!("$.{}", vec!["a"; MAX_SEGMENTS + 1].join("."));
        assert!(many.len() <= MAX_PATH_LEN);
        assert!(err(&many).reason().contains("segments"));
        let ok = format!("$.{}", vec!["a"; MAX_SEGMENTS].join("."));
        assert!(JsonPath::parse(&ok).is_ok());

        let deep_parens = format!("$[?{}@{}]", "(".repeat(40), ")".repeat(40));
        assert!(err(&deep_parens).reason().contains("nested deeper"));
        let deep_filters = format!("${}{}", "[?@".repeat(40), "]".repeat(40));
        assert!(err(&deep_filters).reason().contains("nested deeper"));
        let fine_filters = format!("${}{}", "[?@".repeat(10), "]".repeat(10));
        assert!(JsonPath::parse(&fine_filters).is_ok());
    }

    #[test]
    fn display_and_from_str() {
        let p: Result<JsonPath, _> = "$.a[0]".parse();
        assert_eq!(p.map(|p| p.to_string()), Ok("$.a[0]".to_owned()));
    }

    #[test]
    fn render_round_trips_singular_paths() {
        for p in ["$", "$.a", "$['b c'][0]['it\\'s'][-1]", "$['0']", "$.é_1"] {
            let Ok(path) = JsonPath::parse(p) else {
                panic!("{p} should parse")
            };
            let rendered = render(path.segments());
            let again = JsonPath::parse(&rendered).map(|q| q.segments);
            assert_eq!(
                again.as_ref().ok(),
                Some(&path.segments),
                "{p} -> {rendered}"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = JsonPath::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_path_like_input(
            s in "\\$[\\[\\]?@$.*'\"\\\\a-c0-9 =!<>&|()eu-]{0,48}"
        ) {
            let _ = JsonPath::parse(&s);
        }

        #[test]
        fn error_positions_are_in_bounds(s in "\\$[\\[\\]?@.*'a0 =!()-]{0,32}") {
            if let Err(e) = JsonPath::parse(&s) {
                prop_assert!(e.position() <= s.len());
            }
        }

        #[test]
        fn quoted_names_round_trip(n in "\\PC{0,16}") {
            let rendered = render(&[Segment::Name(n.clone())]);
            let parsed = JsonPath::parse(&rendered).map(|p| p.segments);
            prop_assert_eq!(parsed, Ok(vec![Segment::Name(n)]));
        }
    }
}
