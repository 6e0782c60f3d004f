//! The `OIDCAdaptor` fields and their checks.

use eg_protocols::escape::decode_path;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::Uri;
use serde::Deserialize;

/// `OIDCAdaptor` fields (Easegress's names).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct OidcAdaptorSpec {
    /// A request carrying this cookie (any value) is taken as logged in and passes. When
    /// empty, a request with an `Authorization: Bearer…` header passes instead.
    #[serde(default, rename = "cookieName")]
    pub cookie_name: String,
    /// The client id registered at the provider. Required.
    #[serde(default, rename = "clientId")]
    pub client_id: String,
    /// The client secret registered at the provider. Required.
    #[serde(default, rename = "clientSecret")]
    pub client_secret: String,
    /// The provider's `.well-known/openid-configuration` URL. When empty,
    /// `authorizationEndpoint` and `tokenEndpoint` are required.
    #[serde(default)]
    pub discovery: String,
    /// The provider's authorization endpoint (without `discovery`).
    #[serde(default, rename = "authorizationEndpoint")]
    pub authorization_endpoint: String,
    /// The provider's token endpoint (without `discovery`).
    #[serde(default, rename = "tokenEndpoint")]
    pub token_endpoint: String,
    /// The provider's user info endpoint (without `discovery`), asked when the token
    /// answer has no ID token.
    #[serde(default, rename = "userinfoEndpoint")]
    pub userinfo_endpoint: String,
    /// The provider's key set, for ID tokens signed with a public key (without
    /// `discovery`; not in Easegress).
    #[serde(default, rename = "jwksUri")]
    pub jwks_uri: String,
    /// The callback registered at the provider: an absolute `http(s)` URL, or a path
    /// (`/oidc/callback`) completed with the request's scheme and host. Required.
    #[serde(default, rename = "redirectURI")]
    pub redirect_uri: String,
}

/// Where the provider's endpoints come from.
pub(super) enum Source {
    /// Fetched from this discovery URL.
    Discovery(Uri),
    /// Given in the spec.
    Explicit {
        /// `authorizationEndpoint`.
        authorization: String,
        /// `tokenEndpoint`.
        token: String,
        /// `userinfoEndpoint` (may be empty).
        userinfo: String,
        /// `jwksUri` (may be empty).
        jwks_uri: String,
    },
}

/// The checked spec.
pub(super) struct Settings {
    /// `cookieName`, when set.
    pub cookie_name: Option<String>,
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: String,
    /// `redirectURI` as written.
    pub redirect_uri: String,
    /// Whether `redirectURI` is a path only.
    pub redirect_is_path: bool,
    /// The decoded path of `redirectURI`: requests to it are callbacks.
    pub redirect_path: String,
    /// Where the endpoints come from.
    pub source: Source,
}

/// `text` as an absolute `http`/`https` URL, or an error naming `path`.
pub(super) fn http_url(text: &str, path: &str) -> Result<Uri, SpecError> {
    parse_http_url(text).map_err(|e| SpecError::new(path, e))
}

/// `text` as an absolute `http`/`https` URL.
pub(super) fn parse_http_url(text: &str) -> Result<Uri, String> {
    text.parse::<Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some())
        .ok_or_else(|| format!("{text:?} is not an http(s) URL"))
}

fn required<'a>(
    value: &'a str,
    at: &dyn Fn(&str) -> String,
    field: &str,
) -> Result<&'a str, SpecError> {
    if value.is_empty() {
        return Err(SpecError::new(at(field), "required"));
    }
    Ok(value)
}

impl Settings {
    /// Checks `spec`; errors name `path.<field>`.
    pub(super) fn compile(spec: &OidcAdaptorSpec, path: &str) -> Result<Settings, SpecError> {
        let at = |field: &str| join_path(path, field);
        let client_id = required(&spec.client_id, &at, "clientId")?;
        let client_secret = required(&spec.client_secret, &at, "clientSecret")?;
        let redirect = required(&spec.redirect_uri, &at, "redirectURI")?;
        let (redirect_is_path, redirect_path) = if redirect.starts_with('/') {
            let uri: Uri = redirect
                .parse()
                .ok()
                .filter(|u: &Uri| u.scheme().is_none() && u.authority().is_none())
                .ok_or_else(|| {
                    SpecError::new(at("redirectURI"), format!("{redirect:?} is not a URL path"))
                })?;
            (true, decode_path(uri.path()).into_owned())
        } else {
            let uri = http_url(redirect, &at("redirectURI"))?;
            (false, decode_path(uri.path()).into_owned())
        };
        let source = if spec.discovery.is_empty() {
            let authorization =
                required(&spec.authorization_endpoint, &at, "authorizationEndpoint")?;
            http_url(authorization, &at("authorizationEndpoint"))?;
            let token = required(&spec.token_endpoint, &at, "tokenEndpoint")?;
            http_url(token, &at("tokenEndpoint"))?;
            for (value, field) in [
                (&spec.userinfo_endpoint, "userinfoEndpoint"),
                (&spec.jwks_uri, "jwksUri"),
            ] {
                if !value.is_empty() {
                    http_url(value, &at(field))?;
                }
            }
            Source::Explicit {
                authorization: authorization.to_string(),
                token: token.to_string(),
                userinfo: spec.userinfo_endpoint.clone(),
                jwks_uri: spec.jwks_uri.clone(),
            }
        } else {
            Source::Discovery(http_url(&spec.discovery, &at("discovery"))?)
        };
        Ok(Settings {
            cookie_name: (!spec.cookie_name.is_empty()).then(|| spec.cookie_name.clone()),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            redirect_uri: redirect.to_string(),
            redirect_is_path,
            redirect_path,
            source,
        })
    }

    /// The fields the spec sets that the discovery document overrides, for warnings.
    pub(super) fn ignored_with_discovery(spec: &OidcAdaptorSpec) -> Vec<&'static str> {
        if spec.discovery.is_empty() {
            return Vec::new();
        }
        [
            (&spec.authorization_endpoint, "authorizationEndpoint"),
            (&spec.token_endpoint, "tokenEndpoint"),
            (&spec.userinfo_endpoint, "userinfoEndpoint"),
            (&spec.jwks_uri, "jwksUri"),
        ]
        .into_iter()
        .filter(|(v, _)| !v.is_empty())
        .map(|(_, f)| f)
        .collect()
    }
}
