//! Go `fmt` semantics: default printing (`%v`), `Sprint`, `Sprintln`,
//! `Sprintf` verbs and `strconv` float/quote formatting.

use crate::value::Value;

/// Depth marker for printing the operand of a bad-verb report, where Go
/// keeps the `+` flag of `%+v`.
const ERRORING_DEPTH: usize = 1 << 20;

/// Flags, width and precision of one `%` directive.
#[derive(Clone, Copy, Default)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Appends `v` as Go's `fmt.Sprint(v)` would print it.
pub fn write_value(out: &mut String, v: &Value) {
    fmt_value(out, v, 'v', &Spec::default(), 0);
}

/// `v` as Go's `fmt.Sprint(v)`.
pub fn value_string(v: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

/// Whether Go's `Sprint` treats the operand as a string (no spaces added
/// next to it): kind `string`, which includes `json.Number`.
fn is_string_kind(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_))
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string_kind(a) && !is_string_kind(&args[i - 1]) {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out
}

/// Go's `fmt.Sprintln`: operands separated by spaces, newline appended.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out.push('\n');
    out
}

/// Go's `fmt.Sprintf`, including its in-band error reports
/// (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA ...)`).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut argi = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // flags
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        // width
        if let Some(&(_, '*')) = chars.peek() {
            chars.next();
            match args.get(argi) {
                Some(Value::Int(n)) | Some(Value::Int64(n)) => {
                    if *n < 0 {
                        spec.minus = true;
                        spec.width = Some(n.unsigned_abs() as usize);
                    } else {
                        spec.width = Some(*n as usize);
                    }
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let mut w = None;
            while let Some(&(_, d)) = chars.peek() {
                if let Some(x) = d.to_digit(10) {
                    w = Some(
                        w.unwrap_or(0usize)
                            .saturating_mul(10)
                            .saturating_add(x as usize),
                    );
                    chars.next();
                } else {
                    break;
                }
            }
            spec.width = w;
        }
        // precision
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            if let Some(&(_, '*')) = chars.peek() {
                chars.next();
                match args.get(argi) {
                    Some(Value::Int(n)) | Some(Value::Int64(n)) if *n >= 0 => {
                        spec.prec = Some(*n as usize)
                    }
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let mut p = 0usize;
                while let Some(&(_, d)) = chars.peek() {
                    if let Some(x) = d.to_digit(10) {
                        p = p.saturating_mul(10).saturating_add(x as usize);
                        chars.next();
                    } else {
                        break;
                    }
                }
                spec.prec = Some(p);
            }
        }
        if spec.minus {
            spec.zero = false;
        }
        let verb = match chars.next() {
            Some((_, v)) => v,
            None => {
                out.push_str("%!(NOVERB)");
                break;
            }
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argi) {
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
            Some(a) => {
                argi += 1;
                if verb == 'T' {
                    pad(&mut out, &a.type_name(), &spec, false);
                } else {
                    fmt_value(&mut out, a, verb, &spec, 0);
                }
            }
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&a.type_name());
                out.push('=');
                write_value(&mut out, a);
            }
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, s: &str, spec: &Spec, numeric: bool) {
    let w = match spec.width {
        Some(w) => w,
        None => {
            out.push_str(s);
            return;
        }
    };
    let n = s.chars().count();
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        // Zero padding goes after a sign for numbers.
        let (sign, rest) =
            if numeric && (s.starts_with('-') || s.starts_with('+') || s.starts_with(' ')) {
                s.split_at(1)
            } else {
                ("", s)
            };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    match v {
        Value::Missing | Value::Nil => out.push_str("<nil>"),
        _ => {
            out.push_str(&v.type_name());
            out.push('=');
            fmt_value(out, v, 'v', spec, ERRORING_DEPTH);
        }
    }
    out.push(')');
}

fn fmt_value(out: &mut String, v: &Value, verb: char, spec: &Spec, depth: usize) {
    let plain;
    let spec = if verb == 'v' && depth < ERRORING_DEPTH && (spec.plus || spec.sharp) {
        plain = Spec {
            plus: false,
            sharp: false,
            ..*spec
        };
        &plain
    } else {
        spec
    };
    match v {
        Value::Missing | Value::Nil => {
            if verb == 'v' || depth > 0 {
                pad(out, "<nil>", spec, false)
            } else {
                bad_verb(out, v, verb, spec)
            }
        }
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec, false),
            _ => bad_verb(out, v, verb, spec),
        },
        Value::Int(i) | Value::Int64(i) if verb == 'U' => {
            fmt_int(out, false, *i as u64, v, verb, spec)
        }
        Value::Int(i) | Value::Int64(i) => fmt_int(out, *i < 0, i.unsigned_abs(), v, verb, spec),
        Value::Uint(u) => fmt_int(out, false, *u, v, verb, spec),
        Value::Float(f) => fmt_float_verb(out, *f, v, verb, spec),
        Value::String(s) => fmt_str(out, s, v, verb, spec),
        Value::Number(s) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_str(out, s, v, verb, spec),
            _ => bad_verb(out, v, verb, spec),
        },
        Value::Time(t) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_str(out, &t.go_string(), v, verb, spec),
            _ => bad_verb(out, v, verb, spec),
        },
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_value(out, e, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.read().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, &Value::str(k), verb, spec);
                out.push(':');
                fmt_value(out, e, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => match o.to_value() {
            Some(inner) => fmt_value(out, &inner, verb, spec, depth),
            None => {
                out.push('{');
                out.push_str(o.type_name());
                out.push('}');
            }
        },
        Value::Func(_) => pad(out, "0x0", spec, false),
    }
}

