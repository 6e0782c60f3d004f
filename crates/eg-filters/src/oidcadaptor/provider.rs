//! Talking to the provider: the discovery document (fetched once and kept), the code for
//! token exchange, and the user info call, through the Validator's client (10s per
//! exchange, answers up to 256 KiB).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use eg_protocols::escape::query_escape;
use eg_protocols::Body;
use http::{header, Method, Request, Uri};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::spec::{parse_http_url, Settings, Source};
use crate::validator::fetch::Fetcher;

/// `application/x-www-form-urlencoded`.
const FORM: &str = "application/x-www-form-urlencoded";
/// `application/json`.
const JSON: &str = "application/json";
/// The scope asked for when the provider lists none (Easegress's choice, for OAuth2-only
/// providers).
pub const DEFAULT_SCOPE: &str = "user";
/// How long a failed discovery fetch answers for the next requests before one tries again
/// (so a provider that is down is not asked once per waiting request).
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(5);

/// The provider's endpoints and what else the login uses from its discovery document.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Endpoints {
    /// `issuer`; ID tokens must name it (not checked when empty).
    #[serde(default)]
    pub issuer: String,
    /// `authorization_endpoint`.
    #[serde(default)]
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    #[serde(default)]
    pub token_endpoint: String,
    /// `userinfo_endpoint`.
    #[serde(default)]
    pub userinfo_endpoint: String,
    /// `jwks_uri`.
    #[serde(default)]
    pub jwks_uri: String,
    /// `scopes_supported`: all are asked for, joined with `+`, as Easegress does.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

impl Endpoints {
    /// The `scope` parameter of the authorization request (already escaped).
    pub(super) fn scope(&self) -> String {
        if self.scopes_supported.is_empty() {
            return DEFAULT_SCOPE.to_string();
        }
        self.scopes_supported
            .iter()
            .map(|s| query_escape(s))
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// The token endpoint's answer.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Tokens {
    /// `access_token`.
    #[serde(default)]
    pub access_token: String,
    /// `id_token` (empty for OAuth2-only providers).
    #[serde(default)]
    pub id_token: String,
    /// `error`, when the provider refused the code.
    #[serde(default)]
    error: String,
    /// `error_description`.
    #[serde(default)]
    error_description: String,
}

/// The provider of one filter.
pub(super) struct Provider {
    fetcher: Fetcher,
    discovery: Option<Uri>,
    endpoints: ArcSwapOption<Endpoints>,
    /// Held while the discovery document is fetched, so one fetch runs at a time; holds
    /// the last failure and when it happened.
    discovering: tokio::sync::Mutex<Option<(Instant, String)>>,
}

impl Provider {
    /// The provider of `settings`; explicit endpoints are ready at once.
    pub(super) fn new(settings: &Settings) -> Result<Provider, String> {
        let fetcher = Fetcher::new(false)?;
        let (discovery, endpoints) = match &settings.source {
            Source::Discovery(url) => (Some(url.clone()), None),
            Source::Explicit {
                authorization,
                token,
                userinfo,
                jwks_uri,
            } => (
                None,
                Some(Arc::new(Endpoints {
                    authorization_endpoint: authorization.clone(),
                    token_endpoint: token.clone(),
                    userinfo_endpoint: userinfo.clone(),
                    jwks_uri: jwks_uri.clone(),
                    ..Endpoints::default()
                })),
            ),
        };
        Ok(Provider {
            fetcher,
            discovery,
            endpoints: ArcSwapOption::new(endpoints),
            discovering: tokio::sync::Mutex::new(None),
        })
    }

    /// Takes over the discovery document of the previous generation when it came from
    /// the same URL.
    pub(super) fn inherit(&self, prev: &Provider) {
        if self.discovery.is_some() && self.discovery == prev.discovery {
            if let Some(e) = prev.endpoints.load_full() {
                self.endpoints.store(Some(e));
            }
        }
    }

