//! The client: endpoints, failover, deadlines and the unary calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::types::*;
use super::{Error, Result, WatchStream};

type Http = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Client URLs (`http://host:port`), tried in order when one refuses connections.
    pub endpoints: Vec<String>,
    /// Deadline of every call (Easegress's `cluster-request-timeout`).
    pub request_timeout: Duration,
    /// Deadline of one TCP connect.
    pub connect_timeout: Duration,
}

impl ClientOptions {
    /// `endpoints` with Easegress's defaults (10 s per request, 2 s per connect).
    pub fn new(endpoints: Vec<String>) -> ClientOptions {
        ClientOptions {
            endpoints,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// An etcd v3 client; cheap to clone, every clone shares connections.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced whole when the member list is learnt ([`Client::set_endpoints`]).
    endpoints: parking_lot::RwLock<Arc<Vec<String>>>,
    /// The endpoint tried first; moves on connect errors and timeouts.
    current: AtomicUsize,
    http: Http,
    timeout: Duration,
}

/// How long a failed [`Client::lock`] waits for its request to be withdrawn.
const WITHDRAW_WAIT: Duration = Duration::from_millis(500);

fn http_client(connect_timeout: Duration) -> Http {
    let mut conn = HttpConnector::new();
    conn.set_connect_timeout(Some(connect_timeout));
    conn.set_nodelay(true);
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(conn)
}

/// Trims and checks client URLs: at least one, each an `http://` URI.
fn checked_endpoints(given: &[String]) -> Result<Vec<String>> {
    let endpoints: Vec<String> = given
        .iter()
        .map(|e| trim_url(e))
        .filter(|e| !e.is_empty())
        .collect();
    if endpoints.is_empty() {
        return Err(Error::Rejected {
            code: 3,
            message: "no etcd endpoint given".into(),
        });
    }
    for e in &endpoints {
        if !e.starts_with("http://") {
            return Err(Error::Rejected {
                code: 3,
                message: format!("etcd endpoint {e:?} is not an http:// URL"),
            });
        }
        e.parse::<http::Uri>().map_err(|err| Error::Rejected {
            code: 3,
            message: format!("etcd endpoint {e:?}: {err}"),
        })?;
    }
    Ok(endpoints)
}

fn trim_url(u: &str) -> String {
    u.trim().trim_end_matches('/').to_string()
}

impl Client {
    /// A client of `options.endpoints`; nothing is connected yet.
    pub fn new(options: ClientOptions) -> Result<Client> {
        let endpoints = checked_endpoints(&options.endpoints)?;
        Ok(Client {
            inner: Arc::new(Inner {
                endpoints: parking_lot::RwLock::new(Arc::new(endpoints)),
                current: AtomicUsize::new(0),
                http: http_client(options.connect_timeout),
                timeout: options.request_timeout,
            }),
        })
    }

    /// The endpoints, in order.
    pub fn endpoints(&self) -> Arc<Vec<String>> {
        Arc::clone(&self.inner.endpoints.read())
    }

    /// Replaces the endpoints (e.g. with every member's client URL once the member list is
    /// known); the next call starts with the first one.
    pub fn set_endpoints(&self, endpoints: &[String]) -> Result<()> {
        let endpoints = checked_endpoints(endpoints)?;
        *self.inner.endpoints.write() = Arc::new(endpoints);
        self.inner.current.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// The per-call deadline.
    pub fn request_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Makes the next call start with the next endpoint (after a timeout: that endpoint may
    /// hang).
    pub fn rotate(&self) {
        self.inner.current.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends `body` to `path`, moving on to the next endpoint when one refuses connections.
    pub(crate) async fn send(&self, path: &str, body: Bytes) -> Result<http::Response<Incoming>> {
        let endpoints = self.endpoints();
        let n = endpoints.len();
        let start = self.inner.current.load(Ordering::Relaxed);
        let mut last = String::new();
        for i in 0..n {
            let idx = (start + i) % n;
            let url = format!("{}{}", endpoints[idx], path);
            let req = http::Request::post(url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()))
                .map_err(|e| Error::Protocol(e.to_string()))?;
            match self.inner.http.request(req).await {
                Ok(resp) => {
                    if i > 0 {
                        self.inner.current.store(idx, Ordering::Relaxed);
                    }
                    return Ok(resp);
                }
                Err(e) if e.is_connect() => {
                    last = format!("{}: {}", endpoints[idx], error_chain(&e));
                }
                Err(e) => {
                    // The request may have reached etcd: do not resend it elsewhere.
                    self.rotate();
                    return Err(Error::Unavailable(format!(
                        "{}: {}",
                        endpoints[idx],
                        error_chain(&e)
                    )));
                }
            }
        }
        Err(Error::Unavailable(format!(
            "no endpoint accepts connections (last: {last})"
        )))
    }

    /// One unary call under the request deadline.
    pub(crate) async fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        req: &Q,
    ) -> Result<R> {
        self.call_within(path, req, self.inner.timeout).await
    }

    /// One unary call to the gateway path `path` (e.g. `/v3/kv/range`) with its own
    /// deadline, failing over to the next endpoint when one refuses the connection.
    pub async fn call_within<Q: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        req: &Q,
        deadline: Duration,
    ) -> Result<R> {
        let body =
            Bytes::from(serde_json::to_vec(req).map_err(|e| Error::Protocol(e.to_string()))?);
        let fut = async {
            let resp = self.send(path, body).await?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| Error::Unavailable(format!("reading the answer: {e}")))?
                .to_bytes();
            decode(status, &bytes)
        };
        match tokio::time::timeout(deadline, fut).await {
            Ok(r) => r,
            Err(_) => {
                self.rotate();
                Err(Error::Unavailable(format!(
                    "no answer within {}",
                    super::human(deadline)
                )))
            }
        }
    }

    // ---- KV ----

    /// `/v3/kv/range`.
    pub async fn range(&self, req: &RangeRequest) -> Result<RangeResponse> {
        let r: RangeResponse = self.call("/v3/kv/range", req).await?;
        Ok(r)
    }

    /// The value at `key` (linearizable), if any.
    pub async fn get(&self, key: impl Into<Vec<u8>>) -> Result<Option<KeyValue>> {
        Ok(self
            .range(&RangeRequest::key(key))
            .await?
            .kvs
            .into_iter()
            .next())
    }

    /// Every key starting with `prefix` (linearizable), sorted, with the read's revision.
    pub async fn get_prefix(&self, prefix: impl Into<Vec<u8>>) -> Result<RangeResponse> {
        self.range(&RangeRequest::prefix(prefix)).await
    }

    /// `/v3/kv/put`: `value` at `key`, bound to `lease` when not 0.
    pub async fn put(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        lease: i64,
    ) -> Result<PutResponse> {
        self.call("/v3/kv/put", &PutRequest::new(key, value, lease))
            .await
    }

    /// `/v3/kv/deleterange`.
    pub async fn delete_range(&self, req: &DeleteRangeRequest) -> Result<DeleteRangeResponse> {
        self.call("/v3/kv/deleterange", req).await
    }

    /// Deletes every key starting with `prefix`; returns how many went.
    pub async fn delete_prefix(&self, prefix: impl Into<Vec<u8>>) -> Result<i64> {
        Ok(self
            .delete_range(&DeleteRangeRequest::prefix(prefix))
            .await?
            .deleted)
    }

    /// `/v3/kv/txn`.
    pub async fn txn(&self, req: &TxnRequest) -> Result<TxnResponse> {
        self.call("/v3/kv/txn", req).await
    }

    /// `/v3/kv/compaction`: drops history before `revision` (tests and maintenance).
    pub async fn compact(&self, revision: i64, physical: bool) -> Result<ResponseHeader> {
        #[derive(Serialize)]
        struct Req {
            revision: String,
            physical: bool,
        }
        let r: HeaderOnly = self
            .call(
                "/v3/kv/compaction",
                &Req {
                    revision: revision.to_string(),
                    physical,
                },
            )
            .await?;
        Ok(r.header)
    }

    // ---- watch ----

    /// Opens a watch; the answer's headers must come within the request deadline, events
    /// then flow for as long as the stream lives.
    pub async fn watch(&self, req: &WatchCreateRequest) -> Result<WatchStream> {
        #[derive(Serialize)]
        struct Create<'a> {
            create_request: &'a WatchCreateRequest,
        }
        let body = Bytes::from(
            serde_json::to_vec(&Create {
                create_request: req,
            })
            .map_err(|e| Error::Protocol(e.to_string()))?,
        );
        let deadline = self.inner.timeout;
        let resp = match tokio::time::timeout(deadline, self.send("/v3/watch", body)).await {
            Ok(r) => r?,
            Err(_) => {
                self.rotate();
                return Err(Error::Unavailable(format!(
                    "no answer within {}",
                    super::human(deadline)
                )));
            }
        };
        if !resp.status().is_success() {
            let status = resp.status();
            let bytes = tokio::time::timeout(deadline, resp.into_body().collect())
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            return Err(decode::<serde_json::Value>(status, &bytes)
                .err()
                .unwrap_or_else(|| Error::Protocol(format!("watch answered {status}"))));
        }
        Ok(WatchStream::new(resp.into_body()))
    }