fn fmt_int(out: &mut String, neg: bool, mag: u64, v: &Value, verb: char, spec: &Spec) {
    let digits = match verb {
        'v' | 'd' => mag.to_string(),
        'b' => format!("{mag:b}"),
        'o' | 'O' => format!("{mag:o}"),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'c' => {
            let c = if neg {
                None
            } else {
                u32::try_from(mag).ok().and_then(char::from_u32)
            };
            pad(out, &c.unwrap_or('\u{FFFD}').to_string(), spec, false);
            return;
        }
        'q' => {
            let c = if neg {
                None
            } else {
                u32::try_from(mag).ok().and_then(char::from_u32)
            };
            pad(out, &quote_rune(c.unwrap_or('\u{FFFD}')), spec, false);
            return;
        }
        'U' => {
            let s = format!("U+{mag:04X}");
            pad(out, &s, spec, false);
            return;
        }
        _ => {
            bad_verb(out, v, verb, spec);
            return;
        }
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    } else if spec.plus {
        s.push('+');
    } else if spec.space {
        s.push(' ');
    }
    if spec.sharp || verb == 'O' {
        match verb {
            'b' if spec.sharp => s.push_str("0b"),
            'o' if spec.sharp && !digits.starts_with('0') => s.push('0'),
            'O' => s.push_str("0o"),
            'x' if spec.sharp => s.push_str("0x"),
            'X' if spec.sharp => s.push_str("0X"),
            _ => {}
        }
    }
    s.push_str(&digits);
    let spec = if spec.prec.is_some() {
        Spec {
            zero: false,
            ..*spec
        }
    } else {
        *spec
    };
    pad(out, &s, &spec, true);
}

fn fmt_float_verb(out: &mut String, f: f64, v: &Value, verb: char, spec: &Spec) {
    let (fc, prec) = match verb {
        'v' => ('g', spec.prec.map(|p| p as i32).unwrap_or(-1)),
        'g' | 'G' => (verb, spec.prec.map(|p| p as i32).unwrap_or(-1)),
        'e' | 'E' | 'f' | 'F' => (verb, spec.prec.map(|p| p as i32).unwrap_or(6)),
        _ => {
            bad_verb(out, v, verb, spec);
            return;
        }
    };
    let fc = if fc == 'F' { 'f' } else { fc };
    let mut s = format_float(f, fc, prec);
    if f.is_infinite() || f.is_nan() {
        if f.is_nan() {
            s = if spec.plus {
                "+NaN"
            } else if spec.space {
                " NaN"
            } else {
                "NaN"
            }
            .into();
        } else if f > 0.0 {
            s = if spec.plus {
                "+Inf"
            } else if spec.space {
                " Inf"
            } else {
                "+Inf"
            }
            .into();
            if !spec.plus && !spec.space {
                s = "+Inf".into();
            }
        }
        let spec = Spec {
            zero: false,
            ..*spec
        };
        pad(out, &s, &spec, false);
        return;
    }
    if !s.starts_with('-') {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    pad(out, &s, spec, true);
}

fn fmt_str(out: &mut String, s: &str, v: &Value, verb: char, spec: &Spec) {
    let s: &str = match spec.prec {
        Some(p) if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => match s.char_indices().nth(p) {
            Some((i, _)) => &s[..i],
            None => s,
        },
        _ => s,
    };
    match verb {
        'v' | 's' => pad(out, s, spec, false),
        'q' => {
            if spec.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
                pad(out, &format!("`{s}`"), spec, false)
            } else {
                pad(out, &quote(s), spec, false)
            }
        }
        'x' | 'X' => {
            let mut h = String::with_capacity(s.len() * 2);
            for (i, b) in s.bytes().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, spec, false)
        }
        _ => bad_verb(out, v, verb, spec),
    }
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'');
    out.push('\'');
    out
}

