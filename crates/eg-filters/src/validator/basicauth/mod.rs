//! The `basicAuth` method of the Validator: `Authorization: Basic` credentials checked
//! against the users of an htpasswd file (`FILE`), of a custom data kind (`ETCD`) or of an
//! LDAP server (`LDAP`). On success the request gets the header `X-AUTH-USER: <user>`.
//!
//! As in Easegress, the decoded credentials are split at `:`: the first part is the user,
//! the second the password (a password holding a `:` is cut there).
//!
//! - `FILE` ([`file`]): the file is read when the filter starts and again whenever its
//!   modification time changes (checked every [`file::RELOAD_CHECK`]). Entry formats, those
//!   `htpasswd` writes and Easegress reads (with `github.com/tg123/go-htpasswd`):
//!   MD5-crypt (`$apr1$`, `htpasswd -m`, the default, and `$1$`), bcrypt (`$2y$`,
//!   `htpasswd -B`, and `$2a$`, `$2b$`, `$2x$`), `{SHA}` (base64 of SHA-1, `htpasswd -s`)
//!   and `{SSHA}` (salted SHA-1). Entries in other formats (crypt SHA-256 and SHA-512,
//!   plain text) are skipped with a log line, so their users are refused. bcrypt is slow
//!   by design (a cost-10 check takes tens of milliseconds), so the SHA-256 of the last
//!   password a bcrypt entry accepted is kept in memory and a request with the same
//!   password is answered from it; a reload of the file forgets it.
//! - `ETCD` ([`etcd`]): the items of custom data kind `etcdPrefix` (default
//!   `credentials`), watched for changes.
//! - `LDAP` ([`ldap`]): a simple bind per new user and password, remembered a short while.

mod etcd;
mod file;
mod htpasswd;
mod ldap;
mod tls;
mod verified;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_protocols::HttpRequest;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use eg_store::Store;
use serde::Deserialize;

/// Constant-time comparison, shared with other filters that check secrets.
pub(crate) use htpasswd::equal;
pub use ldap::LdapSpec;
#[cfg(test)]
pub(super) use ldap::BIND_TIMEOUT;

use etcd::EtcdUsers;
use file::FileUsers;
use htpasswd::Users;
use ldap::LdapBinder;

/// The request header naming the authenticated user.
pub const AUTH_USER_HEADER: &str = "x-auth-user";
/// The reason of every refused user or password (Easegress's).
const UNAUTHORIZED: &str = "unauthorized";

/// `basicAuth` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthSpec {
    /// `FILE`, `ETCD` or `LDAP`. Required.
    #[serde(default)]
    pub mode: String,
    /// `FILE` mode: the htpasswd file. Default: `/etc/apache2/.htpasswd`.
    #[serde(default)]
    pub user_file: String,
    /// `ETCD` mode: the custom data kind holding the users (`credentials/`,
    /// `/credentials/` or `credentials`). Default: `credentials`.
    #[serde(default)]
    pub etcd_prefix: String,
    /// `LDAP` mode: the server and how users bind. Required in that mode.
    #[serde(default)]
    pub ldap: Option<LdapSpec>,
}

/// Where users come from.
enum Source {
    File(FileUsers),
    Etcd(EtcdUsers),
    Ldap(Box<LdapBinder>),
}

/// A compiled basic-auth check.
pub(super) struct BasicAuthValidator {
    source: Source,
}

/// The user and password of `Authorization: Basic ...`, or why there are none.
pub(super) fn credentials(req: &HttpRequest) -> Result<(String, String), String> {
    let auth = req.header("authorization").unwrap_or("");
    let b64 = auth
        .strip_prefix("Basic ")
        .ok_or_else(|| "unexpected authorization header".to_string())?;
    let raw = STANDARD
        .decode(b64)
        .map_err(|e| format!("error occured during base64 decode: {e}"))?;
    let creds = String::from_utf8(raw).map_err(|_| UNAUTHORIZED.to_string())?;
    // As Easegress: the part before the first ':' is the user, up to the next the password.
    let mut parts = creds.split(':');
    match (parts.next(), parts.next()) {
        (Some(user), Some(password)) => Ok((user.to_string(), password.to_string())),
        _ => Err(UNAUTHORIZED.into()),
    }
}

fn check_table(users: &Users, user: &str, password: &str) -> Result<(), String> {
    match users.get(user) {
        Some(h) if h.matches(password) => Ok(()),
        _ => Err(UNAUTHORIZED.into()),
    }
}

impl BasicAuthValidator {
    /// Checks the spec and reads the users; errors name `path.<field>`.
    pub(super) fn compile(
        spec: &BasicAuthSpec,
        path: &str,
        store: Arc<dyn Store>,
    ) -> Result<Self, SpecError> {
        let source = match spec.mode.as_str() {
            "FILE" => Source::File(FileUsers::open(&spec.user_file)),
            "ETCD" => {
                let kind = etcd::kind_of(&spec.etcd_prefix, &join_path(path, "etcdPrefix"))?;
                Source::Etcd(EtcdUsers::open(store, &kind))
            }
            "LDAP" => {
                let at = join_path(path, "ldap");
                let ldap = spec
                    .ldap
                    .as_ref()
                    .ok_or_else(|| SpecError::new(&at, "required in LDAP mode"))?;
                Source::Ldap(Box::new(LdapBinder::compile(ldap, &at)?))
            }
            other => {
                return Err(SpecError::new(
                    join_path(path, "mode"),
                    format!("{other:?} is not one of FILE, ETCD, LDAP"),
                ))
            }
        };
        Ok(BasicAuthValidator { source })
    }

    /// Starts watching the users' source for changes (when a runtime is available).
    pub(super) fn start(&self) {
        match &self.source {
            Source::File(f) => f.start(),
            Source::Etcd(e) => e.start(),
            Source::Ldap(_) => {}
        }
    }

    /// Stops watching.
    pub(super) fn stop(&self) {
        match &self.source {
            Source::File(f) => f.stop(),
            Source::Etcd(e) => e.stop(),
            Source::Ldap(_) => {}
        }
    }

    /// Whether checks may need to ask a server, so must be done with
    /// [`BasicAuthValidator::validate_waiting`].
    pub(super) fn needs_server(&self) -> bool {
        matches!(self.source, Source::Ldap(_))
    }

    /// Checks `req` without waiting; returns the user name, or why it is refused. `LDAP`
    /// mode cannot be checked this way ([`BasicAuthValidator::needs_server`]).
    pub(super) fn validate(&self, req: &HttpRequest) -> Result<String, String> {
        let (user, password) = credentials(req)?;
        match &self.source {
            Source::File(f) => check_table(&f.users(), &user, &password)?,
            Source::Etcd(e) => check_table(&e.users(), &user, &password)?,
            Source::Ldap(_) => return Err(UNAUTHORIZED.into()),
        }
        Ok(user)
    }

    /// Checks [`credentials`], asking the LDAP server when needed (`LDAP` mode only).
    pub(super) async fn validate_waiting(
        &self,
        user: String,
        password: &str,
    ) -> Result<String, String> {
        let Source::Ldap(l) = &self.source else {
            return Err(UNAUTHORIZED.into());
        };
        if l.verify(&user, password).await {
            Ok(user)
        } else {
            Err(UNAUTHORIZED.into())
        }
    }
}

#[cfg(test)]
mod tests;
