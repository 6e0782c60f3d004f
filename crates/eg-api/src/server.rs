//! The admin API listener: HTTP or HTTPS, basic auth, CORS, prefixes, and the dashboard
//! below `/dashboard/` behind the same checks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::access::Refusal;
use crate::api::{Api, ApiConfig};
use crate::conn::{
    verdict, Activity, Backoff, LogLimiter, Timeouts, Tracked, TrackedBody, Verdict,
};
use crate::reply::{encode, ApiBody, ApiError};
use crate::routes::dispatch;
use crate::{API_PREFIX, API_PREFIX_V1, MAX_BODY_BYTES};

/// Realm of the basic-auth challenge, as Easegress sends it.
const AUTH_REALM: &str = "Basic realm=\"easegress-basic-auth\"";
/// After the API stops, how long an idle connection stays open (its answers carrying
/// `Connection: close`), so that a request a client sends on it just then is still answered.
const IDLE_GRACE: Duration = Duration::from_secs(2);
/// After the API stops, how long it waits for its connections to end.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

fn tls_acceptor(cfg: &ApiConfig) -> Result<Option<tokio_rustls::TlsAcceptor>, String> {
    let (Some(cert), Some(key)) = (&cfg.cert_file, &cfg.key_file) else {
        return Ok(None);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cert-file {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cert-file {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("key-file {}: {e}", key.display()))?;
    let provider = eg_tls::provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match &cfg.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("client-ca-file {}: {e}", ca.display()))?
            {
                let c = c.map_err(|e| format!("client-ca-file {}: {e}", ca.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("client-ca-file {}: {e}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| format!("client-ca-file: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("cert-file/key-file: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// Binds the admin API on `api.config.addr` and serves it until `shutdown` turns true.
/// Fails at once when the address cannot be bound or the TLS files are unusable.
pub async fn serve(
    api: Arc<Api>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, String> {
    let tls = tls_acceptor(&api.config)?;
    let listener = listen(&api.config.addr)
        .await
        .map_err(|e| format!("cannot listen on api-addr {}: {e}", api.config.addr))?;
    // Listed for a binary upgrade while the API accepts.
    let registered = eg_handover::sockets::register(&listener)
        .map_err(|e| tracing::warn!(error = %e, "admin API socket not listed for a binary upgrade"))
        .ok();
    let max_connections = api.config.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections));
    tracing::info!(
        addr = %api.config.addr,
        tls = tls.is_some(),
        max_connections = api.config.max_connections,
        "admin API listening"
    );
    Ok(tokio::spawn(async move {
        let mut backoff = Backoff::default();
        let mut accept_warning = LogLimiter::new(Duration::from_secs(1));
        let mut full_warning = LogLimiter::new(Duration::from_secs(60));
        loop {
            // Take a slot first: while all are in use nothing is accepted, and new clients wait
            // in the listen queue instead of holding descriptors.
            let slot = match slots.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    if let Some(held_back) = full_warning.hit(Instant::now()) {
                        tracing::warn!(
                            max_connections = api.config.max_connections,
                            held_back,
                            "admin API connection limit reached; new clients wait for a free slot"
                        );
                    }
                    tokio::select! {
                        p = slots.clone().acquire_owned() => match p {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                        _ = shutdown.changed() => break,
                    }
                }
            };
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => {
                        backoff.succeeded();
                        x
                    }
                    Err(e) => {
                        let pause = backoff.failed();
                        if let Some(held_back) = accept_warning.hit(Instant::now()) {
                            tracing::warn!(
                                error = %e,
                                retry_in_ms = pause.as_millis() as u64,
                                held_back,
                                "admin API accept failed"
                            );
                        }
                        drop(slot);
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => continue,
                            _ = shutdown.changed() => break,
                        }
                    }
                },
                _ = shutdown.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let api = api.clone();
            let tls = tls.clone();
            let stopping = shutdown.clone();
            tokio::spawn(async move {
                serve_connection(api, tls, stream, peer, stopping).await;
                drop(slot);
            });
        }
        // Stopped: no more accepting (a successor process may own the socket now). The
        // connections finish their requests, bounded.
        drop(listener);
        drop(registered);
        let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(DRAIN_TIMEOUT, slots.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("admin API connections still open after the drain timeout");
        }
    }))
}

/// The admin API's listening socket: the one the previous process handed over for this
/// address (a binary upgrade), or a new one.
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let candidates: Vec<SocketAddr> = tokio::net::lookup_host(addr).await?.collect();
    if let Some(inherited) = eg_handover::sockets::take_inherited(&candidates) {
        tracing::info!(%addr, "admin API socket taken over from the previous process");
        return TcpListener::from_std(inherited);
    }
    TcpListener::bind(addr).await
}

/// Serves one accepted connection until it ends or overstays (see [`verdict`]).
async fn serve_connection(
    api: Arc<Api>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stream: TcpStream,
    peer: SocketAddr,
    stopping: watch::Receiver<bool>,
) {
    let accepted = Instant::now();
    let timeouts = Timeouts {
        read_header: api.config.read_header_timeout,
        idle: api.config.idle_timeout,
    };
    let activity = Activity::new(accepted);
    let io = Tracked::new(stream, activity.clone());
    match tls {
        Some(acceptor) => {
            let deadline = tokio::time::Instant::from_std(accepted + timeouts.read_header);
            match tokio::time::timeout_at(deadline, acceptor.accept(io)).await {
                Ok(Ok(s)) => drive(api, s, activity, timeouts, peer, stopping).await,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "admin API TLS handshake failed")
                }
                Err(_) => tracing::debug!(%peer, "admin API TLS handshake timed out"),
            }
        }
        None => drive(api, io, activity, timeouts, peer, stopping).await,
    }
}

