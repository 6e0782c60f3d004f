//! The shared state of the admin API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eg_filters::FilterRegistry;
use eg_supervisor::Supervisor;

/// How the admin API listens and who may call it.
#[derive(Debug, Clone, Default)]
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
    /// Serialises object and custom-data writes (check-then-write must not interleave).
    pub(crate) write_lock: tokio::sync::Mutex<()>,
}

impl Api {
    /// The API over `sup`.
    pub fn new(
        sup: Supervisor,
        filters: Arc<FilterRegistry>,
        config: ApiConfig,
        logs: LogControl,
    ) -> Arc<Api> {
        Arc::new(Api {
            sup,
            filters,
            config,
            logs,
            write_lock: tokio::sync::Mutex::new(()),
        })
    }
}
