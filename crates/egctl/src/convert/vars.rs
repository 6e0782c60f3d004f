//! nginx variables in `proxy_set_header` values, as Easegress template actions.

/// The variables with an equivalent in the request template, and that equivalent.
const KNOWN: &[(&str, &str)] = &[
    ("host", ".req.Host"),
    ("hostname", ".req.Host"),
    ("content_length", "header .req.Header \"Content-Length\""),
    ("content_type", "header .req.Header \"Content-Type\""),
    ("remote_addr", ".req.RemoteAddr"),
    ("remote_user", "username .req"),
    ("request_body", ".req.Body"),
    ("request_method", ".req.Method"),
    ("request_uri", ".req.RequestURI"),
    ("scheme", ".req.URL.Scheme"),
];

/// `$http_<name>` is request header `<name>` with `_` for `-`.
const HTTP_HEADER_PREFIX: &str = "http_";

/// The value with every `$name`/`${name}` replaced by `{{ action }}`, and whether there
/// was any. Fails with the first variable that has no equivalent.
pub fn translate(value: &str) -> Result<(String, bool), String> {
    let mut out = String::new();
    let mut any = false;
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, used) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => return Err(format!("${after}")),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let action = action(name).ok_or_else(|| format!("${name}"))?;
        out.push_str(&format!("{{{{ {action} }}}}"));
        any = true;
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok((out, any))
}

/// The template action for variable `name`.
fn action(name: &str) -> Option<String> {
    if let Some((_, a)) = KNOWN.iter().find(|(n, _)| *n == name) {
        return Some((*a).to_string());
    }
    let header = name.strip_prefix(HTTP_HEADER_PREFIX)?;
    if header.is_empty() {
        return None;
    }
    let canonical: Vec<String> = header
        .split('_')
        .map(|part| {
            let mut cs = part.chars();
            match cs.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect();
    Some(format!("header .req.Header \"{}\"", canonical.join("-")))
}
