//! Sprig numeric functions (`add`, `max`, `round`, conversions, `until`).

use super::{int, parse_int10, to_float64, to_int64, Reg, P};
use crate::value::{ElemType, Value};

const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

pub(super) fn register(r: &mut Reg<'_>) {
    r.f("atoi", &[P::Str], |a| {
        Ok(Value::Int(parse_int10(super::s(&a[0])).unwrap_or(0)))
    });
    r.f("int64", &[P::Any], |a| Ok(Value::Int64(to_int64(&a[0]))));
    r.f("int", &[P::Any], |a| Ok(Value::Int(to_int64(&a[0]))));
    r.f("float64", &[P::Any], |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    r.f("until", &[P::Int], |a| {
        let n = int(&a[0]);
        Ok(until_step(0, n, if n < 0 { -1 } else { 1 }))
    });
    r.f("untilStep", &[P::Int, P::Int, P::Int], |a| {
        Ok(until_step(int(&a[0]), int(&a[1]), int(&a[2])))
    });
    r.f("add1", &[P::Any], |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    r.v("add", &[], P::Any, |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |x, v| x.wrapping_add(to_int64(v))),
        ))
    });
    r.f("sub", &[P::Any, P::Any], |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    r.f("div", &[P::Any, P::Any], |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(DIVIDE_BY_ZERO.into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    r.f("mod", &[P::Any, P::Any], |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(DIVIDE_BY_ZERO.into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    r.v("mul", &[P::Any], P::Any, |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |x, v| x.wrapping_mul(to_int64(v))),
        ))
    });
    r.v("biggest", &[P::Any], P::Any, max);
    r.v("max", &[P::Any], P::Any, max);
    r.v("min", &[P::Any], P::Any, |a| {
        Ok(Value::Int64(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min),
        ))
    });
    r.f("ceil", &[P::Any], |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    r.f("floor", &[P::Any], |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    r.v("round", &[P::Any, P::Int], P::Float, |a| {
        let round_on = a.get(2).map(super::float).unwrap_or(0.5);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(int(&a[1]) as f64);
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
}

fn max(a: &[Value]) -> Result<Value, String> {
    Ok(Value::Int64(
        a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max),
    ))
}

/// Upper bound on the length of `until`/`untilStep` results, so a template
/// cannot exhaust memory.
const MAX_UNTIL_LEN: i64 = 10_000_000;

fn until_step(start: i64, stop: i64, step: i64) -> Value {
    let mut v = Vec::new();
    if stop < start {
        if step < 0 {
            let mut i = start;
            while i > stop && (v.len() as i64) < MAX_UNTIL_LEN {
                v.push(Value::Int(i));
                i += step;
            }
        }
    } else if step > 0 {
        let mut i = start;
        while i < stop && (v.len() as i64) < MAX_UNTIL_LEN {
            v.push(Value::Int(i));
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
    }
    Value::typed_list(v, ElemType::Int)
}
