//! `LDAP` mode: a user is accepted when the LDAP server accepts a simple bind as
//! `<uid>=<user>,<baseDN>` with the request's password, as in Easegress.
//!
//! Each bind opens its own connection (plain, StartTLS, or LDAPS with `useSSL`) and is
//! limited to [`BIND_TIMEOUT`] in all; it runs on the request's task, never blocking a
//! runtime thread. Accepted credentials are remembered a short while (see
//! [`super::verified`]). An empty password is refused without asking the server: to
//! LDAP it would be an anonymous bind, which servers commonly accept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use ldap3::{LdapConnAsync, LdapConnSettings};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Deserialize;

use super::tls::client_config;
use super::verified::{Verified, VERIFIED_MAX, VERIFIED_TTL};

/// How long connecting, the TLS handshake and the bind may take together.
pub const BIND_TIMEOUT: Duration = Duration::from_secs(5);

/// `basicAuth.ldap` fields (Easegress's names).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapSpec {
    /// The LDAP server's host name or IP address. Required.
    #[serde(default)]
    pub host: String,
    /// The LDAP server's port (389 for plain and StartTLS, 636 for LDAPS, usually).
    /// Required.
    #[serde(default)]
    pub port: i64,
    /// The DN under which users are, e.g. `ou=users,dc=example,dc=org`. Required.
    #[serde(default, rename = "baseDN")]
    pub base_dn: String,
    /// The attribute naming a user in its DN, e.g. `cn` or `uid`. Required.
    #[serde(default)]
    pub uid: String,
    /// Connect with TLS from the start (LDAPS). Default: false.
    #[serde(default, rename = "useSSL")]
    pub use_ssl: bool,
    /// Without `useSSL`: do not upgrade the connection with StartTLS (plain LDAP).
    /// Default: false (StartTLS).
    #[serde(default, rename = "skipTLS")]
    pub skip_tls: bool,
    /// Do not verify the server's certificate. Default: false.
    #[serde(default)]
    pub insecure: bool,
    /// The name the server's certificate is verified for. Default: `host`.
    #[serde(default)]
    pub server_name: String,
    /// Client certificate (base64 of PEM), with `keyBase64`.
    #[serde(default)]
    pub cert_base64: String,
    /// Client private key (base64 of PEM), with `certBase64`.
    #[serde(default)]
    pub key_base64: String,
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    StartTls,
    Ldaps,
}

/// Binds users against one LDAP server.
pub(super) struct LdapBinder {
    url: String,
    security: Security,
    tls: Option<Arc<rustls::ClientConfig>>,
    base_dn: String,
    uid: String,
    timeout: Duration,
    verified: Verified,
}

fn decode_pem(text: &str, field: &str) -> Result<Vec<u8>, SpecError> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| SpecError::new(field, format!("bad base64: {e}")))
}

/// The client certificate chain and key, when both are given.
fn client_auth(
    spec: &LdapSpec,
    path: &str,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, SpecError> {
    let (cert_at, key_at) = (join_path(path, "certBase64"), join_path(path, "keyBase64"));
    match (spec.cert_base64.is_empty(), spec.key_base64.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => return Err(SpecError::new(key_at, "required with certBase64")),
        (true, false) => return Err(SpecError::new(cert_at, "required with keyBase64")),
        (false, false) => {}
    }
    let cert = decode_pem(&spec.cert_base64, &cert_at)?;
    let certs = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SpecError::new(&cert_at, format!("bad PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(SpecError::new(cert_at, "no PEM certificate found"));
    }
    let key = decode_pem(&spec.key_base64, &key_at)?;
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|e| SpecError::new(key_at, format!("bad PEM private key: {e}")))?;
    Ok(Some((certs, key)))
}

fn required(path: &str, field: &str, empty: bool) -> Result<(), SpecError> {
    if empty {
        return Err(SpecError::new(join_path(path, field), "required"));
    }
    Ok(())
}

/// `host` as it goes in a URL (an IPv6 address in brackets), or why it cannot.
fn url_host(host: &str) -> Result<String, String> {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(format!("[{host}]"));
    }
    let bad = |c: char| c.is_whitespace() || c.is_control() || "/?#@[]:%\\".contains(c);
    if host.chars().any(bad) {
        return Err(format!("{host:?} is not a host name or IP address"));
    }
    Ok(host.to_string())
}

