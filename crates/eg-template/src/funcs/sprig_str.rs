//! Sprig string functions.

use rand::Rng;

use super::{int, s, strslice, strval, Reg, P};
use crate::gofmt;
use crate::value::{ElemType, Value};

pub(super) fn register(r: &mut Reg<'_>) {
    r.f("hello", &[], |_| Ok(Value::str("Hello!")));
    r.f("abbrev", &[P::Int, P::Str], |a| {
        let (w, st) = (int(&a[0]), s(&a[1]));
        if w < 4 {
            return Ok(Value::str(st));
        }
        Ok(Value::from(abbreviate_full(st, 0, w as usize)))
    });
    r.f("abbrevboth", &[P::Int, P::Int, P::Str], |a| {
        let (l, rt, st) = (int(&a[0]), int(&a[1]), s(&a[2]));
        if rt < 4 || l > 0 && rt < 7 {
            return Ok(Value::str(st));
        }
        Ok(Value::from(abbreviate_full(
            st,
            l.max(0) as usize,
            rt as usize,
        )))
    });
    r.f("trunc", &[P::Int, P::Str], |a| {
        let (c, st) = (int(&a[0]), s(&a[1]));
        if st.len() as i64 <= c {
            return Ok(Value::str(st));
        }
        if c < 0 {
            return Err(format!("runtime error: slice bounds out of range [:{c}]"));
        }
        Ok(Value::from(byte_slice(st, 0, c as usize)))
    });
    r.f("trim", &[P::Str], |a| Ok(Value::str(s(&a[0]).trim())));
    r.f("upper", &[P::Str], |a| {
        Ok(Value::from(s(&a[0]).to_uppercase()))
    });
    r.f("lower", &[P::Str], |a| {
        Ok(Value::from(s(&a[0]).to_lowercase()))
    });
    r.f("title", &[P::Str], |a| Ok(Value::from(title(s(&a[0])))));
    r.f("untitle", &[P::Str], |a| {
        let mut out = String::new();
        let mut gap = true;
        for c in s(&a[0]).chars() {
            if c.is_whitespace() {
                gap = true;
                out.push(c);
            } else if gap {
                out.extend(c.to_lowercase());
                gap = false;
            } else {
                out.push(c);
            }
        }
        Ok(Value::from(out))
    });
    r.f("substr", &[P::Int, P::Int, P::Str], |a| {
        let (start, end, st) = (int(&a[0]), int(&a[1]), s(&a[2]));
        let len = st.len() as i64;
        let (b, e) = if start < 0 {
            (0, end)
        } else if end < 0 || end > len {
            (start, len)
        } else {
            (start, end)
        };
        if b > e || e > len || b < 0 {
            return Err(format!(
                "runtime error: slice bounds out of range [{b}:{e}]"
            ));
        }
        Ok(Value::from(byte_slice(st, b as usize, e as usize)))
    });
    r.f("repeat", &[P::Int, P::Str], |a| {
        let n = int(&a[0]);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        Ok(Value::from(s(&a[1]).repeat(n as usize)))
    });
    r.f("trimall", &[P::Str, P::Str], |a| {
        Ok(Value::str(s(&a[1]).trim_matches(|c| s(&a[0]).contains(c))))
    });
    r.f("trimAll", &[P::Str, P::Str], |a| {
        Ok(Value::str(s(&a[1]).trim_matches(|c| s(&a[0]).contains(c))))
    });
    r.f("trimSuffix", &[P::Str, P::Str], |a| {
        Ok(Value::str(
            s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])),
        ))
    });
    r.f("trimPrefix", &[P::Str, P::Str], |a| {
        Ok(Value::str(
            s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])),
        ))
    });
    r.f("nospace", &[P::Str], |a| {
        Ok(Value::from(
            s(&a[0])
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>(),
        ))
    });
    r.f("initials", &[P::Str], |a| {
        let mut out = String::new();
        let mut gap = true;
        for b in s(&a[0]).bytes() {
            let c = b as char;
            if c.is_whitespace() {
                gap = true;
            } else if gap {
                out.push(c);
                gap = false;
            }
        }
        Ok(Value::from(out))
    });
    r.f("randAlphaNum", &[P::Int], |a| {
        Ok(Value::from(random(
            int(&a[0]),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )))
    });
    r.f("randAlpha", &[P::Int], |a| {
        Ok(Value::from(random(
            int(&a[0]),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )))
    });
    r.f("randNumeric", &[P::Int], |a| {
        Ok(Value::from(random(int(&a[0]), b"0123456789")))
    });
    r.f("randAscii", &[P::Int], |a| {
        let chars: Vec<u8> = (32u8..127).collect();
        Ok(Value::from(random(int(&a[0]), &chars)))
    });
    r.f("swapcase", &[P::Str], |a| {
        Ok(Value::from(
            s(&a[0])
                .chars()
                .flat_map(|c| -> Vec<char> {
                    if c.is_uppercase() {
                        c.to_lowercase().collect()
                    } else if c.is_lowercase() {
                        c.to_uppercase().collect()
                    } else {
                        vec![c]
                    }
                })
                .collect::<String>(),
        ))
    });
    r.f("shuffle", &[P::Str], |a| {
        let mut v: Vec<char> = s(&a[0]).chars().collect();
        let mut rng = rand::rng();
        for i in (1..v.len()).rev() {
            let j = rng.random_range(0..=i);
            v.swap(i, j);
        }
        Ok(Value::from(v.into_iter().collect::<String>()))
    });
    r.f("snakecase", &[P::Str], |a| {
        Ok(Value::from(camel_to_lower(s(&a[0]), '_')))
    });
    r.f("kebabcase", &[P::Str], |a| {
        Ok(Value::from(camel_to_lower(s(&a[0]), '-')))
    });
    r.f("camelcase", &[P::Str], |a| {
        Ok(Value::from(to_camel(s(&a[0]))))
    });
    r.f("wrap", &[P::Int, P::Str], |a| {
        Ok(Value::from(wrap_custom(s(&a[1]), int(&a[0]), "", false)))
    });
    r.f("wrapWith", &[P::Int, P::Str, P::Str], |a| {
        Ok(Value::from(wrap_custom(
            s(&a[2]),
            int(&a[0]),
            s(&a[1]),
            true,
        )))
    });
    r.f("contains", &[P::Str, P::Str], |a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    r.f("hasPrefix", &[P::Str, P::Str], |a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    r.f("hasSuffix", &[P::Str, P::Str], |a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    r.v("quote", &[], P::Any, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| gofmt::quote(&strval(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    r.v("squote", &[], P::Any, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", gofmt::value_string(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    r.v("cat", &[], P::Any, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(gofmt::value_string)
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    r.f("indent", &[P::Int, P::Str], |a| {
        Ok(Value::from(indent(int(&a[0]), s(&a[1]))))
    });
    r.f("nindent", &[P::Int, P::Str], |a| {
        Ok(Value::from(format!("\n{}", indent(int(&a[0]), s(&a[1])))))
    });
    r.f("replace", &[P::Str, P::Str, P::Str], |a| {
        Ok(Value::from(go_replace(s(&a[2]), s(&a[0]), s(&a[1]))))
    });
    r.f("plural", &[P::Str, P::Str, P::Int], |a| {
        Ok(Value::str(if int(&a[2]) == 1 {
            s(&a[0])
        } else {
            s(&a[1])
        }))
    });
    r.f("toString", &[P::Any], |a| Ok(Value::from(strval(&a[0]))));
    r.f("split", &[P::Str, P::Str], |a| {
        Ok(parts_map(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    r.f("splitList", &[P::Str, P::Str], |a| {
        Ok(super::string_list(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    r.f("splitn", &[P::Str, P::Int, P::Str], |a| {
        Ok(parts_map(go_split(s(&a[2]), s(&a[0]), int(&a[1]))))
    });
    r.f("toStrings", &[P::Any], |a| {
        Ok(super::string_list(strslice(&a[0])))
    });
    r.f("join", &[P::Str, P::Any], |a| {
        Ok(Value::from(strslice(&a[1]).join(s(&a[0]))))
    });
    r.f("sortAlpha", &[P::Any], |a| {
        let mut v = match a[0].materialize() {
            Value::List(_) => strslice(&a[0]),
            other => vec![strval(&other)],
        };
        v.sort();
        Ok(super::string_list(v))
    });
}

/// Go string slicing by bytes; a cut inside a UTF-8 sequence is replaced
/// by U+FFFD (Go would keep the raw byte).
fn byte_slice(st: &str, b: usize, e: usize) -> String {
    String::from_utf8_lossy(&st.as_bytes()[b..e]).into_owned()
}

fn random(n: i64, chars: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..n.max(0))
        .map(|_| chars[rng.random_range(0..chars.len())] as char)
        .collect()
}

/// goutils `AbbreviateFull`.
fn abbreviate_full(st: &str, offset: usize, max: usize) -> String {
    if st.is_empty() || max < 4 {
        return st.to_string();
    }
    let len = st.len();
    if len <= max {
        return st.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    if offset <= 4 {
        return byte_slice(st, 0, max - 3) + "...";
    }
    if max < 7 {
        return st.to_string();
    }
    if offset + max - 3 < len {
        return "...".to_string() + &abbreviate_full(&byte_slice(st, offset, len), 0, max - 3);
    }
    "...".to_string() + &byte_slice(st, len - (max - 3), len)
}

/// Go's deprecated `strings.Title`.
fn title(st: &str) -> String {
    let mut out = String::with_capacity(st.len());
    let mut prev = ' ';
    for c in st.chars() {
        let sep = if c.is_ascii() && !prev.is_ascii() {
            false
        } else if prev.is_ascii() {
            !(prev.is_ascii_alphanumeric() || prev == '_')
        } else {
            !(prev.is_alphanumeric()) && prev.is_whitespace()
        };
        if sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn indent(n: i64, v: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    format!("{pad}{}", v.replace('\n', &format!("\n{pad}")))
}

/// Go's `strings.Replace(s, old, new, -1)` (empty `old` inserts between runes).
pub(crate) fn go_replace(src: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in src.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    src.replace(old, new)
}

/// Go's `strings.SplitN` (n < 0: all; n == 0: none; empty sep: per rune).
pub(crate) fn go_split(st: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = st.chars().map(String::from).collect();
        if n > 0 && chars.len() as i64 > n {
            let head: Vec<String> = chars[..n as usize - 1].to_vec();
            let rest_start: usize = head.iter().map(|c| c.len()).sum();
            let mut v = head;
            v.push(st[rest_start..].to_string());
            return v;
        }
        return chars;
    }
    if n < 0 {
        st.split(sep).map(String::from).collect()
    } else {
        st.splitn(n as usize, sep).map(String::from).collect()
    }
}

fn parts_map(parts: Vec<String>) -> Value {
    Value::typed_map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::from(p)))
            .collect(),
        ElemType::String,
    )
}

/// goutils `WrapCustom`.
fn wrap_custom(st: &str, len: i64, nl: &str, long_words: bool) -> String {
    if st.is_empty() {
        return String::new();
    }
    let nl = if nl.is_empty() { "\n" } else { nl };
    let wl = len.max(1) as usize;
    let b = st.as_bytes();
    let total = b.len();
    let mut offset = 0;
    let mut out = String::new();
    while total - offset > wl {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = wl + offset + 1;
        let space = st.as_bytes()[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(sp) = space {
            let at = sp + offset;
            out.push_str(&byte_slice(st, offset, at));
            out.push_str(nl);
            offset = at + 1;
        } else if long_words {
            let end = wl + offset;
            out.push_str(&byte_slice(st, offset, end));
            out.push_str(nl);
            offset += wl;
        } else {
            let end = wl + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.push_str(&byte_slice(st, offset, total));
                    offset = total;
                }
                Some(i) => {
                    let at = i + end;
                    out.push_str(&byte_slice(st, offset, at));
                    out.push_str(nl);
                    offset = at + 1;
                }
            }
        }
    }
    out.push_str(&byte_slice(st, offset, total));
    out
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

fn is_alphabet(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        matches!(
            c,
            '!' | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '_'
                | '{'
                | '}'
        )
    } else {
        false
    }
}

/// xstrings `ToCamelCase`.
fn to_camel(st: &str) -> String {
    let mut out = String::new();
    let mut chars = st.chars();
    let mut r0 = '\0';
    let mut got = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = c.to_uppercase().next().unwrap_or(c);
            got = true;
            break;
        }
        out.push(c);
    }
    let rest: Vec<char> = chars.collect();
    if rest.is_empty() {
        if got {
            out.push(r0);
        }
        return out;
    }
    for c in rest {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            r0 = r0.to_lowercase().next().unwrap_or(r0);
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Word {
    Invalid,
    Connector,
    Punct,
    Upper,
    Alpha,
    Number,
    Other,
}

/// xstrings `nextWord`.
fn next_word(st: &str) -> (Word, &str, &str) {
    let mut it = st.char_indices().peekable();
    let first = match it.next() {
        Some((_, c)) => c,
        None => return (Word::Invalid, "", ""),
    };
    let mut end = first.len_utf8();
    let take_while = |end: &mut usize, pred: &dyn Fn(char) -> bool| {
        for c in st[*end..].chars() {
            if !pred(c) {
                break;
            }
            *end += c.len_utf8();
        }
    };
    let wt = if is_connector(first) {
        take_while(&mut end, &is_connector);
        Word::Connector
    } else if is_punct(first) {
        take_while(&mut end, &is_punct);
        Word::Punct
    } else if first.is_uppercase() {
        let rest = &st[end..];
        match rest.chars().next() {
            Some(c) if c.is_uppercase() => {
                let mut prev = end;
                for c in st[end..].chars() {
                    if !c.is_uppercase() {
                        if is_alphabet(c) {
                            end = prev;
                        }
                        break;
                    }
                    prev = end;
                    end += c.len_utf8();
                }
            }
            Some(c) if is_alphabet(c) => {
                take_while(&mut end, &|c: char| is_alphabet(c) && !c.is_uppercase())
            }
            _ => {}
        }
        Word::Upper
    } else if is_alphabet(first) {
        take_while(&mut end, &|c: char| is_alphabet(c) && !c.is_uppercase());
        Word::Alpha
    } else if first.is_numeric() {
        take_while(&mut end, &|c: char| c.is_numeric());
        Word::Number
    } else {
        take_while(&mut end, &|c: char| {
            !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
        });
        Word::Other
    };
    (wt, &st[..end], &st[end..])
}

fn to_lower_word(out: &mut String, wt: Word, w: &str, conn: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(w);
        return;
    }
    for c in w.chars() {
        if is_connector(c) {
            out.push(conn);
        } else if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
}

/// xstrings `camelCaseToLowerCase` (snakecase/kebabcase).
fn camel_to_lower(st: &str, conn: char) -> String {
    if st.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let (mut wt, mut word, mut rem) = next_word(st);
    while !rem.is_empty() {
        if wt != Word::Connector {
            to_lower_word(&mut out, wt, word, conn);
        }
        let prev = wt;
        let last = word;
        (wt, word, rem) = next_word(rem);
        match prev {
            Word::Number => {
                while wt == Word::Alpha || wt == Word::Number {
                    to_lower_word(&mut out, wt, word, conn);
                    (wt, word, rem) = next_word(rem);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(conn);
                }
            }
            Word::Connector => to_lower_word(&mut out, prev, last, conn),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(conn);
                    }
                    continue;
                }
                if rem.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, rem) = next_word(rem);
                if wt != Word::Alpha {
                    to_lower_word(&mut out, Word::Number, last, conn);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(conn);
                    }
                    continue;
                }
                out.push(conn);
                to_lower_word(&mut out, Word::Number, last, conn);
                while wt == Word::Alpha || wt == Word::Number {
                    to_lower_word(&mut out, wt, word, conn);
                    (wt, word, rem) = next_word(rem);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(conn);
                }
            }
        }
    }
    to_lower_word(&mut out, wt, word, conn);
    out
}
