//! Go-style durations (`300ms`, `1h30m`, `1.5s`), the format of every Easegress duration field.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way Go's `time.ParseDuration` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

impl GoDuration {
    /// Parses `300ms`, `1h30m`, `1.5s`, `0`. Units: ns, us, µs, ms, s, m, h.
    pub fn parse(text: &str) -> Result<GoDuration, String> {
        let s = text.trim();
        let bad = || format!("invalid duration {text:?} (expected e.g. 500ms, 10s, 1m30s)");
        if s.is_empty() {
            return Err(bad());
        }
        if s == "0" {
            return Ok(GoDuration(Duration::ZERO));
        }
        if s.starts_with('-') {
            return Err(format!("invalid duration {text:?}: must not be negative"));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let mut total_ns: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            if num_len == 0 {
                return Err(bad());
            }
            let num: f64 = rest[..num_len].parse().map_err(|_| bad())?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = match &rest[..unit_len] {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            total_ns += num * unit;
        }
        if !total_ns.is_finite() || total_ns > u64::MAX as f64 {
            return Err(bad());
        }
        Ok(GoDuration(Duration::from_nanos(total_ns.round() as u64)))
    }

    /// The wrapped duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

/// Longest text of a duration: `5124095h34m33.709551615s` (`u64::MAX` nanoseconds).
const MAX_TEXT: usize = 32;

/// A duration's text, built in place without the formatting machinery: its ASCII part
/// (the numbers, and `h`/`m` of a long one) and its last unit, the one that may not be
/// ASCII (`µs`).
struct Text {
    buf: [u8; MAX_TEXT],
    len: usize,
    unit: &'static str,
}

impl Text {
    /// Appends one byte. (Byte by byte: the pieces are one to nine bytes long, shorter
    /// than a copy's call.)
    fn push_byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push_byte(b);
        }
    }

    fn push_int(&mut self, n: u64) {
        let mut buf = [0u8; crate::decimal::MAX_DIGITS];
        self.push(crate::decimal::digits(n, &mut buf));
    }

