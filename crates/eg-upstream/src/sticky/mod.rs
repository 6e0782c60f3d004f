//! Sticky sessions (`loadBalance.stickySession`): a request carrying the right cookie goes
//! to the server it went to before, as long as that server is healthy; otherwise the pool's
//! policy picks one.
//!
//! - `CookieConsistentHash`: the value of the application's cookie `appCookieName` is
//!   placed on a consistent-hash ring of the healthy servers ([`hash_ring`]); no cookie is set.
//! - `DurationBased`: every response gets the load balancer's cookie `lbCookieName`
//!   (default `EG_SESSION`) naming the server, expiring after `lbCookieExpire` (default 2h).
//! - `ApplicationBased`: the same cookie, set only on responses that set `appCookieName`.
//!
//! The load balancer's cookie is Easegress's: the hex form of a random 8-byte key followed
//! by HMAC-SHA256(key, server URL), `Expires` in HTTP-date form, no other attribute. The
//! key travels in the cookie, so a cookie is not secret: it hides the server URL and any
//! cookie naming no healthy server (forged, stale, garbled) is ignored. A gateway of either
//! implementation reads the other's cookies. The MAC is checked in constant time.

pub mod hash_ring;
pub mod murmur3;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use eg_protocols::HttpRequest;
use eg_spec::SpecError;
use http::header::{HeaderValue, COOKIE, SET_COOKIE};
use http::HeaderMap;
use ring::hmac;

use crate::servers::HealthyGroup;
use crate::spec::{LoadBalanceSpec, StickySessionSpec};

use self::hash_ring::HashRing;

/// `mode: CookieConsistentHash`.
pub const MODE_CONSISTENT_HASH: &str = "CookieConsistentHash";
/// `mode: DurationBased`.
pub const MODE_DURATION_BASED: &str = "DurationBased";
/// `mode: ApplicationBased`.
pub const MODE_APPLICATION_BASED: &str = "ApplicationBased";
/// The default `lbCookieName`.
pub const DEFAULT_LB_COOKIE_NAME: &str = "EG_SESSION";
/// The default `lbCookieExpire`.
pub const DEFAULT_LB_COOKIE_EXPIRE: Duration = Duration::from_secs(2 * 3600);
/// Bytes of the random key leading a load-balancer cookie.
const KEY_LEN: usize = 8;
/// Bytes of a load-balancer cookie's value once hex-decoded.
const SIGNED_LEN: usize = KEY_LEN + 32;

/// How sessions stick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Consistent hash of the application's cookie.
    ConsistentHash,
    /// The load balancer's cookie on every response.
    DurationBased,
    /// The load balancer's cookie when the application sets its own.
    ApplicationBased,
}

/// A compiled `stickySession`, with the ring of the healthy servers it last saw.
#[derive(Debug)]
pub struct StickySession {
    mode: Mode,
    app_cookie: String,
    lb_cookie: String,
    expire: Duration,
    /// The pool's server URLs (what the cookie's MAC and the ring's members are made of).
    urls: Box<[String]>,
    /// `CookieConsistentHash`: the ring of a healthy group (rebuilt when the group changes).
    ring: ArcSwapOption<GroupRing>,
}

#[derive(Debug)]
struct GroupRing {
    /// The healthy servers the ring was built for.
    idx: Box<[usize]>,
    ring: HashRing,
}

