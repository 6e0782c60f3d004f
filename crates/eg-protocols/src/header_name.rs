//! Header names read off the wire.
//!
//! [`HeaderName::from_bytes`] lower-cases every name byte by byte into a scratch buffer
//! before it looks for a standard one; the names nearly every head carries are found here
//! first, by their length and two words made lower case at once, a fraction of that work.
//! The two words are read straight from the name (its first and last eight bytes, or four
//! for a shorter name, overlapping in the middle), with no copy into a padded buffer.
//! Any other name takes the general path, so the result is always what `from_bytes`
//! gives.

use http::header::{
    HeaderName, InvalidHeaderName, ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, ACCEPT_RANGES,
    AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    COOKIE, DATE, ETAG, EXPIRES, HOST, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, ORIGIN, RANGE,
    REFERER, SERVER, SET_COOKIE, UPGRADE, USER_AGENT, VARY,
};

/// The shortest common name the table holds.
const SHORTEST: usize = 4;

/// The longest common name.
const LONGEST: usize = 16;

/// A name of [`SHORTEST`] to [`LONGEST`] bytes as two little-endian words: of eight bytes
/// or more, its first eight and its last eight; of fewer, its first four and its last four
/// in the first word, and zero. Either way every byte lies in a word at a place fixed by
/// the length, so two names of one length are equal exactly when their words are.
type Words = [u64; 2];

/// A common name: its lower-case bytes as [`Words`], and the name.
struct Known {
    words: Words,
    name: HeaderName,
}