    // ---- lease ----

    /// `/v3/lease/grant` of a lease living `ttl` seconds (0: etcd's minimum).
    pub async fn lease_grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
        let r: LeaseGrantResponse = self
            .call(
                "/v3/lease/grant",
                &serde_json::json!({ "TTL": ttl.to_string() }),
            )
            .await?;
        if !r.error.is_empty() {
            return Err(Error::Rejected {
                code: 0,
                message: r.error,
            });
        }
        Ok(r)
    }

    /// One `/v3/lease/keepalive` round; the answer's `ttl` is 0 when the lease is gone.
    pub async fn lease_keep_alive_once(&self, id: i64) -> Result<LeaseKeepAliveResponse> {
        #[derive(serde::Deserialize)]
        struct Wrapped {
            result: Option<LeaseKeepAliveResponse>,
            error: Option<GatewayError>,
        }
        // A stream endpoint: one request in, one `{"result":…}` line out.
        let w: Wrapped = self
            .call(
                "/v3/lease/keepalive",
                &serde_json::json!({ "ID": id.to_string() }),
            )
            .await?;
        if let Some(e) = w.error {
            return Err(Error::from_gateway(e.code.max(e.grpc_code), e.message));
        }
        w.result
            .ok_or_else(|| Error::Protocol("keepalive answer without result".into()))
    }

    /// `/v3/lease/revoke`: ends the lease and deletes every key bound to it.
    pub async fn lease_revoke(&self, id: i64) -> Result<ResponseHeader> {
        let r: HeaderOnly = self
            .call(
                "/v3/lease/revoke",
                &serde_json::json!({ "ID": id.to_string() }),
            )
            .await?;
        Ok(r.header)
    }

    /// `/v3/lease/timetolive`; `ttl` is -1 when the lease does not exist.
    pub async fn lease_time_to_live(&self, id: i64, keys: bool) -> Result<LeaseTimeToLiveResponse> {
        self.call(
            "/v3/lease/timetolive",
            &serde_json::json!({ "ID": id.to_string(), "keys": keys }),
        )
        .await
    }

    // ---- lock ----

    /// `/v3/lock/lock`: waits up to `wait` for the lock `name`, held under `lease`. On
    /// success the answer's key releases it ([`Client::unlock`]). The waiter's key is
    /// `<name>/<lease-hex>`; when the wait ends without the lock it is deleted so a late
    /// grant does not leave the lock held.
    pub async fn lock(&self, name: &str, lease: i64, wait: Duration) -> Result<LockResponse> {
        let req = serde_json::json!({
            "name": base64_of(name.as_bytes()),
            "lease": lease.to_string(),
        });
        let r = self.call_within("/v3/lock/lock", &req, wait).await;
        if r.is_err() {
            // Withdraw the request, briefly: when etcd is out of reach the caller must
            // withdraw it later (etcd may still grant it once it is back).
            let key = format!("{name}/{lease:x}");
            match tokio::time::timeout(WITHDRAW_WAIT, self.unlock(key.as_bytes())).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::debug!(key, error = %e, "could not withdraw a lock request"),
                Err(_) => tracing::debug!(key, "no answer to withdrawing a lock request"),
            }
        }
        r
    }

    /// `/v3/lock/unlock` of a key returned by [`Client::lock`].
    pub async fn unlock(&self, key: &[u8]) -> Result<ResponseHeader> {
        let r: HeaderOnly = self
            .call(
                "/v3/lock/unlock",
                &serde_json::json!({ "key": base64_of(key) }),
            )
            .await?;
        Ok(r.header)
    }

    // ---- cluster and maintenance ----

    /// `/v3/cluster/member/list`.
    pub async fn member_list(&self) -> Result<MemberListResponse> {
        self.call("/v3/cluster/member/list", &serde_json::json!({}))
            .await
    }

    /// `/v3/cluster/member/remove`.
    pub async fn member_remove(&self, id: u64) -> Result<MemberListResponse> {
        self.call(
            "/v3/cluster/member/remove",
            &serde_json::json!({ "ID": id.to_string() }),
        )
        .await
    }

    /// `/v3/maintenance/defragment` of the endpoint that answers: gives the space of
    /// compacted revisions back to the file system (etcd blocks that member meanwhile).
    pub async fn defragment(&self, deadline: Duration) -> Result<ResponseHeader> {
        let r: HeaderOnly = self
            .call_within(
                "/v3/maintenance/defragment",
                &serde_json::json!({}),
                deadline,
            )
            .await?;
        Ok(r.header)
    }

    /// `/v3/maintenance/status` of the endpoint that answers; see [`StatusResponse::role`].
    pub async fn status(&self) -> Result<StatusResponse> {
        self.call("/v3/maintenance/status", &serde_json::json!({}))
            .await
    }
}

