//! The pieces of the canonical request, written the way Easegress's signer (and AWS
//! Signature Version 4) writes them.

use http::HeaderMap;

/// Whether `c` is left as is by the URI and query encodings (RFC 3986 unreserved).
fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn percent(out: &mut String, c: u8) {
    out.push('%');
    out.push(HEX[usize::from(c >> 4)] as char);
    out.push(HEX[usize::from(c & 15)] as char);
}

/// The canonical URI: every byte of the (already escaped) path that is not unreserved or
/// `/` is percent-encoded again, so `%20` becomes `%2520`; an empty path is `/`.
pub fn canonical_uri(escaped_path: &str) -> String {
    if escaped_path.is_empty() {
        return "/".into();
    }
    let mut out = String::with_capacity(escaped_path.len());
    for &c in escaped_path.as_bytes() {
        if unreserved(c) || c == b'/' {
            out.push(c as char);
        } else {
            percent(&mut out, c);
        }
    }
    out
}

/// Decodes one query component (`+` is a space); `None` for a bad `%` escape.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// The query's pairs, decoded, in order; pairs with a bad escape or a `;` in the key are
/// dropped, as Go's `url.ParseQuery` drops them.
pub fn parse_query(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            if k.contains(';') {
                return None;
            }
            Some((unescape(k)?, unescape(v)?))
        })
        .collect()
}

/// Query encoding of one component: unreserved bytes as is, space as `+`, others `%XX`.
fn query_escape(out: &mut String, s: &[u8]) {
    for &c in s {
        if unreserved(c) {
            out.push(c as char);
        } else if c == b' ' {
            out.push('+');
        } else {
            percent(out, c);
        }
    }
}

/// Sorts the pairs by key, then value, and encodes them (`k=v&…`), as Go's
/// `url.Values.Encode` after the signer sorts each key's values.
pub fn encode_query(pairs: &mut [(Vec<u8>, Vec<u8>)]) -> String {
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        query_escape(&mut out, k);
        out.push('=');
        query_escape(&mut out, v);
    }
    out
}

/// The values of a header joined by `,`, each trimmed of spaces at both ends and with runs
/// of spaces made one.
pub fn canonical_value<'v>(values: impl Iterator<Item = &'v [u8]>) -> String {
    let mut out = Vec::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let start = v.iter().position(|&c| c != b' ').unwrap_or(v.len());
        let end = v.iter().rposition(|&c| c != b' ').map_or(start, |e| e + 1);
        let mut prev_space = false;
        for &c in &v[start..end] {
            if c == b' ' && prev_space {
                continue;
            }
            prev_space = c == b' ';
            out.push(c);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `host` value: the `Host` header (or the URI's authority), without a trailing `:`.
pub fn host(headers: &HeaderMap, authority: Option<&str>) -> String {
    let h = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority)
        .unwrap_or("");
    h.strip_suffix(':').unwrap_or(h).to_string()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)].to_ascii_lowercase() as char);
        out.push(HEX[usize::from(b & 15)].to_ascii_lowercase() as char);
    }
    out
}

/// Decodes lower-case hex only (a signature is compared as Easegress compares its text).
pub fn unhex_lower(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.bytes().any(|c| !matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_encoded_again() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a b/%20~x"), "/a%20b/%2520~x");
        assert_eq!(
            canonical_uri("/documents and settings/"),
            "/documents%20and%20settings/"
        );
    }

    #[test]
    fn query_round_trip_sorts_keys_and_values() {
        let mut q = parse_query("b=2&a=z&a=y&c&e=%20x+y&bad=%zz&k;x=1");
        assert_eq!(encode_query(&mut q), "a=y&a=z&b=2&c=&e=+x+y");
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let v = [&b"  a   b  c "[..], b"d"];
        assert_eq!(canonical_value(v.into_iter()), "a b c,d");
        assert_eq!(canonical_value(std::iter::empty()), "");
        assert_eq!(hex(&[0, 0xab]), "00ab");
        assert_eq!(unhex_lower("00ab"), Some(vec![0, 0xab]));
        assert_eq!(unhex_lower("00AB"), None);
    }
}
