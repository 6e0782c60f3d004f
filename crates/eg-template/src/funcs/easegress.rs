//! Easegress's own template functions (`pkg/filters/builder/extrafuncs.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{parse_float, s, Reg, P};
use crate::gofmt;
use crate::value::{Map, Value};

pub(super) fn register(r: &mut Reg<'_>) {
    r.f("addf", &[P::Any, P::Any], |a| {
        Ok(Value::Float(to_f64(&a[0])? + to_f64(&a[1])?))
    });
    r.f("subf", &[P::Any, P::Any], |a| {
        Ok(Value::Float(to_f64(&a[0])? - to_f64(&a[1])?))
    });
    r.f("mulf", &[P::Any, P::Any], |a| {
        Ok(Value::Float(to_f64(&a[0])? * to_f64(&a[1])?))
    });
    r.f("divf", &[P::Any, P::Any], |a| {
        let (x, y) = (to_f64(&a[0])?, to_f64(&a[1])?);
        if y == 0.0 {
            return Err("divisor is zero".into());
        }
        Ok(Value::Float(x / y))
    });
    r.f("log", &[P::Str, P::Str], |_| Ok(Value::str("")));
    r.v("mergeObject", &[], P::Map, |a| {
        let out = Arc::new(Map::new(BTreeMap::new(), crate::value::ElemType::Any));
        for obj in a {
            if let Value::Map(m) = obj {
                merge_into(&out, m);
            }
        }
        Ok(Value::Map(out))
    });
    r.f("jsonEscape", &[P::Str], |a| {
        let q = super::sprig_data::json_string(s(&a[0]));
        Ok(Value::from(q[1..q.len() - 1].to_string()))
    });
    r.f("panic", &[P::Any], |a| Err(gofmt::value_string(&a[0])));
    r.f("header", &[P::Any, P::Str], |a| match &a[0] {
        Value::Object(o) => match o.call_method("Get", &a[1..]) {
            Some(r) => r,
            None => Err(format!(
                "wrong type for value; expected http.Header; got {}",
                o.type_name()
            )),
        },
        Value::Map(m) if m.elem == crate::value::ElemType::StringList => {
            let key = canonical_header_key(s(&a[1]));
            Ok(match m.get(&key) {
                Some(Value::List(l)) => l.items.first().cloned().unwrap_or_else(|| Value::str("")),
                _ => Value::str(""),
            })
        }
        Value::Nil | Value::Missing => Ok(Value::str("")),
        other => Err(format!(
            "wrong type for value; expected http.Header; got {}",
            other.type_name()
        )),
    });
    r.f("username", &[P::Any], |a| match &a[0] {
        Value::Object(o) => match o.call_method("BasicAuth", &[]) {
            Some(Ok(Value::List(l))) => {
                Ok(l.items.first().cloned().unwrap_or_else(|| Value::str("")))
            }
            Some(Ok(v @ Value::String(_))) => Ok(v),
            Some(Ok(_)) => Ok(Value::str("")),
            Some(Err(e)) => Err(e),
            None => Err(format!(
                "interface conversion: {} is not builder.BasicAuth: missing method BasicAuth",
                o.type_name()
            )),
        },
        Value::Nil | Value::Missing => {
            Err("interface conversion: interface is nil, not builder.BasicAuth".into())
        }
        other => Err(format!(
            "interface conversion: {} is not builder.BasicAuth: missing method BasicAuth",
            other.type_name()
        )),
    });
    r.f("host", &[P::Str], |a| {
        Ok(Value::from(split_host_port(s(&a[0])).0))
    });
    r.f("port", &[P::Str], |a| {
        Ok(Value::from(split_host_port(s(&a[0])).1))
    });
    r.f("urlQueryEscape", &[P::Str], |a| {
        Ok(Value::from(super::builtin::query_escape(s(&a[0]))))
    });
    r.f("urlQueryUnescape", &[P::Str], |a| query_unescape(s(&a[0])));
}

/// Easegress's `toFloat64`: integers, numeric strings and `json.Number`;
/// anything else (float64 included) is an error.
fn to_f64(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(i) | Value::Int64(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        Value::Number(n) | Value::String(n) => parse_float(n).ok_or_else(|| {
            format!(
                "strconv.ParseFloat: parsing {}: invalid syntax",
                gofmt::quote(n)
            )
        }),
        other => Err(format!(
            "cannot convert {} to float64",
            gofmt::value_string(other)
        )),
    }
}

fn merge_into(a: &Arc<Map>, b: &Arc<Map>) {
    let entries: Vec<(String, Value)> = b
        .read()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in entries {
        let existing = a.get(&k);
        match (existing, &v) {
            (Some(Value::Map(ma)), Value::Map(mb))
                if ma.elem == crate::value::ElemType::Any
                    && mb.elem == crate::value::ElemType::Any =>
            {
                if !Arc::ptr_eq(&ma, mb) {
                    merge_into(&ma, mb);
                }
            }
            _ => {
                a.write().insert(k, v);
            }
        }
    }
}

/// Go's `textproto.CanonicalMIMEHeaderKey` for ASCII keys.
pub(crate) fn canonical_header_key(k: &str) -> String {
    if k.bytes().any(|b| b == b' ' || b >= 0x80) {
        return k.to_string();
    }
    let mut up = true;
    k.chars()
        .map(|c| {
            let out = if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            up = c == '-';
            out
        })
        .collect()
}

/// Go's `net.SplitHostPort`; both parts empty on error.
fn split_host_port(hp: &str) -> (String, String) {
    let fail = (String::new(), String::new());
    let i = match hp.rfind(':') {
        Some(i) => i,
        None => return fail,
    };
    let (host, port) = if hp.starts_with('[') {
        let end = match hp.find(']') {
            Some(e) => e,
            None => return fail,
        };
        if end + 1 != i {
            return fail;
        }
        (&hp[1..end], &hp[i + 1..])
    } else {
        let h = &hp[..i];
        if h.contains(':') {
            return fail;
        }
        (h, &hp[i + 1..])
    };
    if host.contains(']') || host.contains('[') && !hp.starts_with('[') {
        return fail;
    }
    (host.to_string(), port.to_string())
}

/// Go's `url.QueryUnescape`.
fn query_unescape(st: &str) -> Result<Value, String> {
    let b = st.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(b.len());
                        let bad = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {}", gofmt::quote(&bad)));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(Value::from(String::from_utf8_lossy(&out).into_owned()))
}