fn escape_char(out: &mut String, c: char, q: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Approximation of Go's `strconv.IsPrint`.
pub fn is_print(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    !matches!(c as u32, 0xAD | 0x2028 | 0x2029 | 0xFEFF | 0xFFFD..=0xFFFF | 0xE000..=0xF8FF | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064)
        || c == '\u{FFFD}'
}

/// Decimal digits of a float: `0.d1d2d3... × 10^dp`.
struct Digits {
    neg: bool,
    d: Vec<u8>,
    dp: i32,
}

/// Digits of `f` rounded to `sig` significant digits, or shortest when `None`.
fn digits_sig(f: f64, sig: Option<usize>) -> Digits {
    let neg = f.is_sign_negative();
    let a = f.abs();
    let s = match sig {
        None => format!("{a:e}"),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), a),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    if a == 0.0 {
        return Digits {
            neg,
            d: Vec::new(),
            dp: 0,
        };
    }
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    Digits {
        neg,
        d,
        dp: exp + 1,
    }
}

fn fmt_e(x: &Digits, prec: usize, e: char) -> String {
    let mut s = String::new();
    if x.neg {
        s.push('-');
    }
    s.push(*x.d.first().unwrap_or(&b'0') as char);
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(*x.d.get(i).unwrap_or(&b'0') as char);
        }
    }
    s.push(e);
    let exp = if x.d.is_empty() { 0 } else { x.dp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        s.push('0');
    }
    s.push_str(&a.to_string());
    s
}

fn fmt_f(x: &Digits, prec: usize) -> String {
    let mut s = String::new();
    if x.neg {
        s.push('-');
    }
    if x.dp > 0 {
        let m = x.dp as usize;
        for i in 0..m {
            s.push(*x.d.get(i).unwrap_or(&b'0') as char);
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec {
            let j = x.dp + i as i32;
            let c = if j < 0 {
                b'0'
            } else {
                *x.d.get(j as usize).unwrap_or(&b'0')
            };
            s.push(c as char);
        }
    }
    s
}

/// Go's `strconv.FormatFloat(f, fmt, prec, 64)` for `e`, `E`, `f`, `g`, `G`.
pub fn format_float(f: f64, fmt: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match fmt {
        'f' => {
            if prec < 0 {
                let x = digits_sig(f, None);
                let p = (x.d.len() as i32 - x.dp).max(0) as usize;
                fmt_f(&x, p)
            } else {
                let s = format!("{:.*}", prec as usize, f.abs());
                if f.is_sign_negative() {
                    format!("-{s}")
                } else {
                    s
                }
            }
        }
        'e' | 'E' => {
            if prec < 0 {
                let x = digits_sig(f, None);
                fmt_e(&x, x.d.len().saturating_sub(1), fmt)
            } else {
                let x = digits_sig(f, Some(prec as usize + 1));
                fmt_e(&x, prec as usize, fmt)
            }
        }
        _ => {
            let e = if fmt == 'G' { 'E' } else { 'e' };
            let shortest = prec < 0;
            let x = if shortest {
                digits_sig(f, None)
            } else {
                digits_sig(f, Some((prec as usize).max(1)))
            };
            let nd = x.d.len() as i32;
            let mut prec = if shortest { nd } else { prec.max(1) };
            let mut eprec = prec;
            if eprec > nd && nd >= x.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = x.dp - 1;
            if nd > 0 && (exp < -4 || exp >= eprec) {
                if prec > nd {
                    prec = nd;
                }
                return fmt_e(&x, (prec - 1).max(0) as usize, e);
            }
            if prec > x.dp {
                prec = nd;
            }
            fmt_f(&x, (prec - x.dp).max(0) as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1.5, 'g', -1), "1.5");
        assert_eq!(format_float(1e6, 'g', -1), "1e+06");
        assert_eq!(format_float(123456.0, 'g', -1), "123456");
        assert_eq!(format_float(0.0001, 'g', -1), "0.0001");
        assert_eq!(format_float(0.00001, 'g', -1), "1e-05");
        assert_eq!(format_float(0.0, 'g', -1), "0");
        assert_eq!(format_float(1.23456, 'f', 2), "1.23");
        assert_eq!(format_float(1234.5678, 'e', 3), "1.235e+03");
        assert_eq!(format_float(100.0, 'g', 3), "100");
    }

    #[test]
    fn printf_verbs() {
        let a = [Value::Int(5), Value::str("x")];
        assert_eq!(sprintf("%5d|%-3s|", &a), "    5|x  |");
        assert_eq!(sprintf("%d", &[Value::str("x")]), "%!d(string=x)");
        assert_eq!(sprintf("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(sprintf("%q", &[Value::str("a\"b")]), "\"a\\\"b\"");
    }
}
