//! Headers and cookies as text, in the forms Easegress's ABI uses (Go's `http.Header.Write`
//! and MIME header parsing).

use http::header::{HeaderMap, HeaderName, HeaderValue, COOKIE};

/// `Content-Type`-style capitalisation of a header name, as Go reports names.
pub fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// Every header but `skip` as `Name: value\r\n` lines, sorted by name.
pub fn format(headers: &HeaderMap, skip: Option<&HeaderName>) -> String {
    let mut names: Vec<&HeaderName> = headers.keys().filter(|n| Some(*n) != skip).collect();
    names.sort_by_key(|n| n.as_str());
    let mut out = String::new();
    for name in names {
        let canon = canonical(name.as_str());
        for v in headers.get_all(name) {
            let text = String::from_utf8_lossy(v.as_bytes());
            out.push_str(&canon);
            out.push_str(": ");
            // Go's writer turns line breaks in values into spaces.
            out.extend(
                text.chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
            );
            out.push_str("\r\n");
        }
    }
    out
}

/// Parses `Name: value` lines (CRLF or LF) into headers; lines that are not valid headers
/// are skipped.
pub fn parse(text: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            map.append(n, v);
        }
    }
    map
}

/// The `name=value` pairs of a `Cookie` header value.
fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|p| {
        let (n, v) = p.trim().split_once('=')?;
        let n = n.trim();
        (!n.is_empty()).then(|| (n, v.trim().trim_matches('"')))
    })
}

/// The request's cookies as `name=value` strings, in order.
pub fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(pairs)
        .map(|(n, v)| format!("{n}={v}"))
        .collect()
}

/// The request cookie `name` as `name=value`, or `""` when there is none.
pub fn cookie(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(pairs)
        .find(|(n, _)| *n == name)
        .map(|(n, v)| format!("{n}={v}"))
        .unwrap_or_default()
}

/// Adds the cookies of `text` (`a=1; b=2`) to the request's `Cookie` header.
pub fn add_cookies(headers: &mut HeaderMap, text: &str) {
    let mut value = headers
        .get(COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    for (n, v) in pairs(text) {
        if !value.is_empty() {
            value.push_str("; ");
        }
        value.push_str(n);
        value.push('=');
        value.push_str(v);
    }
    if let Ok(v) = HeaderValue::from_str(&value) {
        if !value.is_empty() {
            headers.insert(COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sorted_and_canonical() {
        let mut h = HeaderMap::new();
        h.append("x-b", HeaderValue::from_static("2"));
        h.append("content-type", HeaderValue::from_static("text/plain"));
        h.append("x-b", HeaderValue::from_static("3"));
        h.append("host", HeaderValue::from_static("a"));
        let text = format(&h, Some(&http::header::HOST));
        assert_eq!(text, "Content-Type: text/plain\r\nX-B: 2\r\nX-B: 3\r\n");
        let back = parse(&text);
        assert_eq!(back.get_all("x-b").iter().count(), 2);
        assert!(back.get("host").is_none());
    }

    #[test]
    fn cookies_round_trip() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; b=\"2\""));
        assert_eq!(cookies(&h), vec!["a=1", "b=2"]);
        assert_eq!(cookie(&h, "b"), "b=2");
        assert_eq!(cookie(&h, "c"), "");
        add_cookies(&mut h, "c=3");
        assert_eq!(cookie(&h, "c"), "c=3");
    }
}