/// Runs HTTP on `io`, watched by the connection's clock.
async fn drive<I>(
    api: Arc<Api>,
    io: I,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let act = activity.clone();
    let closing = Arc::new(AtomicBool::new(*stopping.borrow()));
    let close_after = closing.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let api = api.clone();
        let h1 = req.version() != http::Version::HTTP_2;
        let in_flight = act.begin(!h1);
        let closing = close_after.clone();
        async move {
            let mut resp = handle(&api, req).await;
            if h1 && closing.load(Ordering::Acquire) {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            let (parts, body) = resp.into_parts();
            let body: ApiBody = TrackedBody::new(body, in_flight).boxed();
            Ok::<_, std::convert::Infallible>(Response::from_parts(parts, body))
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut grace_over: Option<tokio::time::Instant> = None;
    loop {
        if grace_over.is_some_and(|t| tokio::time::Instant::now() >= t) {
            // Idle ones close now; a request in flight is answered first.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, conn.as_mut()).await;
            return;
        }
        let wait = match verdict(activity.snapshot(), timeouts) {
            Verdict::Keep(d) => d,
            Verdict::HeaderTimeout => {
                tracing::debug!(%peer, "admin API connection closed: no request head in time");
                return;
            }
            Verdict::Idle => {
                tracing::debug!(%peer, "admin API connection closed: idle");
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(1), conn.as_mut()).await;
                return;
            }
        };
        let wait = match grace_over {
            Some(t) => wait.min(t.saturating_duration_since(tokio::time::Instant::now())),
            None => wait,
        };
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "admin API connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep(wait) => {}
            r = stopping.wait_for(|s| *s), if grace_over.is_none() => {
                closing.store(true, Ordering::Release);
                grace_over = Some(tokio::time::Instant::now() + if r.is_ok() { IDLE_GRACE } else { Duration::ZERO });
            }
        }
    }
}

fn authorized(api: &Api, req: &Request<Incoming>) -> bool {
    if api.credentials.is_empty() {
        return true;
    }
    let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    match text.split_once(':') {
        Some((user, pass)) => api.credentials.check(user, pass),
        None => false,
    }
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Answers one admin API request.
pub async fn handle(api: &Api, req: Request<Incoming>) -> Response<ApiBody> {
    let wants_yaml = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("yaml"));
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    let refusal = api.web.check(
        req.method(),
        host.as_deref(),
        origin.as_deref(),
        !api.credentials.is_empty(),
    );
    let mut resp = if let Err(refusal) = refusal {
        let (Refusal::Host(message) | Refusal::CrossOrigin(message)) = refusal;
        encode(
            Err(ApiError::new(StatusCode::FORBIDDEN, message)),
            wants_yaml,
        )
    } else if !authorized(api, &req) {
        let mut r = encode(
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized: basic auth required",
            )),
            wants_yaml,
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(AUTH_REALM),
        );
        r
    } else if req.method() == Method::OPTIONS {
        let mut r = encode(Ok(crate::reply::Reply::Empty(StatusCode::OK)), false);
        if api.web.allow_origin_header(origin.as_deref()).is_some() {
            r.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
            );
            r.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("*"),
            );
        }
        r
    } else if crate::dashboard::owns(req.uri().path()) {
        crate::dashboard::respond(req.method(), req.uri().path(), req.headers())
    } else {
        route(api, req, wants_yaml).await
    };
    let h = resp.headers_mut();
    if let Some(allow) = api.web.allow_origin_header(origin.as_deref()) {
        if allow != "*" {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        if let Ok(v) = HeaderValue::from_str(&allow) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&api.config_version().to_string()) {
        h.insert("X-Config-Version", v);
    }
    resp
}

