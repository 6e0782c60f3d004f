//! The `Validator` filter: checks a request before it goes further.
//!
//! Methods, checked in this order, all configured ones must pass: `headers` (each listed
//! header must have a value in `values` or matching `regexp`; failure 400), `jwt` (HMAC
//! secret, PEM public key or JWKS key set; failure 401), `signature` (AWS-SigV4-compatible
//! request signatures; failure 401), `oauth2` (token introspection or HMAC JWT; failure
//! 401), `basicAuth` (users of an htpasswd file, of custom data or of an LDAP server;
//! failure 401). A failing check sets its status on the response of the active namespace (an
//! existing response is kept, only its status changes; otherwise a new empty one is made),
//! adds an access-log tag saying what failed (never the token or credential), and returns
//! `invalid`.

pub(crate) mod basicauth;
pub(crate) mod fetch;
mod headers;
pub(crate) mod jwks;
pub(crate) mod jwt;
mod keys;
mod oauth2;
#[cfg(test)]
pub(crate) mod testkeys;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_basicauth;
#[cfg(test)]
mod tests_keys;
#[cfg(test)]
mod tests_remote;

use std::any::Any;
use std::collections::BTreeMap;

use eg_protocols::{Context, HttpRequest, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::signer::{Signer, SignerSpec};
use crate::spec::decode_filter_spec;
use crate::template::{buffer_within, BODY_BUFFER_LIMIT};

pub use basicauth::{BasicAuthSpec, LdapSpec};
pub use headers::ValueValidatorSpec;
pub use jwks::JwksSpec;
pub use jwt::JwtSpec;
pub use oauth2::{OAuth2JwtSpec, OAuth2Spec, TokenIntrospectSpec, SCOPE_HEADER, USER_ID_HEADER};

use jwt::Checked;
use oauth2::{Identity, OAuth2Validator};

/// The kind name.
pub const KIND_NAME: &str = "Validator";
/// Returned when a check failed.
pub const RESULT_INVALID: &str = "invalid";

/// The `Validator` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Validator validates HTTP request.",
    &[RESULT_INVALID],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<ValidatorSpec>);

/// `Validator` fields. At least one method must be set.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorSpec {
    /// Header name → allowed values / regexp. All listed headers must be valid.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, ValueValidatorSpec>>,
    /// JWT check. Failure: 401.
    #[serde(default)]
    pub jwt: Option<JwtSpec>,
    /// Request signature check (AWS SigV4 compatible; `accessKeys` required). Failure: 401.
    #[serde(default)]
    pub signature: Option<SignerSpec>,
    /// OAuth2 bearer token check. Failure: 401.
    #[serde(default)]
    pub oauth2: Option<OAuth2Spec>,
    /// Basic auth check (`FILE`, `ETCD` or `LDAP` mode). Failure: 401.
    #[serde(default)]
    pub basic_auth: Option<BasicAuthSpec>,
}

fn default_spec() -> Value {
    json!({})
}

fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, mut warnings) = decode_filter_spec::<ValidatorSpec>(spec)?.into_parts();
    if s.headers.is_none()
        && s.jwt.is_none()
        && s.signature.is_none()
        && s.oauth2.is_none()
        && s.basic_auth.is_none()
    {
        return Err(SpecError::new(
            &spec.path,
            "none of the validations are defined: set headers, jwt, signature, oauth2 or \
             basicAuth",
        ));
    }
    let at = |key: &str| join_path(&spec.path, key);
    let headers = s
        .headers
        .as_ref()
        .map(|h| headers::HeaderValidator::compile(h, &at("headers")))
        .transpose()?;
    let jwt = s
        .jwt
        .as_ref()
        .map(|j| jwt::JwtValidator::compile(j, &at("jwt")))
        .transpose()?;
    if s.jwt.as_ref().is_some_and(jwt::secret_has_odd_digit) {
        warnings.push(format!(
            "{}: odd number of hex digits; the last one is not part of the key",
            join_path(&at("jwt"), "secret")
        ));
    }
    let signature = match &s.signature {
        Some(sig) => {
            let signer = Signer::compile(sig, &at("signature"))?;
            if !signer.can_verify() {
                return Err(SpecError::new(
                    join_path(&at("signature"), "accessKeys"),
                    "at least one access key is needed to verify signatures",
                ));
            }
            Some(signer)
        }
        None => None,
    };
    let oauth2 = s
        .oauth2
        .as_ref()
        .map(|o| OAuth2Validator::compile(o, &at("oauth2")))
        .transpose()?;
    let basic_auth = s
        .basic_auth
        .as_ref()
        .map(|b| basicauth::BasicAuthValidator::compile(b, &at("basicAuth"), ctx.store.clone()))
        .transpose()?;
    Ok(Built::new(
        Validator {
            headers,
            jwt,
            signature,
            oauth2,
            basic_auth,
        },
        warnings,
    ))
}

