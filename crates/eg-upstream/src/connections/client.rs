//! The generic upstream client (hyper's pooled client over rustls), used for `https`
//! servers, health probes and redirects, plus the plain-HTTP host pools it hands out.
//!
//! One client exists per distinct TLS/pool setting in the process (a cache of weak handles),
//! so every proxy filter with the same settings — and the next generation of the same
//! filter — reuses warm connections.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Weak};

use eg_protocols::Body;
use http::uri::Authority;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use parking_lot::Mutex;
use rustls::ClientConfig;

use super::host_pool::{HostPool, IdleBudget};
use super::tls::{tls_config, MtlsMaterial};
use super::{CONNECT_TIMEOUT, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE};

/// The connector: plain TCP or TLS (rustls, ring), HTTP/1.1.
pub type Connector = HttpsConnector<HttpConnector>;
/// The hyper client type.
pub type HyperClient = Client<Connector, Body>;

/// What makes two upstream clients different.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientSettings {
    /// Skip certificate verification.
    pub insecure: bool,
    /// Decoded client certificate, key and root CAs (PEM), if `mtls` is set.
    pub mtls: Option<MtlsMaterial>,
    /// Idle connections kept per host.
    pub max_idle_per_host: usize,
    /// Idle plain-HTTP connections kept in all hosts together (`maxIdleConns`).
    pub max_idle: usize,
}

/// A pooled client plus a client that always opens a new connection (health probes, and the
/// one retry after a pooled connection turned out to be closed by the server).
pub struct UpstreamClient {
    /// Keep-alive pooled client.
    pub pooled: HyperClient,
    /// Client without idle connections.
    pub fresh: HyperClient,
    /// Idle connections per plain-HTTP `host:port`, shared by every server using it.
    hosts: Mutex<HashMap<Authority, Weak<HostPool>>>,
    max_idle_per_host: usize,
    /// The idle connections of all those host pools together, bounded by `maxIdleConns`.
    idle: Arc<IdleBudget>,
}

impl UpstreamClient {
    /// The connection pool of plain-HTTP upstream `authority`, created on first use; every
    /// pool (and the next generation) naming the same `host:port` gets the same one.
    pub fn host_pool(&self, authority: &Authority) -> Arc<HostPool> {
        let mut hosts = self.hosts.lock();
        if let Some(p) = hosts.get(authority).and_then(Weak::upgrade) {
            return p;
        }
        hosts.retain(|_, w| w.strong_count() > 0);
        let p = HostPool::new(authority, self.max_idle_per_host, self.idle.clone());
        hosts.insert(authority.clone(), Arc::downgrade(&p));
        p
    }
}

static CLIENTS: LazyLock<Mutex<HashMap<ClientSettings, Weak<UpstreamClient>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The process-wide client for `settings`, built on first use.
pub fn shared_client(settings: &ClientSettings) -> Result<Arc<UpstreamClient>, String> {
    let mut cache = CLIENTS.lock();
    if let Some(c) = cache.get(settings).and_then(Weak::upgrade) {
        return Ok(c);
    }
    cache.retain(|_, w| w.strong_count() > 0);
    let tls = tls_config(settings)?;
    let client = Arc::new(UpstreamClient {
        pooled: build_client(tls.clone(), settings.max_idle_per_host),
        fresh: build_client(tls, 0),
        hosts: Mutex::new(HashMap::new()),
        max_idle_per_host: settings.max_idle_per_host,
        idle: Arc::new(IdleBudget::new(settings.max_idle)),
    });
    cache.insert(settings.clone(), Arc::downgrade(&client));
    Ok(client)
}

/// Checks that a client could be built for `settings` (the client certificate and key go
/// together, the CAs are usable) without building one: only the TLS configuration is made,
/// and only when `mtls` gives material to check.
pub fn check_settings(settings: &ClientSettings) -> Result<(), String> {
    match settings.mtls {
        Some(_) => tls_config(settings).map(drop),
        None => Ok(()),
    }
}

fn build_client(tls: ClientConfig, max_idle_per_host: usize) -> HyperClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_keepalive(Some(TCP_KEEPALIVE));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(max_idle_per_host)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .set_host(false)
        .build(https)
}
