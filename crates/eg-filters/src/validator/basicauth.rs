//! The `basicAuth` method of the Validator, in `FILE` mode: users of an htpasswd file.
//!
//! The file is read when the filter starts and read again whenever its modification time
//! changes (checked every [`RELOAD_CHECK`]), so users can be added without touching the
//! pipeline. Supported entry formats: `{SHA}` (base64 of SHA-1) and `{SSHA}` (salted SHA-1);
//! entries in other formats (bcrypt, MD5-crypt) are skipped with a log line, so their users
//! are refused. On success the request gets the header `X-AUTH-USER: <user>`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_protocols::HttpRequest;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use parking_lot::Mutex;
use ring::digest;
use serde::Deserialize;
use serde_json::Value;

/// The file read when `userFile` is not set (Easegress's default).
pub const DEFAULT_USER_FILE: &str = "/etc/apache2/.htpasswd";
/// How often the file's modification time is checked for a reload.
pub const RELOAD_CHECK: Duration = Duration::from_secs(1);
/// The request header naming the authenticated user.
pub const AUTH_USER_HEADER: &str = "x-auth-user";

/// `basicAuth` fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthSpec {
    /// `FILE` (required; `ETCD` and `LDAP` are not supported yet).
    #[serde(default)]
    pub mode: String,
    /// The htpasswd file. Default: `/etc/apache2/.htpasswd`.
    #[serde(default)]
    pub user_file: String,
    /// For `ETCD` mode (not supported yet).
    #[serde(default)]
    pub etcd_prefix: String,
    /// For `LDAP` mode (not supported yet).
    #[serde(default)]
    pub ldap: Option<Value>,
}

/// A password check from one htpasswd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hash {
    /// SHA-1 digest.
    Sha(Vec<u8>),
    /// SHA-1 digest of password + salt, and the salt.
    Ssha(Vec<u8>, Vec<u8>),
}

impl Hash {
    fn matches(&self, password: &str) -> bool {
        match self {
            Hash::Sha(d) => {
                let got = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
                equal(got.as_ref(), d)
            }
            Hash::Ssha(d, salt) => {
                let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
                ctx.update(password.as_bytes());
                ctx.update(salt);
                equal(ctx.finish().as_ref(), d)
            }
        }
    }
}

/// Compares without stopping at the first difference.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Users = HashMap<String, Hash>;

/// Parses htpasswd text; unsupported or malformed lines are skipped (and logged).
fn parse_users(text: &str, file: &str) -> Users {
    let mut users = Users::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            tracing::warn!(file, line = n + 1, "htpasswd line without ':' skipped");
            continue;
        };
        let parsed = if let Some(b) = hash.strip_prefix("{SHA}") {
            STANDARD
                .decode(b)
                .ok()
                .filter(|d| d.len() == 20)
                .map(Hash::Sha)
        } else if let Some(b) = hash.strip_prefix("{SSHA}") {
            STANDARD
                .decode(b)
                .ok()
                .filter(|d| d.len() > 20)
                .map(|mut d| {
                    let salt = d.split_off(20);
                    Hash::Ssha(d, salt)
                })
        } else {
            None
        };
        match parsed {
            Some(h) => {
                users.insert(user.to_string(), h);
            }
            None => tracing::warn!(
                file,
                line = n + 1,
                user,
                "htpasswd entry format not supported ({{SHA}} and {{SSHA}} are); user refused"
            ),
        }
    }
    users
}

/// Reads the user file; a missing or unreadable file means no users (logged).
fn load(path: &PathBuf) -> (Users, Option<SystemTime>) {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match std::fs::read_to_string(path) {
        Ok(text) => (parse_users(&text, &path.display().to_string()), modified),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "cannot read htpasswd file");
            (Users::new(), modified)
        }
    }
}

