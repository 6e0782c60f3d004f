//! The `FileServer` filter: static files from a directory, as Easegress v2.10's
//! `FileServer`, with NGINX's static module as the model where Easegress says nothing.
//!
//! A `GET` or `HEAD` request's path is percent-decoded and normalised (a `..` that climbs
//! above the root is a 400), rewritten by `rewrite`, tried through `tryFiles`, completed
//! with an `index` file when it ends in `/`, and looked up under `root`; a precompressed
//! sibling (`.gz`, `.br`) the client accepts comes first. The file must be a regular file
//! whose real location (symbolic links resolved) is under the root's, and must not match
//! `hidden` (403). Files up to `cache.bufferPoolMaxFileSize` are answered from an
//! in-memory LRU pool (dropped when the file's size or time changes); larger ones stream
//! from disk. Answers carry `ETag`, `Last-Modified`, `Accept-Ranges`, honour
//! `If-None-Match`/`If-Modified-Since` (304) and a single `Range` (206/416). All file
//! access runs on blocking threads.
//!
//! The answer is the response of the active namespace: the file with result `""`, or an
//! error status with a short text body and `clientError` (bad path 400, hidden 403, not
//! found 404, the `tryFiles` `=code`, method 405), `notFound` (the file went away while
//! being read) or `internalError`.

mod body;
mod cache;
mod glob;
mod metrics;
mod mime;
mod resolve;
mod serve;
pub mod spec;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use eg_protocols::{Body, Context, HttpResponse};
use eg_spec::SpecError;
use http::header::{ACCEPT_ENCODING, ALLOW, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

use self::body::FileBody;
use self::cache::BufferPool;
use self::resolve::Failure;
use self::serve::{Conditions, Payload, Reply};
pub use self::spec::{CacheSpec, Config, ExtensionFilter, FileServerSpec, Precompressed};

/// The kind name.
pub const KIND_NAME: &str = "FileServer";
/// Returned when something failed inside the filter.
pub const RESULT_INTERNAL_ERROR: &str = "internalError";
/// Registered as in Easegress; not returned.
pub const RESULT_SERVER_ERROR: &str = "serverError";
/// Returned for a refused request: bad path, hidden file, no file, method.
pub const RESULT_CLIENT_ERROR: &str = "clientError";
/// Returned when the file found could not be read.
pub const RESULT_NOT_FOUND: &str = "notFound";
/// The methods served (`Allow` of a 405).
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// The `FileServer` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "FileServer do the file server.",
    &[
        RESULT_INTERNAL_ERROR,
        RESULT_SERVER_ERROR,
        RESULT_CLIENT_ERROR,
        RESULT_NOT_FOUND,
    ],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<FileServerSpec>)
.with_check(check);

fn default_spec() -> Value {
    json!({"index": spec::DEFAULT_INDEX})
}

/// The admin API's check: the spec's rules, without registering metrics.
fn check(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Vec<String>, SpecError> {
    let (s, warnings) = decode_filter_spec::<FileServerSpec>(spec)?.into_parts();
    Config::compile(&s, &spec.path)?;
    Ok(warnings)
}

fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<FileServerSpec>(spec)?.into_parts();
    let cfg = Config::compile(&s, &spec.path)?;
    let pool = BufferPool::new(cfg.pool_size, cfg.ttl)
        .with_metrics(metrics::PoolMetrics::new(ctx.metrics));
    Ok(Built::new(
        FileServer {
            cfg: Arc::new(cfg),
            pool: Arc::new(pool),
        },
        warnings,
    ))
}

/// The running filter.
pub struct FileServer {
    cfg: Arc<Config>,
    pool: Arc<BufferPool>,
}

/// Why a request got no file.
enum Refusal {
    Path(Failure),
    Io(std::io::Error),
}

/// A response with `status` and a text `message`.
fn text(status: StatusCode, message: &str) -> HttpResponse {
    let mut resp = HttpResponse::with_body(status, message.to_string());
    resp.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The content codings of `Accept-Encoding`, lower case: those with a non-zero quality
/// and those refused with `q=0` (which `*` does not bring back).
#[derive(Debug, Default)]
struct Codings {
    accepted: Vec<String>,
    refused: Vec<String>,
}

impl Codings {
    fn parse(headers: &HeaderMap) -> Codings {
        let mut out = Codings::default();
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(v) = value.to_str() else { continue };
            for item in v.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let zero = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                if coding.is_empty() {
                    continue;
                }
                if zero {
                    out.refused.push(coding);
                } else {
                    out.accepted.push(coding);
                }
            }
        }
        out
    }

    /// Whether `coding` (lower case) is acceptable: named, or covered by `*`, and not
    /// refused by name.
    fn accepts(&self, coding: &str) -> bool {
        !self.refused.iter().any(|r| r == coding)
            && self.accepted.iter().any(|a| a == coding || a == "*")
    }
}

