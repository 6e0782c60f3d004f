//! The `Connection` header's options (RFC 9110 §7.6.1): one reading of its tokens for the
//! server codec, the upstream codec and the Proxy's hop-by-hop removal.

/// The comma-separated tokens of one `Connection` value, trimmed, empty ones skipped.
pub fn connection_tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// The `close` option.
const CLOSE: &[u8] = b"close";

/// The `keep-alive` option.
const KEEP_ALIVE: &[u8] = b"keep-alive";

/// What one `Connection` value says, case-insensitively.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// `close`: the connection ends after this message.
    pub close: bool,
    /// `keep-alive`: an HTTP/1.0 peer keeps the connection.
    pub keep_alive: bool,
    /// `upgrade`: the message asks to switch protocols.
    pub upgrade: bool,
    /// A token other than `close` and `keep-alive` (`upgrade` included): the value names
    /// headers that belong to this connection.
    pub names_headers: bool,
}

impl ConnectionOptions {
    /// Reads one `Connection` value.
    pub fn of(value: &[u8]) -> ConnectionOptions {
        // Nearly every value is one of these two alone: no splitting and trimming for them.
        if value.len() == KEEP_ALIVE.len() && value.eq_ignore_ascii_case(KEEP_ALIVE) {
            return ConnectionOptions {
                keep_alive: true,
                ..ConnectionOptions::default()
            };
        }
        if value.len() == CLOSE.len() && value.eq_ignore_ascii_case(CLOSE) {
            return ConnectionOptions {
                close: true,
                ..ConnectionOptions::default()
            };
        }
        let mut o = ConnectionOptions::default();
        for t in connection_tokens(value) {
            if t.eq_ignore_ascii_case(CLOSE) {
                o.close = true;
            } else if t.eq_ignore_ascii_case(KEEP_ALIVE) {
                o.keep_alive = true;
            } else {
                o.upgrade |= t.eq_ignore_ascii_case(b"upgrade");
                o.names_headers = true;
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_trimmed_and_empty_ones_skipped() {
        let t: Vec<&[u8]> = connection_tokens(b" close ,, X-A,\tkeep-alive ,").collect();
        assert_eq!(t, [&b"close"[..], b"X-A", b"keep-alive"]);
        assert_eq!(connection_tokens(b"").count(), 0);
        assert_eq!(connection_tokens(b" , ").count(), 0);
    }

    #[test]
    fn options_read_any_case_and_order() {
        let o = ConnectionOptions::of(b"Keep-Alive, CLOSE");
        assert!(o.close && o.keep_alive && !o.upgrade && !o.names_headers);
        let o = ConnectionOptions::of(b"Upgrade");
        assert!(o.upgrade && o.names_headers && !o.close && !o.keep_alive);
        let o = ConnectionOptions::of(b"keep-alive, X-Trace");
        assert!(o.keep_alive && o.names_headers && !o.upgrade);
        // A token that only contains a known one is another token.
        let o = ConnectionOptions::of(b"closed, keep-alive-ish");
        assert!(!o.close && !o.keep_alive && o.names_headers);
        assert_eq!(ConnectionOptions::of(b""), ConnectionOptions::default());
        // The two values alone, in any case, read as they do in a list.
        for (value, close, keep_alive) in [
            (&b"keep-alive"[..], false, true),
            (b"Keep-Alive", false, true),
            (b"close", true, false),
            (b"CLOSE", true, false),
            (b"keep-alivf", false, false),
            (b"closf", false, false),
        ] {
            let o = ConnectionOptions::of(value);
            assert_eq!((o.close, o.keep_alive), (close, keep_alive), "{value:?}");
            assert_eq!(o.names_headers, !close && !keep_alive, "{value:?}");
        }
    }
}
