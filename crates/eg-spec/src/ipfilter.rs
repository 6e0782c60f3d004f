//! Easegress's `ipFilter`: allow and block lists of addresses and CIDR ranges.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// The YAML form of an IP filter.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IpFilterSpec {
    /// Refuse addresses that are in neither list (default false: accept them).
    #[serde(default)]
    pub block_by_default: bool,
    /// Addresses or CIDR ranges always accepted.
    #[serde(default, rename = "allowIPs")]
    pub allow_ips: Vec<String>,
    /// Addresses or CIDR ranges refused (unless also allowed).
    #[serde(default, rename = "blockIPs")]
    pub block_ips: Vec<String>,
}

/// A compiled IP filter.
#[derive(Debug, Clone)]
pub struct IpFilter {
    block_by_default: bool,
    allow: Vec<IpNet>,
    block: Vec<IpNet>,
}

fn parse_list(list: &[String], path: &str) -> Result<Vec<IpNet>, SpecError> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    SpecError::new(format!("{path}[{i}]"), format!("invalid IP or CIDR {s:?}"))
                })
        })
        .collect()
}

impl IpFilterSpec {
    /// Validates and compiles the filter; errors name `path`.
    pub fn compile(&self, path: &str) -> Result<IpFilter, SpecError> {
        Ok(IpFilter {
            block_by_default: self.block_by_default,
            allow: parse_list(&self.allow_ips, &crate::error::join_path(path, "allowIPs"))?,
            block: parse_list(&self.block_ips, &crate::error::join_path(path, "blockIPs"))?,
        })
    }
}

impl IpFilter {
    /// Whether a request from `ip` may pass: listed as allowed → yes; listed as blocked → no;
    /// otherwise the opposite of `blockByDefault`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        if self.block.iter().any(|n| n.contains(&ip)) {
            return false;
        }
        !self.block_by_default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_default() {
        let f = IpFilterSpec {
            block_by_default: true,
            allow_ips: vec!["10.0.0.0/8".into(), "127.0.0.1".into()],
            block_ips: vec!["10.1.0.0/16".into()],
        }
        .compile("ipFilter")
        .unwrap();
        assert!(f.allows("127.0.0.1".parse().unwrap()));
        assert!(f.allows("10.1.2.3".parse().unwrap()), "allow wins");
        assert!(!f.allows("192.168.1.1".parse().unwrap()));
        assert!(f.allows("::ffff:127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_address_names_the_entry() {
        let err = IpFilterSpec {
            block_ips: vec!["1.2.3.4".into(), "nope".into()],
            ..Default::default()
        }
        .compile("rules[0].ipFilter")
        .unwrap_err();
        assert_eq!(err.path, "rules[0].ipFilter.blockIPs[1]");
    }
}