/// A compiled basic-auth check.
pub(super) struct BasicAuthValidator {
    path: PathBuf,
    users: Arc<ArcSwap<Users>>,
    reloader: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl BasicAuthValidator {
    /// Checks the spec and reads the user file; errors name `path.<field>`.
    pub(super) fn compile(spec: &BasicAuthSpec, path: &str) -> Result<Self, SpecError> {
        match spec.mode.as_str() {
            "FILE" => {}
            "ETCD" | "LDAP" => {
                return Err(SpecError::new(
                    join_path(path, "mode"),
                    format!("{} mode is not supported yet (FILE is)", spec.mode),
                ))
            }
            other => {
                return Err(SpecError::new(
                    join_path(path, "mode"),
                    format!("{other:?} is not one of FILE, ETCD, LDAP"),
                ))
            }
        }
        let file = if spec.user_file.is_empty() {
            PathBuf::from(DEFAULT_USER_FILE)
        } else {
            PathBuf::from(&spec.user_file)
        };
        let (users, _) = load(&file);
        Ok(BasicAuthValidator {
            path: file,
            users: Arc::new(ArcSwap::from_pointee(users)),
            reloader: Mutex::new(None),
        })
    }

    /// Starts watching the file for changes (when a runtime is available).
    pub(super) fn start(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let path = self.path.clone();
        let users = self.users.clone();
        let task = rt.spawn(async move {
            let mut seen = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            loop {
                tokio::time::sleep(RELOAD_CHECK).await;
                let now = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                if now != seen {
                    let (fresh, modified) = load(&path);
                    users.store(Arc::new(fresh));
                    seen = modified;
                }
            }
        });
        if let Some(old) = self.reloader.lock().replace(task) {
            old.abort();
        }
    }

    /// Stops watching the file.
    pub(super) fn stop(&self) {
        if let Some(task) = self.reloader.lock().take() {
            task.abort();
        }
    }

    /// Checks `Authorization: Basic ...`; returns the user name, or why it is refused.
    pub(super) fn validate(&self, req: &HttpRequest) -> Result<String, String> {
        let auth = req.header("authorization").unwrap_or("");
        let b64 = auth
            .strip_prefix("Basic ")
            .ok_or_else(|| format!("unexpected authorization header: {auth}"))?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|e| format!("error occured during base64 decode: {e}"))?;
        let creds = String::from_utf8(raw).map_err(|_| "unauthorized".to_string())?;
        // As Easegress: the part before the first ':' is the user, up to the next the password.
        let mut parts = creds.split(':');
        let (Some(user), Some(password)) = (parts.next(), parts.next()) else {
            return Err("unauthorized".into());
        };
        match self.users.load().get(user) {
            Some(h) if h.matches(password) => Ok(user.to_string()),
            _ => Err("unauthorized".into()),
        }
    }
}

impl Drop for BasicAuthValidator {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_line(user: &str, pw: &str) -> String {
        let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, pw.as_bytes());
        format!("{user}:{{SHA}}{}", STANDARD.encode(d.as_ref()))
    }

    #[test]
    fn parses_sha_and_ssha_and_skips_others() {
        let mut salted = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        salted.update(b"pw2");
        salted.update(b"salt");
        let mut ssha = salted.finish().as_ref().to_vec();
        ssha.extend_from_slice(b"salt");
        let text = format!(
            "{}\n# comment\ncarol:{{SSHA}}{}\ndave:$2y$05$abcdefghijklmnopqrstuv\nbroken\n",
            sha_line("alice", "pw1"),
            STANDARD.encode(&ssha)
        );
        let users = parse_users(&text, "f");
        assert_eq!(users.len(), 2);
        assert!(users["alice"].matches("pw1"));
        assert!(!users["alice"].matches("pw2"));
        assert!(users["carol"].matches("pw2"));
        assert!(!users["carol"].matches("pw1"));
    }

    #[test]
    fn bad_modes_name_the_field() {
        for (mode, msg) in [
            ("", "not one of"),
            ("ETCD", "not supported yet"),
            ("LDAP", "not supported yet"),
        ] {
            let spec = BasicAuthSpec {
                mode: mode.into(),
                ..Default::default()
            };
            let err = BasicAuthValidator::compile(&spec, "basicAuth")
                .err()
                .unwrap();
            assert_eq!(err.path, "basicAuth.mode");
            assert!(err.message.contains(msg), "{err}");
        }
    }
}
