//! The `Date` of responses (RFC 9110 §6.6.1), formatted once a second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

/// The second the text was formatted for, and the text.
struct Cached {
    second: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    static CACHED: RefCell<Cached> = const {
        RefCell::new(Cached { second: u64::MAX, text: [b' '; DATE_LEN] })
    };
}

/// Appends the current date to `dst`.
pub(super) fn extend(dst: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == DATE_LEN {
                c.text.copy_from_slice(text.as_bytes());
            }
            c.second = second;
        }
        dst.extend_from_slice(&c.text);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_date_is_an_imf_fixdate_of_now() {
        let mut out = Vec::new();
        super::extend(&mut out);
        let text = std::str::from_utf8(&out).unwrap();
        let parsed = httpdate::parse_http_date(text).unwrap();
        let off = std::time::SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_default();
        assert!(off.as_secs() <= 1, "{text}");
    }
}
