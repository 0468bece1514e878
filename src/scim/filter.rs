//! SCIM filters (RFC 7644 §3.4.2.2): parsing the `filter` query parameter and
//! the bracketed part of PATCH paths, and evaluating a filter against a SCIM
//! resource as JSON.
//!
//! The parser follows the RFC grammar with the leniency the identity providers
//! need: keywords in any case, any run of whitespace, and an unquoted value read
//! as a string. Input is untrusted, so nesting and size are bounded and every
//! failure is a [`FilterError`] with the character position it happened at.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

/// Nesting (parentheses, brackets, `not`) deeper than this is refused: the
/// parser and the evaluator recurse once per level, and the input is untrusted.
const MAX_DEPTH: usize = 64;

/// `and`/`or` chains are parsed in a loop but build a left-leaning tree, which
/// evaluation, rendering and dropping walk recursively; bounding the number of
/// comparisons bounds that depth too.
const MAX_TERMS: usize = 1000;

/// Attributes whose string values compare case-sensitively (RFC 7643 marks them
/// `caseExact`). `(attr, None)` covers the attribute and all its sub-attributes;
/// `(attr, Some(sub))` covers only that sub-attribute. `members.value` holds ids.
const CASE_EXACT: &[(&str, Option<&str>)] = &[("id", None), ("externalId", None), ("meta", Some("version")), ("members", Some("value"))];

/// Core schemas live at the top level of a resource; every other schema's
/// attributes live in an object under the schema's URN.
pub(crate) const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Compare { path: AttrPath, op: CompareOp, value: Value },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    ValuePath { path: AttrPath, filter: Box<Filter> },
}

/// `position` counts characters (not bytes) from the start of the input, starting at 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at character {position}: {message}")]
pub struct FilterError {
    pub message: String,
    pub position: usize,
}

pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let tokens = lex(input).map_err(|e| e.in_text(input))?;
    let mut parser = Parser { input, tokens, next: 0, depth: 0, terms: 0, in_value_path: false };
    parser.filter_to_end().map_err(|e| e.in_text(input))
}

/// Whether `resource` (a SCIM resource as JSON) satisfies `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    eval(filter, resource, None)
}

/// Whether one element of the multi-valued attribute `parent_attr` satisfies
/// `filter`, as the inner filter of `parent_attr[...]` would be evaluated. The
/// parent matters because it decides case-exactness (`members[value eq ..]`).
pub fn matches_value(filter: &Filter, element: &Value, parent_attr: &str) -> bool {
    eval(filter, element, Some(parent_attr))
}

impl AttrPath {
    pub fn parse(s: &str) -> Result<AttrPath, FilterError> {
        parse_attr_path(s, 0).map_err(|e| e.in_text(s))
    }
}

impl CompareOp {
    const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.keyword().eq_ignore_ascii_case(word))
    }

    fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Renders a filter that [`parse_filter`] reads back as the same tree: string
/// values are always quoted, `not` always takes parentheses, and an operand is
/// parenthesized whenever precedence or left-associativity would regroup it.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(left, right) => {
                write_operand(f, left, matches!(**left, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, right, matches!(**right, Filter::And(..) | Filter::Or(..)))
            }
            Filter::Or(left, right) => {
                write_operand(f, left, false)?;
                f.write_str(" or ")?;
                write_operand(f, right, matches!(**right, Filter::Or(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parenthesize: bool) -> fmt::Result {
    if parenthesize { write!(f, "({operand})") } else { write!(f, "{operand}") }
}

impl FilterError {
    /// Errors are raised with byte offsets, which are cheap to track; people
    /// count characters, so the offset is converted once on the way out.
    fn in_text(self, text: &str) -> FilterError {
        let position = text.get(..self.position).map_or(self.position, |before| before.chars().count());
        FilterError { position, ..self }
    }
}

fn error(message: impl Into<String>, byte_offset: usize) -> FilterError {
    FilterError { message: message.into(), position: byte_offset }
}

// ---------------------------------------------------------------- lexing

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    /// Anything else up to whitespace or punctuation: attribute paths (URNs
    /// included), keywords, numbers and unquoted values.
    Word(&'a str),
}

#[derive(Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn lex(input: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        let tok = match c {
            c if c.is_whitespace() => {
                chars.next();
                continue;
            }
            '(' => Tok::Open,
            ')' => Tok::Close,
            '[' => Tok::OpenBracket,
            ']' => Tok::CloseBracket,
            '"' => {
                let end = string_end(input, pos).ok_or_else(|| error("the string starting here has no closing quote", pos))?;
                let literal = &input[pos..end];
                let text = serde_json::from_str::<String>(literal).map_err(|e| error(format!("invalid string literal ({e})"), pos))?;
                while chars.peek().is_some_and(|&(i, _)| i < end) {
                    chars.next();
                }
                tokens.push(Token { tok: Tok::Str(text), pos });
                continue;
            }
            _ => {
                let mut end = input.len();
                while let Some(&(i, c)) = chars.peek() {
                    if !is_word_char(c) {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token { tok: Tok::Word(&input[pos..end]), pos });
                continue;
            }
        };
        chars.next();
        tokens.push(Token { tok, pos });
    }
    Ok(tokens)
}

/// Byte offset just past the quote closing the string that opens at `start`.
pub(crate) fn string_end(input: &str, start: usize) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in input.get(start + 1..)?.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(start + 1 + i + 1),
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------- parsing

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    next: usize,
    depth: usize,
    terms: usize,
    /// The RFC's `valFilter` cannot itself contain a `valuePath`.
    in_value_path: bool,
}

