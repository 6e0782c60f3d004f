//! The client IP of a request.
//!
//! Easegress believes `X-Forwarded-For`/`X-Real-Ip` from anyone, so an `ipFilter` can be
//! bypassed with a forged header. Here the headers count only when the TCP peer is one of
//! `trustedProxies`; otherwise the peer address is the client IP.

use std::net::IpAddr;

use eg_spec::SpecError;
use http::{HeaderMap, HeaderValue};
use ipnet::IpNet;

/// Proxies whose forwarding headers are believed.
#[derive(Debug, Default, Clone)]
pub(crate) struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `trustedProxies[]` (addresses or CIDRs).
    pub fn compile(list: &[String]) -> Result<TrustedProxies, SpecError> {
        list.iter()
            .enumerate()
            .map(|(i, s)| {
                let s = s.trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        SpecError::new(
                            format!("trustedProxies[{i}]"),
                            format!("invalid IP or CIDR {s:?}"),
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client IP: the peer, unless the peer is trusted; then the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy (or the left-most when all
    /// are), else `X-Real-Ip`, else the peer.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let mut leftmost = None;
        let mut chosen = None;
        for v in headers.get_all("x-forwarded-for") {
            let Ok(v) = v.to_str() else { continue };
            for part in v.split(',') {
                if let Some(ip) = parse_ip(part) {
                    leftmost.get_or_insert(ip);
                    if !self.trusts(ip) {
                        chosen = Some(ip);
                    }
                }
            }
        }
        if let Some(ip) = chosen.or(leftmost) {
            return ip;
        }
        headers
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_ip)
            .unwrap_or(peer)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(canonical)
}

/// Adds the client IP to `X-Forwarded-For` unless it is already there (Easegress's rule).
pub(crate) fn append_x_forwarded_for(h: &mut HeaderMap, ip: IpAddr) {
    let ip = ip.to_string();
    let current = h
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let next = if current.is_empty() {
        ip
    } else if current.contains(ip.as_str()) {
        return;
    } else {
        format!("{current},{ip}")
    };
    if let Ok(v) = HeaderValue::from_str(&next) {
        h.insert("x-forwarded-for", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn untrusted_peer_is_the_client() {
        let t = TrustedProxies::compile(&["10.0.0.0/8".into()]).unwrap();
        let peer: IpAddr = "192.168.1.5".parse().unwrap();
        assert_eq!(t.client_ip(peer, &headers("1.2.3.4")), peer);
        assert_eq!(
            TrustedProxies::default().client_ip(peer, &headers("1.2.3.4")),
            peer
        );
    }

    #[test]
    fn trusted_peer_forwards_the_client() {
        let t = TrustedProxies::compile(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            t.client_ip(peer, &headers("6.6.6.6, 1.2.3.4, 10.0.0.2")),
            ip("1.2.3.4")
        );
        assert_eq!(t.client_ip(peer, &headers("10.1.1.1")), ip("10.1.1.1"));
        let mut h = HeaderMap::new();
        h.insert("x-real-ip", "5.5.5.5".parse().unwrap());
        assert_eq!(t.client_ip(peer, &h), ip("5.5.5.5"));
        assert_eq!(t.client_ip(peer, &HeaderMap::new()), peer);
        assert!(TrustedProxies::compile(&["nope".into()]).is_err());
    }

    #[test]
    fn x_forwarded_for_appends_once() {
        let mut h = HeaderMap::new();
        let ip = "10.0.0.1".parse().unwrap();
        append_x_forwarded_for(&mut h, ip);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1");
        append_x_forwarded_for(&mut h, ip);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1");
        append_x_forwarded_for(&mut h, "10.0.0.2".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "10.0.0.1,10.0.0.2");
    }
}
