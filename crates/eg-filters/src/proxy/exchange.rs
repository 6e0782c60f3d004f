//! One upstream exchange: a server chosen, the request sent (over the server's keep-alive
//! connections, or the generic client for `https`), a stale pooled connection retried once
//! for a replayable idempotent request, and the answer read: buffered up to
//! `serverMaxBodySize` (or streamed), framed, stripped of hop-by-hop headers and gzipped
//! when `compression` asks for it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eg_protocols::{fix_framing, Body, Context, MessageKind};
use eg_tracing::ChildSpan;
use eg_upstream::connections::{certificate_error, classify, HostPool, SendFailure, UpstreamError};
use eg_upstream::server::Server;
use http::Method;

use super::answer::{compress, read_answer, AnswerError};
use super::compression::Compression;
use super::failure::{failure_of, internal, Failure, STATUS_CLIENT_CLOSED_REQUEST};
use super::forward::{upstream_request, Answer, ForwardHead};
use super::pool::Pool;
use super::{RESULT_CLIENT_ERROR, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR, RESULT_TIMEOUT};

/// At most one warning per server in this period about its TLS certificate.
const TLS_WARN_EVERY: Duration = Duration::from_secs(10);

/// The request an exchange sends.
enum Outbound<'a> {
    /// Written by one of the server's own connections straight from the client's request.
    Direct(&'a Arc<HostPool>, ForwardHead<'a>, Body),
    /// Built for the server's connections, or for the generic client.
    Built(http::Request<Body>),
}

impl Pool {
    /// One upstream attempt, bounded by the pool `timeout`.
    ///
    /// Only `&mut Context` is held across awaits (shared borrows of the request are kept
    /// inside blocks), so the future stays `Send` while bodies are not `Sync`.
    pub(super) async fn attempt(
        &self,
        ctx: &mut Context,
        body: Body,
        replay: Option<Bytes>,
        compression: Option<Compression>,
    ) -> Result<(Answer, u64), Failure> {
        let span = match (&ctx.trace, ctx.request()) {
            (Some(t), Some(r)) => Some(t.child(&self.span_name, r.method())),
            _ => None,
        };
        let r = self
            .timed_exchange(ctx, body, replay, compression, span.as_ref())
            .await;
        if let Some(s) = span {
            match &r {
                Ok((a, _)) => s.end(Some(a.status.as_u16()), ""),
                Err(f) => s.end(None, f.1),
            }
        }
        r
    }

    async fn timed_exchange(
        &self,
        ctx: &mut Context,
        body: Body,
        replay: Option<Bytes>,
        compression: Option<Compression>,
        span: Option<&ChildSpan>,
    ) -> Result<(Answer, u64), Failure> {
        let work = self.exchange(ctx, body, replay, compression, span);
        match self.timeout {
            Some(t) => match tokio::time::timeout(t, work).await {
                Ok(r) => r,
                Err(_) => Err(Failure(408, RESULT_TIMEOUT)),
            },
            None => work.await,
        }
    }

