//! The `OIDCAdaptor` filter: the OpenID Connect (or plain OAuth2) authorization code flow.
//!
//! A request that looks logged in — it carries the cookie `cookieName`, or, without
//! `cookieName`, an `Authorization: Bearer…` header — passes. A request to the path of
//! `redirectURI` is the provider's callback: its `state` must name a login this filter
//! started (and match the browser's state cookie), its `code` is exchanged at the token
//! endpoint, the ID token is checked (or, without one, the user info endpoint asked), and
//! the request goes on with `X-Access-Token`, `X-Origin-Request-URL`, `X-Id-Token` and
//! `X-User-Info` (base64 of the claims' JSON); the last three are removed from every
//! request that comes with them. Any other request is redirected (302) to the provider's
//! authorization endpoint. Failures answer 403 (bad callback), 401 (bad ID
//! token) or 500 (the provider failed), with a text body, and return `oidcFiltered`.

mod idtoken;
mod logins;
mod provider;
mod request;
mod spec;
#[cfg(test)]
mod testprovider;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flow;

use std::any::Any;

use arc_swap::ArcSwap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_protocols::escape::{decode_path, query_escape};
use eg_protocols::{Context, HttpRequest, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled, RESULT_OK};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

use crate::validator::basicauth::equal;
use idtoken::{Expected, Verifiers};
use logins::{Logins, Pending, LOGIN_TTL};
use provider::{Endpoints, Provider};
use request::{cookie, query_param, random_hex, scheme, set_header};
pub use spec::OidcAdaptorSpec;
use spec::Settings;

/// The kind name.
pub const KIND_NAME: &str = "OIDCAdaptor";
/// Returned when the filter answered (redirect or failure).
pub const RESULT_FILTERED: &str = "oidcFiltered";

/// The access token, for the next filters (kept when the request already has one).
pub const ACCESS_TOKEN_HEADER: &str = "x-access-token";
/// The URL first asked for, before the login.
pub const ORIGIN_URL_HEADER: &str = "x-origin-request-url";
/// The ID token.
pub const ID_TOKEN_HEADER: &str = "x-id-token";
/// Base64 (standard) of the JSON of the ID token's claims, or of the user info.
pub const USER_INFO_HEADER: &str = "x-user-info";
/// The prefix of the cookie binding a login's `state` to the browser that started it; the
/// cookie is named `<prefix>_<first characters of the state>`, so that logins started in
/// several tabs do not replace each other's cookie.
pub const STATE_COOKIE: &str = "eg_oidc_state";
/// How many characters of the state name its cookie.
const STATE_COOKIE_TAG: usize = 8;

/// The name of the cookie holding `state`.
fn state_cookie_name(state: &str) -> String {
    format!(
        "{STATE_COOKIE}_{}",
        state.get(..STATE_COOKIE_TAG).unwrap_or(state)
    )
}

/// The `OIDCAdaptor` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "OIDCAdaptor implement OpenID Connect authorization code flow spec",
    &[RESULT_FILTERED],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<OidcAdaptorSpec>);

fn default_spec() -> Value {
    json!({})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, mut warnings) = decode_filter_spec::<OidcAdaptorSpec>(spec)?.into_parts();
    let settings = Settings::compile(&s, &spec.path)?;
    for field in Settings::ignored_with_discovery(&s) {
        warnings.push(format!(
            "{}: not used, the discovery document gives the endpoints",
            join_path(&spec.path, field)
        ));
    }
    let provider = Provider::new(&settings).map_err(|e| SpecError::new(&spec.path, e))?;
    Ok(Built::new(
        OidcAdaptor {
            settings,
            provider,
            verifiers: Verifiers::default(),
            logins: ArcSwap::from_pointee(Logins::default()),
        },
        warnings,
    ))
}

/// The running filter.
pub struct OidcAdaptor {
    settings: Settings,
    provider: Provider,
    verifiers: Verifiers,
    logins: ArcSwap<Logins>,
}