impl LdapBinder {
    /// Checks `spec`; errors name fields under `path` (the `ldap` field).
    pub(super) fn compile(spec: &LdapSpec, path: &str) -> Result<LdapBinder, SpecError> {
        required(path, "host", spec.host.is_empty())?;
        let host = url_host(&spec.host).map_err(|e| SpecError::new(join_path(path, "host"), e))?;
        let port = u16::try_from(spec.port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                SpecError::new(
                    join_path(path, "port"),
                    format!("{} is not a port (1-65535)", spec.port),
                )
            })?;
        required(path, "baseDN", spec.base_dn.is_empty())?;
        required(path, "uid", spec.uid.is_empty())?;
        let server_name = if spec.server_name.is_empty() {
            None
        } else {
            Some(
                ServerName::try_from(spec.server_name.clone())
                    .map_err(|e| SpecError::new(join_path(path, "serverName"), e.to_string()))?,
            )
        };
        let auth = client_auth(spec, path)?;
        let security = match (spec.use_ssl, spec.skip_tls) {
            (true, _) => Security::Ldaps,
            (false, false) => Security::StartTls,
            (false, true) => Security::Plain,
        };
        let tls = if security == Security::Plain {
            None
        } else {
            let config = client_config(spec.insecure, server_name, auth)
                .map_err(|e| SpecError::new(join_path(path, "certBase64"), e))?;
            Some(Arc::new(config))
        };
        let scheme = if security == Security::Ldaps {
            "ldaps"
        } else {
            "ldap"
        };
        Ok(LdapBinder {
            url: format!("{scheme}://{host}:{port}"),
            security,
            tls,
            base_dn: spec.base_dn.clone(),
            uid: spec.uid.clone(),
            timeout: BIND_TIMEOUT,
            verified: Verified::new(VERIFIED_TTL, VERIFIED_MAX),
        })
    }

    /// The same binder with another limit for one bind.
    #[cfg(test)]
    pub(super) fn with_timeout(mut self, timeout: Duration) -> LdapBinder {
        self.timeout = timeout;
        self
    }

    /// The DN a user binds as: `<uid>=<user>,<baseDN>`, the user escaped (RFC 4514).
    pub(super) fn user_dn(&self, user: &str) -> String {
        format!("{}={},{}", self.uid, ldap3::dn_escape(user), self.base_dn)
    }

    /// Whether the server accepts `user` with `password` (remembered, or asked now).
    pub(super) async fn verify(&self, user: &str, password: &str) -> bool {
        if password.is_empty() {
            return false;
        }
        if self.verified.contains(user, password) {
            return true;
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, self.bind(user, password)).await;
        let ok = match outcome {
            Ok(Ok(())) => true,
            // A refusal is the server's answer (wrong password, unknown user): not an error.
            Ok(Err(e @ ldap3::LdapError::LdapResult { .. })) => {
                tracing::debug!(user, url = %self.url, error = %e, "basicAuth: LDAP bind refused");
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(user, url = %self.url, error = %e, "basicAuth: LDAP bind failed");
                false
            }
            Err(_) => {
                tracing::warn!(
                    user,
                    url = %self.url,
                    timeout_ms = self.timeout.as_millis() as u64,
                    "basicAuth: LDAP bind timed out"
                );
                false
            }
        };
        tracing::debug!(
            user,
            ok,
            elapsed_us = started.elapsed().as_micros() as u64,
            "basicAuth: LDAP bind"
        );
        if ok {
            self.verified.insert(user, password);
        }
        ok
    }

    async fn bind(&self, user: &str, password: &str) -> Result<(), ldap3::LdapError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.security == Security::StartTls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url).await?;
        ldap3::drive!(conn);
        let result = ldap
            .simple_bind(&self.user_dn(user), password)
            .await
            .and_then(|r| r.success());
        // Closing is best effort: the answer is known.
        let _ = ldap.unbind().await;
        result.map(|_| ())
    }
}
