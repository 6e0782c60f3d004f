//! `upstream` blocks and `proxy_pass` targets.

use std::collections::HashMap;

use super::model::Endpoint;
use super::parse::Directive;
use super::Warnings;

/// Weight of an upstream server without `weight=`.
pub const DEFAULT_WEIGHT: u32 = 1;

/// A converted `upstream` block.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// `host:port` and weight of each usable `server`.
    pub servers: Vec<(String, u32)>,
    /// Whether it has `ip_hash`.
    pub ip_hash: bool,
}

/// The `upstream` blocks of an `http` block, by name. Unconverted parts are warned about.
pub fn collect(http: &[Directive], warnings: &mut Warnings) -> HashMap<String, Upstream> {
    let mut all = HashMap::new();
    for d in http.iter().filter(|d| d.name == "upstream") {
        let Some(name) = d.args.first() else {
            warnings.at(&d.pos, "\"upstream\" without a name; ignored");
            continue;
        };
        let mut up = Upstream::default();
        for s in d.children() {
            match s.name.as_str() {
                "server" => {
                    if let Some(server) = server(s, warnings) {
                        up.servers.push(server);
                    }
                }
                "ip_hash" => up.ip_hash = true,
                _ => warnings.not_converted(s),
            }
        }
        all.insert(name.clone(), up);
    }
    all
}

/// One upstream `server address [weight=N] …`.
fn server(d: &Directive, warnings: &mut Warnings) -> Option<(String, u32)> {
    let Some(address) = d.args.first() else {
        warnings.at(&d.pos, "upstream \"server\" without an address; ignored");
        return None;
    };
    if address.starts_with("unix:") {
        warnings.at(
            &d.pos,
            format!("upstream server {address} is a unix socket; ignored"),
        );
        return None;
    }
    let mut weight = DEFAULT_WEIGHT;
    for p in &d.args[1..] {
        match p.strip_prefix("weight=") {
            Some(w) => match w.parse::<u32>() {
                Ok(w) if w > 0 => weight = w,
                _ => warnings.at(
                    &d.pos,
                    format!("invalid weight \"{w}\", {DEFAULT_WEIGHT} is used instead"),
                ),
            },
            None if p == "down" => {
                warnings.at(
                    &d.pos,
                    format!("upstream server {address} is down; left out"),
                );
                return None;
            }
            None => warnings.at(
                &d.pos,
                format!("upstream server parameter \"{p}\" is not converted"),
            ),
        }
    }
    Some((address.clone(), weight))
}

/// Where a `proxy_pass` sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The servers.
    pub endpoints: Vec<Endpoint>,
    /// Load balance by client address.
    pub ip_hash: bool,
    /// The URI part, when there is one.
    pub uri: Option<String>,
}

/// Resolves `proxy_pass URL` against the upstreams. Fails (with the reason) for variables,
/// other schemes, and upstreams without servers.
pub fn proxy_target(
    d: &Directive,
    upstreams: &HashMap<String, Upstream>,
) -> Result<Target, String> {
    let Some(url) = d.args.first() else {
        return Err("\"proxy_pass\" needs a URL".into());
    };
    if url.contains('$') {
        return Err(format!(
            "proxy_pass {url} uses variables, which cannot be converted"
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("proxy_pass {url} is not http or https"));
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("proxy_pass {url} is not http or https"));
    }
    let (authority, uri) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_string())),
        None => (rest, None),
    };
    let Some(up) = upstreams.get(authority) else {
        return Ok(Target {
            endpoints: vec![Endpoint {
                url: format!("{scheme}://{authority}"),
                weight: DEFAULT_WEIGHT,
            }],
            ip_hash: false,
            uri,
        });
    };
    if up.servers.is_empty() {
        return Err(format!("upstream {authority} has no usable server"));
    }
    Ok(Target {
        endpoints: up
            .servers
            .iter()
            .map(|(address, weight)| Endpoint {
                url: format!("{scheme}://{address}"),
                weight: *weight,
            })
            .collect(),
        ip_hash: up.ip_hash,
        uri,
    })
}
