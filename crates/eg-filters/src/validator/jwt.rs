//! The `jwt` method of the Validator.
//!
//! The token comes from the cookie `cookieName` when set and present, otherwise from
//! `Authorization: Bearer <token>`. It is valid when its header's `alg` equals the spec's
//! algorithm (so `none`, and an HMAC token against a public key, never pass), its
//! signature verifies with the key — the hex `secret` for HS256/384/512, the hex of a PEM
//! `publicKey` or a key of the `jwks` set for RS*, PS*, ES256, ES384 and EdDSA — and its
//! `exp`, `nbf` and `iat` claims (when present) allow the current time, with no leeway, as
//! golang-jwt v4 checks them.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use eg_protocols::HttpRequest;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use ring::hmac;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jwks::{Jwks, JwksSpec};
use super::keys::{Alg, VerifyKey};

/// `jwt` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtSpec {
    /// `HS256`, `HS384`, `HS512`, `RS256`, `RS384`, `RS512`, `PS256`, `PS384`, `PS512`,
    /// `ES256`, `ES384` or `EdDSA` (required; `ES512` is refused).
    #[serde(default)]
    pub algorithm: String,
    /// Hex of a PEM public key (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo), for
    /// the RS/PS/ES/EdDSA algorithms (or use `jwks`). RSA keys need 2048 bits or more.
    #[serde(default)]
    pub public_key: String,
    /// The HMAC secret, hex-encoded (required for the HS algorithms; unused by the
    /// others).
    #[serde(default)]
    pub secret: String,
    /// A cookie holding the token; when absent from a request, the `Authorization` header
    /// is used. Default: none.
    #[serde(default)]
    pub cookie_name: String,
    /// Public keys from a JSON Web Key Set URL, instead of `publicKey` (not in Easegress).
    #[serde(default)]
    pub jwks: Option<JwksSpec>,
}

/// What checking a token gave.
#[derive(Debug)]
pub(crate) enum Checked {
    /// Valid; the claims.
    Valid(Map<String, Value>),
    /// Refused, and why.
    Invalid(String),
    /// The token names a key the key set does not hold (yet).
    UnknownKey,
}

/// A compiled JWT check.
pub(crate) struct JwtValidator {
    alg: Alg,
    key: Option<VerifyKey>,
    jwks: Option<Arc<Jwks>>,
    cookie_name: Option<String>,
}

impl JwtValidator {
    /// Checks and compiles the spec; errors name `path.<field>`.
    pub(crate) fn compile(spec: &JwtSpec, path: &str) -> Result<JwtValidator, SpecError> {
        let alg = Alg::parse(&spec.algorithm)
            .map_err(|e| SpecError::new(join_path(path, "algorithm"), e))?;
        let name = alg.name();
        let pk_path = join_path(path, "publicKey");
        let mut jwks = None;
        let key = match alg {
            Alg::Hs(_, hmac_alg) => {
                if !spec.public_key.is_empty() || spec.jwks.is_some() {
                    let field = if spec.jwks.is_some() {
                        "jwks"
                    } else {
                        "publicKey"
                    };
                    return Err(SpecError::new(
                        join_path(path, field),
                        format!("not used by {name}, which checks with secret"),
                    ));
                }
                let secret_path = join_path(path, "secret");
                if spec.secret.is_empty() {
                    return Err(SpecError::new(secret_path, format!("required for {name}")));
                }
                let secret = decode_secret_hex(&spec.secret)
                    .ok_or_else(|| SpecError::new(&secret_path, "must be hex digits"))?;
                Some(VerifyKey::Hmac(hmac::Key::new(hmac_alg, &secret)))
            }
            _ => match (&spec.public_key, &spec.jwks) {
                (pk, None) if pk.is_empty() => {
                    return Err(SpecError::new(
                        pk_path,
                        format!("required for {name} (or set jwks)"),
                    ))
                }
                (pk, Some(j)) if pk.is_empty() => {
                    jwks = Some(Arc::new(Jwks::compile(j, alg, &join_path(path, "jwks"))?));
                    None
                }
                (_, Some(_)) => {
                    return Err(SpecError::new(pk_path, "set publicKey or jwks, not both"))
                }
                (pk, None) => {
                    let pem = decode_hex(pk)
                        .ok_or_else(|| SpecError::new(&pk_path, "must be hex (of a PEM key)"))?;
                    Some(VerifyKey::from_pem(alg, &pem).map_err(|e| SpecError::new(&pk_path, e))?)
                }
            },
        };
        Ok(JwtValidator {
            alg,
            key,
            jwks,
            cookie_name: (!spec.cookie_name.is_empty()).then(|| spec.cookie_name.clone()),
        })
    }

