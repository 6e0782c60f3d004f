//! A small Go `time.Time` model: Go layout formatting/parsing, durations.
//!
//! Only the UTC zone is known (also used for `Local`); unknown zone names
//! fall back to UTC exactly as sprig does when `time.LoadLocation` fails.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Go `time.Time`: an instant plus the zone it is displayed in.
#[derive(Clone, Debug, PartialEq)]
pub struct Time {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// Zone offset east of UTC, in seconds.
    pub offset: i32,
    /// Zone abbreviation (`UTC`).
    pub zone: Arc<str>,
}

/// Civil date-time fields of a [`Time`] in its zone.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    weekday: u32,
    yday: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

impl Time {
    /// The current time in UTC.
    pub fn now() -> Time {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Time::from_unix(d.as_secs() as i64, d.subsec_nanos())
    }

    /// A UTC time from Unix seconds and nanoseconds.
    pub fn from_unix(unix: i64, nanos: u32) -> Time {
        Time {
            unix,
            nanos,
            offset: 0,
            zone: Arc::from("UTC"),
        }
    }

    /// Go's zero `time.Time` (January 1, year 1, UTC).
    pub fn zero() -> Time {
        Time::from_unix(days_from_civil(1, 1, 1) * SECS_PER_DAY, 0)
    }

    /// Same instant displayed in `zone`; only `UTC`/`Local`/`""` are known,
    /// anything else falls back to UTC (as sprig does on lookup failure).
    pub fn in_zone(&self, _zone: &str) -> Time {
        Time::from_unix(self.unix, self.nanos)
    }

    /// Adds a duration in nanoseconds.
    pub fn add_nanos(&self, d: i64) -> Time {
        let total = self.nanos as i64 + d.rem_euclid(NANOS_PER_SEC);
        let unix = self.unix + d.div_euclid(NANOS_PER_SEC) + total / NANOS_PER_SEC;
        Time {
            unix,
            nanos: (total % NANOS_PER_SEC) as u32,
            offset: self.offset,
            zone: self.zone.clone(),
        }
    }

    /// Nanoseconds since the Unix epoch (saturating).
    pub fn unix_nanos(&self) -> i128 {
        self.unix as i128 * NANOS_PER_SEC as i128 + self.nanos as i128
    }

    fn civil(&self) -> Civil {
        let local = self.unix + self.offset as i64;
        let days = local.div_euclid(SECS_PER_DAY);
        let secs = local.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            min: ((secs % 3600) / 60) as u32,
            sec: (secs % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday,
        }
    }

