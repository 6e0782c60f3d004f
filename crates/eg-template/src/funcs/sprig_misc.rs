//! Sprig dates, encodings, paths, regular expressions, reflection, hashes
//! and the remaining small functions.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use rand::Rng;
use regex::Regex;
use sha1::Digest as _;

use super::{int, s, Reg, P};
use crate::gofmt;
use crate::time::{duration_string, parse_duration, Time};
use crate::value::Value;

/// Compiled regular expressions kept per thread.
const REGEX_CACHE_SIZE: usize = 64;

const UNSUPPORTED: &str = "function is not supported by this template engine";

pub(super) fn register(r: &mut Reg<'_>) {
    // dates
    r.f("date", &[P::Str, P::Any], |a| {
        Ok(Value::from(date_in_zone(s(&a[0]), &a[1], "Local")))
    });
    r.f("date_in_zone", &[P::Str, P::Any, P::Str], |a| {
        Ok(Value::from(date_in_zone(s(&a[0]), &a[1], s(&a[2]))))
    });
    r.f("dateInZone", &[P::Str, P::Any, P::Str], |a| {
        Ok(Value::from(date_in_zone(s(&a[0]), &a[1], s(&a[2]))))
    });
    r.f("date_modify", &[P::Str, P::Time], date_modify);
    r.f("dateModify", &[P::Str, P::Time], date_modify);
    r.f("now", &[], |_| Ok(Value::Time(Time::now())));
    r.f("htmlDate", &[P::Any], |a| {
        Ok(Value::from(date_in_zone("2006-01-02", &a[0], "Local")))
    });
    r.f("htmlDateInZone", &[P::Any, P::Str], |a| {
        Ok(Value::from(date_in_zone("2006-01-02", &a[0], s(&a[1]))))
    });
    r.f("ago", &[P::Any], |a| {
        let t = to_time(&a[0]);
        let d = Time::now().unix_nanos() - t.unix_nanos();
        let secs = (d as f64 / 1e9).round() as i64;
        Ok(Value::from(duration_string(
            secs.saturating_mul(1_000_000_000),
        )))
    });
    r.f("toDate", &[P::Str, P::Str], |a| {
        Ok(Value::Time(
            Time::parse(s(&a[0]), s(&a[1])).unwrap_or_else(Time::zero),
        ))
    });
    r.f("unixEpoch", &[P::Time], |a| match &a[0] {
        Value::Time(t) => Ok(Value::from(t.unix.to_string())),
        _ => Ok(Value::str("")),
    });

    // encodings
    r.f("b64enc", &[P::Str], |a| {
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(s(&a[0])),
        ))
    });
    r.f("b64dec", &[P::Str], |a| {
        Ok(Value::from(
            match base64::engine::general_purpose::STANDARD.decode(s(&a[0])) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => base64_error(s(&a[0]), &e),
            },
        ))
    });
    r.f("b32enc", &[P::Str], |a| {
        Ok(Value::from(base32_encode(s(&a[0]).as_bytes())))
    });
    r.f("b32dec", &[P::Str], |a| {
        Ok(Value::from(match base32_decode(s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(pos) => format!("illegal base32 data at input byte {pos}"),
        }))
    });

    // reflection
    r.f("typeOf", &[P::Any], |a| Ok(Value::from(a[0].type_name())));
    r.f("typeIs", &[P::Str, P::Any], |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].type_name()))
    });
    r.f("typeIsLike", &[P::Str, P::Any], |a| {
        let t = a[1].type_name();
        Ok(Value::Bool(s(&a[0]) == t || format!("*{}", s(&a[0])) == t))
    });
    r.f("kindOf", &[P::Any], |a| Ok(Value::str(a[0].kind_name())));
    r.f("kindIs", &[P::Str, P::Any], |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))
    });

    // OS
    r.f("env", &[P::Str], |a| {
        Ok(Value::from(std::env::var(s(&a[0])).unwrap_or_default()))
    });
    r.f("expandenv", &[P::Str], |a| {
        Ok(Value::from(expand_env(s(&a[0]))))
    });

    // paths
    r.f("base", &[P::Str], |a| Ok(Value::from(path_base(s(&a[0])))));
    r.f("dir", &[P::Str], |a| Ok(Value::from(path_dir(s(&a[0])))));
    r.f("clean", &[P::Str], |a| {
        Ok(Value::from(path_clean(s(&a[0]))))
    });
    r.f("ext", &[P::Str], |a| {
        let p = s(&a[0]);
        let tail = &p[p.rfind('/').map(|i| i + 1).unwrap_or(0)..];
        Ok(Value::str(
            tail.rfind('.').map(|i| &tail[i..]).unwrap_or(""),
        ))
    });
    r.f("isAbs", &[P::Str], |a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });

    // hashes and ids
    r.f("sha1sum", &[P::Str], |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes()))))
    });
    r.f("sha256sum", &[P::Str], |a| {
        Ok(Value::from(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes()))))
    });
    r.f("adler32sum", &[P::Str], |a| {
        Ok(Value::from(adler32(s(&a[0]).as_bytes()).to_string()))
    });
    r.f("uuidv4", &[], |_| Ok(Value::from(uuidv4())));
    r.f("fail", &[P::Str], |a| Err(s(&a[0]).to_string()));

    // not supported (need key generation / semver parsing)
    for name in [
        "genPrivateKey",
        "derivePassword",
        "buildCustomCert",
        "genCA",
        "genSelfSignedCert",
        "genSignedCert",
        "semver",
        "semverCompare",
    ] {
        r.v(name, &[], P::Any, |_| Err(UNSUPPORTED.into()));
    }

    // regular expressions
    r.f("regexMatch", &[P::Str, P::Str], |a| {
        Ok(Value::Bool(
            with_regex_lenient(s(&a[0]), |re| re.is_match(s(&a[1]))).unwrap_or(false),
        ))
    });
    r.f("regexFindAll", &[P::Str, P::Str, P::Int], |a| {
        let n = int(&a[2]);
        with_regex(s(&a[0]), |re| {
            if n == 0 {
                return super::string_list(Vec::new());
            }
            let it = re.find_iter(s(&a[1])).map(|m| m.as_str().to_string());
            let v: Vec<String> = if n < 0 {
                it.collect()
            } else {
                it.take(n as usize).collect()
            };
            super::string_list(v)
        })
    });
    r.f("regexFind", &[P::Str, P::Str], |a| {
        with_regex(s(&a[0]), |re| {
            Value::str(re.find(s(&a[1])).map(|m| m.as_str()).unwrap_or(""))
        })
    });
    r.f("regexReplaceAll", &[P::Str, P::Str, P::Str], |a| {
        with_regex(s(&a[0]), |re| {
            Value::from(re.replace_all(s(&a[1]), s(&a[2])).into_owned())
        })
    });
    r.f("regexReplaceAllLiteral", &[P::Str, P::Str, P::Str], |a| {
        with_regex(s(&a[0]), |re| {
            Value::from(
                re.replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                    .into_owned(),
            )
        })
    });
    r.f("regexSplit", &[P::Str, P::Str, P::Int], |a| {
        with_regex(s(&a[0]), |re| {
            super::string_list(regex_split(re, s(&a[1]), int(&a[2])))
        })
    });
}