/// Sets `status` (and a text body) on the active namespace's response.
fn answer(ctx: &mut Context, status: StatusCode, body: Option<String>) -> &'static str {
    match ctx.response_mut() {
        Some(resp) => {
            resp.status = status;
            if let Some(b) = body {
                resp.body = eg_protocols::Body::full(b);
                resp.headers.remove(header::CONTENT_LENGTH);
            }
        }
        None => ctx.set_response(match body {
            Some(b) => HttpResponse::with_body(status, b),
            None => HttpResponse::new(status),
        }),
    }
    RESULT_FILTERED
}

/// A failure answer; `why` goes to the access log only.
fn refuse(ctx: &mut Context, status: StatusCode, body: &str, why: &str) -> &'static str {
    if !why.is_empty() {
        ctx.add_tag(format!("oidcAdaptor: {why}"));
    }
    answer(ctx, status, Some(body.to_string()))
}

impl OidcAdaptor {
    /// Whether the request looks logged in, as Easegress decides.
    fn logged_in(&self, req: &HttpRequest) -> bool {
        match &self.settings.cookie_name {
            Some(name) => cookie(req, name).is_some(),
            None => req
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer"))
                .is_some_and(|rest| !rest.is_empty()),
        }
    }

    /// The `redirect_uri` for a request: `redirectURI`, completed with the request's
    /// scheme and host when it is a path.
    fn redirect_uri(&self, req: &HttpRequest) -> String {
        if self.settings.redirect_is_path {
            format!(
                "{}://{}{}",
                scheme(req),
                req.host_with_port(),
                self.settings.redirect_uri
            )
        } else {
            self.settings.redirect_uri.clone()
        }
    }

