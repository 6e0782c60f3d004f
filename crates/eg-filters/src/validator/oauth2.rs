//! The `oauth2` method of the Validator: the bearer token of `Authorization` is checked by
//! RFC 7662 token introspection (`tokenIntrospect`) or, when only `jwt` is set, as an
//! HMAC-signed JWT. On success the token's `sub` and `scope` are passed on in the request
//! headers `X-Authenticated-Userid` and `X-Authenticated-Scope`.

use bytes::Bytes;
use eg_protocols::{Body, HttpRequest};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{Method, Request, Uri};
use serde::Deserialize;
use serde_json::Value;

use super::fetch::Fetcher;
use super::jwt::{JwtSpec, JwtValidator};

/// Header carrying the token's subject.
pub const USER_ID_HEADER: &str = "x-authenticated-userid";
/// Header carrying the token's scope.
pub const SCOPE_HEADER: &str = "x-authenticated-scope";

/// `oauth2` fields: `tokenIntrospect` or `jwt` (introspection wins when both are set).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Spec {
    /// Ask the authorization server about each token.
    #[serde(default)]
    pub token_introspect: Option<TokenIntrospectSpec>,
    /// Check self-contained HMAC-signed tokens.
    #[serde(default)]
    pub jwt: Option<OAuth2JwtSpec>,
}

/// Token introspection (RFC 7662).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenIntrospectSpec {
    /// The introspection URL (`http` or `https`, required). The token is POSTed there as
    /// a form (`token=...`).
    #[serde(default)]
    pub end_point: String,
    /// Sent as `Authorization: Basic <basicAuth>` (already base64 `user:password`) when
    /// `clientId` is empty.
    #[serde(default)]
    pub basic_auth: String,
    /// Sent in the form as `client_id` (with `client_secret`).
    #[serde(default)]
    pub client_id: String,
    /// Sent in the form as `client_secret`.
    #[serde(default)]
    pub client_secret: String,
    /// Skip the server certificate check. Default false.
    #[serde(default)]
    pub insecure_tls: bool,
}

/// Self-contained JWT access tokens.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2JwtSpec {
    /// `HS256`, `HS384` or `HS512` (required).
    #[serde(default)]
    pub algorithm: String,
    /// The HMAC secret, hex-encoded (required).
    #[serde(default)]
    pub secret: String,
}

/// What a valid token says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Identity {
    /// `sub`, when given.
    pub subject: String,
    /// `scope`, when given.
    pub scope: String,
}

/// The RFC 7662 answer (the fields used).
#[derive(Deserialize)]
struct Introspection {
    #[serde(default)]
    active: bool,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

pub(super) struct Introspect {
    end_point: Uri,
    /// `&client_id=...&client_secret=...` (form-encoded), or empty.
    client: String,
    basic_auth: Option<http::HeaderValue>,
    fetcher: Fetcher,
}

/// A compiled `oauth2` check.
pub(super) enum OAuth2Validator {
    Introspect(Introspect),
    Jwt(Box<JwtValidator>),
}

fn form_encode(out: &mut String, s: &str) {
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
}

impl OAuth2Validator {
    /// Checks and compiles the spec; errors name `path.<field>`.
    pub(super) fn compile(spec: &OAuth2Spec, path: &str) -> Result<OAuth2Validator, SpecError> {
        if let Some(t) = &spec.token_introspect {
            let p = join_path(path, "tokenIntrospect");
            let ep_path = join_path(&p, "endPoint");
            if t.end_point.is_empty() {
                return Err(SpecError::new(ep_path, "required"));
            }
            let end_point: Uri = t
                .end_point
                .parse()
                .ok()
                .filter(|u: &Uri| {
                    matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some()
                })
                .ok_or_else(|| {
                    SpecError::new(&ep_path, format!("{:?} is not an http(s) URL", t.end_point))
                })?;
            let basic_auth =
                match t.basic_auth.as_str() {
                    "" => None,
                    b => Some(http::HeaderValue::from_str(&format!("Basic {b}")).map_err(
                        |_| SpecError::new(join_path(&p, "basicAuth"), "not valid in a header"),
                    )?),
                };
            let mut client = String::new();
            if !t.client_id.is_empty() {
                client.push_str("&client_id=");
                form_encode(&mut client, &t.client_id);
                client.push_str("&client_secret=");
                form_encode(&mut client, &t.client_secret);
            }
            let fetcher = Fetcher::new(t.insecure_tls).map_err(|e| SpecError::new(&p, e))?;
            return Ok(OAuth2Validator::Introspect(Introspect {
                end_point,
                client,
                basic_auth,
                fetcher,
            }));
        }
        let Some(j) = &spec.jwt else {
            return Err(SpecError::new(path, "set tokenIntrospect or jwt"));
        };
        let p = join_path(path, "jwt");
        if !matches!(j.algorithm.as_str(), "HS256" | "HS384" | "HS512") {
            return Err(SpecError::new(
                join_path(&p, "algorithm"),
                format!("{:?} is not one of HS256, HS384, HS512", j.algorithm),
            ));
        }
        let jwt = JwtSpec {
            algorithm: j.algorithm.clone(),
            secret: j.secret.clone(),
            ..Default::default()
        };
        Ok(OAuth2Validator::Jwt(Box::new(JwtValidator::compile(
            &jwt, &p,
        )?)))
    }

    /// Whether checking a token needs a call to the authorization server.
    pub(super) fn is_remote(&self) -> bool {
        matches!(self, OAuth2Validator::Introspect(_))
    }

    /// The bearer token of `Authorization`.
    pub(super) fn token(req: &HttpRequest) -> Result<String, String> {
        let auth = req.header("authorization").unwrap_or("");
        auth.strip_prefix("Bearer ")
            .map(str::to_string)
            .ok_or_else(|| "unexpected authorization header".to_string())
    }

    /// Checks a self-contained token (the `jwt` mode).
    pub(super) fn check_local(&self, token: &str) -> Result<Identity, String> {
        let OAuth2Validator::Jwt(j) = self else {
            return Err("token introspection needs a call".into());
        };
        let claims = j.verify_token(token)?;
        let text = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Ok(Identity {
            subject: text("sub"),
            scope: text("scope"),
        })
    }

    /// Asks the introspection end point about `token`.
    pub(super) async fn check_remote(&self, token: &str) -> Result<Identity, String> {
        let OAuth2Validator::Introspect(i) = self else {
            return self.check_local(token);
        };
        let mut form = String::from("token=");
        form_encode(&mut form, token);
        form.push_str(&i.client);
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(i.end_point.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if i.client.is_empty() {
            if let Some(b) = &i.basic_auth {
                req = req.header(http::header::AUTHORIZATION, b.clone());
            }
        }
        let req = req
            .body(Body::full(Bytes::from(form)))
            .map_err(|e| e.to_string())?;
        let (_, body) = i.fetcher.send(req).await?;
        let answer: Introspection =
            serde_json::from_slice(&body).map_err(|e| format!("bad introspection answer: {e}"))?;
        if !answer.error.is_empty() {
            return Err(format!("{}: {}", answer.error, answer.error_description));
        }
        if !answer.active {
            return Err("oauth2 authorization failed, token is inactive".into());
        }
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        Ok(Identity {
            subject: text(answer.sub),
            scope: text(answer.scope),
        })
    }
}