/// The running filter.
pub struct Validator {
    headers: Option<headers::HeaderValidator>,
    jwt: Option<jwt::JwtValidator>,
    signature: Option<Signer>,
    oauth2: Option<OAuth2Validator>,
    basic_auth: Option<basicauth::BasicAuthValidator>,
}

/// Sets `status` on the active namespace's response (made empty when there is none).
fn fail(ctx: &mut Context, status: StatusCode, tag: String) -> &'static str {
    match ctx.response_mut() {
        Some(resp) => resp.status = status,
        None => ctx.set_response(HttpResponse::new(status)),
    }
    ctx.add_tag(tag);
    RESULT_INVALID
}

fn unauthorized(ctx: &mut Context, prefix: &str, e: &str) -> &'static str {
    fail(ctx, StatusCode::UNAUTHORIZED, format!("{prefix}: {e}"))
}

const JWT: &str = "JWT validator";
const SIGNATURE: &str = "signature validator";
const OAUTH2: &str = "oauth2 validator";

fn request_or_err(ctx: &Context) -> Result<&HttpRequest, String> {
    ctx.request().ok_or_else(|| "no request".to_string())
}

impl Validator {
    /// The headers and JWT checks; `Err(result)` ends the check, `Ok(Some(token))` means
    /// the token's key must be fetched first.
    fn check_first(&self, ctx: &mut Context) -> Result<Option<String>, &'static str> {
        if let Some(h) = &self.headers {
            let bad = match ctx.request() {
                Some(req) => h.first_invalid(req.headers()),
                None => h.first_name(),
            };
            if let Some(name) = bad {
                let tag = format!("header validator: header {name} is invalid");
                return Err(fail(ctx, StatusCode::BAD_REQUEST, tag));
            }
        }
        let Some(j) = &self.jwt else {
            return Ok(None);
        };
        let token = match request_or_err(ctx).and_then(|r| j.token(r)) {
            Ok(t) => t,
            Err(e) => return Err(unauthorized(ctx, JWT, &e)),
        };
        match j.check(&token) {
            Checked::Valid(_) => Ok(None),
            Checked::Invalid(e) => Err(unauthorized(ctx, JWT, &e)),
            Checked::UnknownKey => Ok(Some(token)),
        }
    }

    /// The JWT check again once the key set was refreshed.
    async fn check_jwt_after_refresh(
        &self,
        ctx: &mut Context,
        token: &str,
    ) -> Option<&'static str> {
        let j = self.jwt.as_ref()?;
        if let Some(set) = j.jwks() {
            set.refresh_for_unknown_kid().await;
        }
        match j.check(token) {
            Checked::Valid(_) => None,
            Checked::Invalid(e) => Some(unauthorized(ctx, JWT, &e)),
            Checked::UnknownKey => Some(unauthorized(
                ctx,
                JWT,
                "no key of the key set fits the token",
            )),
        }
    }

    fn check_signature(&self, ctx: &mut Context) -> Option<&'static str> {
        let s = self.signature.as_ref()?;
        let checked = request_or_err(ctx).and_then(|req| {
            let body: Option<&[u8]> = match &req.body {
                eg_protocols::Body::Empty => Some(&[]),
                b => b.bytes().map(|b| &b[..]),
            };
            s.verify(&req.head, body)
        });
        checked.err().map(|e| unauthorized(ctx, SIGNATURE, &e))
    }

    /// Passes a valid OAuth2 token's subject and scope on, or fails.
    fn apply_oauth2(
        &self,
        ctx: &mut Context,
        checked: Result<Identity, String>,
    ) -> Option<&'static str> {
        let id = match checked {
            Ok(id) => id,
            Err(e) => return Some(unauthorized(ctx, OAUTH2, &e)),
        };
        if let Some(req) = ctx.request_mut() {
            for (name, value) in [(USER_ID_HEADER, id.subject), (SCOPE_HEADER, id.scope)] {
                if let (false, Ok(v)) = (value.is_empty(), HeaderValue::from_str(&value)) {
                    req.headers_mut().insert(name, v);
                }
            }
        }
        None
    }

    /// Passes the basic-auth user on, or fails.
    fn apply_basic_auth(&self, ctx: &mut Context, checked: Result<String, String>) -> &'static str {
        match checked {
            Ok(user) => {
                if let (Some(req), Ok(v)) = (ctx.request_mut(), HeaderValue::from_str(&user)) {
                    req.headers_mut().insert(basicauth::AUTH_USER_HEADER, v);
                }
                ""
            }
            Err(e) => unauthorized(ctx, "http basic validator", &e),
        }
    }

    fn check_basic_auth(&self, ctx: &mut Context) -> &'static str {
        let Some(b) = &self.basic_auth else {
            return "";
        };
        let checked = request_or_err(ctx).and_then(|req| b.validate(req));
        self.apply_basic_auth(ctx, checked)
    }

    /// The checks after the JWT one, when nothing needs waiting for.
    fn check_rest(&self, ctx: &mut Context) -> &'static str {
        if let Some(r) = self.check_signature(ctx) {
            return r;
        }
        if let Some(o) = &self.oauth2 {
            let checked = request_or_err(ctx)
                .and_then(OAuth2Validator::token)
                .and_then(|t| o.check_local(&t));
            if let Some(r) = self.apply_oauth2(ctx, checked) {
                return r;
            }
        }
        self.check_basic_auth(ctx)
    }

    /// The same checks, reading the body and calling out as needed.
    async fn check_rest_waiting(&self, ctx: &mut Context, key_for: Option<String>) -> &'static str {
        if let Some(token) = key_for {
            if let Some(r) = self.check_jwt_after_refresh(ctx, &token).await {
                return r;
            }
        }
        if self.signature.is_some() {
            if let Some(req) = ctx.request_mut() {
                if let Err(e) = buffer_within(&mut req.body, BODY_BUFFER_LIMIT).await {
                    return unauthorized(ctx, SIGNATURE, &format!("reading the body: {e}"));
                }
            }
            if let Some(r) = self.check_signature(ctx) {
                return r;
            }
        }
        if let Some(o) = &self.oauth2 {
            let checked = match request_or_err(ctx).and_then(OAuth2Validator::token) {
                Ok(t) => o.check_remote(&t).await,
                Err(e) => Err(e),
            };
            if let Some(r) = self.apply_oauth2(ctx, checked) {
                return r;
            }
        }
        let Some(b) = &self.basic_auth else {
            return "";
        };
        if !b.needs_server() {
            return self.check_basic_auth(ctx);
        }
        let checked = match request_or_err(ctx).and_then(basicauth::credentials) {
            Ok((user, password)) => b.validate_waiting(user, &password).await,
            Err(e) => Err(e),
        };
        self.apply_basic_auth(ctx, checked)
    }
}

