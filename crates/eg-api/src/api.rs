//! The shared state of the admin API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use eg_filters::FilterRegistry;

use crate::access::{machine_hostname, Credentials, WebPolicy};
use eg_supervisor::Supervisor;

/// Default of [`ApiConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default of [`ApiConfig::read_header_timeout`].
pub const DEFAULT_READ_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ApiConfig::read_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of [`ApiConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Default of [`ApiConfig::write_lock_timeout`]: Easegress's cluster request timeout.
pub const DEFAULT_WRITE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ApiConfig::max_object_size`]: 4 MiB.
pub const DEFAULT_MAX_OBJECT_SIZE: usize = 4 << 20;

/// How the admin API listens and who may call it.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Listen address, e.g. `localhost:2381`.
    pub addr: String,
    /// Serve HTTPS with this certificate chain (PEM file) ...
    pub cert_file: Option<PathBuf>,
    /// ... and this private key (PEM file).
    pub key_file: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM file).
    pub client_ca_file: Option<PathBuf>,
    /// HTTP basic-auth users (`basic-auth: {user: password}`); empty = no auth.
    pub basic_auth: BTreeMap<String, String>,
    /// Most connections served at once; further clients wait in the listen queue.
    pub max_connections: usize,
    /// From accept to a complete first request head (TLS handshake included); also the time
    /// allowed for any later HTTP/1 request head once its first byte arrived.
    pub read_header_timeout: Duration,
    /// Time allowed to read a request body.
    pub read_timeout: Duration,
    /// A connection with no request in progress and no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Largest object spec accepted by create and update, in bytes.
    pub max_object_size: usize,
    /// Extra host names the API answers to when no basic auth is configured (`*` = any);
    /// IP addresses, `localhost`, the host of `addr` and this machine's name always work.
    pub allowed_hosts: Vec<String>,
    /// Web origins (`scheme://host[:port]`, or `*`) allowed to call the API from a browser.
    pub cors_allowed_origins: Vec<String>,
    /// How long a write waits for the store's write lock (a cluster-wide lock in cluster
    /// mode: Easegress's `cluster-request-timeout`) before answering 503.
    pub write_lock_timeout: Duration,
    /// The member belongs to a cluster: `/status/members` lists only what members wrote
    /// (a standalone server, which writes no heartbeat, reports itself).
    pub cluster_mode: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            addr: "localhost:2381".to_string(),
            cert_file: None,
            key_file: None,
            client_ca_file: None,
            basic_auth: BTreeMap::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            read_header_timeout: DEFAULT_READ_HEADER_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_object_size: DEFAULT_MAX_OBJECT_SIZE,
            allowed_hosts: Vec::new(),
            cors_allowed_origins: Vec::new(),
            write_lock_timeout: DEFAULT_WRITE_LOCK_TIMEOUT,
            cluster_mode: false,
        }
    }
}

/// Reads the current log level.
pub type GetLevel = Box<dyn Fn() -> String + Send + Sync>;
/// Changes the log level; errors on an unknown level.
pub type SetLevel = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Access to the server's own log, for `/logs` and `/logs/level`.
pub struct LogControl {
    /// The system log file (`<log-dir>/stdout.log`), when logging to a file.
    pub file: Option<PathBuf>,
    /// The current level (`info` or `debug`).
    pub get_level: GetLevel,
    /// Changes the level; errors on an unknown level.
    pub set_level: SetLevel,
}

impl Default for LogControl {
    fn default() -> Self {
        LogControl {
            file: None,
            get_level: Box::new(|| "info".to_string()),
            set_level: Box::new(|_| Err("log level cannot be changed".to_string())),
        }
    }
}

/// Everything the handlers need.
pub struct Api {
    /// The running system (kinds, store, objects, metrics).
    pub sup: Supervisor,
    /// Filter kinds, for the metadata routes.
    pub filters: Arc<FilterRegistry>,
    /// Listener settings.
    pub config: ApiConfig,
    /// Log access.
    pub logs: LogControl,
    /// Queues this process's object and custom-data writers before they ask the store for
    /// its write lock (see [`Api::lock_writes`]).
    pub(crate) write_lock: tokio::sync::Mutex<()>,
    /// The basic-auth users of `config`.
    pub(crate) credentials: Credentials,
    /// Host and origin rules of `config`.
    pub(crate) web: WebPolicy,
}

impl Api {
    /// The API over `sup`.
    pub fn new(
        sup: Supervisor,
        filters: Arc<FilterRegistry>,
        config: ApiConfig,
        logs: LogControl,
    ) -> Arc<Api> {
        let credentials = Credentials::new(&config.basic_auth);
        let web = WebPolicy::new(
            &config.addr,
            machine_hostname().as_deref(),
            &config.allowed_hosts,
            &config.cors_allowed_origins,
            config.cert_file.is_some() && config.key_file.is_some(),
        );
        Arc::new(Api {
            sup,
            filters,
            config,
            logs,
            write_lock: tokio::sync::Mutex::new(()),
            credentials,
            web,
        })
    }
}

/// Held by a writer while it checks and then writes: this process's queue, then the
/// store's write lock (Easegress's `/config/lock` in cluster mode, so writers on different
/// members never interleave either). Fields drop in order: the store lock is released first.
pub(crate) struct WriteGuard<'a> {
    _store: eg_store::WriteLock,
    _local: tokio::sync::MutexGuard<'a, ()>,
}

impl Api {
    /// Takes the write lock; a store that cannot grant it in
    /// [`ApiConfig::write_lock_timeout`] makes the write answer 503.
    pub(crate) async fn lock_writes(&self) -> Result<WriteGuard<'_>, crate::reply::ApiError> {
        let local = self.write_lock.lock().await;
        let store = self.sup.store().clone();
        let timeout = self.config.write_lock_timeout;
        let store_lock = crate::objects::blocking(move || store.write_lock(timeout)).await?;
        Ok(WriteGuard {
            _store: store_lock,
            _local: local,
        })
    }

    /// The configuration version: `/config/version`, bumped by every object change (0
    /// before the first).
    pub fn config_version(&self) -> u64 {
        let store = self.sup.store();
        store
            .get(eg_store::keys::CONFIG_VERSION)
            .ok()
            .flatten()
            .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse().ok())
            .unwrap_or(0)
    }
}
