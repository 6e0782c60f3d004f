//! The small HTTP client of the Validator (token introspection, JWKS): the project's
//! pooled upstream client, a timeout on the whole exchange and a bound on the answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eg_protocols::Body;
use eg_upstream::connections::{shared_client, ClientSettings, UpstreamClient};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};

/// How long one exchange (connect, send, read the answer) may take.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read.
pub(super) const MAX_ANSWER: usize = 256 * 1024;

/// A client for one validator's outside calls.
pub(crate) struct Fetcher {
    client: Arc<UpstreamClient>,
}

impl Fetcher {
    /// The shared client, skipping certificate checks when `insecure`.
    pub(crate) fn new(insecure: bool) -> Result<Fetcher, String> {
        let client = shared_client(&ClientSettings {
            insecure,
            mtls: None,
            max_idle_per_host: 4,
            max_idle: 16,
        })?;
        Ok(Fetcher { client })
    }

    /// Sends `req` (absolute URI; `Host` is set from it) and reads the answer.
    pub(crate) async fn send(&self, mut req: Request<Body>) -> Result<(StatusCode, Bytes), String> {
        if let Some(a) = req.uri().authority() {
            let host = http::HeaderValue::from_str(a.as_str()).map_err(|e| e.to_string())?;
            req.headers_mut().insert(http::header::HOST, host);
        }
        let exchange = async {
            let resp = self
                .client
                .pooled
                .request(req)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {}s", FETCH_TIMEOUT.as_secs()))?
    }
}
