//! `jwt.jwks`: public keys fetched from a JSON Web Key Set URL (an addition to Easegress).
//!
//! The set is fetched when the filter starts and every `refreshInterval`; a token naming a
//! `kid` the cache does not hold triggers a fetch at once, at most one per
//! `minRefreshInterval` (concurrent requests wait for the same fetch). A new set replaces
//! the old one atomically, so requests never see a half-updated set, and a failed fetch
//! keeps the keys held. Keys whose `kty` (or `alg`, when given) does not fit the
//! configured algorithm, or whose `use` is not `sig`, are skipped; at most [`MAX_KEYS`]
//! are kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use eg_protocols::Body;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{Request, Uri};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;

use super::fetch::Fetcher;
use super::keys::{Alg, VerifyKey};

/// The most keys kept from one set.
pub const MAX_KEYS: usize = 64;

/// `jwt.jwks` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwksSpec {
    /// The key set URL (`http` or `https`, required).
    #[serde(default)]
    pub url: String,
    /// How often the set is fetched again (Go duration). Default `1h`.
    #[serde(default)]
    pub refresh_interval: String,
    /// The least time between two fetches caused by unknown `kid`s. Default `30s`.
    #[serde(default)]
    pub min_refresh_interval: String,
    /// Skip the server certificate check. Default false.
    #[serde(default)]
    pub insecure_tls: bool,
}

type KeyMap = HashMap<String, Arc<VerifyKey>>;

/// A cached key set.
pub(crate) struct Jwks {
    url: Uri,
    alg: Alg,
    fetcher: Fetcher,
    refresh: Duration,
    min_gap: Duration,
    keys: ArcSwap<KeyMap>,
    /// When the last fetch started; held while fetching, so fetches run one at a time.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn duration(text: &str, default: Duration, path: &str) -> Result<Duration, SpecError> {
    if text.is_empty() {
        return Ok(default);
    }
    let d = eg_spec::GoDuration::parse(text)
        .map_err(|e| SpecError::new(path, e))?
        .get();
    if d < Duration::from_secs(1) {
        return Err(SpecError::new(path, "must be at least 1s"));
    }
    Ok(d)
}

impl Jwks {
    /// Checks and compiles the spec for tokens of `alg`; errors name `path.<field>`.
    pub(super) fn compile(spec: &JwksSpec, alg: Alg, path: &str) -> Result<Jwks, SpecError> {
        let url_path = join_path(path, "url");
        if spec.url.is_empty() {
            return Err(SpecError::new(url_path, "required"));
        }
        let url: Uri = spec
            .url
            .parse()
            .ok()
            .filter(|u: &Uri| {
                matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some()
            })
            .ok_or_else(|| {
                SpecError::new(&url_path, format!("{:?} is not an http(s) URL", spec.url))
            })?;
        if alg.is_hmac() {
            return Err(SpecError::new(
                path,
                format!("a key set holds public keys; {} uses secret", alg.name()),
            ));
        }
        let refresh = duration(
            &spec.refresh_interval,
            Duration::from_secs(3600),
            &join_path(path, "refreshInterval"),
        )?;
        let min_gap = duration(
            &spec.min_refresh_interval,
            Duration::from_secs(30),
            &join_path(path, "minRefreshInterval"),
        )?;
        let fetcher = Fetcher::new(spec.insecure_tls).map_err(|e| SpecError::new(path, e))?;
        Ok(Jwks {
            url,
            alg,
            fetcher,
            refresh,
            min_gap,
            keys: ArcSwap::from_pointee(HashMap::new()),
            last_fetch: tokio::sync::Mutex::new(None),
            task: Mutex::new(None),
        })
    }

    /// The key for `kid` (a token without `kid` uses the set's only key).
    pub(super) fn key(&self, kid: Option<&str>) -> Option<Arc<VerifyKey>> {
        let keys = self.keys.load();
        match kid {
            Some(k) => keys.get(k).cloned(),
            None if keys.len() == 1 => keys.values().next().cloned(),
            None => None,
        }
    }

    /// Takes over the keys of the previous generation (so a reload does not start empty).
    pub(super) fn inherit(&self, prev: &Jwks) {
        if prev.url == self.url && prev.alg == self.alg {
            self.keys.store(prev.keys.load_full());
        }
    }

    /// Fetches the set now unless one was fetched less than `minRefreshInterval` ago
    /// (then the keys held stay). Callers arriving during a fetch wait for it.
    pub(crate) async fn refresh_for_unknown_kid(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.min_gap) {
            return;
        }
        *last = Some(Instant::now());
        self.fetch().await;
    }

    async fn fetch(&self) {
        match self.download().await {
            Ok(keys) => self.keys.store(Arc::new(keys)),
            Err(e) => tracing::warn!("JWT validator: fetching key set {}: {e}", self.url),
        }
    }

    async fn download(&self) -> Result<KeyMap, String> {
        let req = Request::get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Body::Empty)
            .map_err(|e| e.to_string())?;
        let (status, body) = self.fetcher.send(req).await?;
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        let set: Value = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
        let list = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no \"keys\" array")?;
        Ok(self.usable(list))
    }

    /// The keys of the set that fit the algorithm, by `kid`.
    fn usable(&self, list: &[Value]) -> KeyMap {
        let mut keys = KeyMap::new();
        for jwk in list {
            let text = |k: &str| jwk.get(k).and_then(Value::as_str);
            if text("kty") != Some(self.alg.kty())
                || text("alg").is_some_and(|a| a != self.alg.name())
                || text("use").is_some_and(|u| u != "sig")
            {
                continue;
            }
            let kid = text("kid").unwrap_or("").to_string();
            match VerifyKey::from_jwk(self.alg, jwk) {
                Ok(k) if keys.len() < MAX_KEYS => {
                    keys.insert(kid, Arc::new(k));
                }
                Ok(_) => break,
                Err(e) => tracing::warn!("JWT validator: key {kid:?} of {} skipped: {e}", self.url),
            }
        }
        keys
    }

    /// Lets the next unknown `kid` fetch at once, as if `minRefreshInterval` had passed.
    #[cfg(test)]
    pub(super) fn forget_last_fetch(&self) {
        if let Ok(mut last) = self.last_fetch.try_lock() {
            *last = None;
        }
    }

    /// Starts fetching now and every `refreshInterval`.
    pub(super) fn start(self: &Arc<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = Arc::downgrade(self);
        let refresh = self.refresh;
        let task = rt.spawn(async move {
            loop {
                let Some(jwks) = weak.upgrade() else {
                    return;
                };
                {
                    let mut last = jwks.last_fetch.lock().await;
                    *last = Some(Instant::now());
                    jwks.fetch().await;
                }
                drop(jwks);
                tokio::time::sleep(refresh).await;
            }
        });
        *self.task.lock() = Some(task);
    }

    /// Stops the periodic fetch.
    pub(super) fn stop(&self) {
        if let Some(t) = self.task.lock().take() {
            t.abort();
        }
    }
}
