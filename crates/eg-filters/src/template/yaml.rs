//! A fast reader for the plain YAML that templates usually render.
//!
//! Template output is decoded per request, and a general YAML parser costs several
//! microseconds even for four lines. This reader handles the common shapes only — block
//! mappings and sequences indented with spaces, plain and quoted one-line scalars, flow
//! sequences of scalars, and `|` block literals — and gives up (returns `None`) on
//! anything else: tabs, anchors, tags, flow mappings, multi-line plain or quoted scalars,
//! folded scalars, YAML 1.1 words such as `yes`/`on`, unusual numbers. The caller then uses
//! the full parser, which also has the last word whenever decoding what this reader
//! produced fails, so this reader only has to be right when it succeeds.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

/// A parsed YAML node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// No value (`key:` with nothing after it).
    Null,
    /// A scalar: its text, and whether it was written plain (unquoted).
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(String, Node)>),
}

/// One non-blank line: its indentation and the text after it.
struct Line<'a> {
    indent: usize,
    text: &'a str,
    /// Index into the raw lines (block literals need the blank lines too).
    raw: usize,
}

struct Reader<'a> {
    raw: Vec<&'a str>,
    lines: Vec<Line<'a>>,
    pos: usize,
}

/// Plain words YAML 1.1 reads as booleans or null; left to the full parser.
const AMBIGUOUS: [&str; 22] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF", "=", "<<", ".inf", ".Inf", ".nan", ".NaN",
];

