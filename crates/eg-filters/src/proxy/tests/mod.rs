//! Tests of the Proxy filter: mock upstreams on 127.0.0.1:0 driven through the filter with
//! a real `Context`.

mod balance;
mod breaker;
mod cache;
mod failures;
mod features;
mod forwarding;
mod framing;
mod health;
mod redirects;
mod spec_errors;
mod sticky;
pub(crate) mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eg_protocols::{Body, BodyError, Context, HttpResponse};
use eg_spec::SpecError;
use eg_supervisor::Supervisor;
pub use eg_testkit::{boxed, closed_addr, wait_until, RawUpstream, Reply, Upstream};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Proxy;
use crate::filter::Filter;
use crate::resilience::Policies;

/// A streamed body and its sender.
pub fn chan_body() -> (mpsc::UnboundedSender<Result<Bytes, BodyError>>, Body) {
    let (tx, body) = eg_testkit::channel_body();
    (
        tx,
        Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(body)),
    )
}

pub fn supervisor() -> Supervisor {
    crate::testkit::supervisor_of("test-member")
}

/// Builds a Proxy called `proxy` at `filters[0]` from `doc`.
pub fn try_build(doc: Value) -> Result<Proxy, SpecError> {
    try_build_with(doc, &Map::new(), &supervisor())
}

pub fn try_build_with(
    mut doc: Value,
    resilience: &Map<String, Value>,
    sup: &Supervisor,
) -> Result<Proxy, SpecError> {
    if let Some(m) = doc.as_object_mut() {
        m.insert("name".into(), "proxy".into());
        m.insert("kind".into(), "Proxy".into());
    }
    let list: Vec<Value> = resilience.values().cloned().collect();
    let (policies, _) = Policies::decode(&list, "resilience")?;
    Proxy::build(
        &doc,
        "filters[0]",
        "proxy",
        &crate::BuildContext::new(sup, &policies),
    )
}

/// Builds and initialises a Proxy.
pub fn proxy(doc: Value) -> Proxy {
    let p = try_build(doc).unwrap();
    p.init(None);
    p
}

/// A Proxy with one main pool over `urls`, plus extra pool fields.
pub fn simple(urls: &[String], pool_extra: Value) -> Proxy {
    let mut pool = json!({"servers": urls.iter().map(|u| json!({"url": u})).collect::<Vec<_>>()});
    merge(&mut pool, pool_extra);
    proxy(json!({"pools": [pool]}))
}

pub fn merge(a: &mut Value, b: Value) {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

/// A context for `method target` with headers, from client 10.0.0.1.
pub fn ctx(method: &str, target: &str, headers: &[(&str, &str)]) -> Context {
    ctx_from(method, target, headers, "10.0.0.1")
}

pub fn ctx_from(method: &str, target: &str, headers: &[(&str, &str)], ip: &str) -> Context {
    crate::testkit::ctx_from(method, target, headers, ip)
}

/// Runs the filter; returns the result.
pub async fn run(p: &Proxy, ctx: &mut Context) -> &'static str {
    p.handle(ctx).result().await
}

pub fn response(ctx: &Context) -> &HttpResponse {
    ctx.response().expect("no response")
}

/// The response body, read to the end.
pub async fn body_text(ctx: &mut Context) -> String {
    let r = ctx.response_mut().expect("no response");
    let b = r.body.buffer(None).await.unwrap();
    String::from_utf8_lossy(&b).into_owned()
}