fn to_time(v: &Value) -> Time {
    match v {
        Value::Time(t) => t.clone(),
        Value::Int(i) | Value::Int64(i) => Time::from_unix(*i, 0),
        _ => Time::now(),
    }
}

fn date_in_zone(fmt: &str, date: &Value, zone: &str) -> String {
    to_time(date).in_zone(zone).format(fmt)
}

fn date_modify(a: &[Value]) -> Result<Value, String> {
    let t = match &a[1] {
        Value::Time(t) => t.clone(),
        _ => Time::zero(),
    };
    Ok(Value::Time(match parse_duration(s(&a[0])) {
        Some(d) => t.add_nanos(d),
        None => t,
    }))
}

fn base64_error(input: &str, e: &base64::DecodeError) -> String {
    let pos = match e {
        base64::DecodeError::InvalidByte(p, _) => *p,
        base64::DecodeError::InvalidLastSymbol(p, _) => *p,
        base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
            let n = input.len();
            n - n % 4
        }
    };
    format!("illegal base64 data at input byte {pos}")
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(st: &str) -> Result<Vec<u8>, usize> {
    let b = st.as_bytes();
    if !b.len().is_multiple_of(8) {
        return Err(b.len() - b.len() % 8);
    }
    let mut out = Vec::new();
    for (ci, chunk) in b.chunks(8).enumerate() {
        let mut n: u64 = 0;
        let mut valid = 8;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' {
                if valid == 8 {
                    valid = i;
                }
                0
            } else {
                if valid != 8 {
                    return Err(ci * 8 + i);
                }
                match B32.iter().position(|&x| x == c) {
                    Some(p) => p as u64,
                    None => return Err(ci * 8 + i),
                }
            };
            n = (n << 5) | v;
        }
        let bytes = match valid {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return Err(ci * 8 + valid),
        };
        let be = n.to_be_bytes();
        out.extend_from_slice(&be[3..3 + bytes]);
    }
    Ok(out)
}

