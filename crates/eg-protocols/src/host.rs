//! Hosts and ports: one rule for splitting `host[:port]`.
//!
//! The host part of an authority keeps the brackets of an IPv6 literal (`[::1]:80` →
//! `[::1]`), so it can be written back into a `Host` header or a URL; [`unbracket`] gives
//! the bare address (`::1`) for comparing with addresses written without brackets.

/// Splits `host[:port]` into the host (IPv6 brackets kept) and the port digits, if any.
///
/// A port is what follows the last `:` when it is all digits; for a bracketed IPv6 literal
/// only the text after `]:` can be a port. Text that is not a well-formed port is left in
/// the host (`a.com:http` has no port), except after an IPv6 literal's `]`, which always
/// ends the host.
pub fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(i) => {
                let port = authority[i + 1..]
                    .strip_prefix(':')
                    .filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
                (&authority[..=i], port)
            }
            None => (authority, None),
        };
    }
    match authority.rfind(':') {
        Some(i) if authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            (&authority[..i], Some(&authority[i + 1..]))
        }
        _ => (authority, None),
    }
}

/// The host of `host[:port]`, without its port (IPv6 brackets kept): see
/// [`split_host_port`].
pub fn strip_port(authority: &str) -> &str {
    split_host_port(authority).0
}

/// An IPv6 literal without its brackets (`[::1]` → `::1`); any other host as it is.
pub fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(split_host_port("a.com:8080"), ("a.com", Some("8080")));
        assert_eq!(split_host_port("a.com"), ("a.com", None));
        assert_eq!(split_host_port("a.com:"), ("a.com", Some("")));
        assert_eq!(split_host_port("a.com:http"), ("a.com:http", None));
        assert_eq!(split_host_port("127.0.0.1:1"), ("127.0.0.1", Some("1")));
        assert_eq!(split_host_port("[::1]:80"), ("[::1]", Some("80")));
        assert_eq!(split_host_port("[::1]"), ("[::1]", None));
        assert_eq!(split_host_port("[::1]x"), ("[::1]", None));
        assert_eq!(split_host_port("[::1"), ("[::1", None));
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(unbracket(strip_port("[::1]:80")), "::1");
        assert_eq!(unbracket("[::1"), "[::1");
        assert_eq!(unbracket("a.com"), "a.com");
    }
}