impl<'a> Parser<'a> {
    fn char_pos(&self, byte_offset: usize) -> usize {
        error("", byte_offset).in_text(self.input).position
    }

    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.next)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token<'a>> {
        self.tokens.get(self.next + ahead)
    }

    fn pos(&self) -> usize {
        self.peek().map_or(self.input.len(), |t| t.pos)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(keyword))
    }

    fn filter_to_end(&mut self) -> Result<Filter, FilterError> {
        if self.tokens.is_empty() {
            return Err(error("the filter is empty", 0));
        }
        let filter = self.or_expr()?;
        match self.peek() {
            None => Ok(filter),
            Some(t) => Err(error(format!("unexpected {} after a complete expression", describe(&t.tok)), t.pos)),
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(format!("the filter nests deeper than {MAX_DEPTH} levels"), self.pos()));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.next += 1;
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.next += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_keyword("not") && self.not_is_keyword() {
            self.next += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary()
    }

    /// `not` is also a legal attribute name: it is the operator only when what
    /// follows can start an expression (`not (..)`, or leniently `not title pr`),
    /// not when an operator or a bracket follows it (`not pr`, `not eq "x"`).
    fn not_is_keyword(&self) -> bool {
        match self.peek_at(1).map(|t| &t.tok) {
            Some(Tok::Open) => true,
            Some(Tok::Word(w)) => !w.eq_ignore_ascii_case("pr") && CompareOp::from_keyword(w).is_none(),
            _ => false,
        }
    }

    fn primary(&mut self) -> Result<Filter, FilterError> {
        let Some(token) = self.peek() else {
            return Err(error("the filter ends where an attribute name or '(' was expected", self.input.len()));
        };
        let pos = token.pos;
        match &token.tok {
            Tok::Open => {
                self.next += 1;
                self.enter()?;
                let inner = self.or_expr()?;
                self.consume(&Tok::Close, "')' to close the '(' at character", pos)?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Word(word) => {
                let word = *word;
                let path = parse_attr_path(word, pos)?;
                self.next += 1;
                self.after_attr_path(path, word, pos)
            }
            other => Err(error(format!("expected an attribute name or '(' but found {}", describe(other)), pos)),
        }
    }

    fn after_attr_path(&mut self, path: AttrPath, word: &str, pos: usize) -> Result<Filter, FilterError> {
        let Some(token) = self.peek() else {
            return Err(error(format!("expected an operator after '{word}' but the filter ends"), self.input.len()));
        };
        let op_pos = token.pos;
        match &token.tok {
            Tok::OpenBracket => {
                if self.in_value_path {
                    return Err(error("a filter inside '[...]' cannot contain another '[...]'", op_pos));
                }
                if path.sub_attr.is_some() {
                    return Err(error(format!("'[' must follow an attribute name, not the sub-attribute path '{word}'"), op_pos));
                }
                self.next += 1;
                self.enter()?;
                self.in_value_path = true;
                let inner = self.or_expr()?;
                self.in_value_path = false;
                self.consume(&Tok::CloseBracket, "']' to close the '[' at character", op_pos)?;
                self.depth -= 1;
                let inner = self.sub_attr_after_value_path(inner)?;
                Ok(Filter::ValuePath { path, filter: Box::new(inner) })
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("pr") => {
                self.next += 1;
                self.count_term(pos)?;
                Ok(Filter::Present(path))
            }
            Tok::Word(w) => {
                let Some(op) = CompareOp::from_keyword(w) else {
                    return Err(error(format!("'{w}' is not an operator (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)"), op_pos));
                };
                self.next += 1;
                let value = self.comp_value(op)?;
                self.count_term(pos)?;
                Ok(Filter::Compare { path, op, value })
            }
            other => Err(error(format!("expected an operator after '{word}' but found {}", describe(other)), op_pos)),
        }
    }

    /// `emails[type eq "work"].value eq "x"`: not in RFC 7644's filter ABNF, but
    /// what Entra ID sends when a multi-valued attribute is the matching
    /// property. It means `emails[type eq "work" and value eq "x"]`.
    fn sub_attr_after_value_path(&mut self, inner: Filter) -> Result<Filter, FilterError> {
        let Some(Token { tok: Tok::Word(word), pos }) = self.peek() else { return Ok(inner) };
        let (word, pos) = (*word, *pos);
        let Some(sub) = word.strip_prefix('.') else { return Ok(inner) };
        // The same name rule as everywhere else: a looser one let `.1x` or
        // `.a$b` through, which the filter's rendering then could not parse.
        if check_attr_name(sub, word, pos + 1).is_err() {
            return Err(error(format!("'{sub}' after ']' is not a sub-attribute name"), pos));
        }
        self.next += 1;
        let sub_path = AttrPath { schema: None, attr: sub.to_string(), sub_attr: None };
        let compare = self.after_attr_path(sub_path, sub, pos)?;
        if matches!(compare, Filter::ValuePath { .. }) {
            return Err(error(format!("'.{sub}' after ']' must be followed by an operator"), pos));
        }
        Ok(Filter::And(Box::new(inner), Box::new(compare)))
    }

    fn comp_value(&mut self, op: CompareOp) -> Result<Value, FilterError> {
        let Some(token) = self.peek() else {
            return Err(error(format!("expected a value after '{op}' but the filter ends"), self.input.len()));
        };
        let value = match &token.tok {
            Tok::Str(s) => Value::String(s.clone()),
            Tok::Word(w) => word_value(w),
            other => return Err(error(format!("expected a value after '{op}' but found {}", describe(other)), token.pos)),
        };
        self.next += 1;
        Ok(value)
    }

    fn count_term(&mut self, pos: usize) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(error(format!("the filter has more than {MAX_TERMS} comparisons"), pos));
        }
        Ok(())
    }

    fn consume(&mut self, want: &Tok<'_>, what: &str, opened_at: usize) -> Result<(), FilterError> {
        match self.peek() {
            Some(t) if t.tok == *want => {
                self.next += 1;
                Ok(())
            }
            Some(t) => Err(error(format!("expected {what} {} but found {}", self.char_pos(opened_at), describe(&t.tok)), t.pos)),
            None => Err(error(format!("expected {what} {} but the filter ends", self.char_pos(opened_at)), self.input.len())),
        }
    }
}

