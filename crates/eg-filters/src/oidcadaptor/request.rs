//! What the filter reads from (and writes to) the request: query parameters, cookies, the
//! scheme, headers; and the random values of a login.

use eg_protocols::escape::decode_query_component;
use eg_protocols::HttpRequest;
use http::{header, HeaderName, HeaderValue};

/// Random bytes in a `state` or `nonce` (sent as hex).
pub(super) const RANDOM_BYTES: usize = 16;

/// The first value of query parameter `name`, decoded.
pub(super) fn query_param(req: &HttpRequest, name: &str) -> String {
    req.query()
        .split('&')
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_query_component(k) == name).then(|| decode_query_component(v).into_owned())
        })
        .next()
        .unwrap_or_default()
}

/// The value of cookie `name`, when the request carries it.
pub(super) fn cookie<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The request's scheme as Easegress reads it: the URI's, `X-Forwarded-Proto` (when `http`
/// or `https`), TLS.
pub(super) fn scheme(req: &HttpRequest) -> String {
    if let Some(s) = req.uri().scheme_str() {
        return s.to_string();
    }
    match req
        .header("x-forwarded-proto")
        .filter(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
    {
        Some(s) => s.to_ascii_lowercase(),
        None if req.over_tls() => "https".into(),
        None => "http".into(),
    }
}

/// [`RANDOM_BYTES`] random bytes as hex.
pub(super) fn random_hex() -> String {
    (0..RANDOM_BYTES)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Sets request header `name`, unless `value` cannot be a header value.
pub(super) fn set_header(req: &mut HttpRequest, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        req.headers_mut().insert(HeaderName::from_static(name), v);
    }
}