pub(crate) fn base64_of(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Decodes a gateway answer: a 2xx body as `R`, anything else as a typed error.
pub(crate) fn decode<R: DeserializeOwned>(status: http::StatusCode, bytes: &[u8]) -> Result<R> {
    if status.is_success() {
        return serde_json::from_slice(bytes)
            .map_err(|e| Error::Protocol(format!("{e} in {}", String::from_utf8_lossy(bytes))));
    }
    match serde_json::from_slice::<GatewayError>(bytes) {
        Ok(g) if !g.message.is_empty() => Err(Error::from_gateway(g.code, g.message)),
        _ if status.is_server_error() => Err(Error::Unavailable(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(bytes)
        ))),
        _ => Err(Error::Rejected {
            code: 0,
            message: format!("HTTP {status}: {}", String::from_utf8_lossy(bytes)),
        }),
    }
}

/// `GET <client-url>/health`: whether that member says it is healthy.
pub async fn health(client_url: &str, timeout: Duration) -> bool {
    let url = format!("{}/health", trim_url(client_url));
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let http = http_client(timeout);
    let fut = async {
        let req = http::Request::get(uri).body(Full::new(Bytes::new())).ok()?;
        let resp = http.request(req).await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let b = resp.into_body().collect().await.ok()?.to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
        Some(v.get("health").and_then(|h| h.as_str()) == Some("true"))
    };
    matches!(tokio::time::timeout(timeout, fut).await, Ok(Some(true)))
}