    /// `whole`, then `.` and the `digits`-digit fraction `frac` without its trailing
    /// zeros (nothing when it is zero), as Go's `fmtFrac` does.
    fn push_frac(&mut self, whole: u64, mut frac: u64, mut digits: usize) {
        self.push_int(whole);
        if frac == 0 {
            return;
        }
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        self.push_byte(b'.');
        // The digits go in their places from the last one back.
        let end = self.len + digits;
        for at in (self.len..end.min(MAX_TEXT)).rev() {
            self.buf[at] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        self.len = end.min(MAX_TEXT);
    }

    /// The ASCII part: digits, `.`, `h` and `m` are all that is ever pushed.
    fn ascii(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The ASCII part as text.
    fn ascii_str(&self) -> &str {
        std::str::from_utf8(self.ascii()).unwrap_or("")
    }
}

impl GoDuration {
    /// Formats as Go's `Duration.String()` does (`1h0m0s`, `1.5s`, `100ms`, `1.234567ms`,
    /// `0s`), with integer arithmetic only: exact, and cheap enough for every access-log
    /// line.
    fn text(&self) -> Text {
        let mut t = Text {
            buf: [0; MAX_TEXT],
            len: 0,
            unit: "s",
        };
        // Durations past u64 nanoseconds (584 years) are shown as that.
        let ns = u64::try_from(self.0.as_nanos()).unwrap_or(u64::MAX);
        if ns == 0 {
            t.push(b"0");
        } else if ns < 1_000 {
            t.push_int(ns);
            t.unit = "ns";
        } else if ns < 1_000_000 {
            t.push_frac(ns / 1_000, ns % 1_000, 3);
            t.unit = "µs";
        } else if ns < 1_000_000_000 {
            t.push_frac(ns / 1_000_000, ns % 1_000_000, 6);
            t.unit = "ms";
        } else {
            let secs_total = ns / 1_000_000_000;
            let h = secs_total / 3600;
            let m = (secs_total % 3600) / 60;
            if h > 0 {
                t.push_int(h);
                t.push(b"h");
            }
            if h > 0 || m > 0 {
                t.push_int(m);
                t.push(b"m");
            }
            t.push_frac(secs_total % 60, ns % 1_000_000_000, 9);
        }
        t
    }

    /// Appends the text [`Display`](fmt::Display) writes to `out`.
    pub fn write_to(&self, out: &mut String) {
        let t = self.text();
        out.push_str(t.ascii_str());
        out.push_str(t.unit);
    }

    /// Appends the text [`Display`](fmt::Display) writes to the bytes `out` (a line of
    /// text built as bytes, as the access log builds its lines).
    pub fn extend(&self, out: &mut Vec<u8>) {
        let t = self.text();
        out.extend_from_slice(t.ascii());
        out.extend_from_slice(t.unit.as_bytes());
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.text();
        f.write_str(t.ascii_str())?;
        f.write_str(t.unit)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for GoDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoDuration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "duration",
            "description": "A Go duration: a sequence of numbers with units, e.g. 300ms, 1.5s, 1h30m.",
        })
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let ms = |n| GoDuration(Duration::from_millis(n));
        assert_eq!(GoDuration::parse("300ms").unwrap(), ms(300));
        assert_eq!(GoDuration::parse("1h30m").unwrap(), ms(5_400_000));
        assert_eq!(GoDuration::parse("1.5s").unwrap(), ms(1500));
        assert_eq!(GoDuration::parse("0").unwrap(), ms(0));
        assert_eq!(GoDuration::parse("75s").unwrap(), ms(75_000));
        assert_eq!(
            GoDuration::parse("10us").unwrap().0,
            Duration::from_micros(10)
        );
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "10", "5x", "ms", "-1s", "1s2", "abc"] {
            assert!(GoDuration::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn formats_like_go() {
        let f = |s: &str| GoDuration::parse(s).unwrap().to_string();
        assert_eq!(f("1h"), "1h0m0s");
        assert_eq!(f("90s"), "1m30s");
        assert_eq!(f("1.5s"), "1.5s");
        assert_eq!(f("100ms"), "100ms");
        assert_eq!(f("0"), "0s");
        // Go: time.Duration(n).String() for these n.
        let n = |ns: u64| GoDuration(Duration::from_nanos(ns)).to_string();
        assert_eq!(n(999), "999ns");
        assert_eq!(n(1_000), "1µs");
        assert_eq!(n(1_500), "1.5µs");
        assert_eq!(n(1_234_567), "1.234567ms");
        assert_eq!(n(1_230_000), "1.23ms");
        assert_eq!(n(59_999_999_999), "59.999999999s");
        assert_eq!(n(3_723_000_000_001), "1h2m3.000000001s");
        assert_eq!(n(3_600_000_000_000), "1h0m0s");
        assert_eq!(n(u64::MAX), "5124095h34m33.709551615s");
        assert_eq!(
            GoDuration(Duration::from_secs(u64::MAX)).to_string(),
            "5124095h34m33.709551615s",
            "past u64 nanoseconds: shown as the largest"
        );
        let mut out = String::from("took ");
        GoDuration(Duration::from_micros(1_500)).write_to(&mut out);
        assert_eq!(out, "took 1.5ms");
        // Appended, as text or bytes, and displayed alike, the units that are not ASCII too.
        for ns in [
            0,
            1,
            999,
            1_000,
            1_500,
            999_999,
            1_230_000,
            61_000_000_000,
            u64::MAX,
        ] {
            let d = GoDuration(Duration::from_nanos(ns));
            let mut out = String::from("µ");
            d.write_to(&mut out);
            assert_eq!(out, format!("µ{d}"), "{ns}");
            let mut bytes = "µ".as_bytes().to_vec();
            d.extend(&mut bytes);
            assert_eq!(bytes, out.as_bytes(), "{ns}");
        }
    }
}