    /// Go's `Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// Formats with a Go reference-time layout (`2006-01-02T15:04:05Z07:00`).
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::with_capacity(layout.len() + 10);
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_chunk(rest);
            out.push_str(prefix);
            match chunk {
                Chunk::None => {}
                Chunk::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
                Chunk::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
                Chunk::NumMonth => out.push_str(&c.month.to_string()),
                Chunk::ZeroMonth => out.push_str(&format!("{:02}", c.month)),
                Chunk::LongWeekDay => out.push_str(DAYS[c.weekday as usize]),
                Chunk::WeekDay => out.push_str(&DAYS[c.weekday as usize][..3]),
                Chunk::Day => out.push_str(&c.day.to_string()),
                Chunk::UnderDay => out.push_str(&format!("{:>2}", c.day)),
                Chunk::ZeroDay => out.push_str(&format!("{:02}", c.day)),
                Chunk::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
                Chunk::ZeroYearDay => out.push_str(&format!("{:03}", c.yday)),
                Chunk::Hour => out.push_str(&format!("{:02}", c.hour)),
                Chunk::Hour12 => out.push_str(&(hour12(c.hour)).to_string()),
                Chunk::ZeroHour12 => out.push_str(&format!("{:02}", hour12(c.hour))),
                Chunk::Minute => out.push_str(&c.min.to_string()),
                Chunk::ZeroMinute => out.push_str(&format!("{:02}", c.min)),
                Chunk::Second => out.push_str(&c.sec.to_string()),
                Chunk::ZeroSecond => out.push_str(&format!("{:02}", c.sec)),
                Chunk::LongYear => {
                    if c.year < 0 {
                        out.push_str(&format!("-{:04}", -c.year))
                    } else {
                        out.push_str(&format!("{:04}", c.year))
                    }
                }
                Chunk::Year => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
                Chunk::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Chunk::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                Chunk::TZ => out.push_str(&self.zone),
                Chunk::Offset {
                    z,
                    colon,
                    secs,
                    hours_only,
                } => {
                    if z && self.offset == 0 {
                        out.push('Z');
                    } else {
                        let off = self.offset;
                        out.push(if off < 0 { '-' } else { '+' });
                        let a = off.unsigned_abs();
                        out.push_str(&format!("{:02}", a / 3600));
                        if !hours_only {
                            if colon {
                                out.push(':');
                            }
                            out.push_str(&format!("{:02}", (a % 3600) / 60));
                        }
                        if secs {
                            if colon {
                                out.push(':');
                            }
                            out.push_str(&format!("{:02}", a % 60));
                        }
                    }
                }
                Chunk::Frac { digits, trim, sep } => {
                    let s = format!("{:09}", self.nanos);
                    let mut d = &s[..digits.min(9)];
                    if trim {
                        d = d.trim_end_matches('0');
                        if d.is_empty() {
                            rest = suffix;
                            continue;
                        }
                    }
                    out.push(sep);
                    out.push_str(d);
                }
            }
            rest = suffix;
        }
        out
    }

    /// Parses `value` with a Go layout (UTC unless the layout has an
    /// offset). Returns `None` when the value does not match.
    pub fn parse(layout: &str, value: &str) -> Option<Time> {
        let (mut year, mut month, mut day, mut hour, mut min, mut sec) =
            (1i64, 1u32, 1u32, 0u32, 0u32, 0u32);
        let mut nanos = 0u32;
        let mut pm: Option<bool> = None;
        let mut offset = 0i32;
        let mut rest = layout;
        let mut v = value;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_chunk(rest);
            v = v.strip_prefix(prefix)?;
            match chunk {
                Chunk::None => {}
                Chunk::LongYear => {
                    let (n, r) = take_digits(v, 4, 4)?;
                    year = n as i64;
                    v = r;
                }
                Chunk::Year => {
                    let (n, r) = take_digits(v, 2, 2)?;
                    year = if n >= 69 {
                        1900 + n as i64
                    } else {
                        2000 + n as i64
                    };
                    v = r;
                }
                Chunk::ZeroMonth | Chunk::NumMonth => {
                    let (n, r) = take_digits(
                        v,
                        if matches!(chunk, Chunk::ZeroMonth) {
                            2
                        } else {
                            1
                        },
                        2,
                    )?;
                    month = n;
                    v = r;
                }
                Chunk::LongMonth | Chunk::Month => {
                    let idx = MONTHS.iter().position(|m| {
                        let m = if matches!(chunk, Chunk::Month) {
                            &m[..3]
                        } else {
                            m
                        };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    })?;
                    let l = if matches!(chunk, Chunk::Month) {
                        3
                    } else {
                        MONTHS[idx].len()
                    };
                    month = idx as u32 + 1;
                    v = &v[l..];
                }
                Chunk::LongWeekDay | Chunk::WeekDay => {
                    let idx = DAYS.iter().position(|m| {
                        let m = if matches!(chunk, Chunk::WeekDay) {
                            &m[..3]
                        } else {
                            m
                        };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    })?;
                    let l = if matches!(chunk, Chunk::WeekDay) {
                        3
                    } else {
                        DAYS[idx].len()
                    };
                    v = &v[l..];
                }
                Chunk::ZeroDay | Chunk::Day | Chunk::UnderDay => {
                    let s = if matches!(chunk, Chunk::UnderDay) {
                        v.strip_prefix(' ').unwrap_or(v)
                    } else {
                        v
                    };
                    let (n, r) = take_digits(
                        s,
                        if matches!(chunk, Chunk::ZeroDay) {
                            2
                        } else {
                            1
                        },
                        2,
                    )?;
                    day = n;
                    v = r;
                }
                Chunk::ZeroYearDay | Chunk::UnderYearDay => {
                    let (_, r) = take_digits(v.trim_start(), 1, 3)?;
                    v = r;
                }
                Chunk::Hour | Chunk::Hour12 | Chunk::ZeroHour12 => {
                    let (n, r) =
                        take_digits(v, if matches!(chunk, Chunk::Hour12) { 1 } else { 2 }, 2)?;
                    hour = n;
                    v = r;
                }
                Chunk::Minute | Chunk::ZeroMinute => {
                    let (n, r) =
                        take_digits(v, if matches!(chunk, Chunk::Minute) { 1 } else { 2 }, 2)?;
                    min = n;
                    v = r;
                }
                Chunk::Second | Chunk::ZeroSecond => {
                    let (n, r) =
                        take_digits(v, if matches!(chunk, Chunk::Second) { 1 } else { 2 }, 2)?;
                    sec = n;
                    v = r;
                    if let Some(r) = v.strip_prefix('.') {
                        if !suffix.starts_with('.') {
                            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                            nanos = frac_nanos(&r[..end]);
                            v = &r[end..];
                        }
                    }
                }
                Chunk::Frac { digits, trim, .. } => {
                    let r = v.strip_prefix(['.', ','])?;
                    let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                    if !trim && end != digits {
                        return None;
                    }
                    nanos = frac_nanos(&r[..end]);
                    v = &r[end..];
                }
                Chunk::PM | Chunk::Pm => {
                    let p = v.get(..2)?;
                    pm = Some(p.eq_ignore_ascii_case("pm"));
                    if !p.eq_ignore_ascii_case("pm") && !p.eq_ignore_ascii_case("am") {
                        return None;
                    }
                    v = &v[2..];
                }
                Chunk::TZ => {
                    let end = v.find(|c: char| !c.is_ascii_uppercase()).unwrap_or(v.len());
                    if end < 3 {
                        return None;
                    }
                    v = &v[end..];
                }
                Chunk::Offset {
                    z,
                    colon,
                    secs,
                    hours_only,
                } => {
                    if z && v.starts_with('Z') {
                        v = &v[1..];
                    } else {
                        let sign = match v.chars().next()? {
                            '+' => 1,
                            '-' => -1,
                            _ => return None,
                        };
                        let (h, mut r) = take_digits(&v[1..], 2, 2)?;
                        let mut m = 0;
                        let mut s = 0;
                        if !hours_only {
                            if colon {
                                r = r.strip_prefix(':')?;
                            }
                            let (mm, rr) = take_digits(r, 2, 2)?;
                            m = mm;
                            r = rr;
                        }
                        if secs {
                            if colon {
                                r = r.strip_prefix(':')?;
                            }
                            let (ss, rr) = take_digits(r, 2, 2)?;
                            s = ss;
                            r = rr;
                        }
                        offset = sign * (h * 3600 + m * 60 + s) as i32;
                        v = r;
                    }
                }
            }
            rest = suffix;
        }
        if !v.is_empty() {
            return None;
        }
        if let Some(pm) = pm {
            if hour > 12 {
                return None;
            }
            if pm && hour < 12 {
                hour += 12;
            } else if !pm && hour == 12 {
                hour = 0;
            }
        }
        if !(1..=12).contains(&month) || day < 1 || hour > 23 || min > 59 || sec > 59 {
            return None;
        }
        let mdays = [
            31,
            if is_leap(year) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if day > mdays[month as usize - 1] {
            return None;
        }
        let unix = days_from_civil(year, month, day) * SECS_PER_DAY
            + (hour * 3600 + min * 60 + sec) as i64
            - offset as i64;
        let mut t = Time::from_unix(unix, nanos);
        if offset != 0 {
            t.offset = offset;
            t.zone = Arc::from("");
        }
        Some(t)
    }
}

