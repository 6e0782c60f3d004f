//! The JSON document a `RemoteFilter` exchanges with its service (Easegress's format).
//!
//! ```json
//! {"request": {"realIP": "10.0.0.1", "method": "POST", "scheme": "http",
//!              "host": "example.com", "path": "/a b", "query": "x=1", "fragment": "",
//!              "proto": "HTTP/1.1", "header": {"Content-Type": ["text/plain"]},
//!              "body": "aGVsbG8="},
//!  "response": {"statusCode": 200, "header": {}, "body": null}}
//! ```
//!
//! Header names are in Go's canonical form, each with its list of values; bodies are base64
//! (Go's encoding of bytes), `null` when empty; `path` is decoded. The service answers the
//! same document: `request` is required (its `scheme`, `host`, `realIP`, `proto` and
//! `fragment` are not applied); `response` may be `null` to leave the response alone.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use eg_protocols::{Body, Context};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use serde::{Deserialize, Serialize};

use super::{CallError, MAX_BODY_BYTES};

/// The whole document.
#[derive(Debug, Serialize, Deserialize)]
pub struct Document {
    /// The request of the active namespace.
    pub request: Option<RequestEntity>,
    /// Its response.
    pub response: Option<ResponseEntity>,
}

/// The request part.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEntity {
    /// The client IP.
    #[serde(rename = "realIP", default)]
    pub real_ip: String,
    /// The method.
    #[serde(default)]
    pub method: String,
    /// `http` or `https`.
    #[serde(default)]
    pub scheme: String,
    /// The `Host` the client asked for, with any port.
    #[serde(default)]
    pub host: String,
    /// The decoded path.
    #[serde(default)]
    pub path: String,
    /// The raw query, without `?`.
    #[serde(default)]
    pub query: String,
    /// Always empty (clients do not send fragments).
    #[serde(default)]
    pub fragment: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    #[serde(default)]
    pub proto: String,
    /// Headers by canonical name.
    #[serde(default)]
    pub header: Option<BTreeMap<String, Vec<String>>>,
    /// The body, base64.
    #[serde(default)]
    pub body: Option<String>,
}

/// The response part.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseEntity {
    /// The status.
    #[serde(default)]
    pub status_code: i64,
    /// Headers by canonical name.
    #[serde(default)]
    pub header: Option<BTreeMap<String, Vec<String>>>,
    /// The body, base64.
    #[serde(default)]
    pub body: Option<String>,
}