fn expand_env(st: &str) -> String {
    let mut out = String::new();
    let b = st.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            let (name, len) = if b[i + 1] == b'{' {
                match st[i + 2..].find('}') {
                    Some(e) => (&st[i + 2..i + 2 + e], e + 3),
                    None => ("", 1),
                }
            } else {
                let e = st[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(st.len() - i - 1);
                (&st[i + 1..i + 1 + e], e + 1)
            };
            if len > 1 {
                out.push_str(&std::env::var(name).unwrap_or_default());
                i += len;
                continue;
            }
        }
        let c = st[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Go's `path.Clean`.
fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().map(|l| *l != "..").unwrap_or(false) {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t[t.rfind('/').map(|i| i + 1).unwrap_or(0)..].to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..i + 1],
        None => "",
    };
    path_clean(dir)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

fn uuidv4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

fn compile(pat: &str) -> Result<Regex, String> {
    REGEX_CACHE.with(|c| {
        if let Some(re) = c.borrow().get(pat) {
            return Ok(re.clone());
        }
        let re = Regex::new(pat).map_err(|e| {
            format!(
                "regexp: Compile({}): error parsing regexp: {}",
                gofmt::quote(pat),
                e.to_string().lines().last().unwrap_or("").trim()
            )
        })?;
        let mut m = c.borrow_mut();
        if m.len() >= REGEX_CACHE_SIZE {
            m.clear();
        }
        m.insert(pat.to_string(), re.clone());
        Ok(re)
    })
}

fn with_regex(pat: &str, f: impl FnOnce(&Regex) -> Value) -> Result<Value, String> {
    let re = compile(pat)?;
    Ok(f(&re))
}

fn with_regex_lenient<T>(pat: &str, f: impl FnOnce(&Regex) -> T) -> Option<T> {
    compile(pat).ok().map(|re| f(&re))
}

/// Go's `Regexp.Split`.
fn regex_split(re: &Regex, st: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && st.is_empty() {
        return vec![String::new()];
    }
    let matches: Vec<(usize, usize)> = if n < 0 {
        re.find_iter(st).map(|m| (m.start(), m.end())).collect()
    } else {
        re.find_iter(st)
            .take(n as usize)
            .map(|m| (m.start(), m.end()))
            .collect()
    };
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (ms, me) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(st[beg..end].to_string());
        }
        beg = me;
    }
    if end != st.len() {
        out.push(st[beg..].to_string());
    }
    out
}
