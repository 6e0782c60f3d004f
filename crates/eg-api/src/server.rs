//! The admin API listener: HTTP or HTTPS, basic auth, CORS, prefixes.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Api, ApiConfig};
use crate::reply::{encode, ApiBody, ApiError};
use crate::routes::dispatch;
use crate::{API_PREFIX, API_PREFIX_V1, MAX_BODY_BYTES};

/// Realm of the basic-auth challenge, as Easegress sends it.
const AUTH_REALM: &str = "Basic realm=\"easegress-basic-auth\"";

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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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
    let listener = TcpListener::bind(&api.config.addr)
        .await
        .map_err(|e| format!("cannot listen on api-addr {}: {e}", api.config.addr))?;
    tracing::info!(addr = %api.config.addr, tls = tls.is_some(), "admin API listening");
    Ok(tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => { tracing::warn!(error = %e, "admin API accept failed"); continue; }
                },
                _ = shutdown.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let api = api.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let api = api.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(&api, req).await) }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                let res = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => builder.serve_connection(TokioIo::new(s), svc).await,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "admin API TLS handshake failed");
                            return;
                        }
                    },
                    None => builder.serve_connection(TokioIo::new(stream), svc).await,
                };
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "admin API connection ended with an error");
                }
            });
        }
    }))
}

fn authorized(cfg: &ApiConfig, req: &Request<Incoming>) -> bool {
    if cfg.basic_auth.is_empty() {
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
        Some((user, pass)) => cfg.basic_auth.get(user).is_some_and(|p| p == pass),
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
    let mut resp = if !authorized(&api.config, &req) {
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
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
        );
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("*"),
        );
        r
    } else {
        route(api, req, wants_yaml).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&api.sup.store().revision().to_string()) {
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
    let body: Bytes = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            return encode(
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("cannot read body: {e}"),
                )),
                yaml,
            )
        }
    };
    let reply = dispatch(api, &method, &sub, &query, body).await;
    if let Err(e) = &reply {
        if e.status.is_server_error() {
            tracing::error!(%method, path = %sub, error = %e.message, "admin API error");
        }
    }
    encode(reply, yaml)
}
