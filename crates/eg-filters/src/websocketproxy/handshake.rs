//! The client side of the opening handshake (RFC 6455 §4.2): checking the request as
//! nhooyr's `websocket.Accept` does (the statuses Easegress answers), and the `101` answer.

use base64::Engine;
use eg_upstream::connections::{
    has_token, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION,
};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, UPGRADE};
use http::{Method, StatusCode, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// A handshake request the proxy refuses: the status and what it says.
#[derive(Debug)]
pub struct Refusal {
    /// The status answered.
    pub status: StatusCode,
    /// Why, for the body and the log.
    pub reason: String,
    /// Headers telling the client what would work (`Upgrade`, `Sec-WebSocket-Version`).
    pub hint: Option<(HeaderName, &'static str)>,
}

/// What the proxy needs from a valid handshake request.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    /// `Sec-WebSocket-Accept` for the `101` answer.
    pub accept: String,
}

/// Whether a request asks to switch to WebSocket (`Connection: upgrade` and
/// `Upgrade: websocket`).
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    has_token(headers, &CONNECTION, "upgrade") && has_token(headers, &UPGRADE, "websocket")
}

/// Checks a handshake request in nhooyr's order: HTTP/1.1 or later, `Connection: upgrade`,
/// `Upgrade: websocket` (426 otherwise), `GET` (405), version 13 and one key of 16 bytes
/// (400).
pub fn check_request(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
) -> Result<ClientHandshake, Refusal> {
    if version < Version::HTTP_11 {
        return Err(refuse(
            StatusCode::UPGRADE_REQUIRED,
            format!("WebSocket protocol violation: handshake request must be at least HTTP/1.1: {version:?}"),
            None,
        ));
    }
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(refuse(
            StatusCode::UPGRADE_REQUIRED,
            "WebSocket protocol violation: Connection header does not contain Upgrade".into(),
            Some((UPGRADE, "websocket")),
        ));
    }
    if !has_token(headers, &UPGRADE, "websocket") {
        return Err(refuse(
            StatusCode::UPGRADE_REQUIRED,
            "WebSocket protocol violation: Upgrade header does not contain websocket".into(),
            Some((UPGRADE, "websocket")),
        ));
    }
    if method != Method::GET {
        return Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "WebSocket protocol violation: handshake request method is not GET but {method}"
            ),
            None,
        ));
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unsupported WebSocket protocol version (only 13 is supported)".into(),
            Some((SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION)),
        ));
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "WebSocket protocol violation: there must be exactly one Sec-WebSocket-Key header"
                .into(),
            None,
        ));
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(key.as_bytes());
    if decoded.map_or(true, |k| k.len() != 16) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "WebSocket protocol violation: invalid Sec-WebSocket-Key".into(),
            None,
        ));
    }
    Ok(ClientHandshake {
        accept: derive_accept_key(key.as_bytes()),
    })
}

fn refuse(status: StatusCode, reason: String, hint: Option<(HeaderName, &'static str)>) -> Refusal {
    Refusal {
        status,
        reason,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_good_request_gets_the_rfc_accept_key() {
        let h = check_request(&Method::GET, Version::HTTP_11, &headers(&GOOD)).unwrap();
        assert_eq!(h.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn bad_requests_get_nhooyrs_statuses() {
        let status = |m: Method, v: Version, h: &[(&str, &str)]| {
            check_request(&m, v, &headers(h)).unwrap_err().status
        };
        assert_eq!(status(Method::GET, Version::HTTP_10, &GOOD), 426);
        assert_eq!(status(Method::POST, Version::HTTP_11, &GOOD), 405);
        assert_eq!(status(Method::GET, Version::HTTP_11, &GOOD[1..]), 426);
        let mut v = GOOD;
        v[2].1 = "8";
        assert_eq!(status(Method::GET, Version::HTTP_11, &v), 400);
        let mut k = GOOD;
        k[3].1 = "c2hvcnQ=";
        assert_eq!(status(Method::GET, Version::HTTP_11, &k), 400);
        let mut two = GOOD.to_vec();
        two.push(GOOD[3]);
        assert_eq!(status(Method::GET, Version::HTTP_11, &two), 400);
    }
}
