//! The `RemoteFilter` filter: lets a remote HTTP service inspect and change the request and
//! the response.
//!
//! The filter POSTs a JSON document of the active namespace's request and response (the
//! protocol of Easegress, see [`protocol`]) to `url` and applies what the service answers
//! with: the request's method, path, query, headers (replaced) and body; the response's
//! status, headers (added) and body. When the namespace has no response yet, an empty `200`
//! one is created first, as Easegress does. A 205 answer applies the document and returns
//! `responseAlready` (typically `jumpIf: {responseAlready: END}`). Any failure — a body over
//! 64 KiB, the service unreachable, slower than `timeout`, answering a status of 300 or more
//! or a document that does not decode or is over 192 KiB — sets the response status to 503
//! and returns `failed`, with nothing applied.

pub mod protocol;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eg_protocols::{Body, Context, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use eg_upstream::connections::{shared_client, ClientSettings, UpstreamClient};
use http::{StatusCode, Uri};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

/// The kind name.
pub const KIND_NAME: &str = "RemoteFilter";
/// Returned when the remote call fails; the response status is 503.
pub const RESULT_FAILED: &str = "failed";
/// Returned when the service answered 205: it has made the response.
pub const RESULT_RESPONSE_ALREADY: &str = "responseAlready";
/// The most body bytes sent to the service, per body.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;
/// The largest document accepted back.
pub const MAX_CONTEXT_BYTES: u64 = 3 * MAX_BODY_BYTES;

/// The `RemoteFilter` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "RemoteFilter invokes remote apis.",
    &[RESULT_FAILED, RESULT_RESPONSE_ALREADY],
    default_spec,
    build,
)
.with_check(check)
.with_schema(crate::spec_schema::<RemoteFilterSpec>);

/// `RemoteFilter` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoteFilterSpec {
    /// The service's URL, `http://` or `https://` (certificates are not verified, as in
    /// Easegress). Required.
    #[serde(default)]
    pub url: String,
    /// How long the whole call may take. Empty or 0: no limit.
    #[serde(default, deserialize_with = "eg_upstream::spec::opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub timeout: Option<Duration>,
}

fn default_spec() -> Value {
    json!({})
}

/// The running filter.
pub struct RemoteFilter {
    url: Uri,
    timeout: Option<Duration>,
    client: Arc<UpstreamClient>,
}

/// The client settings: no certificate checks, Easegress's idle limits.
fn settings() -> ClientSettings {
    ClientSettings {
        insecure: true,
        mtls: None,
        max_idle_per_host: 512,
        max_idle: 10240,
    }
}

fn check_url(s: &RemoteFilterSpec, path: &str) -> Result<Uri, SpecError> {
    let at = join_path(path, "url");
    if s.url.is_empty() {
        return Err(SpecError::new(at, "required"));
    }
    let url: Uri = s
        .url
        .parse()
        .map_err(|e| SpecError::new(&at, format!("invalid URL {:?}: {e}", s.url)))?;
    if !matches!(url.scheme_str(), Some("http" | "https")) || url.authority().is_none() {
        return Err(SpecError::new(
            at,
            format!("{:?} is not an http:// or https:// URL", s.url),
        ));
    }
    Ok(url)
}

fn check(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Vec<String>, SpecError> {
    let (s, warnings) = decode_filter_spec::<RemoteFilterSpec>(spec)?.into_parts();
    check_url(&s, &spec.path)?;
    Ok(warnings)
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<RemoteFilterSpec>(spec)?.into_parts();
    let url = check_url(&s, &spec.path)?;
    let client = shared_client(&settings()).map_err(|e| SpecError::new(&spec.path, e))?;
    Ok(Built::new(
        RemoteFilter {
            url,
            timeout: s.timeout.filter(|d| !d.is_zero()),
            client,
        },
        warnings,
    ))
}

/// Why a call failed (for the access-log tag).
struct CallError(String);

impl RemoteFilter {
    /// POSTs `doc` and reads the answer: `(status, body)`.
    async fn call(&self, doc: Vec<u8>) -> Result<(StatusCode, Bytes), CallError> {
        let req = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::full(doc))
            .map_err(|e| CallError(format!("build request: {e}")))?;
        let exchange = async {
            let resp = self
                .client
                .pooled
                .request(req)
                .await
                .map_err(|e| CallError(format!("do request: {e}")))?;
            let status = resp.status();
            if status.as_u16() >= 300 {
                return Err(CallError(format!(
                    "not 2xx status code: {}",
                    status.as_u16()
                )));
            }
            let mut body = resp.into_body();
            let mut buf = bytes::BytesMut::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| CallError(format!("read remote body: {e}")))?;
                if let Ok(data) = frame.into_data() {
                    if (buf.len() + data.len()) as u64 > MAX_CONTEXT_BYTES {
                        return Err(CallError(format!(
                            "read remote body: larger than {MAX_CONTEXT_BYTES}B"
                        )));
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Ok((status, buf.freeze()))
        };
        match self.timeout {
            Some(t) => tokio::time::timeout(t, exchange)
                .await
                .map_err(|_| CallError(format!("do request: timed out after {t:?}")))?,
            None => exchange.await,
        }
    }

    async fn run(&self, ctx: &mut Context) -> Result<&'static str, CallError> {
        let doc = protocol::encode(ctx).await?;
        let (status, answer) = self.call(doc).await?;
        let changes = protocol::decode(&answer)?;
        protocol::apply(ctx, changes)?;
        Ok(if status == StatusCode::RESET_CONTENT {
            RESULT_RESPONSE_ALREADY
        } else {
            ""
        })
    }
}

impl Filter for RemoteFilter {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        Handled::Pending(Box::pin(async move {
            if ctx.request().is_none() {
                return "";
            }
            if ctx.response().is_none() {
                ctx.set_response(HttpResponse::new(StatusCode::OK));
            }
            match self.run(ctx).await {
                Ok(result) => result,
                Err(CallError(why)) => {
                    tracing::debug!(url = %self.url, %why, "RemoteFilter call failed");
                    if let Some(resp) = ctx.response_mut() {
                        resp.status = StatusCode::SERVICE_UNAVAILABLE;
                    }
                    ctx.add_tag(format!("remoteFilterErr: {why}"));
                    RESULT_FAILED
                }
            }
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl From<String> for CallError {
    fn from(s: String) -> CallError {
        CallError(s)
    }
}
