//! Load-balancing policies over the healthy servers of a pool: each [`Policy`] is one way
//! to pick an index of the [`HealthyGroup`]; a new policy is one more variant.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use eg_protocols::HttpRequest;
use eg_spec::SpecError;
use http::header::{HeaderName, COOKIE};

use crate::servers::HealthyGroup;
use crate::spec::LoadBalanceSpec;
use crate::sticky::StickySession;

/// The name of the `forward` policy.
pub const FORWARD: &str = "forward";

/// How a pool picks one of its healthy servers.
#[derive(Debug)]
pub enum Policy {
    /// In turn.
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// At random, in proportion to the servers' `weight`.
    WeightedRandom,
    /// FNV-32 of the client IP (as text) modulo the healthy server count.
    IpHash,
    /// FNV-32 of a header's first value (`""` when missing) modulo the count.
    HeaderHash(HeaderName),
    /// gRPC proxies only: no pool server; the target `host:port` is the value of a request
    /// header (`forwardKey`), see [`LoadBalancer::forward_target`].
    Forward(HeaderName),
}

impl Policy {
    /// The policy of `spec` for an HTTP proxy (`None` = round robin; `forward` refused);
    /// errors name `path` (the `loadBalance` field). `weighted` says whether the servers
    /// have weights.
    pub fn compile(
        spec: Option<&LoadBalanceSpec>,
        path: &str,
        weighted: bool,
    ) -> Result<Policy, SpecError> {
        if spec.is_some_and(|s| s.policy == FORWARD) {
            return Err(SpecError::new(
                format!("{path}.policy"),
                "forward is for gRPC proxies only",
            ));
        }
        Policy::compile_with_forward(spec, path, weighted)
    }

    /// Like [`Policy::compile`], with `forward` (which needs `forwardKey`) allowed.
    pub fn compile_with_forward(
        spec: Option<&LoadBalanceSpec>,
        path: &str,
        weighted: bool,
    ) -> Result<Policy, SpecError> {
        let Some(spec) = spec else {
            return Ok(Policy::RoundRobin);
        };
        Ok(match spec.policy.as_str() {
            "" | "roundRobin" => Policy::RoundRobin,
            "random" => Policy::Random,
            "weightedRandom" => {
                if !weighted {
                    return Err(SpecError::new(
                        format!("{path}.policy"),
                        "weightedRandom needs a weight (1-100) on every server",
                    ));
                }
                Policy::WeightedRandom
            }
            "ipHash" => Policy::IpHash,
            "headerHash" => {
                if spec.header_hash_key.is_empty() {
                    return Err(SpecError::new(
                        format!("{path}.headerHashKey"),
                        "headerHash needs to specify headerHashKey",
                    ));
                }
                Policy::HeaderHash(
                    HeaderName::from_bytes(spec.header_hash_key.as_bytes()).map_err(|_| {
                        SpecError::new(format!("{path}.headerHashKey"), "invalid header name")
                    })?,
                )
            }
            "cookieHash" => Policy::HeaderHash(COOKIE),
            FORWARD => {
                if spec.forward_key.is_empty() {
                    return Err(SpecError::new(
                        format!("{path}.forwardKey"),
                        "forward needs to specify forwardKey",
                    ));
                }
                Policy::Forward(HeaderName::from_bytes(spec.forward_key.as_bytes()).map_err(
                    |_| SpecError::new(format!("{path}.forwardKey"), "invalid header name"),
                )?)
            }
            other => {
                return Err(SpecError::new(
                    format!("{path}.policy"),
                    format!(
                        "unknown load balance policy {other:?}: use roundRobin, random, \
                         weightedRandom, ipHash, headerHash or cookieHash"
                    ),
                ))
            }
        })
    }
}

/// A policy plus its state (the round-robin counter), and the sticky sessions consulted
/// before it.
#[derive(Debug)]
pub struct LoadBalancer {
    policy: Policy,
    counter: AtomicUsize,
    sticky: Option<StickySession>,
}

impl LoadBalancer {
    /// A balancer using `policy`.
    pub fn new(policy: Policy) -> LoadBalancer {
        LoadBalancer {
            policy,
            counter: AtomicUsize::new(0),
            sticky: None,
        }
    }

    /// The same, consulting `sticky` sessions first (when `Some`).
    pub fn with_sticky(mut self, sticky: Option<StickySession>) -> LoadBalancer {
        self.sticky = sticky;
        self
    }

    /// The sticky sessions, if any.
    pub fn sticky(&self) -> Option<&StickySession> {
        self.sticky.as_ref()
    }

    /// Adds the sticky-session cookie naming server `server` to the headers of an answer
    /// from it, when the sticky sessions set one.
    pub fn return_server(&self, server: usize, headers: &mut http::HeaderMap) {
        if let Some(s) = &self.sticky {
            s.return_server(server, headers);
        }
    }