/// Parses `text` if it only uses the shapes this reader knows.
pub(crate) fn parse(text: &str) -> Option<Node> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let raw: Vec<&str> = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut lines = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        let body = l.trim_start_matches(' ');
        if body.starts_with('\t') {
            return None;
        }
        if body.trim_end().is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with("---") || body.starts_with("...") || body.starts_with('%') {
            return None;
        }
        lines.push(Line {
            indent: l.len() - body.len(),
            text: body.trim_end(),
            raw: i,
        });
    }
    let mut r = Reader { raw, lines, pos: 0 };
    if r.lines.is_empty() {
        return Some(Node::Null);
    }
    let first = r.lines[0].indent;
    let top = r.lines[0].text;
    let node = if r.lines.len() == 1
        && split_key(top).is_none()
        && !top.starts_with("- ")
        && top != "-"
        && !top.starts_with('|')
    {
        // A document that is one scalar (what a ResultBuilder renders).
        r.pos = 1;
        r.inline(top, first)?
    } else {
        r.block(first)?
    };
    (r.pos == r.lines.len()).then_some(node)
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<&Line<'a>> {
        self.lines.get(self.pos)
    }

    /// A block node whose lines are indented by exactly `indent`.
    fn block(&mut self, indent: usize) -> Option<Node> {
        let line = self.peek()?;
        if line.indent != indent {
            return None;
        }
        if line.text == "-" || line.text.starts_with("- ") {
            self.seq(indent)
        } else {
            self.map(indent)
        }
    }

    fn seq(&mut self, indent: usize) -> Option<Node> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || !(line.text == "-" || line.text.starts_with("- ")) {
                return None;
            }
            let rest = line.text[1..].trim_start();
            self.pos += 1;
            if rest.is_empty() {
                items.push(self.nested(indent, false)?);
            } else {
                if split_key(rest).is_some() || rest.starts_with("- ") {
                    return None;
                }
                items.push(self.inline(rest, indent)?);
            }
        }
        Some(Node::Seq(items))
    }

    fn map(&mut self, indent: usize) -> Option<Node> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            if entries.iter().any(|(k, _)| *k == key) {
                return None;
            }
            self.pos += 1;
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.nested(indent, true)?
            } else {
                self.inline(rest, indent)?
            };
            entries.push((key, value));
        }
        Some(Node::Map(entries))
    }

    /// The value under a key or dash with nothing after it: a deeper block, a sequence at
    /// the same indentation (for a mapping value), or null.
    fn nested(&mut self, indent: usize, in_map: bool) -> Option<Node> {
        match self.peek() {
            Some(l) if l.indent > indent => {
                let i = l.indent;
                self.block(i)
            }
            Some(l)
                if in_map && l.indent == indent && (l.text == "-" || l.text.starts_with("- ")) =>
            {
                self.seq(indent)
            }
            _ => Some(Node::Null),
        }
    }

    /// A value written after `key: ` or `- ` on a line of indentation `indent`.
    fn inline(&mut self, rest: &str, indent: usize) -> Option<Node> {
        let node = match rest.as_bytes()[0] {
            b'|' => return self.literal(rest, indent),
            b'\'' => {
                let (s, after) = single_quoted(rest)?;
                end_of_value(after)?;
                Node::Scalar {
                    text: s,
                    plain: false,
                }
            }
            b'"' => {
                let (s, after) = double_quoted(rest)?;
                end_of_value(after)?;
                Node::Scalar {
                    text: s,
                    plain: false,
                }
            }
            b'[' => flow_seq(rest)?,
            b'{' | b'>' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b'?' | b',' | b']' | b'}' => {
                return None
            }
            _ => plain_scalar(strip_comment(rest))?,
        };
        // A following deeper line would continue a multi-line scalar.
        match self.peek() {
            Some(l) if l.indent > indent => None,
            _ => Some(node),
        }
    }

    /// A `|` or `|-` block literal.
    fn literal(&mut self, header: &str, indent: usize) -> Option<Node> {
        let chomp = match strip_comment(header) {
            "|" => Chomp::Clip,
            "|-" => Chomp::Strip,
            // `|+` (keep trailing blank lines) is rare in template output: left to the
            // full parser, like other indicators.
            _ => return None,
        };
        let start = self.lines.get(self.pos.checked_sub(1)?)?.raw + 1;
        let spaces = |l: &str| l.len() - l.trim_start_matches(' ').len();
        // The first non-blank line sets the content's indentation.
        let content_indent = match self.raw[start.min(self.raw.len())..]
            .iter()
            .find(|l| !l.trim().is_empty())
        {
            Some(l) if spaces(l) > indent => spaces(l),
            Some(l) if spaces(l) <= indent && l.trim_start().starts_with('\t') => return None,
            _ => {
                return Some(Node::Scalar {
                    text: String::new(),
                    plain: false,
                });
            }
        };
        let mut text = String::new();
        let mut end = self.raw.len();
        for (i, l) in self.raw.iter().enumerate().skip(start) {
            if l.trim().is_empty() {
                if spaces(l) > content_indent || l.contains('\t') {
                    // Whitespace-only lines deeper than the content: left to the full parser.
                    return None;
                }
                text.push('\n');
                continue;
            }
            if spaces(l) < content_indent {
                if spaces(l) > indent {
                    return None;
                }
                end = i;
                break;
            }
            // The end of the text counts as a line break, as for the full parser.
            text.push_str(&l[content_indent..]);
            text.push('\n');
        }
        while self.peek().is_some_and(|l| l.raw < end) {
            self.pos += 1;
        }
        let content_len = text.trim_end_matches('\n').len();
        match chomp {
            Chomp::Strip => text.truncate(content_len),
            Chomp::Clip => {
                let had_break = text.len() > content_len;
                text.truncate(content_len);
                if had_break {
                    text.push('\n');
                }
            }
        }
        Some(Node::Scalar { text, plain: false })
    }
}

#[derive(Clone, Copy)]
enum Chomp {
    Clip,
    Strip,
}

/// `key: rest` → (key, rest); `None` when the line is not a simple key.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(q) = text.strip_prefix('\'').map(|_| text) {
        let (k, after) = single_quoted(q)?;
        (k, after.strip_prefix(':')?)
    } else if text.starts_with('"') {
        let (k, after) = double_quoted(text)?;
        (k, after.strip_prefix(':')?)
    } else {
        let i = text
            .find(": ")
            .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
        let k = text[..i].trim_end_matches(' ');
        if k.is_empty()
            || k.contains('\t')
            || AMBIGUOUS.contains(&k)
            || !matches!(resolve(k), Some(Resolved::Str(_)))
            || k.contains(" #")
            || k.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c))
        {
            return None;
        }
        (k.to_string(), &text[i + 1..])
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim_start()))
}

/// Drops a ` # comment` from a plain value.
fn strip_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(i) => s[..i].trim_end(),
        None => s,
    }
}

/// What may follow a quoted scalar on its line: nothing or a comment.
fn end_of_value(after: &str) -> Option<()> {
    let t = after.trim_start();
    (t.is_empty() || (t.starts_with('#') && after.starts_with(' '))).then_some(())
}