    /// Starts a login: remembers it and answers 302 to the authorization endpoint.
    fn redirect(&self, ctx: &mut Context, e: &Endpoints) -> &'static str {
        let Some(req) = ctx.request() else {
            return RESULT_OK;
        };
        let state = random_hex();
        let nonce = random_hex();
        let redirect_uri = self.redirect_uri(req);
        let query = match req.query() {
            "" => String::new(),
            q => format!("?{q}"),
        };
        let request_url = format!(
            "{}://{}{}{query}",
            scheme(req),
            req.host_with_port(),
            req.path()
        );
        let secure = if scheme(req) == "https" {
            "; Secure"
        } else {
            ""
        };
        let sep = if e.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let location = format!(
            "{}{sep}client_id={}&state={state}&nonce={nonce}&response_type=code&scope={}\
             &redirect_uri={}",
            e.authorization_endpoint,
            query_escape(&self.settings.client_id),
            e.scope(),
            query_escape(&redirect_uri),
        );
        let set_cookie = format!(
            "{}={state}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            state_cookie_name(&state),
            LOGIN_TTL.as_secs()
        );
        let (Ok(location), Ok(set_cookie)) = (
            HeaderValue::from_str(&location),
            HeaderValue::from_str(&set_cookie),
        ) else {
            return refuse(
                ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                "bad authorization URL",
                "the authorization URL is not a header value",
            );
        };
        self.logins.load().insert(
            state,
            Pending {
                nonce,
                request_url,
                redirect_uri,
            },
        );
        answer(ctx, StatusCode::FOUND, None);
        if let Some(resp) = ctx.response_mut() {
            resp.headers.insert(header::LOCATION, location);
            resp.headers.append(header::SET_COOKIE, set_cookie);
        }
        RESULT_FILTERED
    }

    /// Starts a login once the endpoints are known.
    async fn redirect_after_discovery(&self, ctx: &mut Context) -> &'static str {
        match self.provider.endpoints().await {
            Ok(e) => self.redirect(ctx, &e),
            Err(why) => discovery_failed(ctx, &why),
        }
    }

    /// Checks the callback's `state` and `code`; `Err(result)` when refused.
    fn check_callback(&self, ctx: &mut Context) -> Result<(String, String, Pending), &'static str> {
        let Some(req) = ctx.request() else {
            return Err(RESULT_OK);
        };
        let state = query_param(req, "state");
        let code = query_param(req, "code");
        let bound = cookie(req, &state_cookie_name(&state)).unwrap_or("");
        let logins = self.logins.load();
        let why = if state.is_empty() {
            Some(("oidc callback: empty state", ""))
        } else if !equal(bound.as_bytes(), state.as_bytes()) {
            Some(("oidc callback: invalid state", "state is not the browser's"))
        } else if !logins.holds(&state) {
            Some((
                "oidc callback: invalid state",
                "no login under way with this state",
            ))
        } else if code.is_empty() {
            Some(("oidc callback: invalid code", ""))
        } else {
            None
        };
        if let Some((body, log)) = why {
            return Err(refuse(ctx, StatusCode::FORBIDDEN, body, log));
        }
        match logins.take(&state) {
            Some(p) => Ok((state, code, p)),
            None => Err(refuse(
                ctx,
                StatusCode::FORBIDDEN,
                "oidc callback: invalid state",
                "the login ended meanwhile",
            )),
        }
    }

    /// The callback: code for tokens, tokens checked, headers set.
    async fn callback(&self, ctx: &mut Context) -> &'static str {
        let (state, code, pending) = match self.check_callback(ctx) {
            Ok(c) => c,
            Err(r) => return r,
        };
        let e = match self.provider.endpoints().await {
            Ok(e) => e,
            Err(why) => return discovery_failed(ctx, &why),
        };
        let tokens = match self
            .provider
            .exchange(&e, &self.settings, &code, &state, &pending.redirect_uri)
            .await
        {
            Ok(t) => t,
            Err(why) => {
                let body = format!("fetch OIDC token error: {why}");
                return refuse(ctx, StatusCode::INTERNAL_SERVER_ERROR, &body, &why);
            }
        };
        let user_info = if tokens.id_token.is_empty() {
            match self
                .provider
                .userinfo(&e, &code, &tokens.access_token, &pending.redirect_uri)
                .await
            {
                Ok(u) => u,
                Err(why) => {
                    let body = format!("fetch OAuth2 userinfo error: {why}");
                    return refuse(ctx, StatusCode::INTERNAL_SERVER_ERROR, &body, &why);
                }
            }
        } else {
            let expected = Expected {
                client_id: &self.settings.client_id,
                nonce: &pending.nonce,
            };
            match self
                .verifiers
                .verify(
                    &tokens.id_token,
                    &e,
                    &self.settings.client_secret,
                    &expected,
                )
                .await
            {
                Ok(claims) => claims,
                Err(why) => {
                    let log = format!("id token refused: {why}");
                    return refuse(ctx, StatusCode::UNAUTHORIZED, "invalid oidc id token", &log);
                }
            }
        };
        let Some(req) = ctx.request_mut() else {
            return RESULT_OK;
        };
        if req.header(ACCESS_TOKEN_HEADER).is_none_or(str::is_empty) {
            set_header(req, ACCESS_TOKEN_HEADER, &tokens.access_token);
        }
        set_header(req, ORIGIN_URL_HEADER, &pending.request_url);
        if !tokens.id_token.is_empty() {
            set_header(req, ID_TOKEN_HEADER, &tokens.id_token);
        }
        let info = Value::Object(user_info).to_string();
        set_header(req, USER_INFO_HEADER, &STANDARD.encode(info));
        RESULT_OK
    }
}

fn discovery_failed(ctx: &mut Context, why: &str) -> &'static str {
    let body = format!("fetch OIDC discovery error: {why}");
    refuse(ctx, StatusCode::INTERNAL_SERVER_ERROR, &body, why)
}

impl Filter for OidcAdaptor {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request_mut() else {
            return Handled::Done(RESULT_OK);
        };
        // Only this filter says who the user is.
        for name in [ID_TOKEN_HEADER, USER_INFO_HEADER, ORIGIN_URL_HEADER] {
            req.headers_mut().remove(name);
        }
        let req = &*req;
        if self.logged_in(req) {
            return Handled::Done(RESULT_OK);
        }
        if decode_path(req.path()) == self.settings.redirect_path.as_str() {
            return Handled::Pending(Box::pin(self.callback(ctx)));
        }
        match self.provider.ready() {
            Some(e) => Handled::Done(self.redirect(ctx, &e)),
            None => Handled::Pending(Box::pin(self.redirect_after_discovery(ctx))),
        }
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        if let Some(p) = prev.and_then(|p| p.as_any().downcast_ref::<OidcAdaptor>()) {
            self.logins.store(p.logins.load_full());
            self.provider.inherit(&p.provider);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
