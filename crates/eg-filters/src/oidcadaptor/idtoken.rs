//! Checking an ID token with the Validator's JWT code.
//!
//! The signature is checked as Easegress does — HS256/384/512 with the client secret, the
//! other algorithms with a key of the provider's key set (`jwks_uri`) — and so are `exp`,
//! `nbf` and `iat`. Beyond Easegress, `exp` must be present, `aud` must hold the client
//! id, `iss` must be the discovery document's `issuer` (when it names one) and `nonce`
//! must be the one sent with the login.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{Map, Value};

use super::provider::Endpoints;
use crate::validator::basicauth::equal;
use crate::validator::jwt::{Checked, JwtValidator};
use crate::validator::{JwksSpec, JwtSpec};

/// One JWT check per signing algorithm met, built on first use.
#[derive(Default)]
pub(super) struct Verifiers {
    by_alg: Mutex<HashMap<String, Arc<JwtValidator>>>,
}

/// What an ID token must say besides its signature and times.
pub(super) struct Expected<'a> {
    /// `aud` holds it.
    pub client_id: &'a str,
    /// The `nonce` of the login.
    pub nonce: &'a str,
}

impl Verifiers {
    /// The claims of `token` when it is valid, or why not.
    pub(super) async fn verify(
        &self,
        token: &str,
        e: &Endpoints,
        client_secret: &str,
        expected: &Expected<'_>,
    ) -> Result<Map<String, Value>, String> {
        let alg = header_alg(token)?;
        let v = self.validator(&alg, e, client_secret)?;
        let claims = match v.check(token) {
            Checked::Valid(c) => c,
            Checked::Invalid(why) => return Err(why),
            Checked::UnknownKey => {
                if let Some(set) = v.jwks() {
                    set.refresh_for_unknown_kid().await;
                }
                match v.check(token) {
                    Checked::Valid(c) => c,
                    Checked::Invalid(why) => return Err(why),
                    Checked::UnknownKey => {
                        return Err("no key of the key set fits the token".into())
                    }
                }
            }
        };
        check_claims(&claims, &e.issuer, expected)?;
        Ok(claims)
    }

    fn validator(
        &self,
        alg: &str,
        e: &Endpoints,
        client_secret: &str,
    ) -> Result<Arc<JwtValidator>, String> {
        if let Some(v) = self.by_alg.lock().get(alg) {
            return Ok(v.clone());
        }
        let spec = if alg.starts_with("HS") {
            JwtSpec {
                algorithm: alg.to_string(),
                secret: hex(client_secret.as_bytes()),
                ..JwtSpec::default()
            }
        } else {
            if e.jwks_uri.is_empty() {
                return Err(format!("no key set to check an {alg} token with"));
            }
            JwtSpec {
                algorithm: alg.to_string(),
                jwks: Some(JwksSpec {
                    url: e.jwks_uri.clone(),
                    ..JwksSpec::default()
                }),
                ..JwtSpec::default()
            }
        };
        let v = Arc::new(JwtValidator::compile(&spec, "idToken").map_err(|e| e.to_string())?);
        self.by_alg.lock().insert(alg.to_string(), v.clone());
        Ok(v)
    }
}

/// The `alg` of a token's header.
fn header_alg(token: &str) -> Result<String, String> {
    let head = token.split('.').next().unwrap_or("");
    let bytes = URL_SAFE_NO_PAD
        .decode(head)
        .map_err(|_| "token header is not base64url".to_string())?;
    let header: Value =
        serde_json::from_slice(&bytes).map_err(|_| "token header is not JSON".to_string())?;
    header
        .get("alg")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "token header has no alg".into())
}

fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    expected: &Expected<'_>,
) -> Result<(), String> {
    if !claims.contains_key("exp") {
        return Err("token has no exp".into());
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err("token aud does not name the client".into());
    }
    if !issuer.is_empty() && claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err("token iss is not the provider".into());
    }
    let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if !equal(nonce.as_bytes(), expected.nonce.as_bytes()) {
        return Err("token nonce is not the login's".into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
