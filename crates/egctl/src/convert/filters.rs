//! The filters of a location's Pipeline: an optional RequestAdaptor for `proxy_set_header`
//! and a proxy URI, then a Proxy (or a WebSocketProxy for websocket locations).

use serde_json::{json, Map, Value};

use super::model::{Backend, HeaderChange, Location};

/// Name of the RequestAdaptor filter.
pub const ADAPTOR_NAME: &str = "request-adaptor";
/// Name of the Proxy filter.
pub const PROXY_NAME: &str = "proxy";
/// Name of the WebSocketProxy filter.
pub const WEBSOCKET_NAME: &str = "websocket";

/// The Pipeline `name` for `loc`.
pub fn pipeline(name: &str, loc: &Location) -> Value {
    let mut filters = Vec::new();
    if let Some(a) = adaptor(loc) {
        filters.push(a);
    }
    filters.push(if loc.backend.websocket {
        websocket(&loc.backend)
    } else {
        proxy(&loc.backend)
    });
    json!({ "name": name, "kind": "Pipeline", "filters": filters })
}

/// The RequestAdaptor, when headers change or the proxy URI replaces the location prefix.
fn adaptor(loc: &Location) -> Option<Value> {
    let b = &loc.backend;
    let mut spec = Map::new();
    spec.insert("name".into(), json!(ADAPTOR_NAME));
    spec.insert("kind".into(), json!("RequestAdaptor"));
    if let Some(uri) = &b.uri {
        spec.insert(
            "path".into(),
            json!({ "regexpReplace": {
                "regexp": format!("^{}", regex_escape(&loc.path)),
                "replace": uri.replace('$', "$$"),
            }}),
        );
    }
    let header = header_adapt(b);
    if !header.is_empty() {
        let templated = b
            .headers
            .iter()
            .any(|h| matches!(h, HeaderChange::Set { template: true, .. }));
        if templated {
            spec.insert("template".into(), json!(header_template(b)));
        } else {
            spec.insert("header".into(), Value::Object(header));
        }
    }
    (spec.len() > 2).then_some(Value::Object(spec))
}

/// `set` and `del` of the header changes.
fn header_adapt(b: &Backend) -> Map<String, Value> {
    let mut set = Map::new();
    let mut del = Vec::new();
    for h in &b.headers {
        match h {
            HeaderChange::Set { name, value, .. } => {
                set.insert(name.clone(), json!(value));
            }
            HeaderChange::Delete(name) => del.push(json!(name)),
        }
    }
    let mut header = Map::new();
    if !set.is_empty() {
        header.insert("set".into(), Value::Object(set));
    }
    if !del.is_empty() {
        header.insert("del".into(), Value::Array(del));
    }
    header
}

/// The header changes as the YAML text of a template. Values are single-quoted, where
/// only `'` is escaped, so the quotes inside template actions reach the template parser
/// as they are.
fn header_template(b: &Backend) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut set = String::new();
    let mut del = String::new();
    for h in &b.headers {
        match h {
            HeaderChange::Set { name, value, .. } => {
                set.push_str(&format!("    {}: {}\n", quote(name), quote(value)));
            }
            HeaderChange::Delete(name) => del.push_str(&format!("  - {}\n", quote(name))),
        }
    }
    let mut t = String::from("header:\n");
    if !set.is_empty() {
        t.push_str("  set:\n");
        t.push_str(&set);
    }
    if !del.is_empty() {
        t.push_str("  del:\n");
        t.push_str(&del);
    }
    t
}

/// The pool: servers, weights and load balance policy (weighted when a weight is not 1).
fn pool(b: &Backend, map_url: impl Fn(&str) -> String) -> Value {
    let weighted = b.endpoints.iter().any(|e| e.weight != 1);
    let policy = if b.ip_hash {
        "ipHash"
    } else if weighted {
        "weightedRandom"
    } else {
        "roundRobin"
    };
    let servers: Vec<Value> = b
        .endpoints
        .iter()
        .map(|e| json!({ "url": map_url(&e.url), "weight": e.weight }))
        .collect();
    json!({ "servers": servers, "loadBalance": { "policy": policy } })
}

/// The Proxy filter, with `compression` for `gzip on`.
fn proxy(b: &Backend) -> Value {
    let mut spec = json!({
        "name": PROXY_NAME,
        "kind": "Proxy",
        "pools": [pool(b, str::to_string)],
    });
    if let (Some(min), Some(obj)) = (b.gzip_min_length, spec.as_object_mut()) {
        obj.insert("compression".into(), json!({ "minLength": min }));
    }
    spec
}

/// The WebSocketProxy filter: the servers with `ws://`/`wss://` URLs.
fn websocket(b: &Backend) -> Value {
    let to_ws = |url: &str| {
        if let Some(rest) = url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            url.to_string()
        }
    };
    json!({
        "name": WEBSOCKET_NAME,
        "kind": "WebSocketProxy",
        "pools": [pool(b, to_ws)],
    })
}

/// `s` with the regular expression metacharacters escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
