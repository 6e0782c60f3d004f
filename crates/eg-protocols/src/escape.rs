//! Percent-encoding of paths and query strings, the way Go's `net/url` reads and writes
//! them.
//!
//! Decoding comes in two strengths: *lenient* ([`decode_path`], [`decode_query_component`]),
//! where a `%` not followed by two hex digits is kept as written (used for matching, where
//! a request must never be refused for its escapes), and *strict* ([`unescape`], Go's
//! `url.PathUnescape`/`QueryUnescape`), where such text does not decode at all.

use std::borrow::Cow;

/// A request path with its `%XX` escapes decoded (what Easegress matches against);
/// borrowed when there is nothing to decode. Bad escapes are kept as written; a path that
/// is not UTF-8 once decoded is returned as received.
pub fn decode_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    match String::from_utf8(decode(path, false, false).unwrap_or_default()) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(path),
    }
}

/// A query key or value with `+` as a space and `%XX` decoded; bad escapes are kept as
/// written, bytes that are not UTF-8 become U+FFFD.
pub fn decode_query_component(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Cow::Borrowed(s);
    }
    let bytes = decode(s, true, false).unwrap_or_default();
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

/// Strict decoding (Go's `url.PathUnescape`, or `url.QueryUnescape` with `plus_space`):
/// `None` when a `%` is not followed by two hex digits; bytes that are not UTF-8 become
/// U+FFFD.
pub fn unescape(s: &str, plus_space: bool) -> Option<String> {
    let bytes = decode(s, plus_space, true)?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Go's `url.QueryEscape`: everything but letters, digits and `-_.~` escaped, spaces as `+`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes `%XX` (and `+` with `plus_space`). A bad escape is kept as written, or fails
/// the whole text when `strict`.
fn decode(s: &str, plus_space: bool, strict: bool) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let pair = bytes
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .zip(bytes.get(i + 2).copied().and_then(hex));
                match pair {
                    Some((h, l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    None if strict => return None,
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_leniently() {
        assert!(matches!(decode_path("/plain"), Cow::Borrowed("/plain")));
        assert_eq!(decode_path("/%E4%B8%AD%E6%96%87"), "/中文");
        assert_eq!(decode_path("/a%2Fb%zz%4"), "/a/b%zz%4");
        assert_eq!(decode_path("/a+b"), "/a+b");
        // Not UTF-8 once decoded: matched as received.
        assert_eq!(decode_path("/%FF"), "/%FF");
    }

    #[test]
    fn query_components() {
        assert!(matches!(decode_query_component("ab"), Cow::Borrowed("ab")));
        assert_eq!(decode_query_component("a+b%21%2"), "a b!%2");
        assert_eq!(decode_query_component("%FF"), "\u{FFFD}");
    }

    #[test]
    fn strict_unescaping() {
        assert_eq!(unescape("a%20b+c", false).as_deref(), Some("a b+c"));
        assert_eq!(unescape("a%20b+c", true).as_deref(), Some("a b c"));
        assert_eq!(unescape("a%2", false), None);
        assert_eq!(unescape("a%zz", true), None);
        assert_eq!(unescape("%+f", true), None);
    }

    #[test]
    fn query_escaping_round_trips() {
        let s = "a b&c=d/é~";
        assert_eq!(query_escape(s), "a+b%26c%3Dd%2F%C3%A9~");
        assert_eq!(unescape(&query_escape(s), true).as_deref(), Some(s));
    }
}
