//! Decimal text of unsigned integers without the formatting machinery: duration text and
//! access-log lines write several numbers per request.

/// Most digits of a `u64`.
pub const MAX_DIGITS: usize = 20;

/// The decimal digits of `n` (ASCII), written at the end of `buf`.
pub fn digits(mut n: u64, buf: &mut [u8; MAX_DIGITS]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Appends the decimal text of `n` to `out`.
pub fn push_decimal(out: &mut String, n: u64) {
    let mut buf = [0u8; MAX_DIGITS];
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(digits(n, &mut buf)).unwrap_or(""));
}

/// Appends the decimal text of `n` to the bytes `out` (a line of text built as bytes, as
/// the access log builds its lines: no UTF-8 check of a few digits at a time).
pub fn extend_decimal(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; MAX_DIGITS];
    out.extend_from_slice(digits(n, &mut buf));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_match_display() {
        for n in [0, 7, 10, 199, 65_535, u64::MAX] {
            let mut out = String::from(">");
            push_decimal(&mut out, n);
            assert_eq!(out, format!(">{n}"));
        }
    }

    #[test]
    fn bytes_match_display() {
        for n in [0, 7, 10, 199, 65_535, u64::MAX] {
            let mut out = b">".to_vec();
            extend_decimal(&mut out, n);
            assert_eq!(out, format!(">{n}").as_bytes());
        }
    }
}
