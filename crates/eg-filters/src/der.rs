//! The one DER reader of the filters that look into certificates and keys (CertExtractor,
//! the Validator's public keys): length-checked, allocation-free, and only as much of DER
//! as those parts use (single-byte tags, definite lengths of at most four bytes).

/// Splits one element off `input`: `(tag, contents, rest)`.
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers do not occur in the parts read here
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked() {
        assert_eq!(element(&[]), None);
        assert_eq!(element(&[0x30]), None);
        assert_eq!(element(&[0x30, 0x02, 0x01]), None);
        assert_eq!(element(&[0x30, 0x81]), None);
        assert_eq!(element(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
        assert_eq!(element(&[0x1f, 0x00]), None);
        assert_eq!(
            element(&[0x04, 0x81, 0x01, 0xaa, 0xbb]),
            Some((0x04, &[0xaa][..], &[0xbb][..]))
        );
    }
}
