//! Sprig defaults, JSON, dict and list functions.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{deep_equal, empty, int, list_items, new_list, s, strval, to_int64, Reg, P};
use crate::gofmt;
use crate::value::{ElemType, Map, Value};

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

pub(super) fn register(r: &mut Reg<'_>) {
    // defaults
    r.v("default", &[P::Any], P::Any, |a| {
        if a.len() < 2 || empty(&a[1]) {
            return Ok(a[0].clone());
        }
        Ok(a[1].clone())
    });
    r.f("empty", &[P::Any], |a| Ok(Value::Bool(empty(&a[0]))));
    r.v("coalesce", &[], P::Any, |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    r.f("compact", &[P::Any], |a| {
        let l = need_list(&a[0], "compact")?;
        Ok(new_list(
            l.items.iter().filter(|v| !empty(v)).cloned().collect(),
        ))
    });
    r.f("toJson", &[P::Any], |a| {
        Ok(Value::from(to_json(&a[0], false).unwrap_or_default()))
    });
    r.f("toPrettyJson", &[P::Any], |a| {
        Ok(Value::from(to_json(&a[0], true).unwrap_or_default()))
    });
    r.f("ternary", &[P::Any, P::Any, P::Bool], |a| {
        Ok(if super::boolean(&a[2]) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });

    // dicts
    r.v("dict", &[], P::Any, |a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            let key = strval(&pair[0]);
            m.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
        }
        Ok(Value::map(m))
    });
    r.f("set", &[P::Map, P::Str, P::Any], |a| match &a[0] {
        Value::Map(m) => {
            m.write().insert(s(&a[1]).to_string(), a[2].clone());
            Ok(a[0].clone())
        }
        _ => Err("assignment to entry in nil map".into()),
    });
    r.f("unset", &[P::Map, P::Str], |a| {
        if let Value::Map(m) = &a[0] {
            m.write().remove(s(&a[1]));
        }
        Ok(nil_map_or(&a[0]))
    });
    r.f("hasKey", &[P::Map, P::Str], |a| {
        Ok(Value::Bool(
            map_of(&a[0])
                .map(|m| m.read().contains_key(s(&a[1])))
                .unwrap_or(false),
        ))
    });
    r.v("pluck", &[P::Str], P::Map, |a| {
        let key = s(&a[0]);
        Ok(new_list(
            a[1..]
                .iter()
                .filter_map(|d| map_of(d).and_then(|m| m.get(key)))
                .collect(),
        ))
    });
    r.v("keys", &[], P::Map, |a| {
        let mut k = Vec::new();
        for d in a {
            if let Some(m) = map_of(d) {
                k.extend(m.read().keys().cloned());
            }
        }
        Ok(super::string_list(k))
    });
    r.v("pick", &[P::Map], P::Str, |a| {
        let mut out = BTreeMap::new();
        if let Some(m) = map_of(&a[0]) {
            for k in &a[1..] {
                if let Some(v) = m.get(s(k)) {
                    out.insert(s(k).to_string(), v);
                }
            }
        }
        Ok(Value::map(out))
    });
    r.v("omit", &[P::Map], P::Str, |a| {
        let mut out = BTreeMap::new();
        if let Some(m) = map_of(&a[0]) {
            for (k, v) in m.read().iter() {
                if !a[1..].iter().any(|o| s(o) == k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(Value::map(out))
    });
    r.v("merge", &[P::Map], P::Map, |a| merge(a, false));
    r.v("mergeOverwrite", &[P::Map], P::Map, |a| merge(a, true));
    r.f("values", &[P::Map], |a| {
        Ok(new_list(
            map_of(&a[0])
                .map(|m| m.read().values().cloned().collect())
                .unwrap_or_default(),
        ))
    });

    // lists
    r.v("list", &[], P::Any, |a| Ok(new_list(a.to_vec())));
    r.v("tuple", &[], P::Any, |a| Ok(new_list(a.to_vec())));
    r.f("append", &[P::Any, P::Any], push);
    r.f("push", &[P::Any, P::Any], push);
    r.f("prepend", &[P::Any, P::Any], |a| {
        let l = need_list(&a[0], "prepend")?;
        let mut v = Vec::with_capacity(l.items.len() + 1);
        v.push(a[1].clone());
        v.extend(l.items.iter().cloned());
        Ok(new_list(v))
    });
    r.f("first", &[P::Any], |a| {
        Ok(need_list(&a[0], "find first")?
            .items
            .first()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    r.f("last", &[P::Any], |a| {
        Ok(need_list(&a[0], "find last")?
            .items
            .last()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    r.f("rest", &[P::Any], |a| {
        let l = need_list(&a[0], "find rest")?;
        Ok(new_list(l.items.iter().skip(1).cloned().collect()))
    });
    r.f("initial", &[P::Any], |a| {
        let l = need_list(&a[0], "find initial")?;
        let n = l.items.len().saturating_sub(1);
        Ok(new_list(l.items[..n].to_vec()))
    });
    r.f("reverse", &[P::Any], |a| {
        let l = need_list(&a[0], "find reverse")?;
        Ok(new_list(l.items.iter().rev().cloned().collect()))
    });
    r.f("uniq", &[P::Any], |a| {
        let l = need_list(&a[0], "find uniq")?;
        let mut out: Vec<Value> = Vec::new();
        for v in &l.items {
            if !out.iter().any(|x| deep_equal(x, v)) {
                out.push(v.clone());
            }
        }
        Ok(new_list(out))
    });
    r.v("without", &[P::Any], P::Any, |a| {
        let l = need_list(&a[0], "find without")?;
        Ok(new_list(
            l.items
                .iter()
                .filter(|v| !a[1..].iter().any(|o| deep_equal(o, v)))
                .cloned()
                .collect(),
        ))
    });
    r.f("has", &[P::Any, P::Any], |a| {
        if a[1].is_nil() {
            return Ok(Value::Bool(false));
        }
        let l = need_list(&a[1], "find has")?;
        Ok(Value::Bool(l.items.iter().any(|v| deep_equal(&a[0], v))))
    });
    r.v("slice", &[P::Any], P::Any, |a| {
        let l = match list_items(&a[0]) {
            Some(l) => l,
            None if a[0].is_nil() => return Err(NIL_DEREF.into()),
            None => {
                return Err(format!(
                    "list should be type of slice or array but {}",
                    a[0].kind_name()
                ))
            }
        };
        let n = l.items.len() as i64;
        if n == 0 {
            return Ok(Value::Nil);
        }
        let start = a.get(1).map(to_int64).unwrap_or(0);
        let end = if a.len() < 3 { n } else { to_int64(&a[2]) };
        if start < 0 || end < start || end > n {
            return Err("reflect.Value.Slice: slice index out of bounds".into());
        }
        Ok(Value::typed_list(
            l.items[start as usize..end as usize].to_vec(),
            l.elem,
        ))
    });
    let _ = int;
}

fn push(a: &[Value]) -> Result<Value, String> {
    let l = need_list(&a[0], "push")?;
    let mut v = l.items.clone();
    v.push(a[1].clone());
    Ok(new_list(v))
}

/// The list argument of a sprig list function, or sprig's panic text.
fn need_list(v: &Value, what: &str) -> Result<Arc<crate::value::List>, String> {
    match list_items(v) {
        Some(l) => Ok(l),
        None if v.is_nil() => Err(NIL_DEREF.into()),
        None => Err(format!("Cannot {what} on type {}", v.kind_name())),
    }
}

fn map_of(v: &Value) -> Option<Arc<Map>> {
    match v.materialize() {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn nil_map_or(v: &Value) -> Value {
    match v {
        Value::Map(_) => v.clone(),
        _ => Value::typed_map(BTreeMap::new(), ElemType::Any),
    }
}

fn merge(a: &[Value], overwrite: bool) -> Result<Value, String> {
    let dst = match &a[0] {
        Value::Map(m) => m.clone(),
        _ => Arc::new(Map::new(BTreeMap::new(), ElemType::Any)),
    };
    for src in &a[1..] {
        if let Some(m) = map_of(src) {
            if !Arc::ptr_eq(&dst, &m) {
                merge_maps(&dst, &m, overwrite);
            }
        }
    }
    Ok(Value::Map(dst))
}

/// mergo's map merge: fills missing or empty keys (all keys when
/// overwriting) and merges nested maps in place.
fn merge_maps(dst: &Arc<Map>, src: &Arc<Map>, overwrite: bool) {
    let entries: Vec<(String, Value)> = src
        .read()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, sv) in entries {
        if sv.is_nil() {
            continue;
        }
        let dv = dst.get(&k);
        if let (Some(Value::Map(dm)), Value::Map(sm)) = (&dv, &sv) {
            if !Arc::ptr_eq(dm, sm) {
                merge_maps(dm, sm, overwrite);
            }
        }
        let d_nonempty_container =
            matches!(&dv, Some(v @ (Value::Map(_) | Value::List(_))) if !empty(v));
        if d_nonempty_container && matches!(sv, Value::Map(_)) {
            continue;
        }
        if d_nonempty_container && matches!(sv, Value::List(_)) && !overwrite {
            continue;
        }
        let set = overwrite || dv.as_ref().map(empty).unwrap_or(true);
        if set {
            dst.write().insert(k, sv);
        }
    }
}

/// Go `encoding/json` string encoding (HTML-safe, as `json.Marshal`).
pub(crate) fn json_string(st: &str) -> String {
    let mut out = String::with_capacity(st.len() + 2);
    out.push('"');
    for c in st.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let mut s = gofmt::format_float(f, 'e', -1);
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 2] == "e-" && s.as_bytes()[n - 2] == b'0' {
            s.remove(n - 2);
        }
        Some(s)
    } else {
        Some(gofmt::format_float(f, 'f', -1))
    }
}

/// Go `json.Marshal` / `json.MarshalIndent(v, "", "  ")`; `None` where Go
/// fails (NaN, functions).
pub(crate) fn to_json(v: &Value, pretty: bool) -> Option<String> {
    let mut out = String::new();
    write_json(&mut out, v, pretty, 0)?;
    Some(out)
}

fn newline(out: &mut String, pretty: bool, depth: usize) {
    if pretty {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write_json(out: &mut String, v: &Value, pretty: bool, depth: usize) -> Option<()> {
    match v {
        Value::Missing | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint(u) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::String(st) => out.push_str(&json_string(st)),
        Value::Number(n) => out.push_str(if n.is_empty() { "0" } else { n }),
        Value::Time(t) => out.push_str(&json_string(
            &t.format("2006-01-02T15:04:05.999999999Z07:00"),
        )),
        Value::List(l) => {
            if l.items.is_empty() {
                out.push_str("[]");
                return Some(());
            }
            out.push('[');
            for (i, e) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                write_json(out, e, pretty, depth + 1)?;
            }
            newline(out, pretty, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let r = m.read();
            if r.is_empty() {
                out.push_str("{}");
                return Some(());
            }
            out.push('{');
            for (i, (k, e)) in r.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                out.push_str(&json_string(k));
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(out, e, pretty, depth + 1)?;
            }
            newline(out, pretty, depth);
            out.push('}');
        }
        Value::Object(o) => match o.to_value() {
            Some(inner) if !matches!(inner, Value::Object(_)) => {
                write_json(out, &inner, pretty, depth)?
            }
            _ => out.push_str("{}"),
        },
        Value::Func(_) => return None,
    }
    Some(())
}
