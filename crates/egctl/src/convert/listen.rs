//! `listen` and `server_name`.

use super::model::{Host, Listen};
use super::parse::Directive;

/// Port of a `listen` that names only an address, and of a server without `listen`.
pub const DEFAULT_PORT: u16 = 80;

/// Addresses that mean every interface (an empty `address` in Easegress).
const ANY_ADDRESS: &[&str] = &["*", "0.0.0.0", "[::]", "::"];

/// `listen` parameters converted; `http2` needs nothing (TLS servers offer it).
const KNOWN_PARAMETERS: &[&str] = &["ssl", "default_server", "default", "http2"];

/// Parses one `listen`: the listen, and the parameters that are not converted.
pub fn parse_listen(d: &Directive) -> Result<(Listen, Vec<String>), String> {
    let Some(first) = d.args.first() else {
        return Err("\"listen\" needs an address or a port".into());
    };
    if first.starts_with("unix:") {
        return Err(format!("unix socket {first} cannot be converted"));
    }
    let (address, port) = split_address_port(first)?;
    let address = if ANY_ADDRESS.contains(&address.as_str()) {
        String::new()
    } else {
        address
    };
    let rest = &d.args[1..];
    let has = |p: &str| rest.iter().any(|a| a == p);
    let listen = Listen {
        address,
        port,
        ssl: has("ssl"),
        default_server: has("default_server") || has("default"),
    };
    let ignored = rest
        .iter()
        .filter(|a| !KNOWN_PARAMETERS.contains(&a.as_str()))
        .cloned()
        .collect();
    Ok((listen, ignored))
}

/// `address:port`, `[v6]:port`, `port` or `address` (port 80).
fn split_address_port(s: &str) -> Result<(String, u16), String> {
    let port_of = |p: &str| match p.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("invalid port in \"{s}\"")),
    };
    if s.starts_with('[') {
        let Some(end) = s.find(']') else {
            return Err(format!("invalid IPv6 address in \"{s}\""));
        };
        let host = s[..=end].to_string();
        return match &s[end + 1..] {
            "" => Ok((host, DEFAULT_PORT)),
            rest => match rest.strip_prefix(':') {
                Some(p) => Ok((host, port_of(p)?)),
                None => Err(format!("invalid address \"{s}\"")),
            },
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port_of(port)?)),
        None if s.bytes().all(|b| b.is_ascii_digit()) => Ok((String::new(), port_of(s)?)),
        None => Ok((s.to_string(), DEFAULT_PORT)),
    }
}

/// The hosts of one `server_name`. `_` and `""` (names that match no host) give nothing;
/// `.example.com` gives `example.com` and `*.example.com`. Names with a `*` elsewhere than
/// at one end are refused.
pub fn parse_server_name(d: &Directive) -> Result<Vec<Host>, String> {
    let mut hosts = Vec::new();
    for name in &d.args {
        if name.is_empty() || name == "_" {
            continue;
        }
        if let Some(re) = name.strip_prefix('~') {
            hosts.push(Host {
                value: re.to_string(),
                is_regexp: true,
            });
            continue;
        }
        if let Some(domain) = name.strip_prefix('.') {
            for value in [domain.to_string(), format!("*.{domain}")] {
                hosts.push(Host {
                    value,
                    is_regexp: false,
                });
            }
            continue;
        }
        let stars = name.matches('*').count();
        if stars > 1 {
            return Err(format!("host {name} contains more than one wildcard"));
        }
        if stars == 1 && !name.starts_with('*') && !name.ends_with('*') {
            return Err(format!("host {name} contains a wildcard in the middle"));
        }
        hosts.push(Host {
            value: name.clone(),
            is_regexp: false,
        });
    }
    Ok(hosts)
}

/// What a server without `listen` listens on.
pub fn default_listen() -> Listen {
    Listen {
        address: String::new(),
        port: DEFAULT_PORT,
        ssl: false,
        default_server: false,
    }
}
