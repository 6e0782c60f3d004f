//! Sending the request of the active namespace to its own absolute URL, as Easegress's
//! `SimpleHTTPProxy` does: the URL a `RequestBuilder` built, or the absolute-form target of
//! a forward-proxy request (`GET http://host/path HTTP/1.1`).
//!
//! Hop-by-hop headers (`Connection`, `Proxy-Connection`, `Proxy-Authorization`, ...) are
//! not forwarded either way, `Host` is the URL's authority, bodies are streamed. A target
//! that cannot be reached, the `timeout` passing and a response body over
//! `serverMaxBodySize` answer 503 `serverError` (Easegress returns `serverError` without a
//! response, which its HTTPServer answers 503); the client going away answers 499
//! `clientError`. Only unreachable targets are retried, and only when the request body can
//! be sent again (not streamed).

use eg_protocols::{fix_framing, Body, Context, HttpResponse, MessageKind};
use eg_upstream::connections::{classify, SendFailure, UpstreamError};
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Method, Request, StatusCode, Uri, Version};

use super::{SimpleHttpProxy, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR};
use crate::proxy::answer::{read_answer, AnswerError};
use crate::proxy::compression::Compression;
use crate::proxy::exchange::is_idempotent;
use crate::proxy::failure::{failure_of, Failure};
use crate::proxy::forward::{remove_hop_by_hop, set_response, Answer};
use crate::proxy::RESULT_CLIENT_ERROR;
use crate::resilience::Attempts;

/// Where a request goes: its URL split for the connection pools.
struct Target {
    scheme: Scheme,
    authority: Authority,
    path_and_query: PathAndQuery,
}

impl Target {
    /// The target of a request URI; `None` unless it is an absolute `http`/`https` URL.
    fn of(uri: &Uri) -> Option<Target> {
        let scheme = uri.scheme()?.clone();
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return None;
        }
        let authority = uri.authority()?.clone();
        let path_and_query = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Some(Target {
            scheme,
            authority,
            path_and_query,
        })
    }
}