    /// The index (into the pool's servers) of the server for this request, `None` when no
    /// server is healthy: the healthy server the request's sticky-session cookie names, or
    /// else the policy's choice.
    pub fn choose(
        &self,
        group: &HealthyGroup,
        req: &HttpRequest,
        real_ip: IpAddr,
    ) -> Option<usize> {
        let n = group.idx.len();
        if n == 0 {
            return None;
        }
        if let Some(i) = self.sticky.as_ref().and_then(|s| s.choose(group, req)) {
            return Some(i);
        }
        let pos = match &self.policy {
            Policy::RoundRobin => self.counter.fetch_add(1, Ordering::Relaxed) % n,
            Policy::Random => rand::random_range(0..n),
            Policy::WeightedRandom => {
                if group.total_weight == 0 {
                    rand::random_range(0..n)
                } else {
                    let mut w = rand::random_range(0..group.total_weight);
                    let mut chosen = n - 1;
                    for (i, &sw) in group.weights.iter().enumerate() {
                        if w < u64::from(sw) {
                            chosen = i;
                            break;
                        }
                        w -= u64::from(sw);
                    }
                    chosen
                }
            }
            Policy::IpHash => {
                let mut buf = StackText::new();
                (fnv32(ip_text(real_ip, &mut buf)) % n as u32) as usize
            }
            Policy::HeaderHash(key) => {
                let v = req.headers().get(key).map(|v| v.as_bytes()).unwrap_or(b"");
                (fnv32(v) % n as u32) as usize
            }
            Policy::Forward(_) => return None,
        };
        Some(group.idx[pos])
    }

    /// With the `forward` policy, `Some` with the request's target (the `forwardKey`
    /// header's value, `""` when missing or not text); `None` with any other policy.
    pub fn forward_target<'r>(&self, req: &'r HttpRequest) -> Option<&'r str> {
        match &self.policy {
            Policy::Forward(key) => Some(
                req.headers()
                    .get(key)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            ),
            _ => None,
        }
    }
}

/// FNV-1 32-bit (Go's `hash/fnv.New32`), the hash Easegress uses for ipHash and headerHash.
pub fn fnv32(data: &[u8]) -> u32 {
    const OFFSET: u32 = 2_166_136_261;
    const PRIME: u32 = 16_777_619;
    let mut h = OFFSET;
    for &b in data {
        h = h.wrapping_mul(PRIME);
        h ^= u32::from(b);
    }
    h
}

/// Room for the longest IPv6 text form.
const IP_TEXT_CAP: usize = 64;

/// A small stack buffer to format an IP address into without allocating.
pub struct StackText {
    buf: [u8; IP_TEXT_CAP],
    len: usize,
}

impl StackText {
    /// An empty buffer.
    pub fn new() -> StackText {
        StackText {
            buf: [0; IP_TEXT_CAP],
            len: 0,
        }
    }
}

impl Default for StackText {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The text form of `ip` (as Go prints it) in `buf`.
pub fn ip_text(ip: IpAddr, buf: &mut StackText) -> &[u8] {
    buf.len = 0;
    let _ = write!(buf, "{ip}");
    &buf.buf[..buf.len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_takes_the_target_from_its_header() {
        let spec: LoadBalanceSpec = serde_json::from_value(
            serde_json::json!({"policy": "forward", "forwardKey": "x-target"}),
        )
        .unwrap();
        let err = Policy::compile(Some(&spec), "loadBalance", false).unwrap_err();
        assert!(err.to_string().starts_with("loadBalance.policy"), "{err}");
        let lb = LoadBalancer::new(Policy::compile_with_forward(Some(&spec), "lb", false).unwrap());
        let mut req = HttpRequest::simple(http::Method::POST, "/s.S/M").unwrap();
        assert_eq!(lb.forward_target(&req), Some(""));
        req.headers_mut()
            .insert("x-target", http::HeaderValue::from_static("10.0.0.1:9000"));
        assert_eq!(lb.forward_target(&req), Some("10.0.0.1:9000"));
        let group = HealthyGroup::new(vec![0], &[0]);
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(lb.choose(&group, &req, ip), None);
        let rr = LoadBalancer::new(Policy::RoundRobin);
        assert_eq!(rr.forward_target(&req), None);
        let no_key: LoadBalanceSpec =
            serde_json::from_value(serde_json::json!({"policy": "forward"})).unwrap();
        let err = Policy::compile_with_forward(Some(&no_key), "lb", false).unwrap_err();
        assert!(err.to_string().starts_with("lb.forwardKey"), "{err}");
    }

    #[test]
    fn fnv32_matches_go() {
        // Go: fnv.New32() over "" and "a".
        assert_eq!(fnv32(b""), 0x811c9dc5);
        assert_eq!(fnv32(b"a"), 0x050c5d7e);
    }

    #[test]
    fn ip_text_is_the_usual_form() {
        let mut b = StackText::new();
        assert_eq!(ip_text("10.0.0.1".parse().unwrap(), &mut b), b"10.0.0.1");
        assert_eq!(ip_text("::1".parse().unwrap(), &mut b), b"::1");
    }
}