/// An unquoted value: the JSON keywords and numbers, and — leniently, for
/// clients that forget the quotes — any other word as a string.
fn word_value(word: &str) -> Value {
    for (keyword, value) in [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)] {
        if word.eq_ignore_ascii_case(keyword) {
            return value;
        }
    }
    if word.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        && let Some(number) = json_number(word)
    {
        return Value::Number(number);
    }
    Value::String(word.to_string())
}

/// serde_json checks the JSON number syntax, but its default float parsing is
/// not always correctly rounded, which would make a rendered filter read back
/// as a different number; the standard library's is.
fn json_number(word: &str) -> Option<Number> {
    let number = serde_json::from_str::<Number>(word).ok()?;
    if number.is_f64() { word.parse::<f64>().ok().and_then(Number::from_f64) } else { Some(number) }
}

fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::Open => "'('".to_string(),
        Tok::Close => "')'".to_string(),
        Tok::OpenBracket => "'['".to_string(),
        Tok::CloseBracket => "']'".to_string(),
        Tok::Str(s) => format!("the string {}", Value::String(s.clone())),
        Tok::Word(w) => format!("'{w}'"),
    }
}

/// `[URI ":"] ATTRNAME ["." ATTRNAME]`. URNs contain both ':' and '.' ("2.0"),
/// and attribute names contain neither ':' nor '.', so the schema ends at the
/// last ':' and only dots after it separate a sub-attribute.
fn parse_attr_path(s: &str, offset: usize) -> Result<AttrPath, FilterError> {
    if s.is_empty() {
        return Err(error("the attribute path is empty", offset));
    }
    let (schema, rest, rest_offset) = match s.rfind(':') {
        Some(colon) => (Some(&s[..colon]), &s[colon + 1..], offset + colon + 1),
        None => (None, s, offset),
    };
    if let Some(schema) = schema {
        if schema.is_empty() || schema.ends_with(':') {
            return Err(error(format!("'{s}' has an empty schema URN before the attribute name"), offset));
        }
        if let Some((i, c)) = schema.char_indices().find(|&(_, c)| !is_word_char(c) || c.is_control()) {
            return Err(error(format!("the schema URN in '{s}' contains {c:?}"), offset + i));
        }
    }
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or_default();
    let sub_attr = parts.next();
    if parts.next().is_some() {
        return Err(error(format!("'{s}' has more than one '.': a path is attribute or attribute.subAttribute"), rest_offset));
    }
    check_attr_name(attr, s, rest_offset)?;
    if let Some(sub) = sub_attr {
        check_attr_name(sub, s, rest_offset + attr.len() + 1)?;
    }
    Ok(AttrPath { schema: schema.map(str::to_string), attr: attr.to_string(), sub_attr: sub_attr.map(str::to_string) })
}

/// RFC 7643 `ATTRNAME = ALPHA *(nameChar)`, plus a leading '$' for `$ref`.
fn check_attr_name(name: &str, whole: &str, offset: usize) -> Result<(), FilterError> {
    let mut chars = name.char_indices();
    let first_ok = chars.next().is_some_and(|(_, c)| c.is_ascii_alphabetic() || c == '$');
    if !first_ok {
        let what = if name.is_empty() { "an empty attribute name".to_string() } else { format!("the attribute name '{name}'") };
        return Err(error(format!("'{whole}' has {what}; names start with a letter"), offset));
    }
    match chars.find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        Some((i, c)) => Err(error(format!("the attribute name '{name}' contains {c:?}"), offset + i)),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- evaluation

fn eval(filter: &Filter, node: &Value, parent: Option<&str>) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, node, parent) && eval(b, node, parent),
        Filter::Or(a, b) => eval(a, node, parent) || eval(b, node, parent),
        Filter::Not(inner) => !eval(inner, node, parent),
        Filter::Present(path) => match (resolve(node, path), &path.sub_attr) {
            (None, _) => false,
            (Some(v), None) => is_present(v),
            (Some(v), Some(sub)) => {
                let mut found = Vec::new();
                collect_sub(v, sub, &mut found);
                found.into_iter().any(is_present)
            }
        },
        Filter::Compare { path, op, value } => {
            let candidates = comparable_values(node, path);
            if candidates.is_empty() {
                return *op == CompareOp::Ne;
            }
            let exact = is_case_exact(path, parent);
            candidates.into_iter().any(|c| compare(c, *op, value, exact))
        }
        Filter::ValuePath { path, filter } => match resolve(node, path) {
            Some(Value::Array(items)) => items.iter().any(|item| eval(filter, item, Some(&path.attr))),
            Some(single @ Value::Object(_)) => eval(filter, single, Some(&path.attr)),
            _ => false,
        },
    }
}

