//! What can go wrong, as one error type for every command.

use std::path::PathBuf;

/// An egbuilder failure; its message is what the user sees after `Error:`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad argument: a kind or crate name, a missing flag.
    #[error("{0}")]
    Usage(String),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file egbuilder reads (`build.yaml`, `.egbuilderrc`) is not what it expects.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the field when known.
        message: String,
    },
    /// Cargo or the built server failed.
    #[error("{0}")]
    Command(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The result of egbuilder's operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Reads `path` as text.
pub fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Writes `text` to `path` unless it holds `text` already (so that Cargo does not rebuild
/// what did not change), creating its directory.
pub fn write(path: &std::path::Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}
