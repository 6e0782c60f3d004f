//! Just enough DER to read the issuer and subject names of an X.509 certificate.
//!
//! The certificate has already been verified by rustls during the handshake; this reader
//! still checks every length against the bytes it has and gives up (`None`) on anything it
//! does not expect, never panicking.

use crate::der::element;

/// The tags read here.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTF8_STRING: u8 = 0x0c;
const NUMERIC_STRING: u8 = 0x12;
const PRINTABLE_STRING: u8 = 0x13;
const T61_STRING: u8 = 0x14;
const IA5_STRING: u8 = 0x16;
const BMP_STRING: u8 = 0x1e;

/// Reads an element that must have tag `want`: `(contents, rest)`.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = element(input)?;
    (tag == want).then_some((contents, rest))
}

/// The encoded `Name`s (issuer, subject) of a DER certificate.
pub(super) fn names(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (cert, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let (_, rest) = expect(rest, INTEGER)?; // serialNumber
    let (_, rest) = expect(rest, SEQUENCE)?; // signature algorithm
    let (issuer, rest) = expect(rest, SEQUENCE)?;
    let (_, rest) = expect(rest, SEQUENCE)?; // validity
    let (subject, _) = expect(rest, SEQUENCE)?;
    Some((issuer, subject))
}

/// The text values of attribute `2.5.4.<attr>` in the `Name` contents `name`, in order;
/// values that are not strings are skipped (as Go's `pkix.Name` does).
pub(super) fn attribute_values(name: &[u8], attr: u8) -> Vec<String> {
    let mut out = Vec::new();
    let want = [0x55, 0x04, attr];
    let mut rdns = name;
    while let Some((set, rest)) = expect(rdns, SET) {
        rdns = rest;
        let mut atvs = set;
        while let Some((atv, rest)) = expect(atvs, SEQUENCE) {
            atvs = rest;
            let Some((oid, value)) = expect(atv, OID) else {
                continue;
            };
            if oid != want {
                continue;
            }
            if let Some((tag, bytes, _)) = element(value) {
                if let Some(text) = text(tag, bytes) {
                    out.push(text);
                }
            }
        }
    }
    out
}

/// A string value as text, for the string types certificates use.
fn text(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        UTF8_STRING | NUMERIC_STRING | PRINTABLE_STRING | T61_STRING | IA5_STRING => {
            std::str::from_utf8(bytes).ok().map(str::to_string)
        }
        BMP_STRING if bytes.len().is_multiple_of(2) => {
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_no_certificate() {
        assert_eq!(names(b"junk"), None);
    }

    #[test]
    fn string_types() {
        assert_eq!(text(PRINTABLE_STRING, b"US").as_deref(), Some("US"));
        assert_eq!(text(BMP_STRING, &[0, b'h', 0, b'i']).as_deref(), Some("hi"));
        assert_eq!(text(BMP_STRING, &[0]), None);
        assert_eq!(text(0x04, b"x"), None);
    }
}