fn single_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Some((out, &body[i + 1..]));
        }
        out.push(c);
    }
    None
}

fn double_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    '\\' => '\\',
                    '"' => '"',
                    '/' => '/',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => return None,
                });
            }
            _ => out.push(c),
        }
    }
    None
}

/// `[a, 'b', "c"]` of scalars.
fn flow_seq(s: &str) -> Option<Node> {
    let (inner, after) = s.strip_prefix('[')?.split_once(']')?;
    end_of_value(after)?;
    if inner.contains(['[', '{', '}', '#']) {
        return None;
    }
    if inner.trim().is_empty() {
        return Some(Node::Seq(Vec::new()));
    }
    let mut items = Vec::new();
    let mut rest = inner.trim_start();
    loop {
        let (item, after) = match rest.as_bytes().first() {
            Some(b'\'') => {
                let (s, a) = single_quoted(rest)?;
                (
                    Node::Scalar {
                        text: s,
                        plain: false,
                    },
                    a,
                )
            }
            Some(b'"') => {
                let (s, a) = double_quoted(rest)?;
                (
                    Node::Scalar {
                        text: s,
                        plain: false,
                    },
                    a,
                )
            }
            Some(_) => {
                let end = rest.find(',').unwrap_or(rest.len());
                let text = rest[..end].trim();
                if text.is_empty() || text.contains(": ") || text.ends_with(':') {
                    return None;
                }
                (plain_scalar(text)?, &rest[end..])
            }
            None => return None,
        };
        items.push(item);
        let after = after.trim_start();
        match after.strip_prefix(',') {
            Some(next) => {
                rest = next.trim_start();
                if rest.is_empty() {
                    break; // trailing comma
                }
            }
            None if after.is_empty() => break,
            None => return None,
        }
    }
    Some(Node::Seq(items))
}