fn header(headers: &HeaderMap, name: http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl FileServer {
    /// Finds the file and builds its answer (blocking).
    fn answer(
        cfg: &Config,
        pool: &BufferPool,
        raw_path: &str,
        accepted: &[Precompressed],
        c: &Conditions,
    ) -> Result<Reply, Refusal> {
        let found = resolve::resolve(cfg, raw_path, accepted).map_err(Refusal::Path)?;
        serve::serve(cfg, pool, &found, c).map_err(Refusal::Io)
    }
}

/// The response and result for a refusal.
fn refusal(r: Refusal) -> (HttpResponse, &'static str) {
    match r {
        Refusal::Path(Failure::BadRequest) => (
            text(StatusCode::BAD_REQUEST, "bad request"),
            RESULT_CLIENT_ERROR,
        ),
        Refusal::Path(Failure::NotFound) => (
            text(StatusCode::NOT_FOUND, "file not found"),
            RESULT_CLIENT_ERROR,
        ),
        Refusal::Path(Failure::Hidden) => (
            text(StatusCode::FORBIDDEN, "access denied"),
            RESULT_CLIENT_ERROR,
        ),
        Refusal::Path(Failure::Try(e)) => {
            let resp = if matches!(e.status.as_u16(), 204 | 304) {
                // Statuses that carry no body.
                HttpResponse::new(e.status)
            } else {
                text(e.status, &e.message)
            };
            (resp, RESULT_CLIENT_ERROR)
        }
        Refusal::Io(e) => {
            tracing::debug!(error = %e, "file found but not readable");
            (
                text(StatusCode::NOT_FOUND, "file not found"),
                RESULT_NOT_FOUND,
            )
        }
    }
}

impl Filter for FileServer {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request() else {
            ctx.set_response(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error",
            ));
            return Handled::Done(RESULT_INTERNAL_ERROR);
        };
        let head = match *req.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ => {
                let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
                resp.headers
                    .insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
                ctx.set_response(resp);
                return Handled::Done(RESULT_CLIENT_ERROR);
            }
        };
        let headers = req.headers();
        let codings = Codings::parse(headers);
        let accepts = |c: &str| codings.accepts(c);
        let accepted: Vec<Precompressed> = self
            .cfg
            .precompressed
            .iter()
            .copied()
            .filter(|p| accepts(p.encoding))
            .collect();
        let conditions = Conditions {
            head,
            if_none_match: header(headers, http::header::IF_NONE_MATCH),
            if_modified_since: header(headers, http::header::IF_MODIFIED_SINCE),
            range: header(headers, http::header::RANGE),
            if_range: header(headers, http::header::IF_RANGE),
            accepts_gzip: accepts(eg_protocols::gzip::GZIP),
        };
        let raw_path = req.path().to_string();
        let (cfg, pool) = (self.cfg.clone(), self.pool.clone());
        Handled::Pending(Box::pin(async move {
            let job = tokio::task::spawn_blocking(move || {
                FileServer::answer(&cfg, &pool, &raw_path, &accepted, &conditions)
            });
            let reply = match job.await {
                Ok(Ok(reply)) => reply,
                Ok(Err(r)) => {
                    let (resp, result) = refusal(r);
                    ctx.set_response(resp);
                    return result;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "file lookup task failed");
                    ctx.set_response(text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal server error",
                    ));
                    return RESULT_INTERNAL_ERROR;
                }
            };
            let body = match reply.payload {
                Payload::Empty => Body::Empty,
                Payload::Bytes(b) => Body::full(b),
                Payload::File { file, len, gzip } => {
                    let body = FileBody::new(file, len).into_body();
                    if gzip {
                        eg_protocols::gzip::gzip_stream(body)
                    } else {
                        body
                    }
                }
            };
            ctx.set_response(HttpResponse {
                status: reply.status,
                headers: reply.headers,
                body,
            });
            crate::RESULT_OK
        }))
    }

    fn status(&self) -> Value {
        json!({"bufferPool": self.pool.status()})
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
impl FileServer {
    /// The compiled spec of a built `FileServer`.
    fn cfg_of(f: &dyn Filter) -> Arc<Config> {
        f.as_any()
            .downcast_ref::<FileServer>()
            .map(|f| f.cfg.clone())
            .unwrap_or_else(|| panic!("not a FileServer"))
    }
}