    async fn exchange(
        &self,
        ctx: &mut Context,
        body: Body,
        replay: Option<Bytes>,
        compression: Option<Compression>,
        span: Option<&ChildSpan>,
    ) -> Result<(Answer, u64), Failure> {
        let (server_idx, server, outbound, idempotent, to_head, gzip_ok) = {
            let real_ip = ctx.real_ip;
            let Some(req) = ctx.request() else {
                return Err(Failure(500, RESULT_INTERNAL_ERROR));
            };
            let Some(server_idx) = self.choose_index(req, real_ip) else {
                tracing::debug!(pool = %self.name, "no available server");
                return Err(Failure(503, RESULT_INTERNAL_ERROR));
            };
            let server = &self.servers[server_idx];
            let gzip_ok = compression
                .is_some_and(|_| Compression::client_accepts(req.method(), req.headers()));
            // Written straight from the client's request when the server's own connections
            // take it whole and it needs no edit but its `Host`; built otherwise.
            let direct = match (&server.fast, span, body.known_len()) {
                (Some(hp), None, Some(len)) if HostPool::sends_whole(&body) => {
                    ForwardHead::new(server, req, len, self.set_upstream_host)
                        .map(|head| (hp, head))
                }
                _ => None,
            };
            let outbound = match direct {
                Some((hp, head)) => Outbound::Direct(hp, head, body),
                None => {
                    let mut upstream = upstream_request(
                        server,
                        req,
                        body,
                        server.fast.is_some(),
                        self.set_upstream_host,
                    )
                    .map_err(internal)?;
                    if let Some(s) = span {
                        s.upstream(&server.url, upstream.headers_mut());
                    }
                    Outbound::Built(upstream)
                }
            };
            let to_head = req.method() == Method::HEAD;
            (
                server_idx,
                server,
                outbound,
                is_idempotent(req.method()),
                to_head,
                gzip_ok,
            )
        };
        let redirect_body = if self.max_redirection > 0 {
            replay.clone()
        } else {
            None
        };
        let read_whole = self.max_body.is_some();
        let sent = match (outbound, &server.fast) {
            (Outbound::Direct(hp, head, body), _) => hp
                .send_head(&head, body, read_whole)
                .await
                .map_err(UpstreamError::Fast),
            (Outbound::Built(upstream), Some(hp)) => hp
                .send(upstream, read_whole)
                .await
                .map_err(UpstreamError::Fast),
            (Outbound::Built(upstream), None) => self
                .client
                .pooled
                .request(upstream)
                .await
                .map(|r| r.map(Body::Incoming))
                .map_err(UpstreamError::Generic),
        };
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => match e.failure() {
                SendFailure::ClientGone => {
                    return Err(Failure(STATUS_CLIENT_CLOSED_REQUEST, RESULT_CLIENT_ERROR))
                }
                SendFailure::StaleConnection if replay.is_some() && idempotent => {
                    let again = {
                        let Some(req) = ctx.request() else {
                            return Err(Failure(500, RESULT_INTERNAL_ERROR));
                        };
                        let b = replay.map(Body::full).unwrap_or_default();
                        let mut again =
                            upstream_request(server, req, b, false, self.set_upstream_host)
                                .map_err(internal)?;
                        if let Some(s) = span {
                            s.upstream(&server.url, again.headers_mut());
                        }
                        again
                    };
                    let r = self.client.fresh.request(again).await.map_err(|e| {
                        self.log_failure(server, &e);
                        failure_of(classify(&e))
                    })?;
                    r.map(Body::Incoming)
                }
                f => {
                    self.log_failure(server, e.as_error());
                    return Err(failure_of(f));
                }
            },
        };
        if self.max_redirection > 0 && is_redirect(resp.status()) {
            // Boxed: a rare path whose future would otherwise enlarge every exchange's. (The
            // connection of an answer left unread is closed with its body.) Replaced in
            // place: the usual answer is not moved for it.
            resp = Box::pin(self.follow_redirects(ctx, server, resp, redirect_body)).await?;
        }
        // Upgrade is never forwarded, so a 101 answers a request that did not ask for one
        // (hyper hands on no other 1xx): passing it on would leave the client with a
        // connection in an unknown protocol. Its connection is not reused.
        if resp.status().is_informational() {
            tracing::debug!(
                pool = %self.name,
                server = %server.url,
                status = resp.status().as_u16(),
                "upstream answered with an informational status to a request that did not ask for it"
            );
            return Err(Failure(502, RESULT_SERVER_ERROR));
        }
        let gzip = if gzip_ok { compression } else { None };
        // With a cache, the answer is stored as the upstream sent it and gzipped after.
        let read_gzip = if self.cache.is_some() { None } else { gzip };
        let mut answer = read_answer(resp, self.max_body, to_head, read_gzip)
            .await
            .map_err(|e| {
                match e {
                    AnswerError::TooLarge { limit } => tracing::warn!(
                        pool = %self.name,
                        limit,
                        "response body larger than serverMaxBodySize; set it to -1 to stream"
                    ),
                    AnswerError::Io(e) => {
                        tracing::debug!(pool = %self.name, error = %e, "response body read failed")
                    }
                }
                Failure(500, RESULT_INTERNAL_ERROR)
            })?;
        if let Some(cache) = &self.cache {
            if let Some(req) = ctx.request() {
                cache.store(req, &answer.0);
            }
            if let Some(c) = gzip {
                compress(&mut answer.0, c).map_err(|_| Failure(500, RESULT_INTERNAL_ERROR))?;
                answer.1 = answer.0.body.known_len().unwrap_or(0);
            }
        }
        self.return_server(server_idx, &mut answer.0.headers);
        Ok(answer)
    }

    /// Follows the upstream's redirects as Go's `http.Client` does for Easegress with
    /// `maxRedirection: N` (`pkg/filters/proxies/httpproxy/proxy.go`, `CheckRedirect`): while
    /// fewer than N requests were sent, a 301/302/303/307/308 with a `Location` is followed
    /// (301/302/303 turn a request other than GET or HEAD into a GET without a body; 307/308
    /// resend method and body, and are the answer when the body was streamed and cannot be
    /// sent again). The request's headers go along, with `Host` and `Referer` set for the new
    /// target, and `Authorization`, `Www-Authenticate`, `Cookie` and `Cookie2` dropped when
    /// the target is neither the first host nor a subdomain of it. A redirect past the limit,
    /// or a `Location` that is no URL, fails like an unreachable upstream: 503 `serverError`.
    async fn follow_redirects(
        &self,
        ctx: &mut Context,
        server: &Server,
        mut resp: http::Response<Body>,
        mut body: Option<Bytes>,
    ) -> Result<http::Response<Body>, Failure> {
        use http::header::{HeaderName, HOST, LOCATION, REFERER};
        const SENSITIVE: [&str; 4] = ["authorization", "www-authenticate", "cookie", "cookie2"];
        let (mut url, mut method, mut headers, first_host) = {
            let Some(req) = ctx.request() else {
                return Err(Failure(500, RESULT_INTERNAL_ERROR));
            };
            let first =
                upstream_request(server, req, Body::default(), false, self.set_upstream_host)
                    .map_err(internal)?;
            let host = first.uri().host().unwrap_or_default().to_ascii_lowercase();
            (
                first.uri().clone(),
                req.method().clone(),
                first.headers().clone(),
                host,
            )
        };
        let mut sent = 1u32;
        while is_redirect(resp.status()) {
            let status = resp.status().as_u16();
            let Some(location) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                break;
            };
            let keep_method = matches!(status, 307 | 308);
            if keep_method && body.is_none() {
                break;
            }
            let Some(next) = resolve(&url, location) else {
                tracing::debug!(pool = %self.name, location, "redirect to something that is no URL");
                return Err(Failure(503, RESULT_SERVER_ERROR));
            };
            if sent >= self.max_redirection {
                tracing::debug!(pool = %self.name, sent, "stopped after maxRedirection requests");
                return Err(Failure(503, RESULT_SERVER_ERROR));
            }
            if !keep_method && method != Method::GET && method != Method::HEAD {
                method = Method::GET;
                body = Some(Bytes::new());
            }
            let host = next.host().unwrap_or_default().to_ascii_lowercase();
            if host != first_host && !host.ends_with(&format!(".{first_host}")) {
                for h in SENSITIVE {
                    headers.remove(HeaderName::from_static(h));
                }
            }
            if let Some(a) = next.authority() {
                if let Ok(v) = http::HeaderValue::from_str(a.as_str()) {
                    headers.insert(HOST, v);
                }
            }
            // The Referer is the previous URL, unless that would reveal an https URL to http.
            if !(url.scheme_str() == Some("https") && next.scheme_str() == Some("http")) {
                if let Ok(v) = http::HeaderValue::from_str(&url.to_string()) {
                    headers.insert(REFERER, v);
                }
            }
            let b = body.clone().map(Body::full).unwrap_or_default();
            let mut h = headers.clone();
            fix_framing(&mut h, MessageKind::Request, b.known_len());
            let mut req = http::Request::new(b);
            *req.method_mut() = method.clone();
            *req.uri_mut() = next.clone();
            *req.headers_mut() = h;
            resp = self
                .client
                .pooled
                .request(req)
                .await
                .map_err(|e| {
                    self.log_failure(server, &e);
                    failure_of(classify(&e))
                })?
                .map(Body::Incoming);
            sent += 1;
            url = next;
        }
        Ok(resp)
    }

    /// Logs a failed upstream call: at debug, and at warn (paced per server) when the
    /// server's certificate failed verification, since that is a configuration problem.
    fn log_failure(&self, server: &Server, e: &(dyn std::error::Error + 'static)) {
        if let Some(cert) = certificate_error(e) {
            let now = std::time::Instant::now();
            if let Some(suppressed) = server.tls_warnings.allow(now, TLS_WARN_EVERY) {
                tracing::warn!(
                    pool = %self.name,
                    server = %server.url,
                    error = %cert,
                    suppressed,
                    "upstream TLS certificate verification failed"
                );
            }
        }
        tracing::debug!(pool = %self.name, server = %server.url, error = ?e, "upstream request failed");
    }
}

fn is_redirect(status: http::StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `location` resolved against `base` (an absolute `http`/`https` URL, a path, or a
/// scheme-relative `//host/path`); `None` when it is none of these.
fn resolve(base: &http::Uri, location: &str) -> Option<http::Uri> {
    let uri: http::Uri = location.parse().ok()?;
    if let Some(scheme) = uri.scheme_str() {
        return matches!(scheme, "http" | "https")
            .then_some(uri)
            .filter(|u| u.authority().is_some());
    }
    let scheme = base.scheme_str()?;
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}").parse().ok();
    }
    let authority = base.authority()?;
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        // Relative to the directory of the base path.
        let base_path = base.path();
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        format!("{}{location}", if dir.is_empty() { "/" } else { dir })
    };
    format!("{scheme}://{authority}{path}").parse().ok()
}

/// Whether a request with method `m` may be sent again after a connection failed.
pub(crate) fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}