pub(crate) fn get_ci<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The value of the path's attribute (not yet its sub-attribute), looking in
/// the extension object when the path names a non-core schema.
fn resolve<'v>(node: &'v Value, path: &AttrPath) -> Option<&'v Value> {
    let Value::Object(object) = node else { return None };
    let container = match &path.schema {
        None => object,
        Some(schema) => match get_ci(object, schema) {
            Some(Value::Object(extension)) => extension,
            _ if is_core_schema(schema, object) => object,
            _ => return None,
        },
    };
    get_ci(container, &path.attr)
}

fn is_core_schema(schema: &str, resource: &Map<String, Value>) -> bool {
    let has_core_prefix = schema.get(..CORE_SCHEMA_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX));
    // A custom resource type names its core schema first in `schemas`.
    let first_declared = match get_ci(resource, "schemas") {
        Some(Value::Array(schemas)) => schemas.first().and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case(schema)),
        _ => false,
    };
    has_core_prefix || first_declared
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => true,
    }
}

/// The values a comparison looks at. Multi-valued attributes contribute each
/// element; a complex element compared without a sub-attribute contributes
/// its `value` sub-attribute, as RFC 7644 prescribes for `emails eq "x"`.
fn comparable_values<'v>(node: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut found = Vec::new();
    let Some(value) = resolve(node, path) else { return found };
    match &path.sub_attr {
        Some(sub) => collect_sub(value, sub, &mut found),
        None => match value {
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(o) => found.extend(get_ci(o, "value")),
                        other => found.push(other),
                    }
                }
            }
            Value::Object(o) => found.extend(get_ci(o, "value")),
            other => found.push(other),
        },
    }
    found
}

fn collect_sub<'v>(value: &'v Value, sub: &str, found: &mut Vec<&'v Value>) {
    let mut take = |object: &'v Map<String, Value>| match get_ci(object, sub) {
        Some(Value::Array(items)) => found.extend(items),
        Some(v) => found.push(v),
        None => {}
    };
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_object).for_each(&mut take),
        Value::Object(o) => take(o),
        _ => {}
    }
}

fn is_case_exact(path: &AttrPath, parent: Option<&str>) -> bool {
    // Inside `members[...]`, `value` is `members.value`; at the top level a
    // comparison without a sub-attribute reads the implicit `value`.
    let (attr, sub) = match parent {
        Some(parent) => (parent, path.attr.as_str()),
        None => (path.attr.as_str(), path.sub_attr.as_deref().unwrap_or("value")),
    };
    CASE_EXACT.iter().any(|(a, s)| a.eq_ignore_ascii_case(attr) && s.is_none_or(|s| s.eq_ignore_ascii_case(sub)))
}

fn fold(s: &str, exact: bool) -> Cow<'_, str> {
    if exact { Cow::Borrowed(s) } else { Cow::Owned(s.to_lowercase()) }
}

fn compare(actual: &Value, op: CompareOp, expected: &Value, exact: bool) -> bool {
    match op {
        CompareOp::Eq => equal(actual, expected, exact),
        CompareOp::Ne => !equal(actual, expected, exact),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (Value::String(a), Value::String(e)) = (actual, expected) else { return false };
            let (a, e) = (fold(a, exact), fold(e, exact));
            match op {
                CompareOp::Co => a.contains(&*e),
                CompareOp::Sw => a.starts_with(&*e),
                _ => a.ends_with(&*e),
            }
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            let ordering = match (actual, expected) {
                (Value::String(a), Value::String(e)) => Some(fold(a, exact).cmp(&fold(e, exact))),
                (Value::Number(a), Value::Number(e)) => compare_numbers(a, e),
                _ => None,
            };
            ordering.is_some_and(|o| match op {
                CompareOp::Gt => o.is_gt(),
                CompareOp::Ge => o.is_ge(),
                CompareOp::Lt => o.is_lt(),
                _ => o.is_le(),
            })
        }
    }
}

fn equal(actual: &Value, expected: &Value, exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => fold(a, exact) == fold(e, exact),
        (Value::Number(a), Value::Number(e)) => compare_numbers(a, e) == Some(Ordering::Equal),
        (a, e) => a == e,
    }
}