/// The little-endian word of `text[from..from + n]` (`n` ≤ 8), at compile time.
const fn word_at(text: &[u8], from: usize, n: usize) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < n {
        w |= (text[from + i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// `text` (lower case, [`SHORTEST`] to [`LONGEST`] bytes) as a table entry, its words laid
/// out as [`words`] reads them.
const fn known(text: &'static [u8], name: HeaderName) -> Known {
    let len = text.len();
    assert!(len >= SHORTEST && len <= LONGEST);
    let words = if len >= 8 {
        [word_at(text, 0, 8), word_at(text, len - 8, 8)]
    } else {
        [word_at(text, 0, 4) | word_at(text, len - 4, 4) << 32, 0]
    };
    Known { words, name }
}

/// The [`Words`] of `raw`, made lower case; `None` for a length outside the table's.
fn words(raw: &[u8]) -> Option<Words> {
    let len = raw.len();
    let (first, last) = if len >= 8 {
        let first: [u8; 8] = raw.get(..8)?.try_into().ok()?;
        let last: [u8; 8] = raw.get(len - 8..)?.try_into().ok()?;
        (u64::from_le_bytes(first), u64::from_le_bytes(last))
    } else {
        let first: [u8; 4] = raw.get(..4)?.try_into().ok()?;
        let last: [u8; 4] = raw.get(len.checked_sub(4)?..)?.try_into().ok()?;
        let both = u64::from(u32::from_le_bytes(first)) | u64::from(u32::from_le_bytes(last)) << 32;
        (both, 0)
    };
    Some([lower(first), lower(last)])
}

static LENGTH_4: [Known; 4] = [
    known(b"host", HOST),
    known(b"date", DATE),
    known(b"etag", ETAG),
    known(b"vary", VARY),
];
static LENGTH_5: [Known; 1] = [known(b"range", RANGE)];
static LENGTH_6: [Known; 4] = [
    known(b"server", SERVER),
    known(b"accept", ACCEPT),
    known(b"cookie", COOKIE),
    known(b"origin", ORIGIN),
];
static LENGTH_7: [Known; 3] = [
    known(b"referer", REFERER),
    known(b"expires", EXPIRES),
    known(b"upgrade", UPGRADE),
];
static LENGTH_8: [Known; 1] = [known(b"location", LOCATION)];
static LENGTH_10: [Known; 3] = [
    known(b"connection", CONNECTION),
    known(b"user-agent", USER_AGENT),
    known(b"set-cookie", SET_COOKIE),
];
static LENGTH_12: [Known; 1] = [known(b"content-type", CONTENT_TYPE)];
static LENGTH_13: [Known; 5] = [
    known(b"cache-control", CACHE_CONTROL),
    known(b"last-modified", LAST_MODIFIED),
    known(b"accept-ranges", ACCEPT_RANGES),
    known(b"authorization", AUTHORIZATION),
    known(b"if-none-match", IF_NONE_MATCH),
];
static LENGTH_14: [Known; 1] = [known(b"content-length", CONTENT_LENGTH)];
static LENGTH_15: [Known; 2] = [
    known(b"accept-encoding", ACCEPT_ENCODING),
    known(b"accept-language", ACCEPT_LANGUAGE),
];
static LENGTH_16: [Known; 1] = [known(b"content-encoding", CONTENT_ENCODING)];

/// The common names, by length.
static BY_LENGTH: [&[Known]; LONGEST + 1] = [
    &[],
    &[],
    &[],
    &[],
    &LENGTH_4,
    &LENGTH_5,
    &LENGTH_6,
    &LENGTH_7,
    &LENGTH_8,
    &[],
    &LENGTH_10,
    &[],
    &LENGTH_12,
    &LENGTH_13,
    &LENGTH_14,
    &LENGTH_15,
    &LENGTH_16,
];

/// Eight bytes with their ASCII capitals made small, all at once: a byte whose low seven
/// bits lie in `A..=Z` and whose top bit is clear gets bit 5 set; no other byte changes.
/// (Per byte, adding `0x80 - b'A'` to the low seven bits sets the top bit exactly when they
/// are at least `A`, adding `0x7f - b'Z'` exactly when they are above `Z`; neither sum
/// carries into the next byte.)
const fn lower(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = x & (0x7f * ONES);
    let at_least_a = low7 + (0x80 - b'A' as u64) * ONES;
    let above_z = low7 + (0x7f - b'Z' as u64) * ONES;
    let capital = at_least_a & !above_z & !x & (0x80 * ONES);
    x | (capital >> 2)
}

/// The header name `raw`, as [`HeaderName::from_bytes`] reads it.
pub fn header_name(raw: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
    if let Some(known) = BY_LENGTH.get(raw.len()).filter(|k| !k.is_empty()) {
        let words = words(raw);
        for k in known.iter() {
            if Some(k.words) == words {
                return Ok(k.name.clone());
            }
        }
    }
    HeaderName::from_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_name_is_found_in_any_case() {
        for (len, names) in BY_LENGTH.iter().enumerate() {
            for k in names.iter() {
                let (text, name) = (k.name.as_str().as_bytes(), &k.name);
                assert_eq!(text.len(), len, "{name} is filed under the wrong length");
                assert_eq!(Some(k.words), words(text), "{name}");
                let upper = text.to_ascii_uppercase();
                assert_eq!(header_name(&upper).unwrap(), *name);
                assert_eq!(header_name(text).unwrap(), *name);
                // One letter in another case, and one changed byte.
                let mut mixed = text.to_vec();
                mixed[len / 2] = mixed[len / 2].to_ascii_uppercase();
                assert_eq!(header_name(&mixed).unwrap(), *name);
                // Every byte counts, those the two words share included.
                for at in 0..len {
                    let mut other = text.to_vec();
                    other[at] ^= 0x01;
                    assert_ne!(header_name(&other).ok().as_ref(), Some(name), "{at}");
                }
            }
        }
    }

    #[test]
    fn only_capitals_are_made_small() {
        for b in 0..=255u8 {
            let word = lower(u64::from(b) << 24);
            assert_eq!((word >> 24) as u8, b.to_ascii_lowercase(), "{b:#x}");
            assert_eq!(word & !(0xff << 24), 0);
        }
    }

    #[test]
    fn other_names_are_read_as_from_bytes_reads_them() {
        for raw in [
            &b"X-Request-Id"[..],
            b"x-a",
            b"Hostx",
            b"Content-Lengthy",
            b"If-Modified-Since",
            b"X-Range",
            b"Accept-Rangez",
            b"A-Very-Long-Header-Name-Beyond-The-Table",
        ] {
            assert_eq!(
                header_name(raw).unwrap(),
                HeaderName::from_bytes(raw).unwrap()
            );
        }
        // Bytes that differ from a common name only by bit 5, but are not capitals of it.
        for bad in [
            &b""[..],
            b"bad name",
            b"bad:name",
            b"\xff",
            b"content\rlength",
            b"hos\xd4",
        ] {
            assert!(header_name(bad).is_err(), "{bad:?}");
        }
    }
}
