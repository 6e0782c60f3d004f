//! The `jwt` method of the Validator: HMAC-signed tokens (HS256, HS384, HS512).
//!
//! The token comes from the cookie `cookieName` when set and present, otherwise from
//! `Authorization: Bearer <token>`. It is valid when its header's `alg` equals the spec's
//! algorithm, its signature verifies with the secret, and its `exp`, `nbf` and `iat` claims
//! (when present) allow the current time, as golang-jwt v4 checks them.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use eg_protocols::HttpRequest;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use ring::hmac;
use serde::Deserialize;
use serde_json::Value;

/// Algorithms Easegress accepts; only the HMAC ones are implemented here.
const KNOWN: [&str; 10] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// `jwt` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtSpec {
    /// `HS256`, `HS384` or `HS512` (required; the others are not supported yet).
    #[serde(default)]
    pub algorithm: String,
    /// Hex of a PEM public key, for the RS/ES/EdDSA algorithms (not supported yet).
    #[serde(default)]
    pub public_key: String,
    /// The HMAC secret, hex-encoded (required for the HS algorithms).
    #[serde(default)]
    pub secret: String,
    /// A cookie holding the token; when absent from a request, the `Authorization` header
    /// is used. Default: none.
    #[serde(default)]
    pub cookie_name: String,
}

/// A compiled JWT check.
pub(super) struct JwtValidator {
    algorithm: &'static str,
    key: hmac::Key,
    cookie_name: Option<String>,
}

impl JwtValidator {
    /// Checks and compiles the spec; errors name `path.<field>`.
    pub(super) fn compile(spec: &JwtSpec, path: &str) -> Result<JwtValidator, SpecError> {
        let alg_path = join_path(path, "algorithm");
        let Some(algorithm) = KNOWN.iter().copied().find(|a| *a == spec.algorithm) else {
            return Err(SpecError::new(
                alg_path,
                format!("{:?} is not one of {}", spec.algorithm, KNOWN.join(", ")),
            ));
        };
        let hmac_alg = match algorithm {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            other => {
                return Err(SpecError::new(
                    alg_path,
                    format!("{other} is not supported yet (HS256, HS384 and HS512 are)"),
                ))
            }
        };
        let secret_path = join_path(path, "secret");
        if spec.secret.is_empty() {
            return Err(SpecError::new(
                secret_path,
                format!("required for {algorithm}"),
            ));
        }
        let secret = decode_hex(&spec.secret)
            .ok_or_else(|| SpecError::new(&secret_path, "must be an even number of hex digits"))?;
        Ok(JwtValidator {
            algorithm,
            key: hmac::Key::new(hmac_alg, &secret),
            cookie_name: (!spec.cookie_name.is_empty()).then(|| spec.cookie_name.clone()),
        })
    }

    /// Checks the request's token; the error says why it is refused.
    pub(super) fn validate(&self, req: &HttpRequest) -> Result<(), String> {
        let from_cookie = self
            .cookie_name
            .as_deref()
            .and_then(|name| cookie(req, name))
            .filter(|t| !t.is_empty());
        let token = match from_cookie {
            Some(t) => t,
            None => {
                let auth = req.header("authorization").unwrap_or("");
                auth.strip_prefix("Bearer ")
                    .ok_or_else(|| format!("unexpected authorization header: {auth}"))?
            }
        };
        self.verify(token, now_secs())
    }

    fn verify(&self, token: &str, now: f64) -> Result<(), String> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("token contains an invalid number of segments".into());
        };
        let header: Value = decode_segment(h)?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != self.algorithm {
            return Err(format!("unexpected signing method: {alg}"));
        }
        let claims: Value = decode_segment(p)?;
        let claims = claims
            .as_object()
            .ok_or_else(|| "claims are not a JSON object".to_string())?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "signature is not base64url".to_string())?;
        let signed = &token[..h.len() + 1 + p.len()];
        hmac::verify(&self.key, signed.as_bytes(), &signature)
            .map_err(|_| "signature is invalid".to_string())?;
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
        Ok(())
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

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn verifies_signature_algorithm_and_times() {
        let v = validator("HS256");
        let good = sign(
            hmac::HMAC_SHA256,
            b"mysecret",
            HS256,
            r#"{"sub":"a","exp":2000}"#,
        );
        assert_eq!(v.verify(&good, 1000.0), Ok(()));
        assert_eq!(v.verify(&good, 2000.0), Err("token is expired".into()));
        let forged = sign(hmac::HMAC_SHA256, b"other", HS256, r#"{"sub":"a"}"#);
        assert_eq!(
            v.verify(&forged, 1000.0),
            Err("signature is invalid".into())
        );
        let hs512 = sign(hmac::HMAC_SHA512, b"mysecret", r#"{"alg":"HS512"}"#, "{}");
        assert!(v
            .verify(&hs512, 1000.0)
            .unwrap_err()
            .contains("signing method"));
        assert!(validator("HS512").verify(&hs512, 1000.0).is_ok());
        let nbf = sign(hmac::HMAC_SHA256, b"mysecret", HS256, r#"{"nbf":1500}"#);
        assert!(v.verify(&nbf, 1000.0).is_err());
        assert!(v.verify(&nbf, 1500.0).is_ok());
        let iat = sign(hmac::HMAC_SHA256, b"mysecret", HS256, r#"{"iat":1500}"#);
        assert!(v.verify(&iat, 1000.0).is_err());
        let bad_exp = sign(hmac::HMAC_SHA256, b"mysecret", HS256, r#"{"exp":"never"}"#);
        assert!(v.verify(&bad_exp, 1000.0).is_err());
        let array = sign(hmac::HMAC_SHA256, b"mysecret", HS256, "[1]");
        assert!(v.verify(&array, 1000.0).is_err());
        for junk in ["", "a.b", "a.b.c.d", "not.a.token", "e30.e30."] {
            assert!(v.verify(junk, 1000.0).is_err(), "{junk}");
        }
    }

    #[test]
    fn bad_specs_name_the_field() {
        let cases = [
            (JwtSpec::default(), "jwt.algorithm"),
            (
                JwtSpec {
                    algorithm: "RS256".into(),
                    public_key: "00".into(),
                    ..Default::default()
                },
                "jwt.algorithm",
            ),
            (
                JwtSpec {
                    algorithm: "HS256".into(),
                    ..Default::default()
                },
                "jwt.secret",
            ),
            (
                JwtSpec {
                    algorithm: "HS256".into(),
                    secret: "abc".into(),
                    ..Default::default()
                },
                "jwt.secret",
            ),
            (
                JwtSpec {
                    algorithm: "HS256".into(),
                    secret: "zz".into(),
                    ..Default::default()
                },
                "jwt.secret",
            ),
        ];
        for (spec, path) in cases {
            let err = JwtValidator::compile(&spec, "jwt").err().map(|e| e.path);
            assert_eq!(err.as_deref(), Some(path), "{spec:?}");
        }
    }
}
