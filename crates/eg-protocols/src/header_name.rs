//! Header names read off the wire.
//!
//! [`HeaderName::from_bytes`] lower-cases every name byte by byte into a scratch buffer
//! before it looks for a standard one; the names nearly every head carries are found here
//! first, by their length and two words made lower case at once, a fraction of that work.
//! Any other name takes the general path, so the result is always what `from_bytes`
//! gives.

use http::header::{
    HeaderName, InvalidHeaderName, ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, AUTHORIZATION,
    CACHE_CONTROL, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, DATE, ETAG,
    EXPIRES, HOST, LAST_MODIFIED, LOCATION, REFERER, SERVER, SET_COOKIE, USER_AGENT, VARY,
};

/// The longest common name.
const LONGEST: usize = 16;

/// A name's bytes as two little-endian words, zero-padded (names of up to [`LONGEST`]).
type Words = [u64; 2];

/// A common name: its lower-case bytes as [`Words`], and the name.
struct Known {
    words: Words,
    name: HeaderName,
}

/// `text` (lower case, at most [`LONGEST`] bytes) as a table entry.
const fn known(text: &'static [u8], name: HeaderName) -> Known {
    let mut words = [0u64; 2];
    let mut i = 0;
    while i < text.len() {
        words[i / 8] |= (text[i] as u64) << (8 * (i % 8));
        i += 1;
    }
    Known { words, name }
}

static LENGTH_4: [Known; 4] = [
    known(b"host", HOST),
    known(b"date", DATE),
    known(b"etag", ETAG),
    known(b"vary", VARY),
];
static LENGTH_6: [Known; 3] = [
    known(b"server", SERVER),
    known(b"accept", ACCEPT),
    known(b"cookie", COOKIE),
];
static LENGTH_7: [Known; 2] = [known(b"referer", REFERER), known(b"expires", EXPIRES)];
static LENGTH_8: [Known; 1] = [known(b"location", LOCATION)];
static LENGTH_10: [Known; 3] = [
    known(b"connection", CONNECTION),
    known(b"user-agent", USER_AGENT),
    known(b"set-cookie", SET_COOKIE),
];
static LENGTH_12: [Known; 1] = [known(b"content-type", CONTENT_TYPE)];
static LENGTH_13: [Known; 3] = [
    known(b"cache-control", CACHE_CONTROL),
    known(b"last-modified", LAST_MODIFIED),
    known(b"authorization", AUTHORIZATION),
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
    &[],
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
        let mut padded = [0u8; LONGEST];
        padded[..raw.len()].copy_from_slice(raw);
        let (low, high) = padded.split_at(8);
        let words = [
            lower(u64::from_le_bytes(low.try_into().unwrap_or_default())),
            lower(u64::from_le_bytes(high.try_into().unwrap_or_default())),
        ];
        for k in known.iter() {
            if k.words == words {
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
                assert_eq!(k.words, known(text, name.clone()).words, "{name}");
                let upper = text.to_ascii_uppercase();
                assert_eq!(header_name(&upper).unwrap(), *name);
                assert_eq!(header_name(text).unwrap(), *name);
                // One letter in another case, and one changed byte.
                let mut mixed = text.to_vec();
                mixed[len / 2] = mixed[len / 2].to_ascii_uppercase();
                assert_eq!(header_name(&mixed).unwrap(), *name);
                let mut other = text.to_vec();
                other[len - 1] ^= 0x01;
                assert_ne!(header_name(&other).ok().as_ref(), Some(name));
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
            b"If-None-Match",
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