    /// The key set, when keys come from one.
    pub(crate) fn jwks(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    /// The request's token: the cookie, else the bearer token.
    pub(super) fn token(&self, req: &HttpRequest) -> Result<String, String> {
        let from_cookie = self
            .cookie_name
            .as_deref()
            .and_then(|name| cookie(req, name))
            .filter(|t| !t.is_empty());
        match from_cookie {
            Some(t) => Ok(t.to_string()),
            None => {
                let auth = req.header("authorization").unwrap_or("");
                auth.strip_prefix("Bearer ")
                    .map(str::to_string)
                    .ok_or_else(|| "unexpected authorization header".to_string())
            }
        }
    }

    /// Checks a token at the current time.
    pub(crate) fn check(&self, token: &str) -> Checked {
        self.check_at(token, now_secs())
    }

    /// Checks a token with the configured key only (no key set); the claims or why not.
    pub(super) fn verify_token(&self, token: &str) -> Result<Map<String, Value>, String> {
        match self.check(token) {
            Checked::Valid(c) => Ok(c),
            Checked::Invalid(e) => Err(e),
            Checked::UnknownKey => Err("no key for the token".into()),
        }
    }

    fn check_at(&self, token: &str, now: f64) -> Checked {
        match self.verify(token, now) {
            Ok(Some(c)) => Checked::Valid(c),
            Ok(None) => Checked::UnknownKey,
            Err(e) => Checked::Invalid(e),
        }
    }

    /// `Ok(None)` when the key set holds no key for the token.
    fn verify(&self, token: &str, now: f64) -> Result<Option<Map<String, Value>>, String> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("token contains an invalid number of segments".into());
        };
        let header: Value = decode_segment(h)?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != self.alg.name() {
            return Err(format!("unexpected signing method: {alg}"));
        }
        let from_set;
        let key = match (&self.key, &self.jwks) {
            (Some(k), _) => k,
            (None, Some(set)) => {
                let kid = header.get("kid").and_then(Value::as_str);
                match set.key(kid) {
                    Some(k) => {
                        from_set = k;
                        &*from_set
                    }
                    None => return Ok(None),
                }
            }
            (None, None) => return Err("no key".into()),
        };
        let claims: Value = decode_segment(p)?;
        let Value::Object(claims) = claims else {
            return Err("claims are not a JSON object".into());
        };
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "signature is not base64url".to_string())?;
        let signed = &token[..h.len() + 1 + p.len()];
        if !key.verify(signed.as_bytes(), &signature) {
            return Err("signature is invalid".into());
        }
        let time = |name: &str| -> Result<Option<f64>, String> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(_) => Err(format!("claim {name} is not a number")),
            }
        };
        if time("exp")?.is_some_and(|exp| now >= exp) {
            return Err("token is expired".into());
        }
        if time("nbf")?.is_some_and(|nbf| now < nbf) {
            return Err("token is not valid yet".into());
        }
        if time("iat")?.is_some_and(|iat| now < iat) {
            return Err("token used before issued".into());
        }
        Ok(Some(claims))
    }
}

fn decode_segment(seg: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(seg)
        .map_err(|_| "token segment is not base64url".to_string())?;
    serde_json::from_slice(&bytes).map_err(|_| "token segment is not JSON".to_string())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The value of cookie `name` in the request's `Cookie` headers (quotes removed).
fn cookie<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Decodes a hex `secret` as Easegress does: its schema asks only for hex digits, and Go's
/// `hex.DecodeString` keeps the whole bytes before a lone last digit (Easegress's own JWT
/// tutorial has a 15-digit secret, used as its first 7 bytes). `None` for a non-hex digit.
fn decode_secret_hex(s: &str) -> Option<Vec<u8>> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    decode_hex(&s[..s.len() - s.len() % 2])
}