    /// The endpoints when known without waiting.
    pub(super) fn ready(&self) -> Option<Arc<Endpoints>> {
        self.endpoints.load_full()
    }

    /// The endpoints, fetching the discovery document when not held yet. A failure is
    /// given again, without fetching, for [`DISCOVERY_RETRY`].
    pub(super) async fn endpoints(&self) -> Result<Arc<Endpoints>, String> {
        if let Some(e) = self.ready() {
            return Ok(e);
        }
        let mut failed = self.discovering.lock().await;
        if let Some(e) = self.ready() {
            return Ok(e);
        }
        if let Some((at, why)) = failed.as_ref() {
            if at.elapsed() < DISCOVERY_RETRY {
                return Err(why.clone());
            }
        }
        match self.discover().await {
            Ok(e) => {
                *failed = None;
                self.endpoints.store(Some(e.clone()));
                Ok(e)
            }
            Err(why) => {
                tracing::warn!("OIDCAdaptor: discovery failed: {why}");
                *failed = Some((Instant::now(), why.clone()));
                Err(why)
            }
        }
    }

    async fn discover(&self) -> Result<Arc<Endpoints>, String> {
        let Some(url) = &self.discovery else {
            return Err("no endpoints".into());
        };
        let req = Request::get(url.clone())
            .header(header::ACCEPT, JSON)
            .body(Body::Empty)
            .map_err(|e| e.to_string())?;
        let body = self.json_answer(req).await?;
        let e: Endpoints =
            serde_json::from_slice(&body).map_err(|e| format!("bad discovery document: {e}"))?;
        parse_http_url(&e.authorization_endpoint)
            .map_err(|err| format!("authorization_endpoint: {err}"))?;
        Ok(Arc::new(e))
    }

    /// Exchanges `code` for tokens, sending the client credentials both in the form and
    /// as basic auth, as Easegress does.
    pub(super) async fn exchange(
        &self,
        e: &Endpoints,
        settings: &Settings,
        code: &str,
        state: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, String> {
        let url = parse_http_url(&e.token_endpoint)?;
        // Sorted by key, as Go's url.Values encodes.
        let form = form(&[
            ("client_id", &settings.client_id),
            ("client_secret", &settings.client_secret),
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ]);
        let basic = STANDARD.encode(format!("{}:{}", settings.client_id, settings.client_secret));
        let req = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(header::CONTENT_TYPE, FORM)
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::ACCEPT, JSON)
            .body(Body::full(form))
            .map_err(|e| e.to_string())?;
        let body = self.json_answer(req).await?;
        let tokens: Tokens =
            serde_json::from_slice(&body).map_err(|e| format!("bad token answer: {e}"))?;
        if !tokens.error.is_empty() {
            return Err(format!("{}: {}", tokens.error, tokens.error_description));
        }
        Ok(tokens)
    }

    /// The user info of an OAuth2-only login, asked as Easegress asks it (a `GET` with
    /// the code in a form body and `Authorization: token <access token>`).
    pub(super) async fn userinfo(
        &self,
        e: &Endpoints,
        code: &str,
        access_token: &str,
        redirect_uri: &str,
    ) -> Result<Map<String, Value>, String> {
        if e.userinfo_endpoint.is_empty() {
            return Err("no userinfo endpoint".into());
        }
        let url = parse_http_url(&e.userinfo_endpoint)?;
        let form = form(&[
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
        ]);
        let req = Request::get(url)
            .header(header::CONTENT_TYPE, FORM)
            .header(header::ACCEPT, JSON)
            .header(header::AUTHORIZATION, format!("token {access_token}"))
            .body(Body::full(form))
            .map_err(|e| e.to_string())?;
        let body = self.json_answer(req).await?;
        serde_json::from_slice(&body).map_err(|e| format!("bad user info: {e}"))
    }

    /// Sends `req`; the body of a 2xx answer.
    async fn json_answer(&self, req: Request<Body>) -> Result<Bytes, String> {
        let (status, body) = self.fetcher.send(req).await?;
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        Ok(body)
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}
