//! The HTTP clients of the exporters: one for HTTP/1.1 (OTLP/HTTP, Zipkin), one speaking
//! only HTTP/2 (gRPC; h2c for `http://`, ALPN h2 for `https://`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::{ClientConfig, RootCertStore};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The clients shared by a tracer's exporters.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    /// HTTP/1.1 (or h2 by ALPN) client.
    pub(crate) http: Client<Connector, Full<Bytes>>,
    /// HTTP/2-only client.
    pub(crate) h2: Client<Connector, Full<Bytes>>,
}

fn tls() -> Result<ClientConfig, String> {
    let provider = eg_tls::provider();
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth())
}

fn connector(h2_only: bool) -> Result<Connector, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let b = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls()?)
        .https_or_http();
    Ok(if h2_only {
        b.enable_http2().wrap_connector(http)
    } else {
        b.enable_http1().wrap_connector(http)
    })
}

impl Clients {
    /// Builds both clients.
    pub(crate) fn new() -> Result<Clients, String> {
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector(false)?);
        let h2 = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .http2_only(true)
            .build(connector(true)?);
        Ok(Clients { http, h2 })
    }
}
