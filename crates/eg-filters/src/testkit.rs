//! Helpers for the filters' unit tests: build a filter from a JSON spec, make a request
//! context, run a filter.

use std::sync::Arc;

use eg_protocols::{Context, HttpRequest};
use eg_spec::SpecError;
use eg_supervisor::{KindRegistry, MemberInfo, Supervisor};
use serde_json::Value;

use crate::filter::{BuildContext, Filter, FilterSpec};
use crate::registry::FilterKind;
use crate::resilience::Policies;

/// A supervisor over an empty in-memory store.
pub fn supervisor() -> Supervisor {
    supervisor_of("test")
}

/// A supervisor of member `member` over an empty in-memory store.
pub fn supervisor_of(member: &str) -> Supervisor {
    Supervisor::new(
        KindRegistry::new(),
        Arc::new(eg_store::MemStore::new()),
        MemberInfo::standalone(member),
    )
}

/// The spec of filter `f` of `kind` in pipeline `p` at path `filters[0]`, from `doc` (name
/// and kind are added).
pub fn filter_spec(kind: &FilterKind, mut doc: Value) -> FilterSpec {
    if let Some(m) = doc.as_object_mut() {
        m.insert("name".into(), "f".into());
        m.insert("kind".into(), kind.kind.into());
    }
    FilterSpec {
        name: "f".into(),
        kind: kind.kind.into(),
        doc,
        pipeline: "p".into(),
        path: "filters[0]".into(),
    }
}

/// Builds a filter of `kind` from `doc` (name and kind are added), at path `filters[0]`.
pub fn build(kind: &FilterKind, doc: Value) -> Result<Box<dyn Filter>, SpecError> {
    let spec = filter_spec(kind, doc);
    let sup = supervisor();
    let res = Policies::new();
    let ctx = BuildContext::new(&sup, &res);
    let built = (kind.build)(&spec, &ctx);
    // The admin API's check answers as the build does.
    let checked = kind.validate(&spec, &ctx);
    match (&built, &checked) {
        (Ok(b), Ok(w)) => assert_eq!(&b.warnings, w, "check and build warn alike"),
        (Err(b), Err(c)) => assert_eq!(b, c, "check and build fail alike"),
        _ => panic!(
            "check and build disagree: {:?} / {:?}",
            built.as_ref().err(),
            checked
        ),
    }
    built.map(|b| b.filter)
}

/// A context for `method path` with `headers`.
pub fn ctx(method: &str, path: &str, headers: &[(&str, &str)]) -> Context {
    ctx_from(method, path, headers, "127.0.0.1")
}

/// A context for `method path` with `headers`, from client `ip`.
pub fn ctx_from(method: &str, path: &str, headers: &[(&str, &str)], ip: &str) -> Context {
    let mut req = HttpRequest::simple(method.parse().unwrap(), path).unwrap();
    for (k, v) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let ip: std::net::IpAddr = ip.parse().unwrap();
    Context::new(req, std::net::SocketAddr::new(ip, 40000), ip)
}

/// Runs `filter` on `ctx`.
pub async fn run(filter: &dyn Filter, ctx: &mut Context) -> &'static str {
    filter.handle(ctx).result().await
}

/// The body of the active namespace's response as text.
pub fn body_text(ctx: &Context) -> String {
    let resp = ctx.response().expect("a response");
    String::from_utf8(resp.body.bytes().map(|b| b.to_vec()).unwrap_or_default()).unwrap()
}