impl Filter for Validator {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let key_for = match self.check_first(ctx) {
            Ok(k) => k,
            Err(r) => return Handled::Done(r),
        };
        let body_unread = self.signature.as_ref().is_some_and(|s| !s.excludes_body())
            && ctx.request().is_some_and(|r| !r.body.is_buffered());
        let remote = self.oauth2.as_ref().is_some_and(OAuth2Validator::is_remote)
            || self.basic_auth.as_ref().is_some_and(|b| b.needs_server());
        if key_for.is_none() && !body_unread && !remote {
            return Handled::Done(self.check_rest(ctx));
        }
        Handled::Pending(Box::pin(self.check_rest_waiting(ctx, key_for)))
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        if let Some(set) = self.jwt.as_ref().and_then(|j| j.jwks()) {
            let prev_set = prev
                .and_then(|p| p.as_any().downcast_ref::<Validator>())
                .and_then(|v| v.jwt.as_ref())
                .and_then(|j| j.jwks());
            if let Some(p) = prev_set {
                set.inherit(p);
            }
            set.start();
        }
        if let Some(b) = &self.basic_auth {
            b.start();
        }
    }

    fn close(&self) {
        if let Some(set) = self.jwt.as_ref().and_then(|j| j.jwks()) {
            set.stop();
        }
        if let Some(b) = &self.basic_auth {
            b.stop();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