/// Whether a hex `secret` has a lone last digit, which is not part of the key.
pub(super) fn secret_has_odd_digit(spec: &JwtSpec) -> bool {
    spec.secret.len() % 2 == 1 && spec.secret.bytes().all(|b| b.is_ascii_hexdigit())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(alg: hmac::Algorithm, secret: &[u8], header: &str, claims: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(header);
        let p = URL_SAFE_NO_PAD.encode(claims);
        let key = hmac::Key::new(alg, secret);
        let sig = hmac::sign(&key, format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn validator(alg: &str) -> JwtValidator {
        let spec = JwtSpec {
            algorithm: alg.into(),
            secret: "6d79736563726574".into(),
            ..Default::default()
        };
        JwtValidator::compile(&spec, "jwt").unwrap()
    }

    fn verdict(v: &JwtValidator, token: &str, now: f64) -> Result<(), String> {
        match v.check_at(token, now) {
            Checked::Valid(_) => Ok(()),
            Checked::Invalid(e) => Err(e),
            Checked::UnknownKey => Err("unknown key".into()),
        }
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn hmac_tokens_times_at_their_boundaries() {
        let v = validator("HS256");
        let good = sign(hmac::HMAC_SHA256, b"mysecret", HS256, r#"{"exp":2000}"#);
        assert_eq!(verdict(&v, &good, 1999.9), Ok(()));
        assert_eq!(verdict(&v, &good, 2000.0), Err("token is expired".into()));
        let forged = sign(hmac::HMAC_SHA256, b"other", HS256, "{}");
        assert_eq!(
            verdict(&v, &forged, 1.0),
            Err("signature is invalid".into())
        );
        let hs512 = sign(hmac::HMAC_SHA512, b"mysecret", r#"{"alg":"HS512"}"#, "{}");
        assert_eq!(
            verdict(&v, &hs512, 1.0),
            Err("unexpected signing method: HS512".into())
        );
        assert!(verdict(&validator("HS512"), &hs512, 1.0).is_ok());
        let nbf = sign(hmac::HMAC_SHA256, b"mysecret", HS256, r#"{"nbf":1500}"#);
        assert!(verdict(&v, &nbf, 1499.0).is_err());
        assert!(verdict(&v, &nbf, 1500.0).is_ok());
        let iat = sign(hmac::HMAC_SHA256, b"mysecret", HS256, r#"{"iat":1500}"#);
        assert!(verdict(&v, &iat, 1499.0).is_err());
        let array = sign(hmac::HMAC_SHA256, b"mysecret", HS256, "[1]");
        assert!(verdict(&v, &array, 1.0).is_err());
        for junk in ["", "a.b", "a.b.c.d", "not.a.token", "e30.e30."] {
            assert!(verdict(&v, junk, 1.0).is_err(), "{junk}");
        }
    }

    #[test]
    fn non_hex_secrets_are_refused() {
        for secret in ["zz", "6d7g"] {
            let spec = JwtSpec {
                algorithm: "HS256".into(),
                secret: secret.into(),
                ..Default::default()
            };
            let err = JwtValidator::compile(&spec, "jwt").err().map(|e| e.path);
            assert_eq!(err.as_deref(), Some("jwt.secret"), "{secret}");
        }
    }

    #[test]
    fn an_odd_secret_keeps_its_whole_bytes_as_go_does() {
        // "6d7973656372657" (Easegress's tutorial) signs with "mysecre".
        let spec = JwtSpec {
            algorithm: "HS256".into(),
            secret: "6d7973656372657".into(),
            ..Default::default()
        };
        assert!(secret_has_odd_digit(&spec));
        let v = JwtValidator::compile(&spec, "jwt").expect("accepted");
        let token = sign(
            hmac::HMAC_SHA256,
            b"mysecre",
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"sub":"a"}"#,
        );
        assert!(verdict(&v, &token, 1.0).is_ok());
        let other = sign(
            hmac::HMAC_SHA256,
            b"mysecret",
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"sub":"a"}"#,
        );
        assert!(verdict(&v, &other, 1.0).is_err());
    }
}
