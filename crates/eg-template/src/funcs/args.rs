//! Argument helpers shared by the function modules (sprig's conversions).

use std::sync::Arc;

use crate::gofmt;
use crate::value::{ElemType, Value};

/// The string of a `string` parameter (already type-checked).
pub(crate) fn s(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        _ => "",
    }
}

/// The integer of an `int` parameter.
pub(crate) fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        _ => 0,
    }
}

/// The float of a `float64` parameter.
pub(crate) fn float(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// The bool of a `bool` parameter.
pub(crate) fn boolean(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// Sprig's `strval`: strings as-is, Stringers via `String()`, else `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) | Value::Number(s) => s.to_string(),
        Value::Time(t) => t.go_string(),
        _ => gofmt::value_string(v),
    }
}

/// Sprig's `toInt64` (a `json.Number` is neither `string` nor numeric
/// kind for it, so it converts to 0 exactly as in Go).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::String(s) => parse_int10(s).unwrap_or(0),
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => (*u).min(i64::MAX as u64) as i64,
        Value::Float(f) => go_f64_to_i64(*f),
        Value::Bool(b) => *b as i64,
        _ => 0,
    }
}

/// Go's `int64(f)` conversion (saturating, NaN → minimum like amd64).
pub(crate) fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        return i64::MIN;
    }
    f as i64
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
pub(crate) fn parse_int10(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `strconv.ParseFloat(s, 64)` (decimal forms, inf/nan words).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse().ok();
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    clean.parse().ok()
}

/// Sprig's `toFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        _ => 0.0,
    }
}

/// Elements of a slice argument (host objects are materialised).
pub(crate) fn list_items(v: &Value) -> Option<Arc<crate::value::List>> {
    match v.materialize() {
        Value::List(l) => Some(l),
        _ => None,
    }
}

/// A `[]interface {}` result.
pub(crate) fn new_list(items: Vec<Value>) -> Value {
    Value::list(items)
}

/// Sprig's `empty`: nil, zero numbers, false, empty strings/slices/maps.
pub(crate) fn empty(v: &Value) -> bool {
    match v.materialize() {
        Value::Missing | Value::Nil => true,
        Value::Time(_) | Value::Object(_) | Value::Func(_) => false,
        other => !other.truthy(),
    }
}

/// Go's `reflect.DeepEqual` on template values.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) | (Value::Number(x), Value::Number(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.elem == y.elem
                && x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(a, b)| deep_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Arc::ptr_eq(x, y) {
                return true;
            }
            let (xr, yr) = (x.read(), y.read());
            x.elem == y.elem
                && xr.len() == yr.len()
                && xr
                    .iter()
                    .all(|(k, v)| yr.get(k).map(|w| deep_equal(v, w)).unwrap_or(false))
        }
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

/// Sprig's `strslice`: a list as strings (nil elements dropped), anything
/// else as a one-element list.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v.materialize() {
        Value::List(l) => l.items.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Missing | Value::Nil => Vec::new(),
        other => vec![strval(&other)],
    }
}

/// A `[]string` result.
pub(crate) fn string_list(items: Vec<String>) -> Value {
    Value::typed_list(
        items.into_iter().map(Value::from).collect(),
        ElemType::String,
    )
}
