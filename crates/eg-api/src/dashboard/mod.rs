//! The built-in dashboard: a page, one script and one style sheet served under
//! `/dashboard/` by the admin API's listener, behind its basic auth and Host/Origin rules
//! (the caller checks those first). The page reads and writes through the API itself, so
//! serving it costs a few static answers and nothing on the traffic path.

mod assets;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::reply::{encode, ApiBody, ApiError};

/// Where the dashboard lives.
pub const DASHBOARD_PATH: &str = "/dashboard/";

/// No script, style, image or connection from anywhere but the API's own origin; no inline
/// script or style; never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Files are not named by version: a browser keeps them but asks each time, and the `ETag`
/// makes that a 304 until the binary changes.
const CACHE_CONTROL: &str = "no-cache";

/// Whether `path` is the dashboard's (or the root, which leads to it).
pub(crate) fn owns(path: &str) -> bool {
    path == "/" || path == "/dashboard" || path.starts_with(DASHBOARD_PATH)
}

/// Answers a request for a path that [`owns`] accepted.
pub(crate) fn respond(method: &Method, path: &str, headers: &HeaderMap) -> Response<ApiBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = encode(
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {method} not allowed on {path}"),
            )),
            false,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(name) = path.strip_prefix(DASHBOARD_PATH) else {
        return redirect();
    };
    let Some(asset) = assets::find(name) else {
        return encode(
            Err(ApiError::not_found(format!(
                "no such dashboard file: {path}"
            ))),
            false,
        );
    };
    let gzipped = accepts_gzip(headers) && asset.gzip().is_some();
    let etag = asset.etag(gzipped);
    let mut resp = if none_match(headers, etag) {
        let mut r = Response::new(empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let bytes: &'static [u8] = match asset.gzip() {
            Some(z) if gzipped => z,
            _ => asset.bytes,
        };
        let len = bytes.len();
        let body = if method == Method::HEAD {
            empty()
        } else {
            Full::new(Bytes::from_static(bytes)).boxed()
        };
        let mut r = Response::new(body);
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        if gzipped {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    protect(h);
    resp
}

/// `/` and `/dashboard` lead to the page.
fn redirect() -> Response<ApiBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::FOUND;
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static(DASHBOARD_PATH));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    protect(h);
    r
}

/// The header fields that keep the page to itself: its policy, no type sniffing, no
/// referrer, no framing.
fn protect(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn empty() -> ApiBody {
    Full::new(Bytes::new()).boxed()
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            !refused && (coding.eq_ignore_ascii_case("gzip") || coding == "*")
        })
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak tags compare by their value.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

#[cfg(test)]
mod tests;