async fn route(api: &Api, req: Request<Incoming>, yaml: bool) -> Response<ApiBody> {
    let path = req.uri().path().to_string();
    let sub = path
        .strip_prefix(API_PREFIX)
        .or_else(|| path.strip_prefix(API_PREFIX_V1))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let Some(sub) = sub else {
        return encode(
            Err(ApiError::not_found(format!("no such API: {path}"))),
            yaml,
        );
    };
    let sub = sub.trim_end_matches('/').to_string();
    let query = parse_query(req.uri().query());
    let method = req.method().clone();
    let body = match read_body(&api.config, &method, &sub, req.into_body()).await {
        Ok(b) => b,
        Err(e) => return encode(Err(e), yaml),
    };
    let reply = dispatch(api, &method, &sub, &query, body).await;
    if let Err(e) = &reply {
        if e.status.is_server_error() {
            tracing::error!(%method, path = %sub, error = %e.message, "admin API error");
        }
    }
    encode(reply, yaml)
}

/// Whether `method` on `sub` (below the API prefix) writes an object spec.
fn is_object_write(method: &Method, sub: &str) -> bool {
    let segs: Vec<&str> = sub.split('/').filter(|s| !s.is_empty()).collect();
    matches!(
        (method.as_str(), segs.as_slice()),
        ("POST", ["objects"]) | ("PUT", ["objects", _])
    )
}

/// The largest body `method` on `sub` may carry, and how to name that limit.
fn body_limit(cfg: &ApiConfig, method: &Method, sub: &str) -> (usize, &'static str) {
    if is_object_write(method, sub) {
        (
            cfg.max_object_size,
            "an object spec may have (--api-max-object-size)",
        )
    } else {
        (MAX_BODY_BYTES, "a request body may have")
    }
}

fn too_large(limit: usize, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body too large: {limit} bytes is the most {what}"),
    )
}

/// Reads a request body within the size limit of its route and `read_timeout`.
async fn read_body<B>(
    cfg: &ApiConfig,
    method: &Method,
    sub: &str,
    body: B,
) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (limit, what) = body_limit(cfg, method, sub);
    // A declared length over the limit is refused before reading any of it.
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(limit, what));
    }
    match tokio::time::timeout(cfg.read_timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large(limit, what)),
        Ok(Err(e)) => Err(ApiError::bad_request(format!("cannot read body: {e}"))),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {:?} (--api-read-timeout)",
                cfg.read_timeout
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::channel::Channel;
    use http_body_util::Full;

    fn cfg() -> ApiConfig {
        ApiConfig {
            max_object_size: 16,
            read_timeout: Duration::from_millis(100),
            ..ApiConfig::default()
        }
    }

    #[test]
    fn object_writes_are_the_routes_with_the_object_limit() {
        assert!(is_object_write(&Method::POST, "/objects"));
        assert!(is_object_write(&Method::PUT, "/objects/a"));
        assert!(!is_object_write(&Method::PUT, "/objects"));
        assert!(!is_object_write(&Method::POST, "/customdata/k"));
        assert_eq!(
            body_limit(&cfg(), &Method::POST, "/customdata/k").0,
            MAX_BODY_BYTES
        );
    }

    #[tokio::test]
    async fn bodies_over_the_limit_get_413_naming_it() {
        let body = Full::new(Bytes::from(vec![b'x'; 17]));
        let e = read_body(&cfg(), &Method::POST, "/objects", body)
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(e.message.contains("16") && e.message.contains("--api-max-object-size"));
        // Streamed (no declared length): stopped once the limit is passed.
        let (mut tx, body) = Channel::<Bytes>::new(1);
        tokio::spawn(async move {
            for _ in 0..4 {
                if tx.send_data(Bytes::from_static(b"12345678")).await.is_err() {
                    break;
                }
            }
        });
        let e = read_body(&cfg(), &Method::PUT, "/objects/a", body)
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let ok = read_body(
            &cfg(),
            &Method::POST,
            "/objects",
            Full::new(Bytes::from_static(b"name: a")),
        )
        .await
        .unwrap();
        assert_eq!(&ok[..], b"name: a");
    }

    #[tokio::test]
    async fn a_body_that_stalls_gets_408() {
        let (_tx, body) = Channel::<Bytes>::new(1);
        let e = read_body(&cfg(), &Method::POST, "/objects", body)
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::REQUEST_TIMEOUT);
    }
}