impl SimpleHttpProxy {
    /// Sends the request of the active namespace to its URL and sets the response.
    pub(super) async fn forward(&self, ctx: &mut Context) -> &'static str {
        let Some(req) = ctx.request_mut() else {
            return self.fail(ctx, Failure(500, RESULT_INTERNAL_ERROR));
        };
        let (mut tries, req_size) = Attempts::take(req, self.retry.as_ref());
        let outcome = loop {
            let body = tries.next_body();
            let r = self.attempt(ctx, body, tries.replay().is_some()).await;
            // Only failures to reach the target are retried, as Easegress's retry wraps
            // the client call and nothing else.
            let retry = matches!(&r, Err(f) if f.1 == RESULT_SERVER_ERROR);
            if !tries.again(retry).await {
                break r;
            }
        };
        match outcome {
            Ok((answer, resp_size)) => {
                self.stats.record(false, req_size, resp_size);
                set_response(ctx, answer);
                super::RESULT_OK
            }
            Err(f) => {
                self.stats.record(true, req_size, 0);
                self.fail(ctx, f)
            }
        }
    }

    /// One attempt, bounded by `timeout`.
    async fn attempt(
        &self,
        ctx: &mut Context,
        body: Body,
        replayable: bool,
    ) -> Result<(Answer, u64), Failure> {
        let work = self.exchange(ctx, body, replayable);
        match self.timeout {
            Some(t) => match tokio::time::timeout(t, work).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::debug!(filter = %self.name, timeout = ?t, "upstream request timed out");
                    Err(Failure(503, RESULT_SERVER_ERROR))
                }
            },
            None => work.await,
        }
    }

    /// Sends one request and reads the answer.
    ///
    /// Only `&mut Context` is held across awaits, so the future stays `Send`.
    async fn exchange(
        &self,
        ctx: &mut Context,
        body: Body,
        replayable: bool,
    ) -> Result<(Answer, u64), Failure> {
        let (target, upstream, to_head, gzip_ok) = {
            let Some(req) = ctx.request() else {
                return Err(Failure(500, RESULT_INTERNAL_ERROR));
            };
            let Some(target) = Target::of(req.uri()) else {
                tracing::debug!(filter = %self.name, uri = %req.uri(), "the request URL is not an absolute http or https URL");
                return Err(Failure(503, RESULT_SERVER_ERROR));
            };
            let gzip_ok = self
                .compression
                .is_some_and(|_| Compression::client_accepts(req.method(), req.headers()));
            let upstream = upstream_request(&target, req, body)?;
            (target, upstream, req.method() == Method::HEAD, gzip_ok)
        };
        let gzip = if gzip_ok { self.compression } else { None };
        let idempotent = is_idempotent(upstream.method());
        let sent = if target.scheme == Scheme::HTTP {
            let hp = self.hosts.get(&self.client, &target.authority);
            hp.send(upstream, self.max_body.is_some())
                .await
                .map_err(UpstreamError::Fast)
        } else {
            self.client
                .pooled
                .request(upstream)
                .await
                .map(|r| r.map(Body::Incoming))
                .map_err(UpstreamError::Generic)
        };
        let resp = match sent {
            Ok(r) => r,
            Err(e) => match e.failure() {
                // A pooled connection the target closed meanwhile: once more on a new one.
                SendFailure::StaleConnection if replayable && idempotent => {
                    let again = {
                        let Some(req) = ctx.request() else {
                            return Err(Failure(500, RESULT_INTERNAL_ERROR));
                        };
                        let replay = match &req.body {
                            Body::Full(b) => Body::Full(b.clone()),
                            _ => Body::Empty,
                        };
                        upstream_request(&target, req, replay)?
                    };
                    let r = self.client.fresh.request(again).await.map_err(|e| {
                        tracing::debug!(filter = %self.name, error = ?e, "upstream request failed");
                        failure_of(classify(&e))
                    })?;
                    r.map(Body::Incoming)
                }
                f => {
                    tracing::debug!(filter = %self.name, error = ?e.as_error(), "upstream request failed");
                    return Err(failure_of(f));
                }
            },
        };
        // Upgrade is never forwarded, so a 101 answers a request that did not ask for one.
        if resp.status().is_informational() {
            return Err(Failure(502, RESULT_SERVER_ERROR));
        }
        read_answer(resp, self.max_body, to_head, gzip)
            .await
            .map_err(|e| {
                match e {
                    AnswerError::TooLarge { limit } => tracing::warn!(
                        filter = %self.name,
                        limit,
                        "response body larger than serverMaxBodySize; set it to -1 to stream"
                    ),
                    AnswerError::Io(e) => {
                        tracing::debug!(filter = %self.name, error = %e, "response body read failed")
                    }
                }
                Failure(503, RESULT_SERVER_ERROR)
            })
    }

    /// Sets the failure status on the response (creating one if needed).
    pub(super) fn fail(&self, ctx: &mut Context, f: Failure) -> &'static str {
        let status = StatusCode::from_u16(f.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match ctx.response_mut() {
            Some(r) => r.status = status,
            None => ctx.set_response(HttpResponse::new(status)),
        }
        if f.1 == RESULT_CLIENT_ERROR {
            ctx.add_tag("client gone");
        }
        f.1
    }
}

/// The request sent to `target`: origin-form for a plain-HTTP keep-alive connection,
/// absolute for the `https` client; `Host` the URL's authority; framing for the body sent;
/// no hop-by-hop headers.
fn upstream_request(
    target: &Target,
    req: &eg_protocols::HttpRequest,
    body: Body,
) -> Result<Request<Body>, Failure> {
    let uri = if target.scheme == Scheme::HTTP {
        Uri::from(target.path_and_query.clone())
    } else {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(target.scheme.clone());
        parts.authority = Some(target.authority.clone());
        parts.path_and_query = Some(target.path_and_query.clone());
        Uri::from_parts(parts).map_err(|_| Failure(500, RESULT_INTERNAL_ERROR))?
    };
    let mut headers = req.headers().clone();
    fix_framing(&mut headers, MessageKind::Request, body.known_len());
    remove_hop_by_hop(&mut headers);
    let host = HeaderValue::from_str(target.authority.as_str())
        .map_err(|_| Failure(500, RESULT_INTERNAL_ERROR))?;
    headers.insert(HOST, host);
    let mut out = Request::new(body);
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = uri;
    *out.version_mut() = Version::HTTP_11;
    *out.headers_mut() = headers;
    Ok(out)
}