/// A plain scalar, refused when YAML could read it in more than one way.
fn plain_scalar(text: &str) -> Option<Node> {
    if text.is_empty()
        || text.contains('\t')
        || AMBIGUOUS.contains(&text)
        || text.contains(": ")
        || text.ends_with(':')
        || text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c)) && !is_number(text)
    {
        return None;
    }
    let numeric_start = text.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '.')
        || (text.starts_with('-')
            && text[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.'));
    if numeric_start && !is_number(text) {
        return None;
    }
    Some(Node::Scalar {
        text: text.to_string(),
        plain: true,
    })
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` — the only numbers this reader accepts.
fn is_number(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let int_ok = int == "0"
        || (!int.is_empty() && !int.starts_with('0') && int.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    int_ok && frac_ok
}

/// What a plain scalar means when the target takes any type.
enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

fn resolve(text: &str) -> Option<Resolved<'_>> {
    Some(match text {
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        t if is_number(t) => {
            if t.contains('.') {
                Resolved::Float(t.parse().ok()?)
            } else {
                Resolved::Int(t.parse().ok()?)
            }
        }
        t => Resolved::Str(t),
    })
}

/// A decoding error; the caller falls back to the full parser.
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl Node {
    fn scalar_text(&self) -> Result<&str, Error> {
        match self {
            Node::Scalar { text, .. } => Ok(text),
            _ => Err(de::Error::custom("expected a scalar")),
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Node::Null => true,
            Node::Scalar { text, plain: true } => matches!(resolve(text), Some(Resolved::Null)),
            _ => false,
        }
    }
}

macro_rules! number {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let t = self.scalar_text()?;
            let n: $ty = t.trim().parse().map_err(de::Error::custom)?;
            visitor.$visit(n)
        }
    };
}

impl<'de> Deserializer<'de> for &'de Node {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Scalar { text, plain: false } => visitor.visit_str(text),
            Node::Scalar { text, plain: true } => match resolve(text) {
                Some(Resolved::Null) => visitor.visit_unit(),
                Some(Resolved::Bool(b)) => visitor.visit_bool(b),
                Some(Resolved::Int(i)) => visitor.visit_i64(i),
                Some(Resolved::Float(f)) => visitor.visit_f64(f),
                Some(Resolved::Str(s)) => visitor.visit_str(s),
                None => Err(de::Error::custom("number out of range")),
            },
            Node::Seq(items) => visitor.visit_seq(Seq(items.iter())),
            Node::Map(entries) => visitor.visit_map(Map {
                iter: entries.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            // What the full parser makes of a null where a string is wanted decides.
            return Err(de::Error::custom("null where a string is wanted"));
        }
        visitor.visit_str(self.scalar_text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar_text()? {
            "true" | "True" | "TRUE" => visitor.visit_bool(true),
            "false" | "False" | "FALSE" => visitor.visit_bool(false),
            t => Err(de::Error::custom(format!("not a boolean: {t}"))),
        }
    }

    number!(deserialize_i8, visit_i8, i8);
    number!(deserialize_i16, visit_i16, i16);
    number!(deserialize_i32, visit_i32, i32);
    number!(deserialize_i64, visit_i64, i64);
    number!(deserialize_u8, visit_u8, u8);
    number!(deserialize_u16, visit_u16, u16);
    number!(deserialize_u32, visit_u32, u32);
    number!(deserialize_u64, visit_u64, u64);
    number!(deserialize_f32, visit_f32, f32);
    number!(deserialize_f64, visit_f64, f64);

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Node::Seq(items) => visitor.visit_seq(Seq(items.iter())),
            _ => Err(de::Error::custom("expected a sequence")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Node::Map(entries) => visitor.visit_map(Map {
                iter: entries.iter(),
                value: None,
            }),
            _ => Err(de::Error::custom("expected a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct newtype_struct tuple tuple_struct enum identifier
    }
}

struct Seq<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|n| seed.deserialize(n)).transpose()
    }
}

struct Map<'a> {
    iter: std::slice::Iter<'a, (String, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        let key: de::value::StrDeserializer<'_, Error> = k.as_str().into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("value without a key"))?;
        seed.deserialize(v)
    }
}

/// Decodes `text` into `T` when this reader can; `None` means "use the full parser".
pub(crate) fn decode<T: de::DeserializeOwned>(text: &str) -> Option<T> {
    let node = parse(text)?;
    T::deserialize(&node).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Typed {
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        status_code: Option<i64>,
        #[serde(default)]
        headers: Option<BTreeMap<String, Vec<String>>>,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        header: Option<BTreeMap<String, BTreeMap<String, String>>>,
    }

    /// Whenever the fast reader answers, the full parser answers the same.
    fn check(text: &str) -> bool {
        let Some(node) = parse(text) else {
            return false;
        };
        if let Ok(fast) = serde_json::Value::deserialize(&node) {
            let full = serde_saphyr::from_str::<serde_json::Value>(text);
            assert_eq!(
                full.as_ref().ok(),
                Some(&fast),
                "value of {text:?}: {full:?}"
            );
        }
        if let Ok(fast) = Typed::deserialize(&node) {
            let full = serde_saphyr::from_str::<Typed>(text);
            assert_eq!(full.as_ref().ok(), Some(&fast), "typed {text:?}: {full:?}");
        }
        true
    }

    #[test]
    fn common_template_output_is_read_fast_and_right() {
        for text in [
            "statusCode: 200\nbody: the request is invalid.\n",
            "statusCode: 200\nheaders:\n  X-Mock-Header:\n  - mock-value\nbody: \"this is the body\"\n",
            "method: POST\nurl: /built?src=GET\nheaders:\n  X-Built:\n  - \"yes\"\nbody: 'built from /orig'\n",
            "header:\n  set:\n    X-Orig-Host: 'client.example.com'\n    X-Orig-Method: 'PUT'\n",
            "statusCode: 200\nheaders:\n  X-Request-Id: [\"abc-123\"]\n  Content-Type: [\"application/json\"]\nbody: |\n  {\"user\": \"alice\", \"total\": 12.50}\n",
            "statusCode: 200\nbody: |\n  [{\"a\":1}, {\"b\":2}]\n",
            "body: |-\n  line one\n\n  line three\nstatusCode: 201\n",
            "body: |\n  no final newline",
            "body: |\n  # not a comment\n    indented more\n  back\n",
            "result1",
            "'result0'",
            "result2\n",
            "name: bob\nage: 42\ntags: [a, b]\n",
            "a: 1.50\nb: -3\nc: 0\nd: true\ne: null\nf: ~\ng:\nh: 'it''s'\ni: \"tab\\there\"\n",
            "list:\n- one\n- 2\n-\n- 'four'\n",
            "nested:\n  deeper:\n    deepest: x # comment\n# a comment line\nnext: z\n",
            "  indented: doc\n  other: 1\n",
            "headers:\n  X-A: []\n  X-B: [a, 'b, c', \"d\"]\n",
            "url: http://127.0.0.1:8080/a?b=c#frag\n",
            "body: a#b\n",
            "'quoted key': v\n\"other key\": w\n",
            "header:\n  set:\n    X-A: '1'\n    X-B: two words\n  add:\n    X-C: 3\n",
        ] {
            assert!(check(text), "the fast reader gave up on {text:?}");
        }
    }

    #[test]
    fn unusual_yaml_is_left_to_the_full_parser() {
        for text in [
            "a: yes",
            "a: on",
            "a: y",
            "a: 0x1F",
            "a: 1e3",
            "a: 010",
            "a: .inf",
            "a: &x 1\nb: *x",
            "a: !!str 1",
            "a: {b: 1}",
            "a: >\n  folded\n",
            "a: plain\n  continued\n",
            "a: 'multi\n  line'\n",
            "a:\tb",
            "\ta: b",
            "- a: 1\n",
            "---\na: 1\n",
            "a: 1\na: 2\n",
            "a: [b, [c]]\n",
            "a: \"\\u0041\"\n",
            "a: 2001-12-14\n",
            "a: -x\n",
            "a: 1:2\n",
        ] {
            assert!(
                parse(text).is_none(),
                "{text:?} should go to the full parser"
            );
        }
    }

    /// Random documents built from plain pieces: where the fast reader answers, it agrees
    /// with the full parser.
    #[test]
    fn random_documents_agree_with_the_full_parser() {
        let scalars = [
            "x",
            "hello world",
            "1",
            "-7",
            "1.50",
            "0",
            "true",
            "False",
            "null",
            "~",
            "'q'",
            "'it''s'",
            "\"d\\\"q\"",
            "a#b",
            "a # c",
            "yes",
            "/path?x=1",
            "[a, b]",
            "[]",
            "['a, b', c]",
            "http://h:1/p",
            "\"\"",
            "''",
            "12345678901234567890",
            "-",
            "a: b",
        ];
        let keys = ["a", "b", "X-Request-Id", "body", "statusCode", "'k k'"];
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut answered = 0;
        for _ in 0..3000 {
            let mut doc = String::new();
            for _ in 0..1 + next(4) {
                let key = keys[next(keys.len())];
                match next(5) {
                    0 => doc.push_str(&format!(
                        "{key}:\n  - {}\n  - {}\n",
                        scalars[next(scalars.len())],
                        scalars[next(scalars.len())]
                    )),
                    1 => doc.push_str(&format!(
                        "{key}:\n  {}: {}\n",
                        keys[next(keys.len())],
                        scalars[next(scalars.len())]
                    )),
                    2 => doc.push_str(&format!(
                        "{key}: |\n  {}\n  {}\n",
                        scalars[next(scalars.len())],
                        scalars[next(scalars.len())]
                    )),
                    _ => doc.push_str(&format!("{key}: {}\n", scalars[next(scalars.len())])),
                }
            }
            if check(&doc) {
                answered += 1;
            }
        }
        assert!(
            answered > 300,
            "the fast reader answered only {answered} of 3000"
        );
    }

    const SEEDS: [u64; 6] = [0x9E3779B97F4A7C15, 1, 2, 3, 105, 207];

    /// Arbitrary text never panics the reader, and whatever it answers agrees with the
    /// full parser.
    #[test]
    fn arbitrary_text_is_safe() {
        let pieces = [
            "a", "b: ", ":", " ", "  ", "\n", "\n  ", "- ", "-", "'", "''", "\"", "\\", "#", " #",
            "|", "|-", "|+", "[", "]", ",", "{", "}", "1", ".5", "-2", "é", "日本", "\t", "\r\n",
            "~", "true", "null", "x: y\n", "  - z\n",
        ];
        for start in SEEDS {
            let mut seed = start;
            let mut next = |n: usize| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n as u64) as usize
            };
            for _ in 0..100_000 {
                let text: String = (0..1 + next(12))
                    .map(|_| pieces[next(pieces.len())])
                    .collect();
                check(&text);
            }
        }
    }
}
