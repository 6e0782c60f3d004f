//! The system log: `<log-dir>/stdout.log` (or stdout), with a level that can change at run
//! time through the admin API.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, Registry};

/// File name of the system log inside `--log-dir`, as Easegress names it.
pub const SYSTEM_LOG_FILE: &str = "stdout.log";

/// Handle to the installed logger.
pub struct Logging {
    /// The log file, when logging to a file.
    pub file: Option<PathBuf>,
    handle: reload::Handle<LevelFilter, Registry>,
}

impl Logging {
    /// The current level name (`info` or `debug`).
    pub fn level(&self) -> String {
        self.handle
            .with_current(|l| l.to_string().to_ascii_lowercase())
            .unwrap_or_else(|_| "info".to_string())
    }

    /// Sets the level to `info` or `debug`.
    pub fn set_level(&self, level: &str) -> Result<(), String> {
        let filter = match level {
            "info" => LevelFilter::INFO,
            "debug" => LevelFilter::DEBUG,
            other => {
                return Err(format!(
                    "invalid log level {other:?}: supported levels are info and debug"
                ))
            }
        };
        self.handle
            .modify(|l| *l = filter)
            .map_err(|e| e.to_string())
    }
}

/// One log line per event, as text (Easegress's layout) or as a JSON object with
/// `timestamp`, `level`, `message` and the event's fields at the top level.
fn lines<S, W>(json: bool, ansi: bool, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    if json {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(false)
            .with_writer(writer)
            .boxed()
    } else {
        fmt::layer()
            .with_target(false)
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed()
    }
}

/// Installs the global logger. With `log_dir`, lines go to `<log_dir>/stdout.log`; `json`
/// writes one JSON object per line (`--log-format json`).
pub fn init(log_dir: Option<&Path>, debug: bool, json: bool) -> Result<Logging, String> {
    let level = if debug {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let (filter, handle) = reload::Layer::new(level);
    let registry = tracing_subscriber::registry().with(filter);
    let file = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("log-dir {}: {e}", dir.display()))?;
            let path = dir.join(SYSTEM_LOG_FILE);
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            registry
                .with(lines(json, false, Mutex::new(f)))
                .try_init()
                .map_err(|e| e.to_string())?;
            Some(path)
        }
        None => {
            let ansi = !json && std::io::IsTerminal::is_terminal(&std::io::stdout());
            registry
                .with(lines(json, ansi, std::io::stdout))
                .try_init()
                .map_err(|e| e.to_string())?;
            None
        }
    };
    Ok(Logging { file, handle })
}
