//! The `CORSAdaptor` spec.

use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{CorsAdaptor, Wildcard};

/// Request headers allowed when `allowedHeaders` is empty (rs/cors's defaults).
const DEFAULT_ALLOWED_HEADERS: [&str; 3] = ["accept", "content-type", "x-requested-with"];
/// Methods allowed when `allowedMethods` is empty: the CORS "simple" methods.
const DEFAULT_ALLOWED_METHODS: [Method; 3] = [Method::GET, Method::POST, Method::HEAD];

/// `CORSAdaptor` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CorsSpec {
    /// Allowed origins, compared without regard to case; `*` alone allows all, and an
    /// origin may hold one `*` standing for any text. Default (empty): all.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Methods allowed in CORS requests. Default: HEAD, GET, POST.
    #[serde(default)]
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for; `*` allows any. Default: Accept,
    /// Content-Type, X-Requested-With.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true`. Default false.
    #[serde(default)]
    pub allow_credentials: bool,
    /// Response headers the browser may expose (`Access-Control-Expose-Headers`).
    #[serde(default)]
    pub exposed_headers: Vec<String>,
    /// Seconds a preflight answer may be cached; 0 = no header, negative = `0`.
    #[serde(default)]
    pub max_age: i64,
}

/// The defaults served by the metadata API.
pub(super) fn default_spec() -> Value {
    json!({})
}

/// `content-type` → `Content-Type` (Go's canonical header key).
fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

impl CorsSpec {
    /// Checks and compiles the spec; errors name fields under `path`.
    pub(super) fn compile(&self, path: &str) -> Result<CorsAdaptor, SpecError> {
        let mut origins_all = self.allowed_origins.is_empty();
        let mut origins = Vec::new();
        let mut wildcards = Vec::new();
        for (i, o) in self.allowed_origins.iter().enumerate() {
            let o = o.trim().to_ascii_lowercase();
            if o == "*" {
                origins_all = true;
                continue;
            }
            match o.split_once('*') {
                Some((_, suffix)) if suffix.contains('*') => {
                    return Err(SpecError::new(
                        format!("{}[{i}]", join_path(path, "allowedOrigins")),
                        format!("{o:?}: only one * wildcard is allowed in an origin"),
                    ))
                }
                Some((prefix, suffix)) => wildcards.push(Wildcard {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                }),
                None => origins.push(o),
            }
        }
        if origins_all {
            origins.clear();
            wildcards.clear();
        }

        let methods: Vec<Method> = if self.allowed_methods.is_empty() {
            DEFAULT_ALLOWED_METHODS.to_vec()
        } else {
            let mpath = join_path(path, "allowedMethods");
            self.allowed_methods
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let valid = !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase());
                    Method::from_bytes(m.as_bytes())
                        .ok()
                        .filter(|_| valid)
                        .ok_or_else(|| {
                            SpecError::new(
                                format!("{mpath}[{i}]"),
                                format!("{m:?} is not an HTTP method (GET, POST, ...)"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?
        };

        let headers_all = self.allowed_headers.iter().any(|h| h.trim() == "*");
        let headers: Vec<String> = if self.allowed_headers.is_empty() {
            DEFAULT_ALLOWED_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect()
        } else if headers_all {
            Vec::new()
        } else {
            let hpath = join_path(path, "allowedHeaders");
            self.allowed_headers
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let h = h.trim();
                    HeaderName::from_bytes(h.as_bytes())
                        .map(|_| h.to_ascii_lowercase())
                        .map_err(|_| {
                            SpecError::new(
                                format!("{hpath}[{i}]"),
                                format!("invalid header name {h:?}"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?
        };

        let epath = join_path(path, "exposedHeaders");
        let mut exposed = Vec::with_capacity(self.exposed_headers.len());
        for (i, h) in self.exposed_headers.iter().enumerate() {
            let h = h.trim();
            if HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(SpecError::new(
                    format!("{epath}[{i}]"),
                    format!("invalid header name {h:?}"),
                ));
            }
            exposed.push(canonical(h));
        }
        let exposed = if exposed.is_empty() {
            None
        } else {
            Some(
                HeaderValue::from_str(&exposed.join(", "))
                    .map_err(|_| SpecError::new(&epath, "invalid header names"))?,
            )
        };

        let max_age = match self.max_age {
            0 => None,
            n if n < 0 => Some(HeaderValue::from_static("0")),
            n => Some(HeaderValue::from(n)),
        };

        Ok(CorsAdaptor {
            origins_all,
            origins: origins.into_boxed_slice(),
            wildcards: wildcards.into_boxed_slice(),
            methods: methods.into_boxed_slice(),
            headers_all,
            headers: headers.into_boxed_slice(),
            allow_credentials: self.allow_credentials,
            exposed,
            max_age,
        })
    }
}

#[cfg(test)]
mod unit {
    #[test]
    fn canonical_header_keys() {
        assert_eq!(super::canonical("x-total-count"), "X-Total-Count");
        assert_eq!(super::canonical("ETAG"), "Etag");
    }
}