/// Asks members at `peer_urls` (`GET <peer-url>/members`) for their client URLs, as a
/// secondary given only `primary-listen-peer-urls` must. The first peer that answers wins;
/// the URLs come back deduplicated in the order etcd lists them.
pub async fn discover_client_urls(peer_urls: &[String], timeout: Duration) -> Result<Vec<String>> {
    let http = http_client(timeout);
    let mut last = String::from("no peer URL given");
    for p in peer_urls {
        let url = format!("{}/members", trim_url(p));
        let Ok(uri) = url.parse::<http::Uri>() else {
            last = format!("{p:?} is not a URL");
            continue;
        };
        let fut = async {
            let req = http::Request::get(uri)
                .body(Full::new(Bytes::new()))
                .map_err(|e| e.to_string())?;
            let resp = http.request(req).await.map_err(|e| error_chain(&e))?;
            let status = resp.status();
            let b = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            serde_json::from_slice::<Vec<Member>>(&b).map_err(|e| e.to_string())
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(members)) => {
                let mut out: Vec<String> = Vec::new();
                for u in members.into_iter().flat_map(|m| m.client_urls) {
                    let u = trim_url(&u);
                    if !out.contains(&u) {
                        out.push(u);
                    }
                }
                if !out.is_empty() {
                    return Ok(out);
                }
                last = format!("{p}: no member lists a client URL yet");
            }
            Ok(Err(e)) => last = format!("{p}: {e}"),
            Err(_) => last = format!("{p}: no answer within {timeout:?}"),
        }
    }
    Err(Error::Unavailable(format!(
        "cannot learn client URLs from the peers ({last})"
    )))
}

/// The answer of the calls that return nothing but etcd's response header.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct HeaderOnly {
    header: ResponseHeader,
}
