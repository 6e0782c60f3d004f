//! [`Server`]s to Easegress objects: one HTTPServer per port, one Pipeline per location.
//!
//! Servers listening on the same port share its HTTPServer, one rule each, in the order
//! written; the port's default server (`default_server`, else the first) comes last and
//! without hosts, since nginx hands it every request no other server name matches. Paths
//! of a rule follow nginx's precedence: exact, `^~` prefixes (longest first), regular
//! expressions (in order), then the other prefixes (longest first).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::filters;
use super::model::{Location, Match, Server};
use super::names::{self, Names};
use super::Warnings;

/// `clientMaxBodySize` of websocket paths: stream, no limit.
pub const STREAM_BODY: i64 = -1;

/// The generated objects.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    /// HTTPServers, by port in the order the ports were first seen.
    pub http_servers: Vec<Value>,
    /// Pipelines, in the order the locations were written.
    pub pipelines: Vec<Value>,
}

/// What one port collects from its servers.
#[derive(Default)]
struct Port {
    address: Option<String>,
    https: bool,
    servers: Vec<usize>,
    default_server: Option<usize>,
}

/// Builds the objects named with `prefix`. Two servers binding one port to different
/// addresses is an error (one HTTPServer has one address).
pub fn translate(
    servers: &[Server],
    prefix: &str,
    warnings: &mut Warnings,
) -> Result<Objects, String> {
    let mut names = Names::new(prefix);
    let mut objects = Objects::default();
    let mut backends: Vec<Vec<String>> = Vec::new();
    for s in servers {
        let mut list = Vec::new();
        for loc in &s.locations {
            let name = names.pipeline(&loc.path);
            objects.pipelines.push(filters::pipeline(&name, loc));
            list.push(name);
        }
        if list.is_empty() {
            warnings.at(&s.pos, "server has no location that could be converted");
        }
        backends.push(list);
    }

    let mut order: Vec<u16> = Vec::new();
    let mut ports: BTreeMap<u16, Port> = BTreeMap::new();
    for (i, s) in servers.iter().enumerate() {
        for l in &s.listens {
            let port = ports.entry(l.port).or_insert_with(|| {
                order.push(l.port);
                Port::default()
            });
            match &port.address {
                Some(a) if *a != l.address => {
                    return Err(format!(
                        "{}: two servers on port {} have different addresses {:?} and {:?}",
                        s.pos, l.port, a, l.address
                    ))
                }
                _ => port.address = Some(l.address.clone()),
            }
            port.https |= l.ssl;
            if !port.servers.contains(&i) {
                port.servers.push(i);
            }
            if l.default_server && port.default_server.is_none() {
                port.default_server = Some(i);
            }
        }
    }

    for p in order {
        let Some(port) = ports.get(&p) else { continue };
        objects
            .http_servers
            .push(http_server(prefix, p, port, servers, &backends, warnings));
    }
    Ok(objects)
}

/// The HTTPServer of one port.
fn http_server(
    prefix: &str,
    number: u16,
    port: &Port,
    servers: &[Server],
    backends: &[Vec<String>],
    warnings: &mut Warnings,
) -> Value {
    let default = port
        .default_server
        .or_else(|| port.servers.first().copied());
    let mut ordered: Vec<usize> = port
        .servers
        .iter()
        .copied()
        .filter(|i| Some(*i) != default)
        .collect();
    ordered.extend(default);

    let mut certs = Map::new();
    let mut keys = Map::new();
    let mut ca_cert: Option<&String> = None;
    let mut rules = Vec::new();
    for i in ordered {
        let s = &servers[i];
        if port.https {
            for c in &s.certs {
                certs.insert(c.name.clone(), json!(c.cert));
                keys.insert(c.name.clone(), json!(c.key));
            }
            if let Some(ca) = &s.ca_cert {
                if ca_cert.is_some_and(|old| old != ca) {
                    let msg = format!("port {number} already has another ssl_client_certificate; this one is used");
                    warnings.at(&s.pos, msg);
                }
                ca_cert = Some(ca);
            }
        }
        if backends[i].is_empty() {
            continue;
        }
        let mut rule = Map::new();
        if Some(i) != default && !s.hosts.is_empty() {
            let hosts: Vec<Value> = s
                .hosts
                .iter()
                .map(|h| json!({ "value": h.value, "isRegexp": h.is_regexp }))
                .collect();
            rule.insert("hosts".into(), Value::Array(hosts));
        }
        rule.insert(
            "paths".into(),
            Value::Array(paths(&s.locations, &backends[i])),
        );
        rules.push(Value::Object(rule));
    }

    let mut spec = Map::new();
    spec.insert("name".into(), json!(names::http_server(prefix, number)));
    spec.insert("kind".into(), json!("HTTPServer"));
    spec.insert("port".into(), json!(number));
    if let Some(a) = port.address.as_ref().filter(|a| !a.is_empty()) {
        spec.insert("address".into(), json!(a));
    }
    if port.https {
        spec.insert("https".into(), json!(true));
        if certs.is_empty() {
            if let Some(&first) = port.servers.first() {
                let msg = format!(
                    "port {number} has ssl but no ssl_certificate; the HTTPServer will be refused"
                );
                warnings.at(&servers[first].pos, msg);
            }
        }
        spec.insert("certs".into(), Value::Object(certs));
        spec.insert("keys".into(), Value::Object(keys));
        if let Some(ca) = ca_cert {
            spec.insert("caCertBase64".into(), json!(ca));
        }
    }
    spec.insert("rules".into(), Value::Array(rules));
    Value::Object(spec)
}

/// The paths of one server, in nginx's precedence.
fn paths(locations: &[Location], backends: &[String]) -> Vec<Value> {
    let mut by_rank: Vec<(u8, usize, Value)> = Vec::new();
    for (loc, backend) in locations.iter().zip(backends) {
        let (rank, key, path) = match loc.kind {
            Match::Exact => (0, "path", loc.path.clone()),
            Match::PriorityPrefix => (1, "pathPrefix", loc.path.clone()),
            Match::Regexp => (2, "pathRegexp", loc.path.clone()),
            Match::RegexpNoCase => (2, "pathRegexp", format!("(?i){}", loc.path)),
            Match::Prefix => (3, "pathPrefix", loc.path.clone()),
        };
        let mut p = Map::new();
        p.insert(key.into(), json!(path));
        p.insert("backend".into(), json!(backend));
        if loc.backend.websocket {
            p.insert("clientMaxBodySize".into(), json!(STREAM_BODY));
        }
        let longest_first = if matches!(rank, 1 | 3) {
            usize::MAX - loc.path.len()
        } else {
            0
        };
        by_rank.push((rank, longest_first, Value::Object(p)));
    }
    // Stable: equal keys keep the order written.
    by_rank.sort_by_key(|(rank, len, _)| (*rank, *len));
    by_rank.into_iter().map(|(_, _, p)| p).collect()
}