/// `content-type` → `Content-Type`, as Go's `http.CanonicalHeaderKey`.
pub fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// The headers of `map` as Go's `http.Header`, without `Host` (Go keeps it apart).
fn headers_of(map: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in map {
        if k == http::header::HOST {
            continue;
        }
        out.entry(canonical(k.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    out
}

fn proto(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Reads a body (buffering a stream) up to [`MAX_BODY_BYTES`]; base64 or `None` if empty.
async fn body_text(body: &mut Body, what: &str) -> Result<Option<String>, CallError> {
    let bytes = body
        .buffer(Some(MAX_BODY_BYTES))
        .await
        .map_err(|e| CallError(format!("read {what} body: {e}")))?;
    Ok((!bytes.is_empty()).then(|| STANDARD.encode(&bytes)))
}

/// The document of the active namespace of `ctx` (which has a request and a response).
pub(super) async fn encode(ctx: &mut Context) -> Result<Vec<u8>, CallError> {
    let real_ip = ctx.real_ip.to_string();
    let Some(req) = ctx.request_mut() else {
        return Err(CallError("no request".into()));
    };
    let scheme = match req.uri().scheme_str() {
        Some(s) => s.to_string(),
        None if req.over_tls() => "https".into(),
        None => "http".into(),
    };
    let mut request = RequestEntity {
        real_ip,
        method: req.method().as_str().to_string(),
        scheme,
        host: req.host_with_port().to_string(),
        path: eg_protocols::escape::decode_path(req.path()).into_owned(),
        query: req.query().to_string(),
        fragment: String::new(),
        proto: proto(req.version()).to_string(),
        header: Some(headers_of(req.headers())),
        body: None,
    };
    request.body = body_text(&mut req.body, "request").await?;
    let Some(resp) = ctx.response_mut() else {
        return Err(CallError("no response".into()));
    };
    let mut response = ResponseEntity {
        status_code: i64::from(resp.status.as_u16()),
        header: Some(headers_of(&resp.headers)),
        body: None,
    };
    response.body = body_text(&mut resp.body, "response").await?;
    serde_json::to_vec(&Document {
        request: Some(request),
        response: Some(response),
    })
    .map_err(|e| CallError(format!("marshal context: {e}")))
}

/// What the service's document changes, checked completely before anything is applied.
pub(super) struct Changes {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
    response: Option<(StatusCode, HeaderMap, Bytes)>,
}

fn header_map(
    h: Option<BTreeMap<String, Vec<String>>>,
    what: &str,
) -> Result<HeaderMap, CallError> {
    let mut out = HeaderMap::new();
    for (k, vs) in h.unwrap_or_default() {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| CallError(format!("unmarshal context: invalid {what} header {k:?}")))?;
        for v in vs {
            let value = HeaderValue::from_str(&v).map_err(|_| {
                CallError(format!(
                    "unmarshal context: invalid value of {what} header {k:?}"
                ))
            })?;
            out.append(name.clone(), value);
        }
    }
    Ok(out)
}

fn body_of(b: Option<String>, what: &str) -> Result<Bytes, CallError> {
    match b {
        None => Ok(Bytes::new()),
        Some(t) => STANDARD
            .decode(t)
            .map(Bytes::from)
            .map_err(|e| CallError(format!("unmarshal context: {what} body: {e}"))),
    }
}

/// Decodes and checks the service's answer.
pub(super) fn decode(answer: &[u8]) -> Result<Changes, CallError> {
    let doc: Document =
        serde_json::from_slice(answer).map_err(|e| CallError(format!("unmarshal context: {e}")))?;
    let Some(re) = doc.request else {
        return Err(CallError("unmarshal context: no request".into()));
    };
    let method = Method::from_bytes(re.method.as_bytes())
        .map_err(|_| CallError(format!("unmarshal context: invalid method {:?}", re.method)))?;
    let mut path_and_query = crate::redirectorv2::escape_path(&re.path);
    if !path_and_query.starts_with('/') {
        path_and_query.insert(0, '/');
    }
    if !re.query.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&re.query);
    }
    if path_and_query.parse::<http::uri::PathAndQuery>().is_err() {
        return Err(CallError(format!(
            "unmarshal context: invalid path or query {path_and_query:?}"
        )));
    }
    let headers = header_map(re.header, "request")?;
    let body = body_of(re.body, "request")?;
    let response = match doc.response {
        None => None,
        Some(we) => {
            let status = u16::try_from(we.status_code)
                .ok()
                .filter(|c| (200..600).contains(c))
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| {
                    CallError(format!(
                        "unmarshal context: invalid status code: {}",
                        we.status_code
                    ))
                })?;
            Some((
                status,
                header_map(we.header, "response")?,
                body_of(we.body, "response")?,
            ))
        }
    };
    Ok(Changes {
        method,
        path_and_query,
        headers,
        body,
        response,
    })
}

/// Sets `body` with framing headers that match it.
fn set_body(headers: &mut HeaderMap, body: &mut Body, new: Bytes) {
    headers.remove(TRANSFER_ENCODING);
    if new.is_empty() {
        headers.remove(CONTENT_LENGTH);
    } else {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(new.len()));
    }
    *body = Body::full(new);
}

/// Applies checked changes to the active namespace of `ctx`.
pub(super) fn apply(ctx: &mut Context, c: Changes) -> Result<(), CallError> {
    let Some(req) = ctx.request_mut() else {
        return Err(CallError("no request".into()));
    };
    req.set_path_and_query(&c.path_and_query)
        .map_err(|e| CallError(format!("unmarshal context: {e}")))?;
    req.head.method = c.method;
    // `Host` is not part of the document: the request keeps its own.
    let host = req.head.headers.remove(http::header::HOST);
    req.head.headers = c.headers;
    if let Some(host) = host {
        req.head.headers.insert(http::header::HOST, host);
    }
    let head = &mut req.head;
    set_body(&mut head.headers, &mut req.body, c.body);
    if let (Some((status, headers, body)), Some(resp)) = (c.response, ctx.response_mut()) {
        resp.status = status;
        for (k, v) in &headers {
            resp.headers.append(k.clone(), v.clone());
        }
        set_body(&mut resp.headers, &mut resp.body, body);
    }
    Ok(())
}
