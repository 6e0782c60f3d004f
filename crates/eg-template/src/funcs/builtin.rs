//! Go `text/template` builtins: comparison, `len`, `index`, `print*`,
//! escapers, `not`, `call` (`and`/`or` short-circuit in the executor).

use super::{s, Imp, Reg, P};
use crate::gofmt;
use crate::value::Value;

const ERR_NO_COMPARISON: &str = "missing argument for comparison";
const ERR_BAD_COMPARISON: &str = "incompatible types for comparison";
const ERR_BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

pub(super) fn register(r: &mut Reg<'_>) {
    r.add("and", &[P::Refl], Some(P::Refl), Imp::And);
    r.add("or", &[P::Refl], Some(P::Refl), Imp::Or);
    r.f("not", &[P::Refl], |a| Ok(Value::Bool(!a[0].truthy())));
    r.f("len", &[P::Refl], length);
    r.v("index", &[P::Refl], P::Refl, index);
    r.v("print", &[], P::Any, |a| Ok(Value::from(gofmt::sprint(a))));
    r.v("printf", &[P::Str], P::Any, |a| {
        Ok(Value::from(gofmt::sprintf(s(&a[0]), &a[1..])))
    });
    r.v("println", &[], P::Any, |a| {
        Ok(Value::from(gofmt::sprintln(a)))
    });
    r.v("html", &[], P::Any, |a| {
        Ok(Value::from(html_escape(&eval_args(a))))
    });
    r.v("js", &[], P::Any, |a| {
        Ok(Value::from(js_escape(&eval_args(a))))
    });
    r.v("urlquery", &[], P::Any, |a| {
        Ok(Value::from(query_escape(&eval_args(a))))
    });
    r.v("eq", &[P::Refl], P::Refl, |a| {
        eq(&a[0], &a[1..]).map(Value::Bool)
    });
    r.f("ne", &[P::Refl, P::Refl], |a| {
        eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
    });
    r.f("lt", &[P::Refl, P::Refl], |a| {
        lt(&a[0], &a[1]).map(Value::Bool)
    });
    r.f("le", &[P::Refl, P::Refl], |a| {
        le(&a[0], &a[1]).map(Value::Bool)
    });
    r.f("gt", &[P::Refl, P::Refl], |a| {
        le(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
    r.f("ge", &[P::Refl, P::Refl], |a| {
        lt(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
    r.v("call", &[P::Refl], P::Refl, call);
}

fn call(a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::Func(f) => {
            let args: Vec<Value> = a[1..]
                .iter()
                .map(|v| {
                    if matches!(v, Value::Missing) {
                        Value::Nil
                    } else {
                        v.clone()
                    }
                })
                .collect();
            f(&args)
        }
        Value::Missing | Value::Nil => Err("call of nil".into()),
        other => Err(format!("non-function of type {}", other.type_name())),
    }
}

/// Go's `evalArgs`: a lone string as-is, else `fmt.Sprint` with nil
/// printed as `<no value>`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    let printable: Vec<Value> = a
        .iter()
        .map(|v| {
            if v.is_nil() {
                Value::str("<no value>")
            } else {
                v.clone()
            }
        })
        .collect();
    gofmt::sprint(&printable)
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            c if (c as u32) >= 0x80 && !gofmt::is_print(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(PartialEq, Clone, Copy)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

fn basic_kind(v: &Value) -> BasicKind {
    match v {
        Value::Missing | Value::Nil => BasicKind::Invalid,
        Value::Bool(_) => BasicKind::Bool,
        Value::Int(_) | Value::Int64(_) => BasicKind::Int,
        Value::Uint(_) => BasicKind::Uint,
        Value::Float(_) => BasicKind::Float,
        Value::String(_) | Value::Number(_) => BasicKind::Str,
        _ => BasicKind::Other,
    }
}

fn ival(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn uval(v: &Value) -> u64 {
    match v {
        Value::Uint(u) => *u,
        _ => 0,
    }
}

fn fval(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn sval(v: &Value) -> &str {
    match v {
        Value::String(s) | Value::Number(s) => s,
        _ => "",
    }
}

fn comparable(v: &Value) -> Result<(), String> {
    match v {
        Value::List(_) | Value::Map(_) | Value::Func(_) => Err(format!(
            "non-comparable type {}: {}",
            gofmt::value_string(v),
            v.type_name()
        )),
        _ => Ok(()),
    }
}

/// Go's `eq`: true if `a` equals any of `rest`.
pub(crate) fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    let a = a.materialize();
    if !a.is_nil() {
        comparable(&a)?;
    }
    if rest.is_empty() {
        return Err(ERR_NO_COMPARISON.into());
    }
    let k1 = basic_kind(&a);
    for b in rest {
        let b = b.materialize();
        let k2 = basic_kind(&b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (BasicKind::Int, BasicKind::Uint) => ival(&a) >= 0 && ival(&a) as u64 == uval(&b),
                (BasicKind::Uint, BasicKind::Int) => ival(&b) >= 0 && uval(&a) == ival(&b) as u64,
                _ => {
                    if !a.is_nil() && !b.is_nil() {
                        return Err(ERR_BAD_COMPARISON.into());
                    }
                    false
                }
            }
        } else {
            match k1 {
                BasicKind::Bool => a.truthy() == b.truthy(),
                BasicKind::Float => fval(&a) == fval(&b),
                BasicKind::Int => ival(&a) == ival(&b),
                BasicKind::Str => {
                    sval(&a) == sval(&b) && a.type_name() == b.type_name() || (sval(&a) == sval(&b))
                }
                BasicKind::Uint => uval(&a) == uval(&b),
                BasicKind::Invalid => true,
                BasicKind::Other => {
                    comparable(&b)?;
                    if a.type_name() != b.type_name() {
                        false
                    } else {
                        super::deep_equal(&a, &b)
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
pub(crate) fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (a, b) = (a.materialize(), b.materialize());
    let k1 = basic_kind(&a);
    let k2 = basic_kind(&b);
    if matches!(k1, BasicKind::Invalid | BasicKind::Other)
        || matches!(k2, BasicKind::Invalid | BasicKind::Other)
    {
        return Err(ERR_BAD_COMPARISON_TYPE.into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (BasicKind::Int, BasicKind::Uint) => Ok(ival(&a) < 0 || (ival(&a) as u64) < uval(&b)),
            (BasicKind::Uint, BasicKind::Int) => Ok(ival(&b) >= 0 && uval(&a) < ival(&b) as u64),
            _ => Err(ERR_BAD_COMPARISON.into()),
        };
    }
    match k1 {
        BasicKind::Bool => Err(ERR_BAD_COMPARISON_TYPE.into()),
        BasicKind::Float => Ok(fval(&a) < fval(&b)),
        BasicKind::Int => Ok(ival(&a) < ival(&b)),
        BasicKind::Str => Ok(sval(&a) < sval(&b)),
        BasicKind::Uint => Ok(uval(&a) < uval(&b)),
        _ => Err(ERR_BAD_COMPARISON_TYPE.into()),
    }
}

/// Go's `le`.
pub(crate) fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

fn length(a: &[Value]) -> Result<Value, String> {
    match a[0].materialize() {
        Value::String(s) | Value::Number(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.items.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        Value::Nil => Err("len of nil pointer".into()),
        Value::Missing => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        other => Err(format!("len of type {}", other.type_name())),
    }
}

fn index_arg(idx: &Value, len: usize) -> Result<usize, String> {
    let x: i64 = match idx {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Missing | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > len as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(a: &[Value]) -> Result<Value, String> {
    let mut item = a[0].materialize();
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    for idx in &a[1..] {
        let idx = idx.materialize();
        item = match &item {
            Value::Missing | Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(&idx, l.items.len())?;
                match l.items.get(x) {
                    Some(v) => v.clone(),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) | Value::Number(s) => {
                let x = index_arg(&idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Uint(*b as u64),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => match &idx {
                Value::String(k) => m.get(k).unwrap_or_else(|| m.elem.zero()),
                Value::Missing | Value::Nil => {
                    return Err("value is nil; should be of type string".into())
                }
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ))
                }
            },
            other => return Err(format!("can't index item of type {}", other.type_name())),
        }
        .materialize_nil();
    }
    Ok(item)
}

trait MaterializeNil {
    fn materialize_nil(self) -> Value;
}

impl MaterializeNil for Value {
    /// Objects reached through `index` are materialised for the next step.
    fn materialize_nil(self) -> Value {
        match self {
            Value::Object(_) => self.materialize(),
            v => v,
        }
    }
}
