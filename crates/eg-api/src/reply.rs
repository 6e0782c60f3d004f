//! Answers of the admin API: JSON (or YAML on request), Easegress's error shape.

use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

/// The body type of every admin API response.
pub type ApiBody = BoxBody<Bytes, std::convert::Infallible>;

/// What a handler answers before it is encoded.
#[derive(Debug)]
pub enum Reply {
    /// A JSON value (YAML when the client's `Accept` asks for it).
    Json(StatusCode, Value),
    /// Plain text.
    Text(StatusCode, String),
    /// No body.
    Empty(StatusCode),
    /// An already-built response (streams).
    Raw(http::Response<ApiBody>),
}

/// An API error: `{"code": <status>, "message": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    /// 409 Conflict.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    /// 500 Internal Server Error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    /// 503 Service Unavailable (the store failed).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl From<eg_store::StoreError> for ApiError {
    fn from(e: eg_store::StoreError) -> Self {
        ApiError::unavailable(e.to_string())
    }
}

impl From<eg_spec::SpecError> for ApiError {
    fn from(e: eg_spec::SpecError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

/// Result of a handler.
pub type ApiResult = Result<Reply, ApiError>;

/// Shorthand for a 200 JSON answer.
pub fn ok(v: Value) -> ApiResult {
    Ok(Reply::Json(StatusCode::OK, v))
}

fn full(bytes: impl Into<Bytes>) -> ApiBody {
    Full::new(bytes.into()).boxed()
}

/// Encodes a reply; `yaml` when the client's `Accept` contains `yaml`.
pub fn encode(reply: Result<Reply, ApiError>, yaml: bool) -> http::Response<ApiBody> {
    let (status, ctype, body) = match reply {
        Ok(Reply::Raw(resp)) => return resp,
        Ok(Reply::Empty(status)) => (status, None, Bytes::new()),
        Ok(Reply::Text(status, text)) => {
            (status, Some("text/plain; charset=utf-8"), Bytes::from(text))
        }
        Ok(Reply::Json(status, v)) => encode_value(status, &v, yaml),
        Err(e) => {
            let v = json!({"code": e.status.as_u16(), "message": e.message});
            encode_value(e.status, &v, yaml)
        }
    };
    let mut resp = http::Response::new(full(body));
    *resp.status_mut() = status;
    if let Some(ct) = ctype {
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    resp
}

fn encode_value(
    status: StatusCode,
    v: &Value,
    yaml: bool,
) -> (StatusCode, Option<&'static str>, Bytes) {
    if yaml {
        (
            status,
            Some("text/x-yaml"),
            Bytes::from(eg_spec::to_yaml(v)),
        )
    } else {
        let body = serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
        (status, Some("application/json"), Bytes::from(body))
    }
}