fn frac_nanos(d: &str) -> u32 {
    let mut n = 0u32;
    for (i, c) in d.chars().take(9).enumerate() {
        n += (c as u32 - '0' as u32) * 10u32.pow(8 - i as u32);
    }
    n
}

fn take_digits(v: &str, min: usize, max: usize) -> Option<(u32, &str)> {
    let end = v
        .char_indices()
        .take(max)
        .take_while(|(_, c)| c.is_ascii_digit())
        .count();
    if end < min {
        return None;
    }
    Some((v[..end].parse().ok()?, &v[end..]))
}

fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        x => x,
    }
}

#[derive(Clone, Copy)]
enum Chunk {
    None,
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Offset {
        z: bool,
        colon: bool,
        secs: bool,
        hours_only: bool,
    },
    Frac {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// Splits a layout into literal prefix, the first reference-time element,
/// and the rest (Go's `nextStdChunk`).
fn next_chunk(layout: &str) -> (&str, Chunk, &str) {
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let found: Option<(usize, Chunk)> = match b[i] {
            b'J' if rest.starts_with("January") => Some((7, Chunk::LongMonth)),
            b'J' if rest.starts_with("Jan") => Some((3, Chunk::Month)),
            b'M' if rest.starts_with("Monday") => Some((6, Chunk::LongWeekDay)),
            b'M' if rest.starts_with("Mon") => Some((3, Chunk::WeekDay)),
            b'M' if rest.starts_with("MST") => Some((3, Chunk::TZ)),
            b'0' if rest.starts_with("01") => Some((2, Chunk::ZeroMonth)),
            b'0' if rest.starts_with("02") => Some((2, Chunk::ZeroDay)),
            b'0' if rest.starts_with("03") => Some((2, Chunk::ZeroHour12)),
            b'0' if rest.starts_with("04") => Some((2, Chunk::ZeroMinute)),
            b'0' if rest.starts_with("05") => Some((2, Chunk::ZeroSecond)),
            b'0' if rest.starts_with("06") => Some((2, Chunk::Year)),
            b'0' if rest.starts_with("002") => Some((3, Chunk::ZeroYearDay)),
            b'1' if rest.starts_with("15") => Some((2, Chunk::Hour)),
            b'1' => Some((1, Chunk::NumMonth)),
            b'2' if rest.starts_with("2006") => Some((4, Chunk::LongYear)),
            b'2' => Some((1, Chunk::Day)),
            b'_' if rest.starts_with("_2006") => {
                // `_2006` is a literal underscore followed by the year.
                return (&layout[..i + 1], Chunk::LongYear, &layout[i + 5..]);
            }
            b'_' if rest.starts_with("__2") => Some((3, Chunk::UnderYearDay)),
            b'_' if rest.starts_with("_2") => Some((2, Chunk::UnderDay)),
            b'3' => Some((1, Chunk::Hour12)),
            b'4' => Some((1, Chunk::Minute)),
            b'5' => Some((1, Chunk::Second)),
            b'P' if rest.starts_with("PM") => Some((2, Chunk::PM)),
            b'p' if rest.starts_with("pm") => Some((2, Chunk::Pm)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let body = &rest[1..];
                let table: [(&str, bool, bool, bool); 5] = [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ];
                table.iter().find(|(p, ..)| body.starts_with(p)).map(
                    |(p, colon, secs, hours_only)| {
                        (
                            p.len() + 1,
                            Chunk::Offset {
                                z,
                                colon: *colon,
                                secs: *secs,
                                hours_only: *hours_only,
                            },
                        )
                    },
                )
            }
            b'.' | b',' => {
                let digit = rest.as_bytes().get(1).copied();
                if matches!(digit, Some(b'0') | Some(b'9')) {
                    let d = digit.unwrap_or(b'0');
                    let n = rest[1..].bytes().take_while(|&c| c == d).count();
                    let after = rest.as_bytes().get(1 + n).copied();
                    if !matches!(after, Some(b'0'..=b'9')) {
                        Some((
                            1 + n,
                            Chunk::Frac {
                                digits: n,
                                trim: d == b'9',
                                sep: b[i] as char,
                            },
                        ))
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some((len, chunk)) = found {
            return (&layout[..i], chunk, &layout[i + len..]);
        }
        i += rest.chars().next().map(|c| c.len_utf8()).unwrap_or(1);
    }
    (layout, Chunk::None, "")
}

/// Parses a Go duration string (`1h30m`, `-5s`, `300ms`) into nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let num: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let uend = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..uend] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * unit;
        rest = &rest[uend..];
    }
    let v = if neg { -total } else { total };
    Some(v as i64)
}

/// Go's `time.Duration.String()` (e.g. `1h2m3s`, `1.5s`, `0s`).
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_str(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s_ns = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_str(s_ns, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn frac_str(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{:0width$}", frac, width = width);
    format!("{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_reference_layouts() {
        let t = Time::from_unix(1_136_214_245, 123_000_000);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2006-01-02T15:04:05Z"
        );
        assert_eq!(t.format("Mon Jan _2 3:04PM .000"), "Mon Jan  2 3:04PM .123");
        assert_eq!(t.go_string(), "2006-01-02 15:04:05.123 +0000 UTC");
    }

    #[test]
    fn parses_and_durations() {
        let t = Time::parse("2006-01-02", "2017-12-31").map(|t| t.unix);
        assert_eq!(t, Some(1_514_678_400));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(duration_string(5_400_000_000_000), "1h30m0s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
    }
}