/// Integers compare exactly; only when one side is fractional (or out of the
/// other's range) does the comparison go through f64.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseResult, TestRunner};
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    fn cmp(p: &str, op: CompareOp, value: Value) -> Filter {
        Filter::Compare { path: path(p), op, value }
    }

    fn parse(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn parse_err(s: &str) -> FilterError {
        match parse_filter(s) {
            Ok(f) => panic!("{s:?} should not parse, got {f:?}"),
            Err(e) => e,
        }
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Bjensen",
            "userName": "bjensen@example.com",
            "displayName": "Babs Jensen",
            "title": "",
            "nickName": null,
            "active": true,
            "loginCount": 42,
            "score": 2.5,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "roles": [],
            "tags": ["Blue", "green"],
            "meta": {"lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\"", "resourceType": "User"},
            ENTERPRISE: {"department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
        })
    }

    fn group() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
            "displayName": "Tour Guides",
            "members": [{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"}]
        })
    }

    fn holds(filter: &str, resource: &Value) -> bool {
        matches(&parse(filter), resource)
    }

    // ------------------------------------------------------------ parsing

    #[test]
    fn parses_every_operator() {
        let ops = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        for (word, op) in ops {
            assert_eq!(parse(&format!("userName {word} \"a\"")), cmp("userName", op, json!("a")));
        }
        assert_eq!(parse("title pr"), Filter::Present(path("title")));
    }

    #[test]
    fn parses_value_kinds() {
        assert_eq!(parse("loginCount gt 10"), cmp("loginCount", CompareOp::Gt, json!(10)));
        assert_eq!(parse("score le -2.5e3"), cmp("score", CompareOp::Le, json!(-2500.0)));
        assert_eq!(parse("active eq true"), cmp("active", CompareOp::Eq, json!(true)));
        assert_eq!(parse("active eq FALSE"), cmp("active", CompareOp::Eq, json!(false)));
        assert_eq!(parse("nickName eq Null"), cmp("nickName", CompareOp::Eq, Value::Null));
    }

    #[test]
    fn keywords_and_operators_are_case_insensitive() {
        let expected = Filter::And(
            Box::new(cmp("userName", CompareOp::Eq, json!("a"))),
            Box::new(Filter::Not(Box::new(Filter::Present(path("title"))))),
        );
        assert_eq!(parse("userName EQ \"a\" AnD NOT (title PR)"), expected);
        assert_eq!(parse("userName Eq \"a\" and not (title pR)"), expected);
    }

    #[test]
    fn attribute_names_keep_their_case() {
        assert_eq!(parse("USERNAME eq \"a\""), cmp("USERNAME", CompareOp::Eq, json!("a")));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let a = || Box::new(Filter::Present(path("a")));
        let b = || Box::new(Filter::Present(path("b")));
        let c = || Box::new(Filter::Present(path("c")));
        assert_eq!(parse("a pr or b pr and c pr"), Filter::Or(a(), Box::new(Filter::And(b(), c()))));
        assert_eq!(parse("a pr and b pr or c pr"), Filter::Or(Box::new(Filter::And(a(), b())), c()));
    }

    #[test]
    fn not_binds_tighter_than_and() {
        let a = || Box::new(Filter::Present(path("a")));
        let b = || Box::new(Filter::Present(path("b")));
        assert_eq!(parse("not (a pr) and b pr"), Filter::And(Box::new(Filter::Not(a())), b()));
        // Leniently accepted without parentheses, with the same precedence.
        assert_eq!(parse("not a pr and b pr"), Filter::And(Box::new(Filter::Not(a())), b()));
    }

    #[test]
    fn parentheses_regroup() {
        let a = || Box::new(Filter::Present(path("a")));
        let b = || Box::new(Filter::Present(path("b")));
        let c = || Box::new(Filter::Present(path("c")));
        assert_eq!(parse("(a pr or b pr) and c pr"), Filter::And(Box::new(Filter::Or(a(), b())), c()));
        assert_eq!(parse("((a pr))"), Filter::Present(path("a")));
    }

    #[test]
    fn and_or_chains_associate_left() {
        let p = |n: &str| Box::new(Filter::Present(path(n)));
        assert_eq!(parse("a pr and b pr and c pr"), Filter::And(Box::new(Filter::And(p("a"), p("b"))), p("c")));
    }

    #[test]
    fn parses_value_path() {
        let f = parse("emails[type eq \"work\" and value co \"@example.com\"]");
        let inner =
            Filter::And(Box::new(cmp("type", CompareOp::Eq, json!("work"))), Box::new(cmp("value", CompareOp::Co, json!("@example.com"))));
        assert_eq!(f, Filter::ValuePath { path: path("emails"), filter: Box::new(inner) });
        assert!(matches!(parse("userType eq \"Employee\" and emails[type eq \"work\"]"), Filter::And(..)));
    }

    #[test]
    fn parses_urn_qualified_paths() {
        assert_eq!(
            path("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
            AttrPath { schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()), attr: "userName".into(), sub_attr: None }
        );
        assert_eq!(
            path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName"),
            AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                attr: "name".into(),
                sub_attr: Some("givenName".into())
            }
        );
        assert_eq!(
            parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"Sales\""),
            cmp(&format!("{ENTERPRISE}:department"), CompareOp::Eq, json!("Sales"))
        );
        assert_eq!(path(&format!("{ENTERPRISE}:department")).schema.as_deref(), Some(ENTERPRISE));
        assert_eq!(path("emails.value"), AttrPath { schema: None, attr: "emails".into(), sub_attr: Some("value".into()) });
        assert_eq!(path("members.$ref").sub_attr.as_deref(), Some("$ref"));
    }

    #[test]
    fn parses_entra_test_connection_filters() {
        assert_eq!(parse("userName eq \"non-existent-user-7f3a\""), cmp("userName", CompareOp::Eq, json!("non-existent-user-7f3a")));
        assert_eq!(parse("externalId eq \"3d7a5b1c\""), cmp("externalId", CompareOp::Eq, json!("3d7a5b1c")));
        assert_eq!(parse("displayName eq \"Group 1\""), cmp("displayName", CompareOp::Eq, json!("Group 1")));
    }

    #[test]
    fn string_escapes_are_json() {
        assert_eq!(parse(r#"displayName eq "say \"hi\" \\ caf\u00e9""#), cmp("displayName", CompareOp::Eq, json!("say \"hi\" \\ café")));
        assert_eq!(parse(r#"title eq "a]b)c(d[""#), cmp("title", CompareOp::Eq, json!("a]b)c(d[")));
    }

    #[test]
    fn unquoted_value_is_a_string() {
        assert_eq!(parse("userName eq alice@x.com"), cmp("userName", CompareOp::Eq, json!("alice@x.com")));
        assert_eq!(parse("(userName eq alice)"), cmp("userName", CompareOp::Eq, json!("alice")));
        assert_eq!(parse("externalId eq 00123"), cmp("externalId", CompareOp::Eq, json!("00123")));
    }

    #[test]
    fn whitespace_is_tolerated() {
        assert_eq!(parse("  userName   eq\t\"a\"  and\n title  pr "), parse("userName eq \"a\" and title pr"));
        assert_eq!(parse("emails [ type eq \"work\" ]"), parse("emails[type eq \"work\"]"));
    }

    #[test]
    fn keyword_named_attributes_still_parse() {
        assert_eq!(parse("not pr"), Filter::Present(path("not")));
        assert_eq!(parse("not eq \"x\""), cmp("not", CompareOp::Eq, json!("x")));
        assert_eq!(parse("and pr and or pr"), Filter::And(Box::new(Filter::Present(path("and"))), Box::new(Filter::Present(path("or")))));
    }

    #[test]
    fn rejects_garbage_with_positions() {
        let e = parse_err("userName eq");
        assert_eq!(e.position, 11);
        assert!(e.to_string().contains("character 11"), "{e}");

        let e = parse_err("(userName eq \"a\"");
        assert_eq!(e.position, 16);
        assert!(e.message.contains("')'"), "{e}");

        let e = parse_err("userName xx \"a\"");
        assert_eq!(e.position, 9);
        assert!(e.message.contains("'xx' is not an operator"), "{e}");

        let e = parse_err("emails[type eq \"work\"");
        assert!(e.message.contains("']'"), "{e}");

        for bad in [
            "",
            "   ",
            "userName",
            "eq \"a\"",
            "userName eq \"a",
            "userName eq \"a\" and",
            "userName eq \"a\" \"b\"",
            "userName eq \"a\" xor title pr",
            "userName eq \"a\")",
            ")",
            "[",
            "emails[type eq \"a\"][x pr]",
            "emails[roles[value pr]]",
            "emails.value[type pr]",
            "name..givenName pr",
            "a.b.c pr",
            ":userName pr",
            "1abc pr",
            "userName eq (",
            "not",
            "not (",
            "title eq \"bad \\x escape\"",
        ] {
            let e = parse_err(bad);
            assert!(e.position <= bad.chars().count(), "{bad:?}: {e}");
        }
    }

    #[test]
    fn error_position_counts_characters() {
        let e = parse_err("displayName eq \"é\" zz");
        assert_eq!(e.position, 19);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for depth in [65, 1000, 100_000] {
            let parens = format!("{}userName pr{}", "(".repeat(depth), ")".repeat(depth));
            assert!(parse_err(&parens).message.contains("nests deeper"));
            let nots = format!("{}userName pr{}", "not (".repeat(depth), ")".repeat(depth));
            assert!(parse_err(&nots).message.contains("nests deeper"));
            let bare_nots = format!("{}userName pr", "not ".repeat(depth));
            assert!(parse_err(&bare_nots).message.contains("nests deeper"));
            let unclosed = "(".repeat(depth);
            assert!(parse_filter(&unclosed).is_err());
        }
        let ok = format!("{}userName pr{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(parse(&ok), Filter::Present(path("userName")));
    }

    #[test]
    fn long_chains_are_bounded() {
        let terms = |n: usize| vec!["id eq \"x\""; n].join(" or ");
        assert!(matches(&parse(&terms(MAX_TERMS)), &json!({"id": "x"})));
        assert!(parse_err(&terms(MAX_TERMS + 1)).message.contains("comparisons"));
        assert!(parse_filter(&terms(100_000)).is_err());
    }

    #[test]
    fn attr_path_parse_errors() {
        for bad in ["", "name..x", "name.", ".name", "a.b.c", "na me", "urn:x:", ":x", "urn::x", "é"] {
            assert!(AttrPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_renders_parseable_text() {
        let f = parse("not (a pr) and (b eq \"x\\\"y\" or c gt 5) or emails[type eq \"work\"]");
        assert_eq!(f.to_string(), "not (a pr) and (b eq \"x\\\"y\" or c gt 5) or emails[type eq \"work\"]");
        assert_eq!(parse(&f.to_string()), f);
    }

    // ------------------------------------------------------------ evaluation

    #[test]
    fn eq_ne_on_strings_are_case_insensitive() {
        let u = user();
        assert!(holds("userName eq \"BJENSEN@example.com\"", &u));
        assert!(holds("username eq \"bjensen@example.com\"", &u));
        assert!(!holds("userName eq \"other\"", &u));
        assert!(holds("userName ne \"other\"", &u));
        assert!(!holds("userName ne \"BJensen@Example.com\"", &u));
    }

    #[test]
    fn entra_sub_attribute_after_a_value_path() {
        let f = parse_filter(r#"emails[type eq "work"].value eq "a@b.io""#).expect("parses");
        assert_eq!(f, parse_filter(r#"emails[type eq "work" and value eq "a@b.io"]"#).expect("parses"));
        let user = serde_json::json!({"emails": [{"type": "home", "value": "a@b.io"}, {"type": "work", "value": "c@d.io"}]});
        assert!(!matches(&f, &user), "the value must be on the work email");
        assert!(matches(&parse_filter(r#"emails[type eq "work"].value eq "c@d.io""#).expect("parses"), &user));
        assert!(parse_filter(r#"emails[type eq "work"].value"#).is_err());
        assert!(parse_filter(r#"emails[type eq "work"].va.lue eq "x""#).is_err());
    }

    /// Found by the `filter` fuzz target: these parsed, but their rendering did not.
    #[test]
    fn a_sub_attribute_after_a_value_path_follows_the_attribute_name_rule() {
        for bad in [r#"emails[type eq "work"].va$lue eq "x""#, r#"emails[type eq "work"].1value eq "x""#, r#"emails[type eq "work"].-x pr"#]
        {
            assert!(parse_err(bad).message.contains("is not a sub-attribute name"), "{bad}");
        }
        for good in [r#"emails[type eq "work"].value eq "x""#, r#"members[type eq "User"].$ref pr"#, r#"emails[type pr].display_name-2 pr"#]
        {
            let f = parse(good);
            assert_eq!(parse(&f.to_string()), f, "{good}");
        }
    }

    #[test]
    fn case_exact_attributes_compare_exactly() {
        let u = user();
        assert!(holds("externalId eq \"Bjensen\"", &u));
        assert!(!holds("externalId eq \"bjensen\"", &u));
        assert!(!holds("id eq \"2819C223-7F76-453A-919D-413861904646\"", &u));
        assert!(holds("meta.version eq \"W/\\\"3694e05e9dff591\\\"\"", &u));
        assert!(!holds("meta.version eq \"w/\\\"3694E05E9DFF591\\\"\"", &u));
        let g = group();
        assert!(holds("members.value eq \"2819c223-7f76-453a-919d-413861904646\"", &g));
        assert!(!holds("members.value eq \"2819C223-7F76-453A-919D-413861904646\"", &g));
        assert!(!holds("members[value eq \"2819C223-7F76-453A-919D-413861904646\"]", &g));
        assert!(!holds("members eq \"2819C223-7F76-453A-919D-413861904646\"", &g));
        assert!(holds("members.display eq \"BABS JENSEN\"", &g));
    }

    #[test]
    fn co_sw_ew_on_strings_only() {
        let u = user();
        assert!(holds("userName co \"JENSEN@\"", &u));
        assert!(holds("userName sw \"bjen\"", &u));
        assert!(holds("userName ew \".COM\"", &u));
        assert!(!holds("userName sw \"jensen\"", &u));
        assert!(!holds("userName ew \"bjensen\"", &u));
        assert!(!holds("loginCount co \"4\"", &u));
        assert!(!holds("active sw \"t\"", &u));
        assert!(!holds("externalId co \"bj\"", &u));
    }

    #[test]
    fn ordering_operators() {
        let u = user();
        assert!(holds("meta.lastModified gt \"2011-05-13T04:42:33Z\"", &u));
        assert!(holds("meta.lastModified ge \"2011-05-13T04:42:34Z\"", &u));
        assert!(!holds("meta.lastModified lt \"2011-05-13T04:42:34Z\"", &u));
        assert!(holds("meta.lastModified le \"2011-05-13T04:42:34Z\"", &u));
        assert!(holds("loginCount gt 9", &u));
        assert!(holds("loginCount ge 42", &u));
        assert!(holds("loginCount lt 42.5", &u));
        assert!(!holds("loginCount le 41", &u));
        assert!(holds("score gt 2", &u));
        assert!(!holds("loginCount gt \"1\"", &u));
        assert!(!holds("active gt false", &u));
        assert!(!holds("nickName lt null", &u));
    }

    #[test]
    fn numbers_booleans_and_null_compare_by_value() {
        let u = user();
        assert!(holds("loginCount eq 42.0", &u));
        assert!(holds("active eq true", &u));
        assert!(!holds("active eq \"true\"", &u));
        assert!(holds("nickName eq null", &u));
        assert!(!holds("title eq null", &u));
    }

    #[test]
    fn present_means_non_empty() {
        let u = user();
        assert!(holds("userName pr", &u));
        assert!(holds("emails pr", &u));
        assert!(holds("emails.type pr", &u));
        assert!(holds("name.givenName pr", &u));
        assert!(holds("active pr", &u));
        assert!(!holds("title pr", &u));
        assert!(!holds("nickName pr", &u));
        assert!(!holds("roles pr", &u));
        assert!(!holds("missing pr", &u));
        assert!(!holds("name.middleName pr", &u));
    }

    #[test]
    fn missing_attributes() {
        let u = user();
        assert!(holds("missing ne \"x\"", &u));
        assert!(holds("roles ne \"x\"", &u));
        for op in ["eq", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
            assert!(!holds(&format!("missing {op} \"x\""), &u), "{op}");
        }
    }

    #[test]
    fn multi_valued_attributes_match_any_element() {
        let u = user();
        assert!(holds("emails.value eq \"babs@jensen.org\"", &u));
        assert!(holds("emails eq \"BABS@jensen.org\"", &u));
        assert!(holds("emails co \"@example.com\"", &u));
        assert!(holds("emails.type eq \"home\"", &u));
        assert!(holds("tags eq \"blue\"", &u));
        assert!(!holds("emails.value eq \"nobody@example.com\"", &u));
    }

    #[test]
    fn value_path_needs_one_element_satisfying_all() {
        let u = user();
        assert!(holds("emails[type eq \"work\" and value co \"@example.com\"]", &u));
        assert!(!holds("emails[type eq \"home\" and value co \"@example.com\"]", &u));
        assert!(holds("emails[not (type eq \"work\")]", &u));
        assert!(holds("emails[primary eq true]", &u));
        assert!(!holds("roles[value pr]", &u));
        assert!(!holds("missing[value pr]", &u));
        assert!(holds("name[givenName sw \"barb\"]", &u));
    }

    #[test]
    fn urn_qualified_paths_resolve() {
        let u = user();
        assert!(holds("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"bjensen@example.com\"", &u));
        assert!(holds("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq \"jensen\"", &u));
        assert!(holds(&format!("{ENTERPRISE}:department eq \"tour operations\""), &u));
        assert!(holds(&format!("{}:department eq \"tour operations\"", ENTERPRISE.to_uppercase()), &u));
        assert!(holds(&format!("{ENTERPRISE}:manager.value pr"), &u));
        assert!(!holds(&format!("{ENTERPRISE}:userName pr"), &u));
        assert!(!holds("urn:example:custom:1.0:Thing:department pr", &u));
        let g = group();
        assert!(holds("urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq \"tour guides\"", &g));
        let custom = json!({"schemas": ["urn:example:Device"], "serial": "X1"});
        assert!(holds("urn:example:Device:serial eq \"x1\"", &custom));
    }

    #[test]
    fn logical_operators_evaluate() {
        let u = user();
        assert!(holds("userName sw \"bj\" and active eq true", &u));
        assert!(!holds("userName sw \"bj\" and active eq false", &u));
        assert!(holds("userName eq \"x\" or active eq true", &u));
        assert!(holds("not (userName eq \"x\")", &u));
        assert!(!holds("not (userName pr) or userName eq \"x\" and active eq true", &u));
    }

    #[test]
    fn non_object_resources_match_nothing_but_ne() {
        assert!(!holds("userName eq \"a\"", &json!("userName")));
        assert!(holds("userName ne \"a\"", &json!([1, 2])));
    }

    // ------------------------------------------------------------ properties

    /// Runs a property for at least 10,000 cases (more when PROPTEST_CASES
    /// asks for more) and prints how many ran, so a run can be reported; the
    /// runner turns a panic inside `test` into a failure.
    pub(crate) fn check_property<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
        let default = Config::default();
        // A runner outside the proptest! macro knows no source file to save regressions next to.
        let mut runner = TestRunner::new(Config { cases: default.cases.max(10_000), failure_persistence: None, ..default });
        let ran = AtomicUsize::new(0);
        let result = runner.run(&strategy, |value| {
            ran.fetch_add(1, AtomicOrdering::Relaxed);
            test(value)
        });
        let ran = ran.load(AtomicOrdering::Relaxed);
        match result {
            Ok(()) => println!("property {name}: {ran} cases, none failed"),
            Err(e) => panic!("property {name} failed after {ran} cases: {e}"),
        }
    }

    const TOKENS: &[&str] = &[
        "eq",
        "NE",
        "co",
        "sw",
        "ew",
        "gt",
        "ge",
        "lt",
        "le",
        "pr",
        "and",
        "OR",
        "not",
        "Not",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\"x\"",
        "\"",
        "\\",
        "\\u00",
        "\\u00e9",
        ".",
        ":",
        "..",
        "userName",
        "emails",
        "value",
        "$ref",
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
        "true",
        "null",
        "False",
        "1",
        "-2.5e3",
        "1e999",
        "é",
        "\u{0}",
        "\t",
    ];

    fn token_soup() -> impl Strategy<Value = String> {
        prop::collection::vec((prop::sample::select(TOKENS), prop::sample::select(&["", " ", "  "][..])), 0..40)
            .prop_map(|parts| parts.into_iter().map(|(t, sep)| format!("{t}{sep}")).collect())
    }

    #[test]
    fn prop_parse_filter_never_panics_on_any_string() {
        check_property("parse_filter(\".*\") never panics", ".*", |s| {
            let _ = parse_filter(&s);
            Ok(())
        });
    }

    #[test]
    fn prop_parse_filter_never_panics_on_token_soup() {
        check_property("parse_filter(token soup) never panics", token_soup(), |s| {
            let _ = parse_filter(&s);
            Ok(())
        });
    }

    fn arb_path() -> impl Strategy<Value = AttrPath> {
        let schema = prop::option::of(prop::sample::select(&["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE][..]));
        let attr = prop::sample::select(&["userName", "emails", "name", "not", "and", "or", "pr", "eq", "$ref", "x-Y_1"][..]);
        let sub = prop::option::of(prop::sample::select(&["value", "givenName", "type", "not"][..]));
        (schema, attr, sub).prop_map(|(schema, attr, sub)| AttrPath {
            schema: schema.map(str::to_string),
            attr: attr.to_string(),
            sub_attr: sub.map(str::to_string),
        })
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<String>().prop_map(Value::String),
            "[a-z\"\\\\ ()\\[\\]]{0,6}".prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ]
    }

    fn arb_op() -> impl Strategy<Value = CompareOp> {
        prop::sample::select(&CompareOp::ALL[..])
    }

    fn arb_leaf() -> impl Strategy<Value = Filter> {
        prop_oneof![
            (arb_path(), arb_op(), arb_value()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
            arb_path().prop_map(Filter::Present),
        ]
    }

    fn with_logic(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
        leaf.prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Filter::Not(Box::new(a))),
            ]
        })
    }

    fn arb_filter() -> impl Strategy<Value = Filter> {
        let value_path = (arb_path(), with_logic(arb_leaf().boxed()))
            .prop_map(|(mut path, filter)| {
                path.sub_attr = None;
                Filter::ValuePath { path, filter: Box::new(filter) }
            })
            .boxed();
        with_logic(prop_oneof![3 => arb_leaf(), 1 => value_path].boxed())
    }

    #[test]
    fn prop_display_round_trips() {
        check_property("parse_filter(filter.to_string()) == filter", arb_filter(), |filter| {
            let text = filter.to_string();
            let parsed = parse_filter(&text);
            prop_assert_eq!(parsed.as_ref(), Ok(&filter), "rendered as {}", text);
            Ok(())
        });
    }

    #[test]
    fn prop_matches_never_panics() {
        let (u, g) = (user(), group());
        check_property("matches(filter, resource) never panics", arb_filter(), |filter| {
            let _ = matches(&filter, &u);
            let _ = matches(&filter, &g);
            Ok(())
        });
    }
}