impl StickySession {
    /// Checks `spec` (errors name fields under `path`, the `stickySession` field) for a pool
    /// whose servers have `urls`.
    pub fn compile(
        spec: &StickySessionSpec,
        path: &str,
        urls: Vec<String>,
    ) -> Result<StickySession, SpecError> {
        let mode = match spec.mode.as_str() {
            MODE_CONSISTENT_HASH => Mode::ConsistentHash,
            MODE_DURATION_BASED => Mode::DurationBased,
            MODE_APPLICATION_BASED => Mode::ApplicationBased,
            other => {
                let what = if other.is_empty() {
                    "mode is required".to_string()
                } else {
                    format!("unknown sticky session mode {other:?}")
                };
                return Err(SpecError::new(
                    format!("{path}.mode"),
                    format!(
                        "{what}: use {MODE_CONSISTENT_HASH}, {MODE_DURATION_BASED} or \
                         {MODE_APPLICATION_BASED}"
                    ),
                ));
            }
        };
        if mode != Mode::DurationBased && spec.app_cookie_name.is_empty() {
            return Err(SpecError::new(
                format!("{path}.appCookieName"),
                format!("{} needs appCookieName", spec.mode),
            ));
        }
        if !spec.app_cookie_name.is_empty() && !is_token(&spec.app_cookie_name) {
            return Err(SpecError::new(
                format!("{path}.appCookieName"),
                "not a valid cookie name",
            ));
        }
        let lb_cookie = if spec.lb_cookie_name.is_empty() {
            DEFAULT_LB_COOKIE_NAME.to_string()
        } else if is_token(&spec.lb_cookie_name) {
            spec.lb_cookie_name.clone()
        } else {
            return Err(SpecError::new(
                format!("{path}.lbCookieName"),
                "not a valid cookie name",
            ));
        };
        Ok(StickySession {
            mode,
            app_cookie: spec.app_cookie_name.clone(),
            lb_cookie,
            expire: spec
                .lb_cookie_expire
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_LB_COOKIE_EXPIRE),
            urls: urls.into(),
            ring: ArcSwapOption::empty(),
        })
    }

    /// The sticky sessions of a pool's `loadBalance` (at `path`), if it asks for them, for
    /// a pool whose servers have `urls`; errors name fields under `path.stickySession`.
    pub fn of_load_balance(
        spec: Option<&LoadBalanceSpec>,
        path: &str,
        urls: Vec<String>,
    ) -> Result<Option<StickySession>, SpecError> {
        match spec.and_then(|lb| lb.sticky_session.as_ref()) {
            Some(ss) => {
                StickySession::compile(ss, &format!("{path}.stickySession"), urls).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The server (index into the pool's servers) the request's cookie sticks to, if it
    /// names one of the healthy `group`; `None` lets the policy choose.
    pub fn choose(&self, group: &HealthyGroup, req: &HttpRequest) -> Option<usize> {
        match self.mode {
            Mode::ConsistentHash => {
                let key = cookie(req.headers(), &self.app_cookie)?;
                let ring = self.ring_of(group)?;
                Some(group.idx[ring.ring.locate(key.as_bytes())])
            }
            Mode::DurationBased | Mode::ApplicationBased => {
                let value = cookie(req.headers(), &self.lb_cookie)?;
                let signed = decode_hex::<SIGNED_LEN>(value)?;
                let (key, mac) = signed.split_at(KEY_LEN);
                let key = hmac::Key::new(hmac::HMAC_SHA256, key);
                group
                    .idx
                    .iter()
                    .copied()
                    .find(|&i| hmac::verify(&key, self.urls[i].as_bytes(), mac).is_ok())
            }
        }
    }

    /// The ring of `group`, built when the healthy servers changed since the last one.
    fn ring_of(&self, group: &HealthyGroup) -> Option<Arc<GroupRing>> {
        if let Some(r) = self.ring.load_full() {
            if r.idx == group.idx {
                return Some(r);
            }
        }
        let names: Vec<&str> = group.idx.iter().map(|&i| self.urls[i].as_str()).collect();
        let ring = Arc::new(GroupRing {
            idx: group.idx.clone(),
            ring: HashRing::new(&names)?,
        });
        self.ring.store(Some(ring.clone()));
        Some(ring)
    }

    /// The `Set-Cookie` value to add to a response from server `server` whose headers are
    /// `resp` (`None` when this mode sets no cookie on it), expiring `lbCookieExpire` from
    /// now.
    pub fn cookie_for(&self, server: usize, resp: &HeaderMap) -> Option<HeaderValue> {
        let set = match self.mode {
            Mode::ConsistentHash => false,
            Mode::DurationBased => true,
            Mode::ApplicationBased => sets_cookie(resp, &self.app_cookie),
        };
        if !set {
            return None;
        }
        let key_bytes = rand::random::<u64>().to_le_bytes();
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
        let tag = hmac::sign(&key, self.urls.get(server)?.as_bytes());
        let mut text = String::with_capacity(self.lb_cookie.len() + 2 * SIGNED_LEN + 48);
        text.push_str(&self.lb_cookie);
        text.push('=');
        push_hex(&mut text, &key_bytes);
        push_hex(&mut text, tag.as_ref());
        text.push_str("; Expires=");
        text.push_str(&httpdate::fmt_http_date(SystemTime::now() + self.expire));
        HeaderValue::from_str(&text).ok()
    }

    /// Adds the load balancer's cookie to `resp` when this mode sets one.
    pub fn return_server(&self, server: usize, resp: &mut HeaderMap) {
        if let Some(v) = self.cookie_for(server, resp) {
            resp.append(SET_COOKIE, v);
        }
    }
}

/// The value of the first cookie `name` of the request's `Cookie` headers (quotes removed).
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        })
}

/// Whether one of the response's `Set-Cookie` headers sets cookie `name`.
fn sets_cookie(resp: &HeaderMap, name: &str) -> bool {
    resp.get_all(SET_COOKIE).iter().any(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .and_then(|pair| pair.split_once('='))
            .is_some_and(|(k, _)| k.trim() == name)
    })
}

/// A cookie name: an RFC 7230 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

/// `text` as exactly `N` hex-encoded bytes (either case).
fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let t = text.as_bytes();
    if t.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nibble(t[2 * i])? << 4) | nibble(t[2 * i + 1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
